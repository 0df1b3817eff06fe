import { describe, expect, it } from "vitest";
import type { TransportAddress } from "../../src/bytes/ip";
import { XorMappedAddress, XorPeerAddress, XorRelayedAddress } from "../../src/stun/attributes/address";
import { AddressErrorCode, ErrorCode } from "../../src/stun/attributes/error";
import { Nonce, Realm, Software } from "../../src/stun/attributes/text";
import {
  AdditionalAddressFamily,
  ChannelNumber,
  Data,
  DontFragment,
  EvenPort,
  IpProtocol,
  Lifetime,
  RequestedAddressFamily,
  RequestedTransport,
  ReservationToken,
} from "../../src/stun/attributes/turn";
import { StunMessageBuilder } from "../../src/stun/builder";
import { attr } from "../../src/stun/client";
import { MessageClass, Method } from "../../src/stun/constants";
import { checkIntegrity } from "../../src/stun/integrity";
import { longTermCredential } from "../../src/stun/credentials";
import { decodeStunMessage } from "../../src/stun/message";
import { decodeChannelData, encodeChannelData } from "../../src/turn/channel-data";
import { TurnServer } from "../../src/turn/server";
import { CLIENT, CLIENT2, Harness, PEER, PEER2, PEER6, REALM, SERVER, TestClient, baseOptions } from "./server-harness";

const UDP = attr(RequestedTransport, IpProtocol.UDP);
const bytes = (s: string) => new TextEncoder().encode(s);

/** An allocated client: its harness, client and relayed address. */
function allocated(options: ConstructorParameters<typeof Harness>[0] = {}, extra: Parameters<TestClient["request"]>[1] = []) {
  const h = new Harness(options);
  const c = new TestClient(h, "alice", "alice-pw");
  const o = c.request(Method.Allocate, [UDP, ...extra]);
  expect(o.event.type).toBe("success");
  const relayed = o.response!.get(XorRelayedAddress)!;
  return { h, c, relayed, response: o.response! };
}

/** A Send indication's bytes. */
function sendIndication(peer: TransportAddress, data: Uint8Array, tid = 1): Uint8Array {
  return new StunMessageBuilder()
    .begin(Method.Send, MessageClass.Indication, new Uint8Array(12).fill(tid))
    .add(XorPeerAddress, peer)
    .add(Data, data)
    .finish()
    .slice();
}

