import { describe, expect, it } from "vitest";
import {
  AttributeType,
  ConnectionId,
  ErrorCode,
  IcekitError,
  MessageClass,
  Method,
  Nonce,
  Realm,
  RequestedTransport,
  StunMessageBuilder,
  decodeStunMessage,
  type Transmit,
} from "../../src/index";
import { TurnClient } from "../../src/turn/client";
import { TurnConnectionBind, type TurnConnectionBindEvent } from "../../src/turn/tcp-allocation";
import { Harness, LOCAL, PEER, SERVER, XorPeerAddress, errorResponse, respond } from "./client-harness";

describe("TurnClient TCP allocations (RFC 6062 §4)", () => {
  it("asks for REQUESTED-TRANSPORT TCP and only over TCP or TLS", () => {
    const h = new Harness({ transport: "tcp", requestedTransport: "tcp" });
    h.allocate(0);
    expect(h.requests[0]!.get(RequestedTransport)).toBe(6);
    expect(h.client.state).toBe("allocated");
    expect(() => new TurnClient({ server: SERVER, username: "u", password: "p", requestedTransport: "tcp" })).toThrow(/tcp/);
    expect(() => new TurnClient({ server: SERVER, transport: "tcp", username: "u", password: "p", requestedTransport: "tcp", evenPort: { reserve: false } })).toThrow(IcekitError);
  });

  it("sends Connect with XOR-PEER-ADDRESS and reports the CONNECTION-ID to bind (§4.3)", () => {
    const h = new Harness({ transport: "tcp", requestedTransport: "tcp" });
    h.allocate(0);
    h.handler = (req) => (req.method === Method.Connect ? respond(req, MessageClass.SuccessResponse, (b) => b.add(ConnectionId, 0x1234abcd)) : undefined);
    h.client.connect(1, PEER);
    const [connect] = h.run(1);
    expect(connect!.method).toBe(Method.Connect);
    expect(connect!.get(XorPeerAddress)).toEqual(PEER);
    expect(connect!.has(AttributeType.MessageIntegrity)).toBe(true);
    expect(h.events.at(-1)).toEqual({ type: "connection", peer: PEER, connectionId: 0x1234abcd, direction: "outgoing" });
  });

  it("refuses a second Connect to a peer while one is in flight, and reports 447 as connection-failed", () => {
    const h = new Harness({ transport: "tcp", requestedTransport: "tcp" });
    h.allocate(0);
    h.handler = (req) => (req.method === Method.Connect ? "drop" : undefined);
    h.client.connect(1, PEER);
    h.run(1);
    expect(() => h.client.connect(2, PEER)).toThrow(/in flight/);
    h.deliver(errorResponse(h.requests.at(-1)!, 447, "Connection Timeout or Failure"));
    expect(h.events.at(-1)).toEqual(expect.objectContaining({ type: "connection-failed", peer: PEER, code: 447 }));
    expect(() => h.client.connect(3, PEER)).not.toThrow();
  });

  it("reports a ConnectionAttempt indication as an incoming connection (§4.4)", () => {
    const h = new Harness({ transport: "tcp", requestedTransport: "tcp" });
    h.allocate(0);
    const ind = new StunMessageBuilder()
      .begin(Method.ConnectionAttempt, MessageClass.Indication, new Uint8Array(12).fill(5))
      .add(ConnectionId, 77)
      .add(XorPeerAddress, PEER)
      .addFingerprint()
      .finish()
      .slice();
    expect(h.deliver(ind)).toBe(true);
    expect(h.events.at(-1)).toEqual({ type: "connection", peer: PEER, connectionId: 77, direction: "incoming" });
  });

  it("refuses Send and ChannelBind on a TCP allocation, and Connect on a UDP one", () => {
    const tcp = new Harness({ transport: "tcp", requestedTransport: "tcp" });
    tcp.allocate(0);
    expect(() => tcp.client.send(1, PEER, new Uint8Array(1))).toThrow(/TCP allocation/);
    expect(() => tcp.client.bindChannel(1, PEER)).toThrow(/TCP allocation/);
    const udp = new Harness();
    udp.allocate(0);
    expect(() => udp.client.connect(1, PEER)).toThrow(/TCP allocation/);
  });

  it("keeps the server's last challenge for the data connections", () => {
    const h = new Harness({ transport: "tcp", requestedTransport: "tcp" });
    expect(h.client.authChallenge).toBeUndefined();
    h.allocate(0);
    const challenge = decodeStunMessage(h.client.authChallenge!);
    expect(challenge.get(ErrorCode)?.code).toBe(401);
    expect(challenge.get(Nonce)).toBe("nonce-1");
  });
});

