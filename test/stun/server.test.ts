import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TransportAddress } from "../../src/bytes/ip";
import type { Received, Transmit, TransportProtocol } from "../../src/engine";
import {
  AlternateServer,
  AttributeType,
  ChangeRequest,
  ErrorCode,
  MappedAddress,
  MessageClass,
  Method,
  MessageIntegrity,
  Nonce,
  OtherAddress,
  Padding,
  PasswordAlgorithmAttr,
  PasswordAlgorithms,
  Realm,
  ResponseOrigin,
  ResponsePort,
  Software,
  StunClient,
  StunMessageBuilder,
  UnknownAttributes,
  Username,
  Userhash,
  XorMappedAddress,
  checkFingerprint,
  checkIntegrity,
  decodeStunMessage,
  longTermCredential,
  longTermKey,
  parseNonceSecurityFeatures,
  shortTermCredential,
  userHash,
  type StunClientEvent,
  type StunMessage,
} from "../../src/stun/index";
import { StunServer, createBindingHandler, stunServerSockets } from "../../src/stun/server";
import type { StunMethodHandler, StunServerEvent, StunServerOptions } from "../../src/stun/server";

const A1P1: TransportAddress = { family: "IPv4", address: "192.0.2.1", port: 3478 };
const A1P2: TransportAddress = { family: "IPv4", address: "192.0.2.1", port: 3479 };
const A2P1: TransportAddress = { family: "IPv4", address: "192.0.2.2", port: 3478 };
const A2P2: TransportAddress = { family: "IPv4", address: "192.0.2.2", port: 3479 };
const CLIENT: TransportAddress = { family: "IPv4", address: "198.51.100.7", port: 40000 };
const CLIENT6: TransportAddress = { family: "IPv6", address: "2001:db8::7", port: 50000 };
const RFC5780: StunServerOptions = { primary: { address: "192.0.2.1", port: 3478 }, alternate: { address: "192.0.2.2", port: 3479 } };

/** A random source that counts up, so runs replay and nonces differ. */
function counterRandom(): (out: Uint8Array) => void {
  let n = 0;
  return (out) => {
    n++;
    for (let i = 0; i < out.length; i++) out[i] = (n * 31 + i * 7) & 0xff;
  };
}

let tidSeed = 0;
function tid(): Uint8Array {
  tidSeed++;
  return Uint8Array.from({ length: 12 }, (_, i) => (tidSeed * 13 + i) & 0xff);
}

/** A Binding request built by `fill`. */
function bindingRequest(fill: (b: StunMessageBuilder) => void = () => {}, cls: 0 | 1 | 2 | 3 = MessageClass.Request, method: number = Method.Binding): Uint8Array {
  const b = new StunMessageBuilder().begin(method, cls, tid());
  fill(b);
  return b.finish().slice();
}

interface Exchange {
  consumed: boolean;
  sent: Transmit[];
  events: StunServerEvent[];
}

function deliver(server: StunServer, data: Uint8Array, o: { local?: TransportAddress; remote?: TransportAddress; transport?: TransportProtocol; now?: number } = {}): Exchange {
  const received: Received = { local: o.local ?? A1P1, remote: o.remote ?? CLIENT, transport: o.transport ?? "udp", data };
  const consumed = server.handleReceive(o.now ?? 0, received);
  const sent: Transmit[] = [];
  const events: StunServerEvent[] = [];
  for (let t; (t = server.pollTransmit()); ) sent.push(t);
  for (let e; (e = server.pollEvent()); ) events.push(e);
  return { consumed, sent, events };
}

/** Delivers `data` and returns the single response, decoded. */
function answer(server: StunServer, data: Uint8Array, o: Parameters<typeof deliver>[2] = {}): { msg: StunMessage; t: Transmit; events: StunServerEvent[] } {
  const { sent, events } = deliver(server, data, o);
  expect(sent).toHaveLength(1);
  const t = sent[0]!;
  return { msg: decodeStunMessage(t.data), t, events };
}

function errorCode(msg: StunMessage): number | undefined {
  return msg.messageClass === MessageClass.ErrorResponse ? msg.get(ErrorCode)?.code : undefined;
}