describe("TurnServer Allocate (RFC 8656 §7.2)", () => {
  it("challenges with 401, then allocates: XOR-RELAYED-ADDRESS, XOR-MAPPED-ADDRESS, LIFETIME, signed", () => {
    const h = new Harness();
    const c = new TestClient(h, "alice", "alice-pw");
    const o = c.request(Method.Allocate, [UDP]);
    expect(o.event.type).toBe("success");
    // The first request went bare and got a 401 with REALM and NONCE; the client retried.
    expect(c.sent).toHaveLength(2);
    expect(h.server.stats().stun.errorResponses[401]).toBe(1);
    const res = o.response!;
    const relayed = res.get(XorRelayedAddress)!;
    expect(relayed.family).toBe("IPv4");
    expect(relayed.address).toBe("192.0.2.1");
    expect(relayed.port).toBeGreaterThanOrEqual(49152);
    expect(res.get(XorMappedAddress)).toEqual(CLIENT);
    expect(res.get(Lifetime)).toBe(600);
    expect(res.get(Software)).toBe("icekit-test");
    const key = longTermCredential("alice", REALM, "alice-pw");
    expect(checkIntegrity(res, key)).toBe("valid");
    // The driver was asked for exactly that socket before the answer.
    expect(h.eventsOf("relay-open").map((e) => e.relayed)).toEqual([relayed]);
    expect(h.eventsOf("allocation")[0]).toMatchObject({ user: "alice", relayed: [relayed], lifetime: 600 });
    expect(h.server.stats()).toMatchObject({ allocations: 1, relays: 1, users: 1, allocationsCreated: 1 });
  });

  it("answers only after the driver reports the relay socket bound", () => {
    const h = new Harness();
    h.autoBind = false;
    const c = new TestClient(h, "alice", "alice-pw");
    c.stun.request(h.now, { remote: SERVER, method: Method.Allocate, attributes: [UDP], auth: { kind: "long-term", username: "alice", password: "alice-pw" } });
    const step = () => {
      for (let t; (t = c.stun.pollTransmit()); ) h.deliver({ local: SERVER, remote: CLIENT, transport: "udp", data: t.data });
      c.pump();
    };
    step(); // 401
    step(); // authenticated Allocate: waits for the socket
    expect(h.unbound).toHaveLength(1);
    expect(c.stun.pollEvent()).toBeUndefined();
    expect(h.server.stats().pendingAllocations).toBe(1);
    h.server.handleRelayBound(h.now, h.unbound[0]!);
    h.drain();
    c.pump();
    const e = c.stun.pollEvent();
    expect(e?.type).toBe("success");
    expect(e?.type === "success" && e.response.get(XorRelayedAddress)).toEqual(h.unbound[0]);
  });

  it("retries another port when a bind fails, and answers 508 after three failures", () => {
    const h = new Harness();
    let failures = 0;
    h.failBind = () => failures++ < 2;
    const c = new TestClient(h, "alice", "alice-pw");
    const ok = c.request(Method.Allocate, [UDP]);
    expect(ok.event.type).toBe("success");
    expect(h.eventsOf("relay-open")).toHaveLength(3);
    expect(h.server.stats().relayBindFailures).toBe(2);

    const h2 = new Harness();
    h2.failBind = () => true;
    const c2 = new TestClient(h2, "alice", "alice-pw");
    const o = c2.request(Method.Allocate, [UDP]);
    expect(o.code).toBe(508);
    expect(h2.server.stats()).toMatchObject({ allocations: 0, pendingAllocations: 0, relays: 0 });
  });

  it("answers 508 when the driver never reports the socket", () => {
    const h = new Harness({ relayBindTimeoutMs: 2000 });
    h.autoBind = false;
    const c = new TestClient(h, "alice", "alice-pw");
    c.stun.request(h.now, { remote: SERVER, method: Method.Allocate, attributes: [UDP], auth: { kind: "long-term", username: "alice", password: "alice-pw" } });
    for (let i = 0; i < 2; i++) {
      for (let t; (t = c.stun.pollTransmit()); ) h.deliver({ local: SERVER, remote: CLIENT, transport: "udp", data: t.data });
      c.pump();
    }
    h.advance(2500);
    c.pump();
    const e = c.stun.pollEvent();
    expect(e).toMatchObject({ type: "failure", errorCode: 508 });
    expect(h.eventsOf("relay-close").map((x) => x.relayed)).toEqual(h.unbound);
  });

  it("answers a retransmitted Allocate (same transaction id) with the same success, and 437 to a new one", () => {
    const { h, c, relayed, response } = allocated();
    const replay = c.sent.at(-1)!;
    h.advance(5000);
    const again = c.raw(replay);
    expect(again).toHaveLength(1);
    const msg = decodeStunMessage(again[0]!.data);
    expect(msg.messageClass).toBe(MessageClass.SuccessResponse);
    expect(msg.transactionId).toEqual(response.transactionId);
    expect(msg.get(XorRelayedAddress)).toEqual(relayed);
    expect(msg.get(Lifetime)).toBe(595);
    expect(h.server.stats().allocations).toBe(1);

    const second = c.request(Method.Allocate, [UDP]);
    expect(second.code).toBe(437);
  });

  it("needs REQUESTED-TRANSPORT (400) for UDP (442 for TCP)", () => {
    const h = new Harness();
    const c = new TestClient(h, "alice", "alice-pw");
    expect(c.request(Method.Allocate, []).code).toBe(400);
    expect(c.request(Method.Allocate, [attr(RequestedTransport, IpProtocol.TCP)]).code).toBe(442);
    expect(h.server.stats().allocations).toBe(0);
  });

  it("treats DONT-FRAGMENT as unknown (420) unless the driver sets DF", () => {
    const h = new Harness();
    const c = new TestClient(h, "alice", "alice-pw");
    const o = c.request(Method.Allocate, [UDP, attr(DontFragment, true)]);
    expect(o.code).toBe(420);
    const h2 = new Harness({ dontFragment: true });
    expect(new TestClient(h2, "alice", "alice-pw").request(Method.Allocate, [UDP, attr(DontFragment, true)]).event.type).toBe("success");
  });

  it("grants the default lifetime for less, the requested one up to the maximum", () => {
    const lifetimeOf = (asked: number) => allocated({}, [attr(Lifetime, asked)]).response.get(Lifetime);
    expect(lifetimeOf(30)).toBe(600);
    expect(lifetimeOf(1800)).toBe(1800);
    expect(lifetimeOf(100_000)).toBe(3600);
  });

  it("allocates IPv6 on REQUESTED-ADDRESS-FAMILY, 440 for a family it does not relay", () => {
    const v6 = allocated({}, [attr(RequestedAddressFamily, "IPv6")]).relayed;
    expect(v6).toMatchObject({ family: "IPv6", address: "2001:db8::1" });
    const h = new Harness({ relayAddresses: ["192.0.2.1"] });
    expect(new TestClient(h, "alice", "alice-pw").request(Method.Allocate, [UDP, attr(RequestedAddressFamily, "IPv6")]).code).toBe(440);
    const h6 = new Harness({ relayAddresses: ["2001:db8::1"] });
    // RFC 8656 §7.2 step 7: no REQUESTED-ADDRESS-FAMILY means IPv4.
    expect(new TestClient(h6, "alice", "alice-pw").request(Method.Allocate, [UDP]).code).toBe(440);
  });

  it("dual allocation: two XOR-RELAYED-ADDRESS, or one and ADDRESS-ERROR-CODE", () => {
    const { response } = allocated({}, [attr(AdditionalAddressFamily, "IPv6")]);
    const relayed = response.getAll(XorRelayedAddress);
    expect(relayed.map((r) => r.family)).toEqual(["IPv4", "IPv6"]);
    const partial = allocated({ relayAddresses: ["192.0.2.1"] }, [attr(AdditionalAddressFamily, "IPv6")]).response;
    expect(partial.getAll(XorRelayedAddress)).toHaveLength(1);
    expect(partial.get(AddressErrorCode)).toMatchObject({ family: "IPv6", code: 440 });
    const h = new Harness();
    const c = new TestClient(h, "alice", "alice-pw");
    expect(c.request(Method.Allocate, [UDP, attr(AdditionalAddressFamily, "IPv4")]).code).toBe(400);
    expect(c.request(Method.Allocate, [UDP, attr(AdditionalAddressFamily, "IPv6"), attr(RequestedAddressFamily, "IPv4")]).code).toBe(400);
    expect(c.request(Method.Allocate, [UDP, attr(AdditionalAddressFamily, "IPv6"), attr(EvenPort, { reserve: true })]).code).toBe(400);
  });

  it("EVEN-PORT: an even port; with R, N+1 is reserved and RESERVATION-TOKEN hands it to another 5-tuple", () => {
    const even = allocated({}, [attr(EvenPort, { reserve: false })]).relayed;
    expect(even.port % 2).toBe(0);

    const { h, relayed, response } = allocated({}, [attr(EvenPort, { reserve: true })]);
    expect(relayed.port % 2).toBe(0);
    const token = response.get(ReservationToken)!;
    expect(token).toHaveLength(8);
    expect(h.open.has(`IPv4|${relayed.port + 1}`)).toBe(true);
    expect(h.server.stats().reservations).toBe(1);

    const c2 = new TestClient(h, "alice", "alice-pw", CLIENT2);
    // The token excludes EVEN-PORT and the family attributes.
    expect(c2.request(Method.Allocate, [UDP, attr(ReservationToken, token), attr(EvenPort, { reserve: false })]).code).toBe(400);
    const o = c2.request(Method.Allocate, [UDP, attr(ReservationToken, token)]);
    expect(o.event.type).toBe("success");
    expect(o.response!.get(XorRelayedAddress)).toEqual({ ...relayed, port: relayed.port + 1 });
    expect(h.server.stats()).toMatchObject({ reservations: 0, allocations: 2 });
    // Used once: a third client gets 508.
    const c3 = new TestClient(h, "bob", "bob-pw", { ...CLIENT2, port: 40009 });
    expect(c3.request(Method.Allocate, [UDP, attr(ReservationToken, token)]).code).toBe(508);
  });

  it("a reservation expires after its 30 s and its socket is closed", () => {
    const { h, relayed, response } = allocated({}, [attr(EvenPort, { reserve: true })]);
    const token = response.get(ReservationToken)!;
    h.advance(31_000);
    expect(h.open.has(`IPv4|${relayed.port + 1}`)).toBe(false);
    const c2 = new TestClient(h, "alice", "alice-pw", CLIENT2);
    expect(c2.request(Method.Allocate, [UDP, attr(ReservationToken, token)]).code).toBe(508);
  });

  it("508 when the port range is exhausted; a freed port is used again", () => {
    const h = new Harness({ ports: [50000, 50001] });
    const a = new TestClient(h, "alice", "alice-pw", CLIENT);
    const b = new TestClient(h, "alice", "alice-pw", CLIENT2);
    const c = new TestClient(h, "bob", "bob-pw", { ...CLIENT, port: 40002 });
    expect(a.request(Method.Allocate, [UDP]).event.type).toBe("success");
    expect(b.request(Method.Allocate, [UDP]).event.type).toBe("success");
    expect(c.request(Method.Allocate, [UDP]).code).toBe(508);
    // A pair needs an even port and the next one.
    const h2 = new Harness({ ports: [50001, 50002] });
    expect(new TestClient(h2, "alice", "alice-pw").request(Method.Allocate, [UDP, attr(EvenPort, { reserve: true })]).code).toBe(508);
    expect(a.request(Method.Refresh, [attr(Lifetime, 0)]).event.type).toBe("success");
    expect(c.request(Method.Allocate, [UDP]).event.type).toBe("success");
  });

  it("a reserved port counts against its user's quota until its token is used", () => {
    const { h, response } = allocated({ userQuota: 2 }, [attr(EvenPort, { reserve: true })]);
    const token = response.get(ReservationToken)!;
    expect(new TestClient(h, "alice", "alice-pw", CLIENT2).request(Method.Allocate, [UDP]).code).toBe(486);
    expect(new TestClient(h, "alice", "alice-pw", CLIENT2).request(Method.Allocate, [UDP, attr(ReservationToken, token)]).event.type).toBe("success");
    expect(h.server.stats()).toMatchObject({ allocations: 2, reservations: 0 });
  });

  it("486 past the per-user quota (pending allocations count); 508 past the server cap", () => {
    const h = new Harness({ userQuota: 2, maxAllocations: 3 });
    const ports = [40010, 40011, 40012, 40013];
    const at = (port: number) => ({ ...CLIENT, port });
    expect(new TestClient(h, "alice", "alice-pw", at(ports[0]!)).request(Method.Allocate, [UDP]).event.type).toBe("success");
    expect(new TestClient(h, "alice", "alice-pw", at(ports[1]!)).request(Method.Allocate, [UDP]).event.type).toBe("success");
    expect(new TestClient(h, "alice", "alice-pw", at(ports[2]!)).request(Method.Allocate, [UDP]).code).toBe(486);
    expect(new TestClient(h, "bob", "bob-pw", at(ports[2]!)).request(Method.Allocate, [UDP]).event.type).toBe("success");
    expect(new TestClient(h, "bob", "bob-pw", at(ports[3]!)).request(Method.Allocate, [UDP]).code).toBe(508);
  });
});

