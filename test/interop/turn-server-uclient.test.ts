import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTurnServer } from "../../src/node/turn-server";
import type { NodeTurnServer } from "../../src/node/turn-server";
import { freePort } from "./helpers/ports";
import { run, start, waitFor, type Started } from "./helpers/process";

// coturn's own load and loss tool, turnutils_uclient, drives icekit's Node TURN server on
// loopback through coturn's UDP echo peer, turnutils_peer: allocations with EVEN-PORT and a
// RESERVATION-TOKEN for the RTCP one, permissions, channels (or Send indications with -s),
// over UDP and TCP, with long-term credentials and with the REST API secret.

interface Result {
  readonly code: number | null;
  readonly out: string;
  readonly sent: number;
  readonly lost: number;
}

/** Runs uclient against the server and reads its summary. */
async function uclient(server: NodeTurnServer, peerPort: number, flags: readonly string[], credentials: readonly string[] = ["-u", "user", "-w", "pass"]): Promise<Result> {
  const args = [...credentials, "-e", "127.0.0.1", "-r", String(peerPort), "-n", "100", "-m", "2", ...flags, "-p", String(server.address.port), "127.0.0.1"];
  const r = await run("turnutils_uclient", args, { timeoutMs: 60_000 });
  const out = r.stdout + r.stderr;
  const sent = Number(/tot_send_msgs=(\d+), tot_recv_msgs=\d+\s*$/m.exec(out)?.[1] ?? Number.NaN);
  const lost = Number(/Total lost packets (\d+)/.exec(out)?.[1] ?? Number.NaN);
  return { code: r.code, out, sent, lost };
}

describe("icekit TURN server driven by coturn's turnutils_uclient", () => {
  let server: NodeTurnServer;
  let peer: Started;
  let peer6: Started | undefined;
  let peerPort: number;
  let peer6Port: number | undefined;
  const relayedPorts: number[] = [];

  beforeAll(async () => {
    peerPort = await freePort("127.0.0.1", true);
    // turnutils_peer echoes on the port given and the next one (RTP and RTCP).
    peer = start("turnutils_peer", ["-L", "127.0.0.1", "-p", String(peerPort)]);
    const ipv6 = await freePort("::1", true).catch(() => undefined);
    if (ipv6 !== undefined) {
      peer6Port = ipv6;
      peer6 = start("turnutils_peer", ["-L", "::1", "-p", String(ipv6)]);
    }
    server = await startTurnServer({
      listen: { address: "127.0.0.1", port: await freePort("127.0.0.1") },
      realm: "example.org",
      users: { user: "pass" },
      secret: "north",
      relayIp: ipv6 === undefined ? "127.0.0.1" : ["127.0.0.1", "::1"],
      allowPeer: ["127.0.0.0/8", "::1/128"],
      // uclient picks channel numbers from RFC 5766's 0x4000-0x7FFF.
      channelNumbers: "rfc5766",
      ports: [55000, 55999],
      onEvent: (e) => {
        if (e.type === "allocation") relayedPorts.push(...e.relayed.map((a) => a.port));
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await peer?.stop();
    await peer6?.stop();
  });

  it("relays ChannelData both ways with no loss: EVEN-PORT, RESERVATION-TOKEN, channels", async () => {
    const before = server.stats();
    const r = await uclient(server, peerPort, []);
    expect(r.out).toMatch(/Total lost packets 0 \(/);
    expect(r.sent).toBe(200);
    const s = server.stats();
    // uclient asks for its RTP allocation with EVEN-PORT (R bit) and makes the RTCP one on the
    // RESERVATION-TOKEN: an even port N and N + 1.
    expect(s.allocationsCreated - before.allocationsCreated).toBeGreaterThanOrEqual(3);
    expect(relayedPorts.some((p) => p % 2 === 0 && relayedPorts.includes(p + 1))).toBe(true);
    expect(s.toClientChannelData - before.toClientChannelData).toBeGreaterThanOrEqual(200);
    expect(s.stun.errorResponses[403] ?? 0).toBe(0);
  });

  it("relays Send and Data indications (-s)", async () => {
    const before = server.stats();
    const r = await uclient(server, peerPort, ["-s"]);
    expect(r.out).toMatch(/Total lost packets 0 \(/);
    expect(r.sent).toBe(200);
    const s = server.stats();
    expect(s.toPeer.packets - before.toPeer.packets).toBeGreaterThanOrEqual(200);
    expect(s.toClientChannelData).toBe(before.toClientChannelData);
  });

  it("serves clients over TCP (-t), and deletes their allocations when the connections close", async () => {
    const before = server.stats();
    const r = await uclient(server, peerPort, ["-t"]);
    expect(r.out).toMatch(/Total lost packets 0 \(/);
    expect(r.sent).toBe(200);
    // The connections' close events reach the server on their own schedule.
    await waitFor(async () => server.stats().allocationsEnded["transport-closed"] > before.allocationsEnded["transport-closed"], 10_000, "allocations ended by TCP close");
    expect(server.stats().tcpConnections).toBe(0);
  });

  it("relays between two of its own allocations (-y, client to client)", async () => {
    const r = await uclient(server, peerPort, ["-y", "-c"]);
    expect(r.out).toMatch(/Total lost packets 0 \(/);
    expect(r.sent).toBe(200);
  });

  it("allocates IPv6 relayed addresses (-x, RFC 6156) and relays to an IPv6 peer", async (ctx) => {
    if (peer6Port === undefined) ctx.skip();
    const args = ["-u", "user", "-w", "pass", "-x", "-e", "::1", "-r", String(peer6Port), "-n", "100", "-m", "2", "-p", String(server.address.port), "127.0.0.1"];
    const r = await run("turnutils_uclient", args, { timeoutMs: 60_000 });
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/Total lost packets 0 \(/);
    expect(out).toMatch(/tot_send_msgs=200, tot_recv_msgs=200/);
  });

  it("accepts TURN REST API credentials (-W) and refuses a wrong password", async () => {
    const rest = await uclient(server, peerPort, ["-c"], ["-W", "north", "-u", "alice"]);
    expect(rest.out).toMatch(/Total lost packets 0 \(/);
    const wrong = await uclient(server, peerPort, ["-c"], ["-u", "user", "-w", "wrong"]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toContain("Cannot complete Allocation");
  });
});

describe("icekit TURN server refuses loopback peers unless allowed", () => {
  it("answers uclient's ChannelBind to 127.0.0.1 with 403 by default", async () => {
    const server = await startTurnServer({
      listen: { address: "127.0.0.1", port: await freePort("127.0.0.1") },
      realm: "example.org",
      users: { user: "pass" },
      channelNumbers: "rfc5766",
      ports: [56000, 56999],
    });
    try {
      const r = await uclient(server, 9, ["-c", "-n", "5", "-m", "1"]);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/error 403/);
      expect(server.stats()).toMatchObject({ permissions: 0, channels: 0, toPeer: { packets: 0 } });
    } finally {
      await server.close();
    }
  });
});