describe("StunServer Binding (RFC 8489 §6.3.1)", () => {
  it("answers with XOR-MAPPED-ADDRESS of the source, the same transaction id, from the socket it came in on", () => {
    const server = new StunServer();
    const req = bindingRequest();
    const { msg, t, events } = answer(server, req);
    expect(msg.messageClass).toBe(MessageClass.SuccessResponse);
    expect(msg.method).toBe(Method.Binding);
    expect(msg.transactionId).toEqual(req.subarray(8, 20));
    expect(msg.get(XorMappedAddress)).toEqual(CLIENT);
    expect(msg.has(AttributeType.MappedAddress)).toBe(false);
    expect(msg.has(AttributeType.OtherAddress)).toBe(false);
    expect(t).toMatchObject({ local: A1P1, remote: CLIENT, transport: "udp" });
    expect(events).toEqual([{ type: "binding", remote: CLIENT, local: A1P1, transport: "udp", responseLocal: A1P1, responseRemote: CLIENT, classic: false }]);
    expect(server.stats()).toMatchObject({ received: 1, requests: 1, successResponses: 1 });
    expect(server.pollTimeout()).toBeUndefined();
  });

  it("reports an IPv6 source, XOR'ed with the transaction id, and answers on TCP over the same connection", () => {
    const server = new StunServer();
    const local6: TransportAddress = { family: "IPv6", address: "2001:db8::1", port: 3478 };
    const { msg, t } = answer(server, bindingRequest(), { local: local6, remote: CLIENT6, transport: "tcp" });
    expect(msg.get(XorMappedAddress)).toEqual(CLIENT6);
    expect(t).toMatchObject({ local: local6, remote: CLIENT6, transport: "tcp" });
  });

  it("mirrors FINGERPRINT by default, and follows always / never", () => {
    const mirror = new StunServer();
    expect(checkFingerprint(answer(mirror, bindingRequest((b) => b.addFingerprint())).msg)).toBe("valid");
    expect(checkFingerprint(answer(mirror, bindingRequest()).msg)).toBe("absent");
    expect(checkFingerprint(answer(new StunServer({ fingerprint: "always" }), bindingRequest()).msg)).toBe("valid");
    expect(checkFingerprint(answer(new StunServer({ fingerprint: "never" }), bindingRequest((b) => b.addFingerprint())).msg)).toBe("absent");
  });

  it("adds SOFTWARE to success and error responses (§14.14)", () => {
    const server = new StunServer({ software: "icekit test" });
    expect(answer(server, bindingRequest()).msg.get(Software)).toBe("icekit test");
    const err = answer(server, bindingRequest((b) => b.addRaw(0x0031, new Uint8Array(4)))).msg;
    expect(errorCode(err)).toBe(420);
    expect(err.get(Software)).toBe("icekit test");
  });

  it("answers 420 listing each unknown comprehension-required attribute once, and ignores optional ones", () => {
    const server = new StunServer();
    const req = bindingRequest((b) => b.addRaw(0x0031, new Uint8Array(4)).addRaw(0x8031, new Uint8Array(2)).addRaw(0x0032, new Uint8Array(0)).addRaw(0x0031, new Uint8Array(8)));
    const { msg, events } = answer(server, req);
    expect(errorCode(msg)).toBe(420);
    expect(msg.get(UnknownAttributes)).toEqual([0x0031, 0x0032]);
    expect(events[0]).toMatchObject({ type: "error-response", code: 420 });
    // Only comprehension-optional unknowns, and known-but-unexpected ones (PRIORITY): success.
    const ok = answer(server, bindingRequest((b) => b.addRaw(0x8031, new Uint8Array(2)).addRaw(AttributeType.Priority, new Uint8Array(4)))).msg;
    expect(ok.messageClass).toBe(MessageClass.SuccessResponse);
    expect(server.stats().errorResponses).toEqual({ 420: 1 });
  });

  it("ignores attributes after MESSAGE-INTEGRITY when looking for unknown ones (§14.5)", () => {
    const server = new StunServer();
    const req = bindingRequest((b) => b.addRaw(AttributeType.MessageIntegrity, new Uint8Array(20)).addRaw(0x0031, new Uint8Array(4)));
    expect(answer(server, req).msg.messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("drops responses, indications and unknown methods, counting each, and says which were STUN", () => {
    const server = new StunServer();
    const success = deliver(server, bindingRequest(() => {}, MessageClass.SuccessResponse));
    const error = deliver(server, bindingRequest((b) => b.add(ErrorCode, { code: 400, reason: "" }), MessageClass.ErrorResponse));
    const indication = deliver(server, bindingRequest(() => {}, MessageClass.Indication));
    const allocate = deliver(server, bindingRequest(() => {}, MessageClass.Request, Method.Allocate));
    for (const x of [success, error, indication, allocate]) {
      expect(x.consumed).toBe(true);
      expect(x.sent).toHaveLength(0);
    }
    const garbage = deliver(server, new Uint8Array([0x80, 1, 2, 3]));
    const rtp = deliver(server, Uint8Array.from({ length: 40 }, (_, i) => (i === 0 ? 0x80 : i)));
    const badLength = bindingRequest();
    badLength[3] = 8; // says 8 bytes of attributes, has none
    const malformed = deliver(server, badLength);
    const badFp = bindingRequest((b) => b.addFingerprint());
    badFp[badFp.length - 1]! ^= 1;
    const fp = deliver(server, badFp);
    for (const x of [garbage, rtp, malformed, fp]) {
      expect(x.consumed).toBe(false);
      expect(x.sent).toHaveLength(0);
    }
    const s = server.stats();
    expect(s.dropped).toMatchObject({ response: 2, "unknown-method": 1, "not-stun": 2, malformed: 1, "bad-fingerprint": 1 });
    expect(s.indications).toBe(1);
    expect(s.requests).toBe(0);
    expect(s.received).toBe(8);
  });

  it("discards an indication with unknown comprehension-required attributes (§6.3.2)", () => {
    const server = new StunServer();
    deliver(server, bindingRequest((b) => b.addRaw(0x0031, new Uint8Array(4)), MessageClass.Indication));
    expect(server.stats().dropped["indication-unknown-attributes"]).toBe(1);
    expect(server.stats().indications).toBe(0);
  });

  it("redirects every request with 300 and ALTERNATE-SERVER of the source's family first (§10)", () => {
    const v4: TransportAddress = { family: "IPv4", address: "203.0.113.9", port: 3478 };
    const v6: TransportAddress = { family: "IPv6", address: "2001:db8::9", port: 3478 };
    const server = new StunServer({ alternateServer: [v6, v4] });
    const m4 = answer(server, bindingRequest()).msg;
    expect(errorCode(m4)).toBe(300);
    expect(m4.getAll(AlternateServer)).toEqual([v4, v6]);
    const m6 = answer(server, bindingRequest(), { remote: CLIENT6, local: { family: "IPv6", address: "2001:db8::1", port: 3478 } }).msg;
    expect(m6.getAll(AlternateServer)).toEqual([v6, v4]);
    // Only an IPv4 alternate: IPv6 clients are served here.
    const only4 = new StunServer({ alternateServer: v4 });
    expect(answer(only4, bindingRequest(), { remote: CLIENT6 }).msg.get(XorMappedAddress)).toEqual(CLIENT6);
  });

  it("the StunClient gets its reflexive address from it", () => {
    const server = new StunServer();
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: A1P1 });
    const [event] = run(client, server, 0);
    expect(event).toMatchObject({ type: "success" });
    expect(event!.type === "success" && event!.response.get(XorMappedAddress)).toEqual(CLIENT);
  });
});

describe("StunServer never throws on network input", () => {
  const servers = () => [
    new StunServer(),
    new StunServer({ ...RFC5780, software: "x", fingerprint: "always" }),
    new StunServer({ auth: { kind: "short-term", users: { alice: "pw" } } }),
    new StunServer({ auth: { kind: "long-term", realm: "example.org", users: { alice: "pw" }, passwordAlgorithms: ["SHA-256", "MD5"], userhash: true }, random: counterRandom() }),
  ];

  it("random bytes", () => {
    const all = servers();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom<TransportProtocol>("udp", "tcp"), (data, transport) => {
        for (const server of all) {
          const { consumed, sent } = deliver(server, data, { transport });
          expect(typeof consumed).toBe("boolean");
          expect(sent.length).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("STUN-shaped requests with random attributes, and mutations of valid ones", () => {
    const all = servers();
    const attribute = fc.record({
      type: fc.oneof(fc.constantFrom(...Object.values(AttributeType)), fc.integer({ min: 0, max: 0xffff })),
      value: fc.uint8Array({ maxLength: 40 }),
    });
    const request = fc.tuple(fc.constantFrom<0 | 1 | 2 | 3>(0, 1, 2, 3), fc.constantFrom(Method.Binding, Method.Allocate, 0xabc), fc.array(attribute, { maxLength: 8 }), fc.boolean()).map(([cls, method, attrs, fp]) =>
      bindingRequest((b) => {
        for (const a of attrs) b.addRaw(a.type, a.value);
        if (fp) b.addFingerprint();
      }, cls, method),
    );
    const mutated = fc.tuple(request, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([bytes, at, x]) => {
      const copy = bytes.slice();
      copy[at % copy.length]! ^= x;
      return copy;
    });
    fc.assert(
      fc.property(fc.oneof(request, mutated), (data) => {
        for (const server of all) {
          const { sent } = deliver(server, data);
          expect(sent.length).toBeLessThanOrEqual(1);
          for (const t of sent) {
            // A mutated cookie makes it an RFC 3489 request, answered with the same cookie field.
            const msg = decodeStunMessage(t.data, 0, { allowMissingCookie: true });
            expect(t.data.subarray(4, 8)).toEqual(data.subarray(4, 8));
            expect(msg.messageClass === MessageClass.SuccessResponse || msg.messageClass === MessageClass.ErrorResponse).toBe(true);
            expect(msg.transactionId).toEqual(data.subarray(8, 20));
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe("StunServer NAT behaviour discovery (RFC 5780 §6)", () => {
  it("lists the four sockets to bind", () => {
    expect(stunServerSockets(RFC5780)).toEqual([A1P1, A1P2, A2P1, A2P2]);
    expect(stunServerSockets({ primary: { address: "192.0.2.1", port: 3478 } })).toEqual([A1P1]);
    expect(() => new StunServer({ alternate: { address: "192.0.2.2", port: 3479 } })).toThrow(/primary/);
    expect(() => new StunServer({ primary: { address: "192.0.2.1", port: 3478 }, alternate: { address: "192.0.2.2", port: 3478 } })).toThrow(/both address and port/);
    expect(() => new StunServer({ primary: { address: "192.0.2.1", port: 3478 }, alternate: { address: "2001:db8::2", port: 3479 } })).toThrow(/family/);
  });

  it("adds MAPPED-ADDRESS, RESPONSE-ORIGIN and OTHER-ADDRESS (Ca:Cp) to every Binding response", () => {
    const server = new StunServer(RFC5780);
    const m = answer(server, bindingRequest()).msg;
    expect(m.get(XorMappedAddress)).toEqual(CLIENT);
    expect(m.get(MappedAddress)).toEqual(CLIENT);
    expect(m.get(ResponseOrigin)).toEqual(A1P1);
    expect(m.get(OtherAddress)).toEqual(A2P2);
    // Arriving on A2:P1, the other address is A1:P2.
    const { msg, t } = answer(server, bindingRequest(), { local: A2P1 });
    expect(msg.get(ResponseOrigin)).toEqual(A2P1);
    expect(msg.get(OtherAddress)).toEqual(A1P2);
    expect(t.local).toEqual(A2P1);
  });

  it.each([
    ["neither flag", { changeIp: false, changePort: false }, A1P1],
    ["change IP", { changeIp: true, changePort: false }, A2P1],
    ["change port", { changeIp: false, changePort: true }, A1P2],
    ["change IP and port", { changeIp: true, changePort: true }, A2P2],
  ])("CHANGE-REQUEST with %s is answered from the right socket (Table 1)", (_name, flags, from) => {
    const server = new StunServer(RFC5780);
    const { msg, t, events } = answer(server, bindingRequest((b) => b.add(ChangeRequest, flags)));
    expect(t.local).toEqual(from);
    expect(t.remote).toEqual(CLIENT);
    expect(msg.get(ResponseOrigin)).toEqual(from);
    expect(msg.get(OtherAddress)).toEqual(A2P2);
    expect(events[0]).toMatchObject({ type: "binding", local: A1P1, responseLocal: from });
  });

  it("changes relative to the socket the request arrived on", () => {
    const server = new StunServer(RFC5780);
    const { t } = answer(server, bindingRequest((b) => b.add(ChangeRequest, { changeIp: true, changePort: true })), { local: A2P2 });
    expect(t.local).toEqual(A1P1);
  });

  it("answers 420 to CHANGE-REQUEST without an alternate address, or over TCP", () => {
    const basic = new StunServer();
    const m = answer(basic, bindingRequest((b) => b.add(ChangeRequest, { changeIp: false, changePort: true }))).msg;
    expect(errorCode(m)).toBe(420);
    expect(m.get(UnknownAttributes)).toEqual([AttributeType.ChangeRequest]);
    const tcp = answer(new StunServer(RFC5780), bindingRequest((b) => b.add(ChangeRequest, { changeIp: true, changePort: false })), { transport: "tcp" }).msg;
    expect(tcp.get(UnknownAttributes)).toEqual([AttributeType.ChangeRequest]);
  });

  it("sends to RESPONSE-PORT on the source IP, still reporting the source port", () => {
    const server = new StunServer(RFC5780);
    const { msg, t, events } = answer(server, bindingRequest((b) => b.add(ResponsePort, 41000)));
    expect(t.remote).toEqual({ ...CLIENT, port: 41000 });
    expect(msg.get(XorMappedAddress)).toEqual(CLIENT);
    expect(events[0]).toMatchObject({ responseRemote: { ...CLIENT, port: 41000 } });
  });

  it("refuses RESPONSE-PORT with PADDING with 400, sent to the source (§6.1, §10)", () => {
    const server = new StunServer(RFC5780);
    const { msg, t } = answer(server, bindingRequest((b) => b.add(ResponsePort, 41000).add(Padding, new Uint8Array(100))));
    expect(errorCode(msg)).toBe(400);
    expect(t.remote).toEqual(CLIENT);
    expect(msg.has(AttributeType.Padding)).toBe(false);
  });

  it("pads the response when the request has PADDING: MTU-sized, a multiple of 4", () => {
    const server = new StunServer(RFC5780);
    const m = answer(server, bindingRequest((b) => b.add(Padding, new Uint8Array(8)))).msg;
    expect(m.get(Padding)).toHaveLength(1500);
    const small = new StunServer({ paddingLength: 575 });
    expect(answer(small, bindingRequest((b) => b.add(Padding, new Uint8Array(0)))).msg.get(Padding)).toHaveLength(576);
    expect(answer(small, bindingRequest()).msg.has(AttributeType.Padding)).toBe(false);
  });

  it("serves requests of the other family as a basic server", () => {
    const server = new StunServer(RFC5780);
    const local6: TransportAddress = { family: "IPv6", address: "2001:db8::1", port: 3478 };
    const m = answer(server, bindingRequest(), { local: local6, remote: CLIENT6 }).msg;
    expect(m.get(XorMappedAddress)).toEqual(CLIENT6);
    expect(m.has(AttributeType.OtherAddress)).toBe(false);
  });
});

describe("StunServer and RFC 3489 clients (RFC 5389 §12.2)", () => {
  /** A classic request: the cookie field is part of a 128-bit transaction id. */
  function classicRequest(fill: (b: StunMessageBuilder) => void = () => {}): Uint8Array {
    const bytes = bindingRequest(fill);
    bytes.set([0xde, 0xad, 0xbe, 0xef], 4);
    return bytes;
  }

  it("copies the cookie field and sends MAPPED-ADDRESS instead of XOR-MAPPED-ADDRESS", () => {
    const server = new StunServer({ software: "icekit" });
    const req = classicRequest();
    const { sent } = deliver(server, req);
    expect(sent).toHaveLength(1);
    const data = sent[0]!.data;
    expect(data.subarray(4, 20)).toEqual(req.subarray(4, 20));
    const msg = decodeStunMessage(data, 0, { allowMissingCookie: true });
    expect(msg.messageClass).toBe(MessageClass.SuccessResponse);
    expect(msg.get(MappedAddress)).toEqual(CLIENT);
    expect(msg.has(AttributeType.XorMappedAddress)).toBe(false);
    expect(server.stats().classicRequests).toBe(1);
  });

  it("honours CHANGE-REQUEST with an alternate, adding SOURCE-ADDRESS and CHANGED-ADDRESS (RFC 3489 §8.1)", () => {
    const server = new StunServer(RFC5780);
    const { sent } = deliver(server, classicRequest((b) => b.add(ChangeRequest, { changeIp: true, changePort: false })));
    expect(sent[0]!.local).toEqual(A2P1);
    const msg = decodeStunMessage(sent[0]!.data, 0, { allowMissingCookie: true });
    expect(msg.get(MappedAddress)).toEqual(CLIENT);
    const raw = (type: number) => msg.rawValue(type);
    expect(raw(0x0004)).toEqual(Uint8Array.from([0, 1, 0x0d, 0x96, 192, 0, 2, 2])); // SOURCE-ADDRESS 192.0.2.2:3478
    expect(raw(0x0005)).toEqual(Uint8Array.from([0, 1, 0x0d, 0x97, 192, 0, 2, 2])); // CHANGED-ADDRESS 192.0.2.2:3479
  });

  it("answers CHANGE-REQUEST with 420 without an alternate; ignores non-Binding and is off with auth", () => {
    const server = new StunServer();
    const { sent } = deliver(server, classicRequest((b) => b.add(ChangeRequest, { changeIp: true, changePort: false })));
    expect(errorCode(decodeStunMessage(sent[0]!.data, 0, { allowMissingCookie: true }))).toBe(420);
    const notBinding = bindingRequest(() => {}, MessageClass.Request, 0x002);
    notBinding.set([1, 2, 3, 4], 4);
    expect(deliver(server, notBinding).consumed).toBe(false);
    const authed = new StunServer({ auth: { kind: "short-term", users: {} } });
    expect(deliver(authed, classicRequest()).consumed).toBe(false);
    expect(() => new StunServer({ rfc3489: true, auth: { kind: "short-term", users: {} } })).toThrow(/rfc3489/);
    expect(deliver(new StunServer({ rfc3489: false }), classicRequest()).sent).toHaveLength(0);
  });
});

describe("StunServer short-term credentials (RFC 8489 §9.1.3)", () => {
  const users = new Map([["alice", "VOkJxbRl1RmTxUk/WvJxBt"]]);
  const cred = shortTermCredential("alice", "VOkJxbRl1RmTxUk/WvJxBt");

  it("answers 400 when USERNAME or MESSAGE-INTEGRITY is missing, without integrity", () => {
    const server = new StunServer({ auth: { kind: "short-term", users } });
    const noMi = answer(server, bindingRequest((b) => b.add(Username, "alice"))).msg;
    const noUser = answer(server, bindingRequest((b) => b.addMessageIntegrity(cred.sha1))).msg;
    for (const m of [noMi, noUser]) {
      expect(errorCode(m)).toBe(400);
      expect(m.has(AttributeType.MessageIntegrity) || m.has(AttributeType.Username)).toBe(false);
    }
    expect(server.stats().authFailures["bad-request"]).toBe(2);
  });

  it("answers 401 to an unknown username and to a wrong HMAC", () => {
    const server = new StunServer({ auth: { kind: "short-term", users } });
    const bob = shortTermCredential("bob", "VOkJxbRl1RmTxUk/WvJxBt");
    const unknown = answer(server, bindingRequest((b) => b.add(Username, "bob").addMessageIntegrity(bob.sha1))).msg;
    const wrong = shortTermCredential("alice", "not the password");
    const bad = answer(server, bindingRequest((b) => b.add(Username, "alice").addMessageIntegrity(wrong.sha1))).msg;
    expect(errorCode(unknown)).toBe(401);
    expect(errorCode(bad)).toBe(401);
    expect(bad.has(AttributeType.MessageIntegrity)).toBe(false);
    expect(server.stats().authFailures).toMatchObject({ "unknown-user": 1, integrity: 1 });
  });

  it("signs the success response with the attribute the request used, and no USERNAME", () => {
    const server = new StunServer({ auth: { kind: "short-term", users: (u) => users.get(u) } });
    const sha1 = answer(server, bindingRequest((b) => b.add(Username, "alice").addMessageIntegrity(cred.sha1))).msg;
    expect(sha1.has(AttributeType.MessageIntegrity)).toBe(true);
    expect(sha1.has(AttributeType.MessageIntegritySha256)).toBe(false);
    expect(sha1.has(AttributeType.Username)).toBe(false);
    expect(checkIntegrity(sha1, cred)).toBe("valid");
    const sha256 = answer(server, bindingRequest((b) => b.add(Username, "alice").addMessageIntegritySha256(cred.sha256))).msg;
    expect(sha256.has(AttributeType.MessageIntegritySha256)).toBe(true);
    expect(sha256.has(AttributeType.MessageIntegrity)).toBe(false);
    expect(checkIntegrity(sha256, cred)).toBe("valid");
  });

  it("signs a 420 that follows authentication", () => {
    const server = new StunServer({ auth: { kind: "short-term", users } });
    const m = answer(server, bindingRequest((b) => b.addRaw(0x0031, new Uint8Array(4)).add(Username, "alice").addMessageIntegrity(cred.sha1))).msg;
    expect(errorCode(m)).toBe(420);
    expect(checkIntegrity(m, cred)).toBe("valid");
  });

  it("drops an indication that fails the checks, silently", () => {
    const server = new StunServer({ auth: { kind: "short-term", users } });
    deliver(server, bindingRequest(() => {}, MessageClass.Indication));
    deliver(server, bindingRequest((b) => b.add(Username, "alice").addMessageIntegrity(cred.sha1), MessageClass.Indication));
    expect(server.stats().dropped["indication-auth"]).toBe(1);
    expect(server.stats().indications).toBe(1);
  });

  it("works end to end with the StunClient", () => {
    const server = new StunServer({ auth: { kind: "short-term", users } });
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: A1P1, auth: { kind: "short-term", credential: cred } });
    expect(run(client, server, 0)[0]).toMatchObject({ type: "success" });
  });
});

/**
 * Runs a client against the server: client transmits go to the server as if from CLIENT, server
 * transmits back (through `tamper`, which may rewrite them) until nothing moves.
 */
function run(client: StunClient, server: StunServer, now: number, tamper?: (data: Uint8Array) => Uint8Array, from: TransportAddress = CLIENT): StunClientEvent[] {
  const events: StunClientEvent[] = [];
  for (let steps = 0; steps < 20; steps++) {
    let moved = false;
    for (let t; (t = client.pollTransmit()); ) {
      moved = true;
      server.handleReceive(now, { local: t.remote, remote: from, transport: t.transport, data: t.data });
    }
    for (let t; (t = server.pollTransmit()); ) {
      moved = true;
      client.handleReceive(now, { local: from, remote: t.local!, transport: t.transport, data: tamper ? tamper(t.data) : t.data });
    }
    for (let e; (e = client.pollEvent()); ) events.push(e);
    if (!moved) break;
  }
  return events;
}

/** Server transmits seen on the way, decoded. */
function recording(log: StunMessage[]): (data: Uint8Array) => Uint8Array {
  return (data) => {
    log.push(decodeStunMessage(data.slice()));
    return data;
  };
}

/** Re-encodes `data` without attributes of `drop`, re-adding FINGERPRINT if it had one. */
function without(data: Uint8Array, drop: number): Uint8Array {
  const msg = decodeStunMessage(data);
  const b = new StunMessageBuilder().begin(msg.method, msg.messageClass, msg.transactionId);
  let fp = false;
  for (let i = 0; i < msg.attributeCount; i++) {
    const type = msg.attributeType(i);
    if (type === AttributeType.Fingerprint) fp = true;
    else if (type !== drop) b.addRaw(type, msg.raw.subarray(msg.attributeOffset(i), msg.attributeOffset(i) + msg.attributeLength(i)));
  }
  if (fp) b.addFingerprint();
  return b.finish().slice();
}

describe("StunServer long-term credentials (RFC 8489 §9.2.4), end to end with the StunClient", () => {
  const REALM = "example.org";
  const users = { alice: "correct horse", bob: "battery staple" };
  const longTerm = (extra: Partial<Extract<StunServerOptions["auth"], { kind: "long-term" }>> = {}): StunServerOptions => ({
    auth: { kind: "long-term", realm: REALM, users, ...extra },
    random: counterRandom(),
  });
  const alice = { kind: "long-term" as const, username: "alice", password: "correct horse" };

  it("challenges with 401, REALM and a nonce cookie; the retry succeeds and is signed with MESSAGE-INTEGRITY", () => {
    const server = new StunServer(longTerm());
    const client = new StunClient({ random: counterRandom() });
    const seen: StunMessage[] = [];
    client.request(0, { remote: A1P1, auth: alice });
    const events = run(client, server, 0, recording(seen));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "success" });
    const [challenge, success] = seen;
    expect(errorCode(challenge!)).toBe(401);
    expect(challenge!.get(Realm)).toBe(REALM);
    expect(parseNonceSecurityFeatures(challenge!.get(Nonce)!)).toEqual({ passwordAlgorithms: false, usernameAnonymity: false });
    expect(challenge!.has(AttributeType.PasswordAlgorithms)).toBe(false);
    expect(challenge!.has(AttributeType.MessageIntegrity)).toBe(false);
    // §9.2.4, last paragraph: MD5 processing → MESSAGE-INTEGRITY, and no REALM/NONCE/USERNAME.
    expect(success!.has(AttributeType.MessageIntegrity)).toBe(true);
    expect(success!.has(AttributeType.MessageIntegritySha256)).toBe(false);
    expect(success!.has(AttributeType.Realm) || success!.has(AttributeType.Nonce) || success!.has(AttributeType.Username)).toBe(false);
    expect(checkIntegrity(success!, longTermCredential("alice", REALM, "correct horse"))).toBe("valid");
    expect(server.stats()).toMatchObject({ successResponses: 1, errorResponses: { 401: 1 }, authFailures: { challenge: 1 } });
    // The next request reuses the nonce: no new challenge.
    client.request(10, { remote: A1P1, auth: alice });
    expect(run(client, server, 10)[0]).toMatchObject({ type: "success" });
    expect(server.stats().errorResponses).toEqual({ 401: 1 });
  });

  it("reports the authenticated user in the binding event", () => {
    const server = new StunServer(longTerm());
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: A1P1, auth: alice });
    run(client, server, 0);
    const events: StunServerEvent[] = [];
    for (let e; (e = server.pollEvent()); ) events.push(e);
    expect(events.map((e) => e.type)).toEqual(["error-response", "binding"]);
    expect(events[1]).toMatchObject({ type: "binding", user: "alice" });
  });

  it("a wrong password makes the client fail with reason auth", () => {
    const server = new StunServer(longTerm());
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: A1P1, auth: { kind: "long-term", username: "alice", password: "wrong" } });
    const events = run(client, server, 0);
    expect(events[0]).toMatchObject({ type: "failure", reason: "auth", errorCode: 401 });
    expect(server.stats().authFailures).toMatchObject({ challenge: 1, integrity: 1 });
  });

  it("an unknown user gets 401 with a fresh challenge", () => {
    const server = new StunServer(longTerm());
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: A1P1, auth: { kind: "long-term", username: "mallory", password: "x" } });
    expect(run(client, server, 0)[0]).toMatchObject({ type: "failure", reason: "auth" });
    expect(server.stats().authFailures["unknown-user"]).toBe(1);
  });

  it("an expired nonce gets 438 with a new one, and the client retries transparently", () => {
    const server = new StunServer(longTerm({ nonceLifetimeMs: 1000 }));
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: A1P1, auth: alice });
    expect(run(client, server, 0)[0]).toMatchObject({ type: "success" });
    const seen: StunMessage[] = [];
    client.request(5000, { remote: A1P1, auth: alice });
    expect(run(client, server, 5000, recording(seen))[0]).toMatchObject({ type: "success" });
    expect(seen.map(errorCode)).toEqual([438, undefined]);
    expect(seen[0]!.get(Realm)).toBe(REALM);
    expect(seen[0]!.get(Nonce)).toMatch(/^obMatJos2/);
    expect(server.stats().authFailures["stale-nonce"]).toBe(1);
  });

  it("offers PASSWORD-ALGORITHMS; the client picks SHA-256 and signs with MESSAGE-INTEGRITY-SHA256", () => {
    const server = new StunServer(longTerm({ passwordAlgorithms: ["SHA-256", "MD5"] }));
    const client = new StunClient({ random: counterRandom() });
    const seen: StunMessage[] = [];
    client.request(0, { remote: A1P1, auth: alice });
    const requests: StunMessage[] = [];
    const events: StunClientEvent[] = [];
    // Step by hand to see the client's signed request too.
    for (let i = 0; i < 4; i++) {
      for (let t; (t = client.pollTransmit()); ) {
        requests.push(decodeStunMessage(t.data.slice()));
        server.handleReceive(0, { local: A1P1, remote: CLIENT, transport: "udp", data: t.data });
      }
      for (let t; (t = server.pollTransmit()); ) client.handleReceive(0, { local: CLIENT, remote: A1P1, transport: "udp", data: recording(seen)(t.data) });
      for (let e; (e = client.pollEvent()); ) events.push(e);
    }
    expect(events[0]).toMatchObject({ type: "success" });
    const challenge = seen[0]!;
    expect(parseNonceSecurityFeatures(challenge.get(Nonce)!)?.passwordAlgorithms).toBe(true);
    expect(challenge.get(PasswordAlgorithms)?.map((a) => a.algorithm)).toEqual([2, 1]);
    const signed = requests[1]!;
    expect(signed.get(PasswordAlgorithmAttr)?.algorithm).toBe(2);
    expect(signed.has(AttributeType.MessageIntegritySha256)).toBe(true);
    const success = seen[1]!;
    expect(success.has(AttributeType.MessageIntegritySha256)).toBe(true);
    expect(success.has(AttributeType.MessageIntegrity)).toBe(false);
    expect(checkIntegrity(success, longTermCredential("alice", REALM, "correct horse", { algorithm: "SHA-256" }))).toBe("valid");
  });

  it("with username anonymity the client sends USERHASH and the server finds the user", () => {
    const server = new StunServer(longTerm({ userhash: true, passwordAlgorithms: ["SHA-256"] }));
    const client = new StunClient({ random: counterRandom() });
    const requests: StunMessage[] = [];
    client.request(0, { remote: A1P1, auth: alice });
    for (let i = 0; i < 4; i++) {
      for (let t; (t = client.pollTransmit()); ) {
        requests.push(decodeStunMessage(t.data.slice()));
        server.handleReceive(0, { local: A1P1, remote: CLIENT, transport: "udp", data: t.data });
      }
      for (let t; (t = server.pollTransmit()); ) client.handleReceive(0, { local: CLIENT, remote: A1P1, transport: "udp", data: t.data });
    }
    expect(client.pollEvent()).toMatchObject({ type: "success" });
    expect(requests[1]!.get(Userhash)).toEqual(userHash("alice", REALM));
    expect(requests[1]!.has(AttributeType.Username)).toBe(false);
    const events: StunServerEvent[] = [];
    for (let e; (e = server.pollEvent()); ) events.push(e);
    expect(events.find((e) => e.type === "binding")).toMatchObject({ user: "alice" });
  });

  it("USERHASH with a users function needs a userhash function", () => {
    expect(() => new StunServer({ auth: { kind: "long-term", realm: REALM, users: () => "x", userhash: true } })).toThrow(/userhash/);
    const server = new StunServer({
      auth: { kind: "long-term", realm: REALM, users: (u) => (u === "alice" ? "correct horse" : undefined), userhash: (h) => (h.length === 32 ? "alice" : undefined) },
      random: counterRandom(),
    });
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: A1P1, auth: alice });
    expect(run(client, server, 0)[0]).toMatchObject({ type: "success" });
  });

  it("accepts a precomputed key (H(A1)) instead of the password", () => {
    const server = new StunServer({ auth: { kind: "long-term", realm: REALM, users: { alice: { md5: longTermKey("alice", REALM, "correct horse") } } }, random: counterRandom() });
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: A1P1, auth: alice });
    expect(run(client, server, 0)[0]).toMatchObject({ type: "success" });
  });

  it("bid-down: a 401 stripped of PASSWORD-ALGORITHMS in transit makes the client refuse", () => {
    const server = new StunServer(longTerm({ passwordAlgorithms: ["SHA-256", "MD5"] }));
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: A1P1, auth: alice });
    const events = run(client, server, 0, (data) => without(data, AttributeType.PasswordAlgorithms));
    expect(events[0]).toMatchObject({ type: "failure", reason: "auth" });
    expect(server.stats().successResponses).toBe(0);
  });

  describe("the §9.2.4 ladder, request by request", () => {
    const md5 = longTermCredential("alice", REALM, "correct horse");

    function challenge(server: StunServer, remote = CLIENT): StunMessage {
      return answer(server, bindingRequest(), { remote }).msg;
    }

    it("gives each source transport address its own nonce, and refuses a nonce issued to another", () => {
      const server = new StunServer(longTerm());
      const n1 = challenge(server).get(Nonce)!;
      const n2 = challenge(server, { ...CLIENT, port: 40001 }).get(Nonce)!;
      expect(n1).not.toBe(n2);
      const req = bindingRequest((b) => b.add(Username, "alice").add(Realm, REALM).add(Nonce, n1).addMessageIntegrity(md5.sha1));
      expect(errorCode(answer(server, req, { remote: { ...CLIENT, port: 40001 } }).msg)).toBe(438);
      expect(answer(server, req).msg.messageClass).toBe(MessageClass.SuccessResponse);
    });

    it("answers 400 when integrity comes without USERNAME, REALM or NONCE", () => {
      const server = new StunServer(longTerm());
      const nonce = challenge(server).get(Nonce)!;
      for (const fill of [
        (b: StunMessageBuilder) => b.add(Realm, REALM).add(Nonce, nonce),
        (b: StunMessageBuilder) => b.add(Username, "alice").add(Nonce, nonce),
        (b: StunMessageBuilder) => b.add(Username, "alice").add(Realm, REALM),
      ]) {
        const m = answer(server, bindingRequest((b) => fill(b).addMessageIntegrity(md5.sha1))).msg;
        expect(errorCode(m)).toBe(400);
        expect(m.has(AttributeType.Nonce) || m.has(AttributeType.Realm)).toBe(false);
      }
    });

    it("answers 400 when PASSWORD-ALGORITHMS is altered or PASSWORD-ALGORITHM is not on it", () => {
      const server = new StunServer(longTerm({ passwordAlgorithms: ["SHA-256", "MD5"] }));
      const nonce = challenge(server).get(Nonce)!;
      const sha = longTermCredential("alice", REALM, "correct horse", { algorithm: "SHA-256" });
      const empty = new Uint8Array(0);
      const sign = (list: number[], chosen: number | undefined) =>
        bindingRequest((b) => {
          b.add(Username, "alice").add(Realm, REALM).add(Nonce, nonce);
          if (list.length) b.add(PasswordAlgorithms, list.map((algorithm) => ({ algorithm, parameters: empty })));
          if (chosen !== undefined) b.add(PasswordAlgorithmAttr, { algorithm: chosen, parameters: empty });
          b.addMessageIntegritySha256(chosen === 1 ? md5.sha256 : sha.sha256);
        });
      expect(errorCode(answer(server, sign([1], 1)).msg)).toBe(400); // list reduced to MD5
      expect(errorCode(answer(server, sign([2, 1], 3)).msg)).toBe(400); // chose something not offered
      expect(errorCode(answer(server, sign([2, 1], undefined)).msg)).toBe(400); // list without choice
      expect(server.stats().authFailures["bid-down"]).toBe(3);
      expect(answer(server, sign([2, 1], 2)).msg.messageClass).toBe(MessageClass.SuccessResponse);
      // Choosing MD5 from the offered list is fine, and answered with MESSAGE-INTEGRITY-SHA256.
      const viaMd5 = answer(server, sign([2, 1], 1)).msg;
      expect(viaMd5.has(AttributeType.MessageIntegritySha256)).toBe(true);
      expect(checkIntegrity(viaMd5, md5)).toBe("valid");
      // Neither attribute: processed as MD5, answered with MESSAGE-INTEGRITY.
      const legacy = answer(server, bindingRequest((b) => b.add(Username, "alice").add(Realm, REALM).add(Nonce, nonce).addMessageIntegrity(md5.sha1))).msg;
      expect(legacy.has(AttributeType.MessageIntegrity)).toBe(true);
      expect(checkIntegrity(legacy, md5)).toBe("valid");
    });

    it("checks the HMAC before the nonce's age: a stale nonce with a bad HMAC is 401, with a good one 438", () => {
      const server = new StunServer(longTerm({ nonceLifetimeMs: 100 }));
      const nonce = challenge(server).get(Nonce)!;
      const wrong = longTermCredential("alice", REALM, "nope");
      const bad = answer(server, bindingRequest((b) => b.add(Username, "alice").add(Realm, REALM).add(Nonce, nonce).addMessageIntegrity(wrong.sha1)), { now: 500 }).msg;
      expect(errorCode(bad)).toBe(401);
      const stale = answer(server, bindingRequest((b) => b.add(Username, "alice").add(Realm, REALM).add(Nonce, nonce).addMessageIntegrity(md5.sha1)), { now: 500 }).msg;
      expect(errorCode(stale)).toBe(438);
      expect(stale.get(Nonce)).not.toBe(nonce);
      expect(answer(server, bindingRequest((b) => b.add(Username, "alice").add(Realm, REALM).add(Nonce, "obMatJos2AAAAforged.00.00").addMessageIntegrity(md5.sha1))).msg.get(ErrorCode)?.code).toBe(438);
    });

    it("signs a 400 that follows authentication, which the client would otherwise discard", () => {
      const server = new StunServer({ ...RFC5780, ...longTerm() });
      const nonce = challenge(server).get(Nonce)!;
      const m = answer(server, bindingRequest((b) => b.add(ResponsePort, 5000).add(Padding, new Uint8Array(4)).add(Username, "alice").add(Realm, REALM).add(Nonce, nonce).addMessageIntegrity(md5.sha1))).msg;
      expect(errorCode(m)).toBe(400);
      expect(m.get(MessageIntegrity)).toBeDefined();
      expect(checkIntegrity(m, md5)).toBe("valid");
    });
  });
});