describe("TurnServer Refresh (RFC 8656 §8.2)", () => {
  it("changes the lifetime; 0 deletes and closes the relay socket", () => {
    const { h, c, relayed } = allocated();
    const r = c.request(Method.Refresh, [attr(Lifetime, 1200)]);
    expect(r.response!.get(Lifetime)).toBe(1200);
    expect(c.request(Method.Refresh, []).response!.get(Lifetime)).toBe(600);
    const del = c.request(Method.Refresh, [attr(Lifetime, 0)]);
    expect(del.response!.get(Lifetime)).toBe(0);
    expect(h.open.has(`IPv4|${relayed.port}`)).toBe(false);
    expect(h.eventsOf("allocation-end")[0]).toMatchObject({ reason: "refresh" });
    // A retransmitted delete finds nothing: 437, which the client takes as success (§8.3).
    expect(c.request(Method.Refresh, [attr(Lifetime, 0)]).code).toBe(437);
    expect(h.server.stats()).toMatchObject({ allocations: 0, relays: 0, users: 0 });
  });

  it("expires without a refresh, and relays nothing from the moment it does", () => {
    const { h, c, relayed } = allocated();
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]).event.type).toBe("success");
    // Permissions and data do not refresh the allocation (RFC 8656 §6).
    h.advance(290_000);
    c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]);
    h.advance(290_000);
    c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]);
    h.advance(19_000);
    expect(h.fromPeer(relayed, PEER, bytes("late"))).toHaveLength(1);
    h.now += 1000; // no timer yet: the lifetime is checked on use
    expect(h.fromPeer(relayed, PEER, bytes("too late"))).toHaveLength(0);
    h.advance(1000);
    expect(h.eventsOf("allocation-end")[0]).toMatchObject({ reason: "expired" });
    expect(h.open.size).toBe(0);
    expect(c.request(Method.Refresh, []).code).toBe(437);
  });

  it("443 for a REQUESTED-ADDRESS-FAMILY the allocation lacks; a dual allocation refreshes one family", () => {
    const single = allocated();
    expect(single.c.request(Method.Refresh, [attr(RequestedAddressFamily, "IPv6")]).code).toBe(443);
    const { h, c, response } = allocated({}, [attr(AdditionalAddressFamily, "IPv6")]);
    const [v4, v6] = response.getAll(XorRelayedAddress);
    expect(c.request(Method.Refresh, [attr(RequestedAddressFamily, "IPv6"), attr(Lifetime, 0)]).event.type).toBe("success");
    expect(h.open.has(`IPv6|${v6!.port}`)).toBe(false);
    expect(h.open.has(`IPv4|${v4!.port}`)).toBe(true);
    expect(c.request(Method.Refresh, [attr(RequestedAddressFamily, "IPv6")]).code).toBe(443);
    expect(c.request(Method.Refresh, []).event.type).toBe("success");
  });
});

