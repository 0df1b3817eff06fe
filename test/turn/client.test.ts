import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AdditionalAddressFamily,
  AttributeType,
  Data,
  ErrorCode,
  IcekitError,
  Icmp,
  MessageClass,
  Method,
  Nonce,
  Realm,
  RequestedAddressFamily,
  RequestedTransport,
  StunMessageBuilder,
  XorMappedAddress,
  XorRelayedAddress,
  decodeChannelData,
} from "../../src/index";
import { TurnClient } from "../../src/turn/client";
import {
  ALT_SERVER,
  AddressErrorCode,
  AlternateServer,
  ChannelNumber,
  Harness,
  LOCAL,
  Lifetime,
  PEER,
  PEER2,
  PEER6,
  RELAYED,
  RELAYED6,
  SERVER,
  XorPeerAddress,
  dataIndication,
  decodeStunMessage,
  encodeChannelData,
  errorResponse,
  respond,
} from "./client-harness";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("TurnClient allocation (RFC 8656 §7)", () => {
  it("sends Allocate bare, answers the 401 with credentials, and reports the relayed and mapped addresses", () => {
    const h = new Harness({ software: "icekit-test" });
    h.allocate(0);
    const [first, second] = h.requests;
    expect(first!.method).toBe(Method.Allocate);
    expect(first!.get(RequestedTransport)).toBe(17); // §7.1: UDP
    expect(first!.has(AttributeType.RequestedAddressFamily)).toBe(false); // IPv4 is the default
    expect(first!.has(AttributeType.MessageIntegrity)).toBe(false);
    expect(first!.has(AttributeType.Software)).toBe(true); // §5: SHOULD on Allocate
    // The retry carries USERNAME, REALM, the NONCE from the 401, and MESSAGE-INTEGRITY.
    expect(second!.get(Realm)).toBe("example.org");
    expect(second!.get(Nonce)).toBe("nonce-1");
    expect(second!.has(AttributeType.Username)).toBe(true);
    expect(second!.has(AttributeType.MessageIntegrity)).toBe(true);
    expect(second!.transactionIdHex).not.toBe(first!.transactionIdHex);
    expect(h.events).toEqual([
      {
        type: "allocated",
        relayed: [RELAYED],
        mapped: { family: "IPv4", address: "198.51.100.7", port: 40000 },
        lifetime: 600,
        server: SERVER,
        reservationToken: undefined,
        addressErrors: [],
      },
    ]);
    expect(h.client.state).toBe("allocated");
    expect(h.client.relayed).toEqual([RELAYED]);
    expect(h.wire.every((t) => t.transport === "udp" && t.remote === h.client.server)).toBe(true);
  });

  it("retries with the fresh nonce after 438 Stale Nonce", () => {
    const h = new Harness();
    let stale = true;
    h.handler = (req) => {
      if (req.method === Method.Allocate && req.has(AttributeType.MessageIntegrity) && stale) {
        stale = false;
        return errorResponse(req, 438, "Stale Nonce", (b) => b.add(Realm, "example.org").add(Nonce, "nonce-2"));
      }
      return undefined;
    };
    h.allocate(0);
    expect(h.requests.map((r) => r.get(Nonce))).toEqual([undefined, "nonce-1", "nonce-2"]);
    expect(h.eventsOf("allocated")).toHaveLength(1);
  });

  it("reports a wrong password as allocation-failed with reason auth and code 401", () => {
    const h = new Harness({ password: "wrong" });
    h.handler = (req) =>
      req.has(AttributeType.MessageIntegrity)
        ? respond(req, MessageClass.ErrorResponse, (b) => b.add(ErrorCode, { code: 401, reason: "Unauthenticated" }).add(Realm, "example.org").add(Nonce, "nonce-1"), false)
        : undefined;
    h.allocate(0);
    expect(h.events).toEqual([expect.objectContaining({ type: "allocation-failed", reason: "auth", code: 401 })]);
    expect(h.client.state).toBe("failed");
    expect(h.client.pollTimeout()).toBeUndefined();
  });

  it.each([
    [486, "Allocation Quota Reached"],
    [508, "Insufficient Capacity"],
    [437, "Allocation Mismatch"],
    [440, "Address Family not Supported"],
    [403, "Forbidden"],
  ])("reports Allocate error %i as allocation-failed with that code", (code, reason) => {
    const h = new Harness();
    h.handler = (req) => (req.has(AttributeType.MessageIntegrity) ? errorResponse(req, code, reason) : undefined);
    h.allocate(0);
    expect(h.events).toEqual([expect.objectContaining({ type: "allocation-failed", reason: "error-response", code })]);
    expect(() => h.client.allocate(1)).toThrow(IcekitError);
  });

  it("follows 300 Try Alternate and keeps using the alternate server", () => {
    const h = new Harness();
    h.handler = (req, t) =>
      t.remote.address === SERVER.address && req.has(AttributeType.MessageIntegrity)
        ? errorResponse(req, 300, "Try Alternate", (b) => b.add(AlternateServer, ALT_SERVER))
        : undefined;
    h.allocate(0);
    expect(h.eventsOf("allocated")[0]?.server).toEqual(ALT_SERVER);
    expect(h.client.server).toEqual(ALT_SERVER);
    h.advance(540_000);
    const refresh = h.wire.at(-1)!;
    expect(decodeStunMessage(refresh.data).method).toBe(Method.Refresh);
    expect(refresh.remote).toEqual(ALT_SERVER);
    // Datagrams now come from the alternate; the old server is foreign.
    expect(h.deliver(dataIndication(PEER, bytes("x")), SERVER)).toBe(false);
  });

  it("asks for IPv6 with REQUESTED-ADDRESS-FAMILY and for dual with ADDITIONAL-ADDRESS-FAMILY (§7.1)", () => {
    const v6 = new Harness({ family: "IPv6" });
    v6.relayed = [RELAYED6];
    v6.allocate(0);
    expect(v6.requests[1]!.get(RequestedAddressFamily)).toBe("IPv6");
    expect(v6.requests[1]!.has(AttributeType.AdditionalAddressFamily)).toBe(false);
    expect(v6.client.relayed).toEqual([RELAYED6]);

    const dual = new Harness({ family: "dual" });
    dual.relayed = [RELAYED, RELAYED6];
    dual.allocate(0);
    expect(dual.requests[1]!.get(AdditionalAddressFamily)).toBe("IPv6");
    expect(dual.requests[1]!.has(AttributeType.RequestedAddressFamily)).toBe(false);
    expect(dual.eventsOf("allocated")[0]?.relayed).toEqual([RELAYED, RELAYED6]);
  });

  it("reports a partial dual allocation's ADDRESS-ERROR-CODE and refuses peers of the missing family", () => {
    const h = new Harness({ family: "dual" });
    h.handler = (req) =>
      req.method === Method.Allocate && req.has(AttributeType.MessageIntegrity)
        ? respond(req, MessageClass.SuccessResponse, (b) =>
            b
              .add(XorRelayedAddress, RELAYED)
              .add(Lifetime, 600)
              .add(AddressErrorCode, { family: "IPv6", code: 440, reason: "Address Family not Supported" }),
          )
        : undefined;
    h.allocate(0);
    const a = h.eventsOf("allocated")[0]!;
    expect(a.addressErrors).toEqual([{ family: "IPv6", code: 440, reason: "Address Family not Supported" }]);
    expect(a.relayed).toEqual([RELAYED]);
    // §10.1: no CreatePermission for a family the allocation has no relayed address of.
    const before = h.requests.length;
    h.client.createPermission(1, PEER6.address);
    h.run(1);
    expect(h.requests.length).toBe(before);
    expect(h.eventsOf("permission-failed")).toEqual([expect.objectContaining({ peer: "2001:db8::5", reason: "family", code: 443 })]);
    expect(h.client.send(1, PEER6, bytes("x"))).toBe(false);
  });

  it("refuses option combinations RFC 8656 §7.1 forbids", () => {
    const base = { server: SERVER, username: "u", password: "p" };
    expect(() => new TurnClient({ ...base, family: "dual", evenPort: { reserve: true } })).toThrow(IcekitError);
    expect(() => new TurnClient({ ...base, reservationToken: new Uint8Array(8), evenPort: { reserve: false } })).toThrow(IcekitError);
    expect(() => new TurnClient({ ...base, reservationToken: new Uint8Array(8), family: "IPv6" })).toThrow(IcekitError);
    expect(() => new TurnClient({ ...base, username: "" })).toThrow(/username/);
    expect(() => new TurnClient({ ...base, transport: "dtls" as never })).toThrow(/transport/);
  });
});