describe("StunServer method table", () => {
  it("dispatches other methods to handlers, after authentication and the 420 check", () => {
    const calls: string[] = [];
    const server = new StunServer({
      software: "t",
      methods: new Map<number, StunMethodHandler>([
        [
          Method.Allocate,
          {
            understands: (type: number) => (type === 0x0031 ? true : undefined),
            request: (ctx) => {
              calls.push(ctx.message.transactionIdHex);
              return { kind: "error", code: 437, attributes: [] };
            },
          },
        ],
        [0x0abc, { request: () => ({ kind: "drop" }) }],
        [
          0x0abd,
          {
            request: () => {
              throw new Error("bug");
            },
          },
        ],
      ]),
    });
    const m = answer(server, bindingRequest((b) => b.addRaw(0x0031, new Uint8Array(4)), MessageClass.Request, Method.Allocate)).msg;
    expect(errorCode(m)).toBe(437);
    expect(m.get(ErrorCode)?.reason).toBe("Allocation Mismatch");
    expect(calls).toHaveLength(1);
    expect(deliver(server, bindingRequest(() => {}, MessageClass.Request, 0x0abc)).sent).toHaveLength(0);
    expect(errorCode(answer(server, bindingRequest(() => {}, MessageClass.Request, 0x0abd)).msg)).toBe(500);
    // A malformed attribute read by the built-in Binding handler is a 400, not a 500.
    const badChange = bindingRequest((b) => b.addRaw(AttributeType.ResponsePort, new Uint8Array(2)));
    expect(errorCode(answer(server, badChange).msg)).toBe(400);
    expect(server.stats()).toMatchObject({ handlerErrors: 1, dropped: { "handler-drop": 1 } });
  });

  it("lets a TURN-like server answer Binding without credentials while other methods need them", () => {
    const server = new StunServer({
      auth: { kind: "long-term", realm: "example.org", users: { alice: "pw" } },
      random: counterRandom(),
      methods: new Map<number, StunMethodHandler>([
        [Method.Binding, { ...createBindingHandler(), authenticate: false }],
        [Method.Allocate, { request: (ctx) => ({ kind: "success", attributes: [], ...(ctx.user ? {} : { remote: CLIENT }) }) }],
      ]),
    });
    expect(answer(server, bindingRequest()).msg.get(XorMappedAddress)).toEqual(CLIENT);
    expect(errorCode(answer(server, bindingRequest(() => {}, MessageClass.Request, Method.Allocate)).msg)).toBe(401);
  });

  it("answers 500, without throwing, when a users function throws", () => {
    const server = new StunServer({
      auth: {
        kind: "short-term",
        users: () => {
          throw new Error("database down");
        },
      },
    });
    const cred = shortTermCredential("alice", "pw");
    const { consumed, sent } = deliver(server, bindingRequest((b) => b.add(Username, "alice").addMessageIntegrity(cred.sha1)));
    expect(consumed).toBe(true);
    expect(errorCode(decodeStunMessage(sent[0]!.data))).toBe(500);
    deliver(server, bindingRequest((b) => b.add(Username, "alice").addMessageIntegrity(cred.sha1), MessageClass.Indication));
    expect(server.stats()).toMatchObject({ handlerErrors: 2, dropped: { "indication-auth": 1 } });
  });

  it("refuses bad options at construction", () => {
    expect(() => new StunServer({ paddingLength: 70000 })).toThrow(/paddingLength/);
    expect(() => new StunServer({ software: "x".repeat(200) })).toThrow(/SOFTWARE/);
    expect(() => new StunServer({ fingerprint: "sometimes" as "always" })).toThrow(/fingerprint/);
    expect(() => new StunServer({ methods: new Map([[0x1000, { request: () => ({ kind: "drop" }) }]]) })).toThrow(/method/);
    expect(() => new StunServer({ auth: { kind: "long-term", realm: "r", users: {}, passwordAlgorithms: ["SHA-256", "SHA-256"] } })).toThrow(/twice/);
    expect(() => new StunServer({ auth: { kind: "long-term", realm: "r", users: {}, passwordAlgorithms: ["SHA-1" as "MD5"] } })).toThrow(/SHA-1/);
    expect(() => new StunServer({ auth: { kind: "long-term", realm: "r", users: {}, nonceLifetimeMs: 0 } })).toThrow(/nonceLifetimeMs/);
  });
});