describe("TurnServer permissions and Send/Data indications (RFC 8656 §9-§11)", () => {
  it("CreatePermission + Send relays to the peer from the relayed address; the peer's answer comes back as a Data indication", () => {
    const { h, c, relayed } = allocated();
    // Without a permission, a Send indication is dropped.
    c.raw(sendIndication(PEER, bytes("early")));
    expect(h.toPeers).toHaveLength(0);
    expect(h.server.stats().dropped["no-permission"]).toBe(1);

    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]).event.type).toBe("success");
    expect(h.eventsOf("permission")).toEqual([{ type: "permission", id: 1, user: "alice", peer: PEER.address }]);
    c.raw(sendIndication(PEER, bytes("hello")));
    expect(h.toPeers).toHaveLength(1);
    const out = h.toPeers[0]!;
    expect(out.local).toEqual(relayed);
    expect(out.remote).toEqual(PEER);
    expect(new TextDecoder().decode(out.data)).toBe("hello");

    const back = h.fromPeer(relayed, PEER, bytes("world"));
    expect(back).toHaveLength(1);
    expect(back[0]!.remote).toEqual(CLIENT);
    expect(back[0]!.local).toEqual(SERVER);
    const ind = decodeStunMessage(back[0]!.data);
    expect(ind.method).toBe(Method.Data);
    expect(ind.messageClass).toBe(MessageClass.Indication);
    expect(ind.get(XorPeerAddress)).toEqual(PEER);
    expect(new TextDecoder().decode(ind.get(Data))).toBe("world");
    expect(h.server.stats()).toMatchObject({ toPeer: { packets: 1, bytes: 5 }, toClient: { packets: 1, bytes: 5 }, permissions: 1 });
  });

  it("permissions are by IP only, last 300 s, and are not refreshed by data", () => {
    const { h, c, relayed } = allocated();
    c.request(Method.CreatePermission, [attr(XorPeerAddress, { ...PEER, port: 1 })]);
    // Another port of the same IP is covered.
    expect(h.fromPeer(relayed, { ...PEER, port: 9999 }, bytes("x"))).toHaveLength(1);
    // Another IP is not.
    expect(h.fromPeer(relayed, PEER2, bytes("x"))).toHaveLength(0);
    h.advance(299_000);
    c.raw(sendIndication(PEER, bytes("keep?")));
    h.advance(1000);
    expect(h.fromPeer(relayed, PEER, bytes("x"))).toHaveLength(0);
    c.raw(sendIndication(PEER, bytes("gone")));
    expect(h.toPeers.map((t) => new TextDecoder().decode(t.data))).toEqual(["keep?"]);
    expect(h.server.stats().permissions).toBe(0);
  });

  it("CreatePermission: 400 without XOR-PEER-ADDRESS, 443 for the other family, 403 for a forbidden peer, 508 past the limit", () => {
    const { c } = allocated({ maxPermissions: 2 });
    expect(c.request(Method.CreatePermission, []).code).toBe(400);
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER6)]).code).toBe(443);
    // One bad peer fails the whole request: nothing is installed.
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER), attr(XorPeerAddress, { ...PEER, address: "10.1.2.3" })]).code).toBe(403);
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER), attr(XorPeerAddress, PEER2)]).event.type).toBe("success");
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, { ...PEER, address: "203.0.113.99" })]).code).toBe(508);
    // Refreshing existing ones is fine at the limit.
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]).event.type).toBe("success");
  });

  it("drops Send indications without a peer or data, to port 0, or on a 5-tuple without allocation", () => {
    const { h, c } = allocated();
    c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]);
    const noData = new StunMessageBuilder().begin(Method.Send, MessageClass.Indication, new Uint8Array(12)).add(XorPeerAddress, PEER).finish().slice();
    c.raw(noData);
    c.raw(sendIndication({ ...PEER, port: 0 }, bytes("x")));
    new TestClient(h, "bob", "bob-pw", CLIENT2).raw(sendIndication(PEER, bytes("x")));
    expect(h.toPeers).toHaveLength(0);
    expect(h.server.stats().dropped).toMatchObject({ "send-invalid": 1, "forbidden-port": 1, "no-allocation": 1 });
  });

  it("IPv6 relaying (RFC 6156)", () => {
    const { h, c, relayed } = allocated({}, [attr(RequestedAddressFamily, "IPv6")]);
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]).code).toBe(443);
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER6)]).event.type).toBe("success");
    c.raw(sendIndication(PEER6, bytes("v6")));
    expect(h.toPeers[0]).toMatchObject({ local: relayed, remote: PEER6 });
    expect(h.fromPeer(relayed, PEER6, bytes("back"))).toHaveLength(1);
  });
});