describe("TurnClient refresh and deallocation (RFC 8656 §8)", () => {
  it("refreshes 60 s before expiry, counted from the Allocate request, and again after each Refresh", () => {
    const h = new Harness();
    h.allocate(1_000);
    expect(h.client.pollTimeout()).toBe(1_000 + 540_000);
    // An early timeout does nothing.
    expect(h.advance(540_999)).toHaveLength(0);
    const refresh = h.advance(541_000);
    expect(refresh.map((r) => r.method)).toEqual([Method.Refresh]);
    expect(refresh[0]!.has(AttributeType.MessageIntegrity)).toBe(true); // signed with the cached nonce
    expect(refresh[0]!.has(AttributeType.Lifetime)).toBe(false); // no lifetime asked for: the default
    expect(h.eventsOf("refreshed")).toEqual([{ type: "refreshed", lifetime: 600 }]);
    expect(h.client.pollTimeout()).toBe(541_000 + 540_000);
    expect(h.client.stats().refreshes).toBe(1);
  });

  it("asks for the configured lifetime in Allocate and Refresh, and uses what the server grants", () => {
    const h = new Harness({ lifetime: 1800 });
    h.allocate(0);
    expect(h.requests[1]!.get(Lifetime)).toBe(1800);
    expect(h.client.lifetime).toBe(1800);
    expect(h.client.pollTimeout()).toBe(1_740_000);
    h.handler = (req) => (req.method === Method.Refresh ? respond(req, MessageClass.SuccessResponse, (b) => b.add(Lifetime, 900)) : undefined);
    const [refresh] = h.advance(1_740_000);
    expect(refresh!.get(Lifetime)).toBe(1800);
    expect(h.client.lifetime).toBe(900);
    expect(h.client.pollTimeout()).toBe(1_740_000 + 840_000);
  });

  it("refreshes a short lifetime at half its length", () => {
    const h = new Harness();
    h.lifetime = 100;
    h.allocate(0);
    expect(h.client.pollTimeout()).toBe(50_000);
  });

  it("deletes the allocation with LIFETIME 0 on close, then reports closed and goes quiet", () => {
    const h = new Harness();
    h.allocate(0);
    h.client.createPermission(1, PEER.address);
    h.run(1);
    h.client.close(2);
    const [del] = h.run(2);
    expect(del!.method).toBe(Method.Refresh);
    expect(del!.get(Lifetime)).toBe(0);
    expect(del!.has(AttributeType.MessageIntegrity)).toBe(true);
    expect(h.events.at(-1)).toEqual({ type: "closed", detail: "deleted" });
    expect(h.client.state).toBe("closed");
    expect(h.client.pollTimeout()).toBeUndefined();
    expect(h.client.send(3, PEER, bytes("late"))).toBe(false);
    expect(() => h.client.createPermission(3, PEER.address)).toThrow(IcekitError);
  });

  it("treats 437 to the deletion as success (§8.3)", () => {
    const h = new Harness();
    h.allocate(0);
    h.handler = (req) => (req.method === Method.Refresh ? errorResponse(req, 437, "Allocation Mismatch") : undefined);
    h.client.close(5);
    h.run(5);
    expect(h.events.at(-1)).toEqual({ type: "closed", detail: "deleted" });
  });

  it("reports allocation-lost when a Refresh gets 437", () => {
    const h = new Harness();
    h.allocate(0);
    h.handler = (req) => (req.method === Method.Refresh ? errorResponse(req, 437, "Allocation Mismatch") : undefined);
    h.advance(540_000);
    expect(h.events.at(-1)).toEqual(expect.objectContaining({ type: "allocation-lost", code: 437 }));
    expect(h.client.state).toBe("failed");
    expect(h.client.pollTimeout()).toBeUndefined();
  });

  it("retries an unanswered Refresh and reports allocation-lost when the lifetime runs out", () => {
    const h = new Harness();
    h.allocate(0);
    h.handler = (req) => (req.method === Method.Refresh ? "drop" : undefined);
    let now = 540_000;
    for (let i = 0; i < 40 && h.client.state === "allocated"; i++) {
      h.advance(now);
      now = h.client.pollTimeout() ?? now;
    }
    expect(h.events.at(-1)).toEqual(expect.objectContaining({ type: "allocation-lost", reason: "expired" }));
    expect(h.now).toBe(600_000);
    // The first Refresh timed out at 579.5 s and a second was started.
    expect(h.requests.filter((r) => r.method === Method.Refresh).length).toBeGreaterThan(7);
  });

  it("reports allocation-lost when the TCP connection to the server fails", () => {
    const h = new Harness({ transport: "tcp" });
    h.allocate(0);
    h.client.handleTransportError(10, SERVER, "tcp", "ECONNRESET");
    h.drain();
    expect(h.events.at(-1)).toEqual(expect.objectContaining({ type: "allocation-lost", reason: "transport" }));
  });

  it("sends the deletion even while the Allocate is still in flight", () => {
    const h = new Harness();
    h.client.allocate(0);
    h.drain(); // the Allocate is sent but not answered
    h.client.close(1);
    h.run(1);
    expect(h.requests.map((r) => r.method)).toEqual([Method.Allocate, Method.Refresh, Method.Refresh]);
    expect(h.events).toEqual([{ type: "closed", detail: "deleted" }]);
  });
});

