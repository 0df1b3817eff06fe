import dgram from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import type { TransportAddress } from "../../src/bytes/ip";
import type { Received, TransportProtocol } from "../../src/engine";
import { NodeDriver } from "../../src/node/driver";
import { startTurnServer } from "../../src/node/turn-server";
import type { NodeTurnServer, NodeTurnServerOptions } from "../../src/node/turn-server";
import { bindUdp, udpLocal } from "../../src/node/udp";
import { XorPeerAddress, XorRelayedAddress } from "../../src/stun/attributes/address";
import { ChannelNumber, IpProtocol, Lifetime, RequestedTransport } from "../../src/stun/attributes/turn";
import { ErrorCode } from "../../src/stun/attributes/error";
import { StunClient, attr } from "../../src/stun/client";
import type { AttributeEntry, StunClientEvent } from "../../src/stun/client";
import { Method } from "../../src/stun/constants";
import { decodeChannelData, encodeChannelData } from "../../src/turn/channel-data";

// The Node binding on loopback: real UDP and TCP sockets, one relay socket per allocation.

const UDP = attr(RequestedTransport, IpProtocol.UDP);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function server(options: Partial<NodeTurnServerOptions> = {}): Promise<NodeTurnServer> {
  const s = await startTurnServer({ listen: { address: "127.0.0.1", port: 0 }, realm: "example.org", users: { alice: "pw" }, allowPeer: ["127.0.0.0/8"], ports: [40000, 49999], ...options });
  cleanup.push(() => s.close());
  return s;
}

/** A StunClient on a real socket, and what arrives that is not a STUN response. */
async function client(s: NodeTurnServer, transport: TransportProtocol = "udp") {
  const socket = await bindUdp("127.0.0.1", 0);
  const stun = new StunClient();
  const waiting: ((e: StunClientEvent) => void)[] = [];
  const data: Received[] = [];
  const driver = new NodeDriver(stun, { onEvent: (e) => waiting.shift()?.(e), onUnhandled: (r) => data.push(r) });
  driver.addUdpSocket(socket);
  cleanup.push(() => driver.close());
  const request = (method: number, attributes: readonly AttributeEntry<any>[]) =>
    new Promise<StunClientEvent>((resolve) => {
      waiting.push(resolve);
      stun.request(performance.now(), { remote: s.address, transport, method, attributes, auth: { kind: "long-term", username: "alice", password: "pw" } });
      driver.pump();
    });
  return { socket, local: udpLocal(socket), request, data, driver };
}

async function peerSocket() {
  const socket = await bindUdp("127.0.0.1", 0);
  cleanup.push(() => new Promise<void>((r) => socket.close(() => r())));
  const got: { data: Uint8Array; from: TransportAddress }[] = [];
  const waiters: (() => void)[] = [];
  socket.on("message", (m, r) => {
    got.push({ data: new Uint8Array(m), from: { family: "IPv4", address: r.address, port: r.port } });
    waiters.shift()?.();
  });
  const next = () => new Promise<void>((r) => (got.length > 0 ? r() : waiters.push(r)));
  return { socket, local: udpLocal(socket), got, next };
}

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (check() ? resolve() : setImmediate(poll));
    poll();
  });
}

describe("startTurnServer (icekit/node)", () => {
  it("allocates a relay socket and relays ChannelData both ways", async () => {
    const s = await server();
    const c = await client(s);
    const peer = await peerSocket();
    const alloc = await c.request(Method.Allocate, [UDP]);
    expect(alloc.type).toBe("success");
    const relayed = alloc.type === "success" ? alloc.response.get(XorRelayedAddress)! : undefined!;
    expect(relayed.address).toBe("127.0.0.1");
    expect(s.stats()).toMatchObject({ allocations: 1, relaySockets: 1 });

    const bind = await c.request(Method.ChannelBind, [attr(ChannelNumber, 0x4001), attr(XorPeerAddress, peer.local)]);
    expect(bind.type).toBe("success");
    c.socket.send(encodeChannelData(0x4001, bytes("to the peer")), s.address.port, "127.0.0.1");
    await peer.next();
    expect(text(peer.got[0]!.data)).toBe("to the peer");
    expect(peer.got[0]!.from).toEqual(relayed);

    peer.socket.send(bytes("to the client"), relayed.port, relayed.address);
    await until(() => c.data.length > 0);
    const frame = decodeChannelData(c.data[0]!.data);
    expect(frame.channelNumber).toBe(0x4001);
    expect(text(frame.data)).toBe("to the client");

    const del = await c.request(Method.Refresh, [attr(Lifetime, 0)]);
    expect(del.type).toBe("success");
    expect(s.stats()).toMatchObject({ allocations: 0, relaySockets: 0 });
  });

  it("serves TURN over TCP and drops the allocation with the connection", async () => {
    const s = await server();
    expect(s.tcp?.port).toBe(s.address.port);
    const c = await client(s, "tcp");
    const alloc = await c.request(Method.Allocate, [UDP]);
    expect(alloc.type).toBe("success");
    expect(s.stats()).toMatchObject({ allocations: 1, tcpConnections: 1 });
    c.driver.close();
    await until(() => s.stats().allocations === 0);
    expect(s.stats()).toMatchObject({ relaySockets: 0, tcpConnections: 0, allocationsEnded: { "transport-closed": 1 } });
  });

  it("skips a relay port someone else holds, and answers 508 when every port is held", async () => {
    const held = await bindUdp("127.0.0.1", 0);
    cleanup.push(() => new Promise<void>((r) => held.close(() => r())));
    const port = udpLocal(held).port;
    const s = await server({ ports: [port, port + 1] });
    const blocker = await bindUdp("127.0.0.1", port + 1).catch(() => undefined);
    if (blocker !== undefined) {
      // Both ports held: three bind failures, then 508.
      try {
        const c = await client(s);
        const e = await c.request(Method.Allocate, [UDP]);
        expect(e.type === "failure" && e.response?.get(ErrorCode)?.code).toBe(508);
        expect(s.stats()).toMatchObject({ relaySockets: 0, allocations: 0 });
        expect(s.stats().relayBindFailures).toBeGreaterThan(0);
      } finally {
        await new Promise<void>((r) => blocker.close(() => r()));
      }
    }
    // One port free: the Allocate lands there whatever the engine tried first.
    const s2 = await server({ ports: [port, port + 1] });
    const c2 = await client(s2);
    const ok = await c2.request(Method.Allocate, [UDP]);
    expect(ok.type === "success" && ok.response.get(XorRelayedAddress)?.port).toBe(port + 1);
  });

  it("refuses a loopback peer by default (403)", async () => {
    const s = await server({ allowPeer: [] });
    const c = await client(s);
    await c.request(Method.Allocate, [UDP]);
    const e = await c.request(Method.CreatePermission, [attr(XorPeerAddress, { family: "IPv4", address: "127.0.0.1", port: 9 })]);
    expect(e.type === "failure" && e.response?.get(ErrorCode)?.code).toBe(403);
  });

  it("close() closes every socket", async () => {
    const s = await startTurnServer({ listen: { address: "127.0.0.1", port: 0 }, realm: "example.org", users: { alice: "pw" }, ports: [40000, 49999] });
    const c = await client(s);
    await c.request(Method.Allocate, [UDP]);
    expect(s.stats().relaySockets).toBe(1);
    await s.close();
    expect(s.stats().relaySockets).toBe(0);
    // The port is free again.
    const again = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      again.once("error", reject);
      again.bind(s.address.port, "127.0.0.1", () => resolve());
    });
    again.close();
  });
});