describe("TurnServer channels (RFC 8656 §12)", () => {
  it("ChannelBind installs a permission; ChannelData goes both ways", () => {
    const { h, c, relayed } = allocated();
    expect(c.request(Method.ChannelBind, [attr(ChannelNumber, 0x4001), attr(XorPeerAddress, PEER)]).event.type).toBe("success");
    expect(h.eventsOf("channel")).toEqual([{ type: "channel", id: 1, user: "alice", channel: 0x4001, peer: PEER }]);
    expect(h.server.stats()).toMatchObject({ channels: 1, permissions: 1 });

    c.raw(encodeChannelData(0x4001, bytes("over the channel")));
    expect(h.toPeers).toHaveLength(1);
    expect(h.toPeers[0]).toMatchObject({ local: relayed, remote: PEER });
    expect(new TextDecoder().decode(h.toPeers[0]!.data)).toBe("over the channel");

    const back = h.fromPeer(relayed, PEER, bytes("reply"));
    const frame = decodeChannelData(back[0]!.data);
    expect(frame.channelNumber).toBe(0x4001);
    expect(new TextDecoder().decode(frame.data)).toBe("reply");
    expect(back[0]!.data).toHaveLength(4 + 5); // no padding over UDP
    // Another port of the same IP has a permission but no channel: Data indication.
    const other = h.fromPeer(relayed, { ...PEER, port: 7777 }, bytes("other"));
    expect(decodeStunMessage(other[0]!.data).method).toBe(Method.Data);
    expect(h.server.stats().toClientChannelData).toBe(1);
  });

  it("pads ChannelData to the client over TCP (RFC 8656 §12.5)", () => {
    const h = new Harness();
    const c = new TestClient(h, "alice", "alice-pw", CLIENT, "tcp");
    const relayed = c.request(Method.Allocate, [UDP]).response!.get(XorRelayedAddress)!;
    c.request(Method.ChannelBind, [attr(ChannelNumber, 0x4002), attr(XorPeerAddress, PEER)]);
    const back = h.fromPeer(relayed, PEER, bytes("12345"));
    expect(back[0]!.transport).toBe("tcp");
    expect(back[0]!.data).toHaveLength(12);
    expect(Array.from(back[0]!.data.subarray(9))).toEqual([0, 0, 0]);
    // A padded frame from the client is read by its Length field.
    c.raw(encodeChannelData(0x4002, bytes("abcde"), true));
    expect(new TextDecoder().decode(h.toPeers[0]!.data)).toBe("abcde");
    // Closing the connection deletes the allocation.
    h.server.handleTransportClosed(h.now, { local: SERVER, remote: CLIENT, transport: "tcp" });
    h.drain();
    expect(h.eventsOf("allocation-end")[0]).toMatchObject({ reason: "transport-closed" });
    expect(h.open.size).toBe(0);
  });

  it("400 for bad numbers, rebinding a number to another peer, or a peer to a second number; refreshing is fine", () => {
    const { c } = allocated();
    const bind = (n: number, peer: TransportAddress) => c.request(Method.ChannelBind, [attr(ChannelNumber, n), attr(XorPeerAddress, peer)]).code;
    expect(c.request(Method.ChannelBind, [attr(ChannelNumber, 0x4000)]).code).toBe(400);
    expect(c.request(Method.ChannelBind, [attr(XorPeerAddress, PEER)]).code).toBe(400);
    expect(bind(0x3fff, PEER)).toBe(400);
    expect(bind(0x5000, PEER)).toBe(400);
    expect(bind(0xffff, PEER)).toBe(400);
    expect(bind(0x4000, PEER)).toBeUndefined();
    expect(bind(0x4000, PEER)).toBeUndefined(); // refresh
    expect(bind(0x4000, PEER2)).toBe(400);
    expect(bind(0x4000, { ...PEER, port: PEER.port + 1 })).toBe(400);
    expect(bind(0x4001, PEER)).toBe(400);
    expect(bind(0x4fff, { ...PEER, port: PEER.port + 1 })).toBeUndefined();
    expect(bind(0x4002, PEER6)).toBe(443);
    expect(bind(0x4003, { ...PEER, address: "127.0.0.1" })).toBe(403);
    expect(bind(0x4003, { ...PEER, port: 0 })).toBe(403);
  });

  it("drops ChannelData on unbound channels, too short for its length, or without allocation", () => {
    const { h, c } = allocated();
    c.request(Method.ChannelBind, [attr(ChannelNumber, 0x4001), attr(XorPeerAddress, PEER)]);
    c.raw(encodeChannelData(0x4002, bytes("unbound")));
    const short = encodeChannelData(0x4001, bytes("abcdef")).subarray(0, 7);
    c.raw(short);
    c.raw(new Uint8Array([0x40, 0x01, 0x00]));
    new TestClient(h, "bob", "bob-pw", CLIENT2).raw(encodeChannelData(0x4001, bytes("x")));
    expect(h.toPeers).toHaveLength(0);
    expect(h.server.stats().dropped).toMatchObject({ "no-channel": 1, "bad-channel-data": 2, "no-allocation": 1 });
  });

  it("a channel lasts 10 minutes; its permission must be refreshed every 5 (ChannelData does not refresh)", () => {
    const { h, c, relayed } = allocated({}, [attr(Lifetime, 3600)]);
    c.request(Method.ChannelBind, [attr(ChannelNumber, 0x4001), attr(XorPeerAddress, PEER)]);
    h.advance(301_000);
    c.raw(encodeChannelData(0x4001, bytes("x")));
    expect(h.toPeers).toHaveLength(0);
    expect(h.fromPeer(relayed, PEER, bytes("x"))).toHaveLength(0);
    c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]);
    c.raw(encodeChannelData(0x4001, bytes("y")));
    expect(h.toPeers).toHaveLength(1);
    h.advance(300_000);
    c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]);
    c.raw(encodeChannelData(0x4001, bytes("z")));
    expect(h.toPeers).toHaveLength(1);
    expect(h.server.stats().channels).toBe(0);
    // Once expired, the number and the peer may be bound again (to anything).
    expect(c.request(Method.ChannelBind, [attr(ChannelNumber, 0x4001), attr(XorPeerAddress, PEER2)]).event.type).toBe("success");
  });
});