describe("TurnClient permissions (RFC 8656 §9, §10)", () => {
  it("installs a permission and refreshes it every 240 s, independently of the allocation refresh", () => {
    const h = new Harness();
    h.allocate(0);
    h.client.createPermission(1_000, "203.0.113.5");
    const [cp] = h.run(1_000);
    expect(cp!.method).toBe(Method.CreatePermission);
    expect(cp!.get(XorPeerAddress)?.address).toBe("203.0.113.5");
    expect(cp!.has(AttributeType.MessageIntegrity)).toBe(true);
    expect(h.eventsOf("permission-created")).toEqual([{ type: "permission-created", peer: "203.0.113.5" }]);
    expect(h.client.hasPermission("203.0.113.5")).toBe(true);
    expect(h.client.pollTimeout()).toBe(241_000);
    expect(h.advance(241_000).map((r) => r.method)).toEqual([Method.CreatePermission]);
    expect(h.client.pollTimeout()).toBe(481_000);
    expect(h.advance(481_000).map((r) => r.method)).toEqual([Method.CreatePermission]);
    expect(h.advance(540_000).map((r) => r.method)).toEqual([Method.Refresh]);
    // Announced once, not on every refresh.
    expect(h.eventsOf("permission-created")).toHaveLength(1);
    // Asking again for the same IP sends nothing.
    h.client.createPermission(541_000, { ...PEER, port: 9 });
    expect(h.run(541_000)).toHaveLength(0);
  });

  it("waits for the allocation before sending permissions asked for early", () => {
    const h = new Harness();
    h.client.createPermission(0, PEER.address);
    h.client.allocate(0);
    h.run(0);
    expect(h.requests.map((r) => r.method)).toEqual([Method.Allocate, Method.Allocate, Method.CreatePermission]);
    expect(h.eventsOf("permission-created")).toHaveLength(1);
  });

  it("reports 403 as permission-failed, drops the data waiting for it, and stops refreshing it", () => {
    const h = new Harness();
    h.allocate(0);
    h.handler = (req) => (req.method === Method.CreatePermission ? errorResponse(req, 403, "Forbidden") : undefined);
    expect(h.client.send(1, PEER, bytes("queued"))).toBe(true);
    h.run(1);
    expect(h.eventsOf("permission-failed")).toEqual([expect.objectContaining({ peer: PEER.address, reason: "error-response", code: 403 })]);
    expect(h.takeData()).toHaveLength(0);
    expect(h.client.stats().droppedSends).toBe(1);
    expect(h.client.pollTimeout()).toBe(540_000);
  });

  it("treats 437 to a CreatePermission as the allocation being gone (§5)", () => {
    const h = new Harness();
    h.allocate(0);
    h.handler = (req) => (req.method === Method.CreatePermission ? errorResponse(req, 437, "Allocation Mismatch") : undefined);
    h.client.createPermission(1, PEER.address);
    h.run(1);
    expect(h.events.at(-1)).toEqual(expect.objectContaining({ type: "allocation-lost", code: 437 }));
  });
});