describe("TurnConnectionBind (RFC 6062 §4.3)", () => {
  const base = { server: SERVER, transport: "tcp" as const, username: "user", password: "pass", connectionId: 0x1234abcd };
  const drain = (b: TurnConnectionBind) => {
    const sent: Transmit[] = [];
    const events: TurnConnectionBindEvent[] = [];
    for (let t = b.pollTransmit(); t; t = b.pollTransmit()) sent.push(t);
    for (let e = b.pollEvent(); e; e = b.pollEvent()) events.push(e);
    return { sent, events };
  };
  const deliver = (b: TurnConnectionBind, data: Uint8Array, now = 1) => b.handleReceive(now, { local: LOCAL, remote: SERVER, transport: "tcp", data });

  /** The allocation's challenge, as a TurnClient would have kept it. */
  function challenge(): Uint8Array {
    const h = new Harness({ transport: "tcp", requestedTransport: "tcp" });
    h.allocate(0);
    return h.client.authChallenge!;
  }

  it("signs the first request with the control connection's realm and nonce, and reports bound", () => {
    const b = new TurnConnectionBind({ ...base, challenge: challenge() });
    b.start(0);
    const { sent } = drain(b);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.transport).toBe("tcp");
    const req = decodeStunMessage(sent[0]!.data);
    expect(req.method).toBe(Method.ConnectionBind);
    expect(req.get(ConnectionId)).toBe(0x1234abcd);
    expect(req.get(Realm)).toBe("example.org");
    expect(req.get(Nonce)).toBe("nonce-1");
    expect(req.has(AttributeType.MessageIntegrity)).toBe(true);
    expect(b.pollTimeout()).toBe(39_500); // TCP: one send, Ti
    expect(deliver(b, respond(req, MessageClass.SuccessResponse, () => {}))).toBe(true);
    expect(drain(b).events).toEqual([{ type: "bound", connectionId: 0x1234abcd }]);
    expect(b.done).toBe(true);
    expect(b.pollTimeout()).toBeUndefined();
  });

  it("without a challenge, goes bare and answers the 401", () => {
    const b = new TurnConnectionBind(base);
    b.start(0);
    const first = decodeStunMessage(drain(b).sent[0]!.data);
    expect(first.has(AttributeType.MessageIntegrity)).toBe(false);
    deliver(b, respond(first, MessageClass.ErrorResponse, (m) => m.add(ErrorCode, { code: 401, reason: "Unauthorized" }).add(Realm, "example.org").add(Nonce, "n2"), false));
    const second = decodeStunMessage(drain(b).sent[0]!.data);
    expect(second.get(Nonce)).toBe("n2");
    deliver(b, respond(second, MessageClass.SuccessResponse, () => {}));
    expect(drain(b).events).toEqual([{ type: "bound", connectionId: 0x1234abcd }]);
  });

  it("reports errors, unsigned answers to signed requests, and the Ti timeout as bind-failed", () => {
    const err = new TurnConnectionBind({ ...base, challenge: challenge() });
    err.start(0);
    deliver(err, errorResponse(decodeStunMessage(drain(err).sent[0]!.data), 400, "Bad Request"));
    expect(drain(err).events).toEqual([expect.objectContaining({ type: "bind-failed", reason: "error-response", code: 400 })]);

    const forged = new TurnConnectionBind({ ...base, challenge: challenge() });
    forged.start(0);
    deliver(forged, respond(decodeStunMessage(drain(forged).sent[0]!.data), MessageClass.SuccessResponse, () => {}, true, "not-the-password"));
    expect(drain(forged).events).toEqual([expect.objectContaining({ type: "bind-failed", reason: "integrity" })]);

    const slow = new TurnConnectionBind(base);
    slow.start(0);
    slow.handleTimeout(39_499);
    expect(drain(slow).events).toHaveLength(0);
    slow.handleTimeout(39_500);
    expect(drain(slow).events).toEqual([expect.objectContaining({ type: "bind-failed", reason: "timeout" })]);
  });

  it("ignores what is not its response, and everything once done", () => {
    const b = new TurnConnectionBind({ ...base, challenge: challenge() });
    b.start(0);
    const req = decodeStunMessage(drain(b).sent[0]!.data);
    expect(deliver(b, Uint8Array.of(1, 2, 3))).toBe(false);
    const other = new StunMessageBuilder().begin(Method.ConnectionBind, MessageClass.SuccessResponse, new Uint8Array(12)).finish().slice();
    expect(deliver(b, other)).toBe(false);
    deliver(b, respond(req, MessageClass.SuccessResponse, () => {}));
    expect(deliver(b, respond(req, MessageClass.SuccessResponse, () => {}))).toBe(false);
    expect(() => b.start(2)).toThrow(IcekitError);
  });
});