describe("TurnServer ownership (RFC 8656 §5, §21.3.3)", () => {
  it("another 5-tuple has no allocation: 437; the same 5-tuple with another user: 441", () => {
    const { h } = allocated();
    const bobElsewhere = new TestClient(h, "bob", "bob-pw", CLIENT2);
    expect(bobElsewhere.request(Method.Refresh, [attr(Lifetime, 0)]).code).toBe(437);
    expect(bobElsewhere.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]).code).toBe(437);
    const bobSameTuple = new TestClient(h, "bob", "bob-pw", CLIENT);
    expect(bobSameTuple.request(Method.Refresh, [attr(Lifetime, 0)]).code).toBe(441);
    expect(bobSameTuple.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]).code).toBe(441);
    expect(bobSameTuple.request(Method.ChannelBind, [attr(ChannelNumber, 0x4001), attr(XorPeerAddress, PEER)]).code).toBe(441);
    expect(bobSameTuple.request(Method.Allocate, [UDP]).code).toBe(437);
    expect(h.server.stats()).toMatchObject({ allocations: 1, permissions: 0, channels: 0 });
  });

  it("every TURN request needs credentials: 401 without, 401 for a wrong password, and nothing is allocated", () => {
    const h = new Harness();
    const anon = new TestClient(h, "alice", "x");
    expect(anon.request(Method.Allocate, [UDP], false).code).toBe(401);
    expect(anon.request(Method.Allocate, [UDP]).event).toMatchObject({ type: "failure" });
    expect(new TestClient(h, "mallory", "x").request(Method.Allocate, [UDP]).code).toBe(401);
    expect(h.server.stats().allocations).toBe(0);
    expect(h.eventsOf("relay-open")).toHaveLength(0);
  });

  it("answers Binding without credentials", () => {
    const h = new Harness();
    const o = new TestClient(h, "x", "y").request(Method.Binding, [], false);
    expect(o.response!.get(XorMappedAddress)).toEqual(CLIENT);
  });

  it("nonces are bound to the client's address and expire with 438", () => {
    const h = new Harness({ nonceLifetimeMs: 60_000 });
    const c = new TestClient(h, "alice", "alice-pw");
    c.request(Method.Allocate, [UDP]);
    // Replaying alice's signed request from another address: her nonce is not valid there.
    const replayed = new TestClient(h, "alice", "alice-pw", CLIENT2).raw(c.sent.at(-1)!);
    expect(decodeStunMessage(replayed[0]!.data).get(ErrorCode)?.code).toBe(438);
    h.advance(61_000);
    const before = h.server.stats().stun.errorResponses[438] ?? 0;
    expect(c.request(Method.Refresh, []).event.type).toBe("success"); // the client retries after 438
    expect(h.server.stats().stun.errorResponses[438]).toBe(before + 1);
    const nonce = decodeStunMessage(c.sent.at(-1)!).get(Nonce);
    expect(nonce).toBeDefined();
    expect(decodeStunMessage(c.sent.at(-1)!).get(Realm)).toBe(REALM);
  });
});