describe("TurnClient data (RFC 8656 §11, §12)", () => {
  it("creates the permission implicitly, holds the data until it is installed, then sends a Send indication", () => {
    const h = new Harness();
    h.allocate(0);
    h.handler = (req) => (req.method === Method.CreatePermission ? "drop" : undefined);
    h.client.send(10, PEER, bytes("one"));
    h.client.send(10, PEER, bytes("two"));
    h.run(10);
    expect(h.takeData()).toHaveLength(0); // nothing before the permission
    const cp = h.requests.at(-1)!;
    h.deliver(respond(cp, MessageClass.SuccessResponse, () => {}));
    const sent = h.takeData().map((t) => decodeStunMessage(t.data));
    expect(sent.map((m) => [m.method, m.messageClass])).toEqual([
      [Method.Send, MessageClass.Indication],
      [Method.Send, MessageClass.Indication],
    ]);
    expect(sent.map((m) => text(m.get(Data)!))).toEqual(["one", "two"]);
    expect(sent[0]!.get(XorPeerAddress)).toEqual(PEER);
    expect(sent[0]!.has(AttributeType.MessageIntegrity)).toBe(false); // indications are never signed (§5)
    // With the permission in place, the next send goes at once.
    h.client.send(11, PEER, bytes("three"));
    h.drain();
    expect(text(decodeStunMessage(h.takeData()[0]!.data).get(Data)!)).toBe("three");
    expect(h.client.stats()).toMatchObject({ sendIndications: 3, bytesSent: 11 });
  });

  it("binds channels from 0x4000 up, uses Send indications until bound and ChannelData after, unpadded on UDP", () => {
    const h = new Harness();
    h.allocate(0);
    expect(h.client.bindChannel(5, PEER)).toBe(0x4000);
    expect(h.client.bindChannel(5, PEER)).toBe(0x4000); // same peer, same channel, no new request
    h.handler = (req) => (req.method === Method.ChannelBind ? "drop" : undefined);
    h.run(5);
    const bind = h.requests.at(-1)!;
    expect(bind.method).toBe(Method.ChannelBind);
    expect(bind.get(ChannelNumber)).toBe(0x4000);
    expect(bind.get(XorPeerAddress)).toEqual(PEER);
    expect(h.requests.filter((r) => r.method === Method.ChannelBind)).toHaveLength(1);
    // While the binding is in flight, data waits for the permission the binding installs.
    h.client.send(6, PEER, bytes("early"));
    h.drain();
    expect(h.takeData()).toHaveLength(0);
    h.deliver(respond(bind, MessageClass.SuccessResponse, () => {}));
    expect(h.eventsOf("channel-bound")).toEqual([{ type: "channel-bound", peer: PEER, channel: 0x4000 }]);
    // §12.3: the binding installed the permission too.
    expect(h.eventsOf("permission-created")).toEqual([{ type: "permission-created", peer: PEER.address }]);
    expect(h.client.channelFor(PEER)).toBe(0x4000);
    const flushed = h.takeData();
    expect(flushed).toHaveLength(1);
    expect(decodeChannelData(flushed[0]!.data)).toEqual({ channelNumber: 0x4000, data: bytes("early") });
    h.client.send(7, PEER, bytes("hello"));
    h.drain();
    const [frame] = h.takeData();
    expect(Array.from(frame!.data)).toEqual([0x40, 0x00, 0x00, 0x05, ...bytes("hello")]); // 9 bytes: no padding on UDP
    expect(h.client.bindChannel(8, PEER2)).toBe(0x4001);
  });

  it("sends Send indications while a channel to an already permitted peer is being bound", () => {
    const h = new Harness();
    h.allocate(0);
    h.client.createPermission(1, PEER.address);
    h.run(1);
    h.handler = (req) => (req.method === Method.ChannelBind ? "drop" : undefined);
    h.client.bindChannel(2, PEER);
    h.run(2);
    h.client.send(3, PEER, bytes("x"));
    h.drain();
    expect(decodeStunMessage(h.takeData()[0]!.data).method).toBe(Method.Send);
  });

  it("rebinds channels every 540 s and refreshes their permission every 240 s with CreatePermission", () => {
    const h = new Harness();
    h.allocate(0);
    h.client.bindChannel(0, PEER);
    h.run(0);
    expect(h.client.pollTimeout()).toBe(240_000);
    expect(h.advance(240_000).map((r) => r.method)).toEqual([Method.CreatePermission]);
    expect(h.advance(480_000).map((r) => r.method)).toEqual([Method.CreatePermission]);
    const at540 = h.advance(540_000);
    expect(at540.map((r) => r.method).sort()).toEqual([Method.Refresh, Method.ChannelBind].sort());
    const rebind = at540.find((r) => r.method === Method.ChannelBind)!;
    expect(rebind.get(ChannelNumber)).toBe(0x4000); // §12.1: same number, same peer
    expect(h.eventsOf("channel-bound")).toHaveLength(1);
  });

  it("pads ChannelData to a multiple of 4 on TCP (§12.5)", () => {
    const h = new Harness({ transport: "tcp" });
    h.allocate(0);
    h.client.bindChannel(0, PEER);
    h.run(0);
    h.client.send(1, PEER, bytes("hello"));
    h.drain();
    const [frame] = h.takeData();
    expect(frame!.transport).toBe("tcp");
    expect(Array.from(frame!.data)).toEqual([0x40, 0x00, 0x00, 0x05, ...bytes("hello"), 0, 0, 0]);
  });

  it("reports ChannelBind errors as channel-failed and keeps the number for that peer (§12)", () => {
    const h = new Harness();
    h.allocate(0);
    h.handler = (req) => (req.method === Method.ChannelBind ? errorResponse(req, 403, "Forbidden") : undefined);
    expect(h.client.bindChannel(1, PEER)).toBe(0x4000);
    h.run(1);
    expect(h.eventsOf("channel-failed")).toEqual([expect.objectContaining({ peer: PEER, channel: 0x4000, code: 403 })]);
    expect(h.client.channelFor(PEER)).toBeUndefined();
    h.handler = () => undefined;
    // Another peer may not take 0x4000 within the binding's lifetime + 5 minutes...
    expect(h.client.bindChannel(2, PEER2)).toBe(0x4001);
    // ...but the same peer gets its number back.
    expect(h.client.bindChannel(3, PEER)).toBe(0x4000);
    h.run(3);
    expect(h.client.channelFor(PEER)).toBe(0x4000);
  });

  it("delivers Data indications and ChannelData as data events, and drops what has no permission or channel", () => {
    const h = new Harness();
    h.allocate(0);
    h.client.createPermission(1, PEER.address);
    h.run(1);
    expect(h.deliver(dataIndication(PEER, bytes("via-indication")))).toBe(true);
    expect(h.deliver(dataIndication(PEER2, bytes("no-permission")))).toBe(true);
    expect(h.deliver(encodeChannelData(0x4000, bytes("unbound")))).toBe(true);
    h.client.bindChannel(2, PEER);
    h.run(2);
    const frame = encodeChannelData(0x4000, bytes("via-channel"), true);
    expect(h.deliver(frame)).toBe(true);
    const data = h.eventsOf("data");
    expect(data.map((e) => [text(e.data), e.peer, e.channel])).toEqual([
      ["via-indication", PEER, undefined],
      ["via-channel", PEER, 0x4000],
    ]);
    // Without copyData the bytes are a view into what was handed in.
    expect(data[1]!.data.buffer).toBe(frame.buffer);
    expect(h.client.stats()).toMatchObject({ dataIndications: 1, channelDataReceived: 1, droppedNoPermission: 1, droppedUnknownChannel: 1 });
  });

  it("copies received data with copyData", () => {
    const h = new Harness({ copyData: true });
    h.allocate(0);
    h.client.bindChannel(0, PEER);
    h.run(0);
    const frame = encodeChannelData(0x4000, bytes("abc"));
    h.deliver(frame);
    const e = h.eventsOf("data")[0]!;
    expect(e.data.buffer).not.toBe(frame.buffer);
    frame.fill(0);
    expect(text(e.data)).toBe("abc");
  });

  it("accepts ChannelData on a channel whose ChannelBind is still in flight (§12)", () => {
    const h = new Harness();
    h.allocate(0);
    h.handler = (req) => (req.method === Method.ChannelBind ? "drop" : undefined);
    h.client.bindChannel(0, PEER);
    h.run(0);
    h.deliver(encodeChannelData(0x4000, bytes("early")));
    expect(h.eventsOf("data").map((e) => text(e.data))).toEqual(["early"]);
  });

  it("reports a Data indication with ICMP as an icmp event (§11.6)", () => {
    const h = new Harness();
    h.allocate(0);
    h.client.createPermission(0, PEER.address);
    h.run(0);
    const ind = new StunMessageBuilder()
      .begin(Method.Data, MessageClass.Indication, new Uint8Array(12).fill(3))
      .add(XorPeerAddress, PEER)
      .add(Icmp, { type: 3, code: 3, errorData: 0 })
      .finish()
      .slice();
    h.deliver(ind);
    expect(h.eventsOf("icmp")).toEqual([{ type: "icmp", peer: PEER, icmp: { type: 3, code: 3, errorData: 0 } }]);
  });
});

