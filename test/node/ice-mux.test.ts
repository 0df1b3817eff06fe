import { afterEach, describe, expect, it } from "vitest";
import type { IceAgentEvent } from "../../src/ice/agent";
import { createIceAgent, type NodeIceAgent } from "../../src/node/ice";
import { createIceMux, type IceMux } from "../../src/node/ice-mux";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Resolves with the first event `pick` accepts. */
function waitEvent(subscribe: (fn: (e: IceAgentEvent) => void) => void, pick: (e: IceAgentEvent) => boolean, what: string): Promise<IceAgentEvent> {
  return new Promise((resolve, reject) => {
    subscribe((e) => {
      if (pick(e)) resolve(e);
      else if (e.type === "state" && e.state === "failed") reject(new Error(`${what}: ICE failed`));
    });
  });
}

/** Event fan-out per agent, so a test can wait for events after creation. */
class Events {
  readonly #fns: ((e: IceAgentEvent) => void)[] = [];
  readonly all: IceAgentEvent[] = [];
  readonly emit = (e: IceAgentEvent) => {
    this.all.push(e);
    for (const fn of this.#fns) fn(e);
  };
  on = (fn: (e: IceAgentEvent) => void) => {
    for (const e of this.all) fn(e);
    this.#fns.push(fn);
  };
}

describe("IceMux: many agents on one UDP port", () => {
  let mux: IceMux | undefined;
  const clients: NodeIceAgent[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    mux?.close();
    mux = undefined;
  });

  it("20 agents on one mux port connect to 20 ordinary agents and exchange data", async () => {
    const N = 20;
    const m = await createIceMux({ address: "127.0.0.1" });
    mux = m;
    const pairs = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const serverEvents = new Events();
        const clientEvents = new Events();
        const server = m.createAgent({ role: "controlled", onEvent: serverEvents.emit });
        const client = await createIceAgent({ role: "controlling", hosts: ["127.0.0.1"], onEvent: clientEvents.emit });
        clients.push(client);
        // In-process signaling, trickled both ways.
        server.setRemoteCredentials(client.localUfrag, client.localPwd);
        client.setRemoteCredentials(server.localUfrag, server.localPwd);
        serverEvents.on((e) => {
          if (e.type === "local-candidate") client.addRemoteCandidate(e.candidate);
          if (e.type === "gathering" && e.state === "complete") client.endOfRemoteCandidates();
        });
        clientEvents.on((e) => {
          if (e.type === "local-candidate") server.addRemoteCandidate(e.candidate);
          if (e.type === "gathering" && e.state === "complete") server.endOfRemoteCandidates();
        });
        // The server echoes what it gets, prefixed, so the client can tell whose echo it is.
        const serverGot: string[] = [];
        serverEvents.on((e) => {
          if (e.type !== "data") return;
          serverGot.push(dec.decode(e.data));
          server.send(enc.encode(`echo:${dec.decode(e.data)}`));
        });
        server.startGathering();
        client.startGathering();
        return { i, server, client, serverEvents, clientEvents, serverGot };
      }),
    );
    expect(m.stats().agents).toBe(N);

    await Promise.all(
      pairs.map(async (p) => {
        const sel = await waitEvent(p.clientEvents.on, (e) => e.type === "selected-pair", `client ${p.i}`);
        if (sel.type !== "selected-pair") throw new Error("unreachable");
        // Every muxed agent's only host candidate is the mux port.
        expect(`${sel.remote.address}:${sel.remote.port}`).toBe(`${m.local.address}:${m.local.port}`);
        const echo = waitEvent(p.clientEvents.on, (e) => e.type === "data" && dec.decode(e.data) === `echo:hello-${p.i}`, `client ${p.i} echo`);
        // Resend until the echo comes (the server may select its pair a moment after the client).
        const timer = setInterval(() => p.client.send(enc.encode(`hello-${p.i}`)), 100);
        p.client.send(enc.encode(`hello-${p.i}`));
        try {
          await echo;
        } finally {
          clearInterval(timer);
        }
      }),
    );
    // Each muxed agent saw only its own client's data.
    for (const p of pairs) {
      expect(p.serverGot.length).toBeGreaterThan(0);
      expect(new Set(p.serverGot)).toEqual(new Set([`hello-${p.i}`]));
      expect(p.server.selectedPair()?.local.port).toBe(m.local.port);
    }
    const stats = m.stats();
    expect(stats.byUfrag).toBeGreaterThanOrEqual(N);
    expect(stats.byTransaction).toBeGreaterThanOrEqual(N);
    expect(stats.byAddress).toBeGreaterThanOrEqual(N);
  });

  it("serves ICE lite agents (the game-server shape): full clients connect and get echoes", async () => {
    const m = await createIceMux({ address: "127.0.0.1" });
    mux = m;
    await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const serverEvents = new Events();
        const clientEvents = new Events();
        const server = m.createAgent({ role: "controlled", lite: true, onEvent: serverEvents.emit });
        const client = await createIceAgent({ role: "controlling", hosts: ["127.0.0.1"], onEvent: clientEvents.emit });
        clients.push(client);
        server.setRemoteCredentials(client.localUfrag, client.localPwd);
        client.setRemoteCredentials(server.localUfrag, server.localPwd);
        serverEvents.on((e) => {
          if (e.type === "local-candidate") client.addRemoteCandidate(e.candidate);
          if (e.type === "gathering" && e.state === "complete") client.endOfRemoteCandidates();
          if (e.type === "data") server.send(enc.encode(`echo:${dec.decode(e.data)}`));
        });
        clientEvents.on((e) => {
          if (e.type === "local-candidate") server.addRemoteCandidate(e.candidate);
          if (e.type === "gathering" && e.state === "complete") server.endOfRemoteCandidates();
        });
        server.startGathering();
        client.startGathering();
        await waitEvent(clientEvents.on, (e) => e.type === "selected-pair", `client ${i}`);
        const echo = waitEvent(clientEvents.on, (e) => e.type === "data" && dec.decode(e.data) === `echo:lite-${i}`, `client ${i} echo`);
        const timer = setInterval(() => client.send(enc.encode(`lite-${i}`)), 100);
        client.send(enc.encode(`lite-${i}`));
        try {
          await echo;
        } finally {
          clearInterval(timer);
        }
        expect(server.selectedPair()?.remote.port).toBe(client.sockets[0]!.port);
      }),
    );
  });

  it("forgets an agent once it is closed", async () => {
    const m = await createIceMux({ address: "127.0.0.1" });
    mux = m;
    const a = m.createAgent({ role: "controlled" });
    expect(m.stats().agents).toBe(1);
    a.close();
    expect(m.stats().agents).toBe(0);
    // A second agent may reuse nothing of the first.
    const b = m.createAgent({ role: "controlled" });
    expect(b.localUfrag).not.toBe(a.localUfrag);
  });

  it("refuses a wildcard address, which cannot be a candidate", async () => {
    await expect(createIceMux({ address: "0.0.0.0" })).rejects.toThrow(/concrete address/);
  });
});