describe("TurnServer details", () => {
  it("420 lists unknown comprehension-required attributes (RFC 5766's BANDWIDTH, say)", () => {
    const h = new Harness();
    const c = new TestClient(h, "alice", "alice-pw");
    const bandwidth = { type: 0x0010, name: "BANDWIDTH", decode: () => 0, encodedLength: () => 4, encode: () => {} };
    const o = c.request(Method.Allocate, [UDP, attr(bandwidth, 0)]);
    expect(o.code).toBe(420);
  });

  it("channelNumbers: rfc5766 accepts 0x4000-0x7FFF, as coturn's clients use", () => {
    const { h, c, relayed } = allocated({ channelNumbers: "rfc5766" });
    expect(c.request(Method.ChannelBind, [attr(ChannelNumber, 0x56f0), attr(XorPeerAddress, PEER)]).event.type).toBe("success");
    expect(c.request(Method.ChannelBind, [attr(ChannelNumber, 0x8000), attr(XorPeerAddress, PEER2)]).code).toBe(400);
    c.raw(new Uint8Array([0x56, 0xf0, 0, 2, 0x68, 0x69]));
    expect(new TextDecoder().decode(h.toPeers[0]!.data)).toBe("hi");
    const back = h.fromPeer(relayed, PEER, bytes("yo"));
    expect(Array.from(back[0]!.data.subarray(0, 4))).toEqual([0x56, 0xf0, 0, 2]);
  });

  it("a failed bind of the reserved port N+1 retries with another pair", () => {
    const h = new Harness();
    let first: number | undefined;
    h.failBind = (a) => {
      if (first === undefined) first = a.port;
      return a.port === first + 1;
    };
    const c = new TestClient(h, "alice", "alice-pw");
    const o = c.request(Method.Allocate, [UDP, attr(EvenPort, { reserve: true })]);
    expect(o.event.type).toBe("success");
    const relayed = o.response!.get(XorRelayedAddress)!;
    expect(relayed.port).not.toBe(first);
    expect(relayed.port % 2).toBe(0);
    expect(h.open.has(`IPv4|${relayed.port + 1}`)).toBe(true);
    expect(h.open.has(`IPv4|${first}`)).toBe(false);
  });

  it("a dual allocation relays each family from its own relayed address", () => {
    const { h, c, response } = allocated({}, [attr(AdditionalAddressFamily, "IPv6")]);
    const [v4, v6] = response.getAll(XorRelayedAddress);
    c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER), attr(XorPeerAddress, PEER6)]);
    c.raw(sendIndication(PEER, bytes("4")));
    c.raw(sendIndication(PEER6, bytes("6")));
    expect(h.toPeers.map((t) => t.local)).toEqual([v4, v6]);
    expect(h.fromPeer(v6!, PEER6, bytes("x"))).toHaveLength(1);
    // A permission is per relayed address: the IPv4 peer cannot reach the IPv6 one.
    expect(h.fromPeer(v6!, PEER, bytes("x"))).toHaveLength(0);
  });

  it("signs Data indications with FINGERPRINT when fingerprint is always", () => {
    const { h, c, relayed } = allocated({ fingerprint: "always" });
    c.request(Method.CreatePermission, [attr(XorPeerAddress, PEER)]);
    const ind = decodeStunMessage(h.fromPeer(relayed, PEER, bytes("x"))[0]!.data);
    expect(ind.has(0x8028)).toBe(true);
  });

  it("a datagram on a reserved port, or to a relay after its allocation, is dropped", () => {
    const { h, relayed } = allocated({}, [attr(EvenPort, { reserve: true })]);
    expect(h.fromPeer({ ...relayed, port: relayed.port + 1 }, PEER, bytes("x"))).toHaveLength(0);
    expect(h.server.stats().dropped["no-relay"]).toBe(1);
    // Even a STUN request there is peer data, not a client's request.
    const request = new StunMessageBuilder().begin(Method.Allocate, MessageClass.Request, new Uint8Array(12)).add(RequestedTransport, 17).finish().slice();
    expect(h.deliver({ local: { ...relayed, port: relayed.port + 1 }, remote: CLIENT2, transport: "udp", data: request })).toBe(true);
    expect(h.toClients).toHaveLength(0);
    expect(h.server.stats().dropped["no-relay"]).toBe(2);
  });
});