describe("TurnClient demultiplexing (RFC 7983)", () => {
  it("returns false for what is not the server's TURN traffic, so an ICE agent can share the socket", () => {
    const h = new Harness({ local: LOCAL });
    h.allocate(0);
    h.client.createPermission(0, PEER.address);
    h.run(0);
    const ind = dataIndication(PEER, bytes("x"));
    // From a peer directly, not via the server.
    expect(h.deliver(ind, PEER)).toBe(false);
    // Over another transport.
    expect(h.deliver(ind, SERVER, "tcp")).toBe(false);
    // On another local socket.
    expect(h.client.handleReceive(0, { local: { ...LOCAL, port: 1 }, remote: SERVER, transport: "udp", data: ind })).toBe(false);
    // DTLS (20-63) and RTP (128-191) first bytes.
    expect(h.deliver(Uint8Array.of(22, 254, 253, 0))).toBe(false);
    expect(h.deliver(Uint8Array.of(0x80, 0, 0, 0))).toBe(false);
    expect(h.deliver(new Uint8Array(0))).toBe(false);
    // A Binding response from the server to someone else's transaction (an ICE agent's srflx check).
    const other = decodeStunMessage(new StunMessageBuilder().begin(Method.Binding, MessageClass.Request, new Uint8Array(12).fill(7)).finish().slice());
    expect(h.deliver(respond(other, MessageClass.SuccessResponse, (b) => b.add(XorMappedAddress, LOCAL), false))).toBe(false);
    // A Binding request from the server (an ICE check sent to the host candidate).
    expect(h.deliver(new StunMessageBuilder().begin(Method.Binding, MessageClass.Request, new Uint8Array(12)).finish().slice())).toBe(false);
    expect(h.client.stats().foreign).toBe(8);
    // The TURN traffic itself is consumed.
    expect(h.deliver(ind)).toBe(true);
    expect(h.eventsOf("data")).toHaveLength(1);
  });

  it("never throws on random bytes from the server, and counts what it drops", () => {
    const h = new Harness();
    h.allocate(0);
    h.client.bindChannel(0, PEER);
    h.run(0);
    const prefixes = [[], [0x40, 0x00], [0x00, 0x17], [0x01, 0x13], [0x00, 0x17, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42]];
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 120 }), (prefix, tail) => {
        const data = Uint8Array.from([...prefix, ...tail]);
        const r = h.client.handleReceive(1, { local: LOCAL, remote: SERVER, transport: "udp", data });
        for (let e = h.client.pollEvent(); e; e = h.client.pollEvent()) expect(["data", "icmp"]).toContain(e.type);
        while (h.client.pollTransmit());
        expect(typeof r).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
    expect(h.client.state).toBe("allocated");
  });

  it("never throws on single-byte mutations of a valid Data indication", () => {
    const h = new Harness();
    h.allocate(0);
    h.client.createPermission(0, PEER.address);
    h.run(0);
    const base = dataIndication(PEER, bytes("payload-bytes"));
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), (i, v) => {
        const data = base.slice();
        data[i] = v;
        expect(() => h.client.handleReceive(1, { local: LOCAL, remote: SERVER, transport: "udp", data })).not.toThrow();
        while (h.client.pollEvent());
      }),
      { numRuns: 1000 },
    );
  });
});