describe("TurnServer options", () => {
  it("refuses to run without authentication or with a wildcard relay address", () => {
    expect(() => new TurnServer({ realm: REALM, relayAddresses: ["192.0.2.1"] })).toThrow(/authentication/);
    expect(() => new TurnServer({ ...baseOptions(), relayAddresses: ["0.0.0.0"] })).toThrow(/wildcard/);
    expect(() => new TurnServer({ ...baseOptions(), relayAddresses: ["192.0.2.1", "192.0.2.2"] })).toThrow(/two IPv4/);
    expect(() => new TurnServer({ ...baseOptions(), ports: [80, 90] })).toThrow(/1024/);
    expect(() => new TurnServer({ ...baseOptions(), secret: "s" })).toThrow(/unixTime/);
    expect(() => new TurnServer({ ...baseOptions(), allowPeer: ["10.0.0.1/8"] })).toThrow(/bits set/);
  });

  it("close() ends every allocation and asks for every socket to close", () => {
    const { h } = allocated({}, [attr(EvenPort, { reserve: true })]);
    expect(h.open.size).toBe(2);
    h.server.close(h.now);
    h.drain();
    expect(h.open.size).toBe(0);
    expect(new TestClient(h, "bob", "bob-pw", CLIENT2).request(Method.Allocate, [UDP]).code).toBe(508);
    expect(h.server.pollTimeout()).toBeUndefined();
    expect(h.server.stats()).toMatchObject({ allocations: 0, reservations: 0, allocationsEnded: { closed: 1 } });
  });
});
