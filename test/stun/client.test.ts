import { describe, expect, it } from "vitest";
import {
  AlternateServer,
  AttributeType,
  ErrorCode,
  MessageClass,
  Method,
  Nonce,
  Realm,
  StunClient,
  StunMessageBuilder,
  XorMappedAddress,
  decodeStunMessage,
  longTermCredential,
  shortTermCredential,
  type StunClientEvent,
  type StunMessage,
  type TransportAddress,
  type Transmit,
} from "../../src/index";

const SERVER: TransportAddress = { family: "IPv4", address: "192.0.2.10", port: 3478 };
const CLIENT: TransportAddress = { family: "IPv4", address: "198.51.100.7", port: 40000 };

/** A random source that counts up, so transaction ids are distinct and runs replay. */
function counterRandom(): (out: Uint8Array) => void {
  let n = 0;
  return (out) => {
    n++;
    for (let i = 0; i < out.length; i++) out[i] = (n * 31 + i) & 0xff;
  };
}

function drain(client: StunClient): { sent: Transmit[]; events: StunClientEvent[] } {
  const sent: Transmit[] = [];
  const events: StunClientEvent[] = [];
  for (let t; (t = client.pollTransmit()); ) sent.push(t);
  for (let e; (e = client.pollEvent()); ) events.push(e);
  return { sent, events };
}

/** Builds a response to `request` with `fill`. */
function respond(request: Uint8Array, cls: MessageClass, fill: (b: StunMessageBuilder, req: StunMessage) => void): Uint8Array {
  const req = decodeStunMessage(request);
  const b = new StunMessageBuilder().begin(req.method, cls, req.transactionId);
  fill(b, req);
  return b.finish().slice();
}

function deliver(client: StunClient, now: number, data: Uint8Array, from = SERVER): boolean {
  return client.handleReceive(now, { local: CLIENT, remote: from, transport: "udp", data });
}

describe("StunClient retransmission (RFC 8489 §6.2.1)", () => {
  it("sends at 0, 500, 1500, 3500, 7500, 15500, 31500 ms and times out at 39500 ms", () => {
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: SERVER });
    const sendTimes: number[] = [];
    let now = 0;
    let timedOutAt: number | undefined;
    for (let steps = 0; steps < 20 && timedOutAt === undefined; steps++) {
      const { sent, events } = drain(client);
      for (const _ of sent) sendTimes.push(now);
      for (const e of events) if (e.type === "failure" && e.reason === "timeout") timedOutAt = now;
      const next = client.pollTimeout();
      if (next === undefined) break;
      // An early timeout does nothing.
      client.handleTimeout(next - 1);
      expect(drain(client).sent).toHaveLength(0);
      now = next;
      client.handleTimeout(now);
    }
    expect(sendTimes).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(timedOutAt).toBe(39500);
    expect(client.pollTimeout()).toBeUndefined();
    expect(client.stats().retransmissions).toBe(6);
  });

  it("retransmits the same bytes with the same transaction id", () => {
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: SERVER });
    const first = drain(client).sent[0]!.data;
    client.handleTimeout(500);
    const second = drain(client).sent[0]!.data;
    expect(second).toEqual(first);
  });

  it("honours Rc and Rm", () => {
    const client = new StunClient({ random: counterRandom(), rc: 2, rm: 4 });
    client.request(0, { remote: SERVER });
    drain(client);
    expect(client.pollTimeout()).toBe(500);
    client.handleTimeout(500);
    expect(drain(client).sent).toHaveLength(1);
    expect(client.pollTimeout()).toBe(500 + 4 * 500);
    client.handleTimeout(2500);
    const { events } = drain(client);
    expect(events[0]).toMatchObject({ type: "failure", reason: "timeout" });
  });

  it("carries the measured RTO to the next transaction to the same server, not to others", () => {
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: SERVER });
    const req = drain(client).sent[0]!.data;
    deliver(client, 80, respond(req, MessageClass.SuccessResponse, (b) => b.add(XorMappedAddress, CLIENT)));
    const { events } = drain(client);
    expect(events[0]).toMatchObject({ type: "success", rttMs: 80, retransmitted: false });
    // RFC 6298 §2.2: SRTT = 80, RTTVAR = 40, RTO = 80 + 4 * 40 = 240.
    expect(client.currentRto(SERVER, 100)).toBe(240);
    client.request(1000, { remote: SERVER });
    drain(client);
    expect(client.pollTimeout()).toBe(1240);
    const other = { ...SERVER, address: "192.0.2.99" };
    expect(client.currentRto(other, 100)).toBe(500);
    // Stale after 10 minutes without transactions (§6.2.1).
    expect(client.currentRto(SERVER, 1000 + 600_001)).toBe(500);
  });

  it("takes no RTT sample from a retransmitted transaction (Karn)", () => {
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: SERVER });
    const req = drain(client).sent[0]!.data;
    client.handleTimeout(500);
    drain(client);
    deliver(client, 510, respond(req, MessageClass.SuccessResponse, (b) => b.add(XorMappedAddress, CLIENT)));
    expect(drain(client).events[0]).toMatchObject({ type: "success", retransmitted: true });
    expect(client.currentRto(SERVER, 600)).toBe(500);
  });

  it("uses one send and the 39.5 s timeout on TCP (§6.2.2)", () => {
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: SERVER, transport: "tcp" });
    expect(drain(client).sent).toHaveLength(1);
    expect(client.pollTimeout()).toBe(39_500);
    client.handleTimeout(39_500);
    const { sent, events } = drain(client);
    expect(sent).toHaveLength(0);
    expect(events[0]).toMatchObject({ type: "failure", reason: "timeout" });
  });

  it("fails transactions to a server whose transport broke", () => {
    const client = new StunClient({ random: counterRandom() });
    const id = client.request(0, { remote: SERVER, transport: "tcp" });
    drain(client);
    client.handleTransportError(5, SERVER, "tcp", "ECONNREFUSED");
    expect(drain(client).events[0]).toMatchObject({ type: "failure", id, reason: "transport", detail: "ECONNREFUSED" });
  });
});

describe("StunClient receive checks (RFC 8489 §6.3)", () => {
  function started() {
    const client = new StunClient({ random: counterRandom() });
    const id = client.request(0, { remote: SERVER });
    const req = drain(client).sent[0]!.data;
    return { client, id, req };
  }

  it("matches responses by transaction id and ignores others", () => {
    const { client, req } = started();
    const other = req.slice();
    other[19]! ^= 0xff;
    expect(deliver(client, 10, respond(other, MessageClass.SuccessResponse, () => {}))).toBe(false);
    expect(deliver(client, 10, new Uint8Array([1, 2, 3]))).toBe(false);
    expect(deliver(client, 10, req)).toBe(false); // a request, not a response
    expect(drain(client).events).toHaveLength(0);
    expect(client.stats().unmatched).toBe(3);
  });

  it("discards a response with a wrong FINGERPRINT and keeps waiting", () => {
    const { client, req } = started();
    const bad = respond(req, MessageClass.SuccessResponse, (b) => b.add(XorMappedAddress, CLIENT).addFingerprint());
    bad[bad.length - 1]! ^= 1;
    expect(deliver(client, 10, bad)).toBe(true);
    expect(drain(client).events).toHaveLength(0);
    expect(client.stats().droppedFingerprint).toBe(1);
    deliver(client, 20, respond(req, MessageClass.SuccessResponse, (b) => b.add(XorMappedAddress, CLIENT).addFingerprint()));
    expect(drain(client).events[0]!.type).toBe("success");
  });

  it("fails on unknown comprehension-required attributes in a success response", () => {
    const { client, req } = started();
    deliver(client, 10, respond(req, MessageClass.SuccessResponse, (b) => b.addRaw(0x7ff0, new Uint8Array(4))));
    expect(drain(client).events[0]).toMatchObject({ type: "failure", reason: "unknown-attributes", unknownAttributes: [0x7ff0] });
  });

  it("reports error responses with their code and 420's UNKNOWN-ATTRIBUTES", () => {
    const { client, req } = started();
    deliver(
      client,
      10,
      respond(req, MessageClass.ErrorResponse, (b) => b.add(ErrorCode, { code: 420, reason: "Unknown Attribute" }).addRaw(AttributeType.UnknownAttributes, new Uint8Array([0x00, 0x33]))),
    );
    expect(drain(client).events[0]).toMatchObject({ type: "failure", reason: "error-response", errorCode: 420, unknownAttributes: [0x33] });
  });

  it("fails an error response without ERROR-CODE", () => {
    const { client, req } = started();
    deliver(client, 10, respond(req, MessageClass.ErrorResponse, () => {}));
    expect(drain(client).events[0]).toMatchObject({ type: "failure", reason: "error-response" });
  });

  it("follows 300 Try Alternate to the ALTERNATE-SERVER of the same family, once", () => {
    const { client, id, req } = started();
    const alt: TransportAddress = { family: "IPv4", address: "192.0.2.20", port: 3479 };
    deliver(
      client,
      10,
      respond(req, MessageClass.ErrorResponse, (b) =>
        b
          .add(ErrorCode, { code: 300, reason: "Try Alternate" })
          .add(AlternateServer, { family: "IPv6", address: "2001:db8::1", port: 3478 })
          .add(AlternateServer, alt),
      ),
    );
    const { sent } = drain(client);
    expect(sent[0]!.remote).toEqual(alt);
    const req2 = sent[0]!.data;
    expect(decodeStunMessage(req2).transactionIdHex).not.toBe(decodeStunMessage(req).transactionIdHex);
    // Redirecting back to the first server is a loop (§10).
    deliver(client, 20, respond(req2, MessageClass.ErrorResponse, (b) => b.add(ErrorCode, { code: 300, reason: "Try Alternate" }).add(AlternateServer, SERVER)), alt);
    expect(drain(client).events[0]).toMatchObject({ type: "failure", id, reason: "redirect-loop" });
  });
});

describe("StunClient short-term credentials (§9.1)", () => {
  it("signs with USERNAME and MESSAGE-INTEGRITY and accepts only responses signed with the same key", () => {
    const cred = shortTermCredential("alice:bob", "password-of-bob");
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: SERVER, auth: { kind: "short-term", credential: cred } });
    const req = drain(client).sent[0]!.data;
    const m = decodeStunMessage(req);
    expect(m.has(AttributeType.Username) && m.has(AttributeType.MessageIntegrity) && m.has(AttributeType.Fingerprint)).toBe(true);
    // Unsigned and wrongly signed responses are discarded on UDP (§9.1.4).
    deliver(client, 10, respond(req, MessageClass.SuccessResponse, (b) => b.add(XorMappedAddress, CLIENT)));
    const wrong = shortTermCredential("x", "not-the-password");
    deliver(client, 11, respond(req, MessageClass.SuccessResponse, (b) => b.add(XorMappedAddress, CLIENT).addMessageIntegrity(wrong.sha1)));
    expect(drain(client).events).toHaveLength(0);
    expect(client.stats().droppedIntegrity).toBe(2);
    deliver(client, 12, respond(req, MessageClass.SuccessResponse, (b) => b.add(XorMappedAddress, CLIENT).addMessageIntegrity(cred.sha1)));
    expect(drain(client).events[0]!.type).toBe("success");
  });

  it("reports integrity, not timeout, when every response failed the check", () => {
    const cred = shortTermCredential("alice:bob", "password-of-bob");
    const client = new StunClient({ random: counterRandom(), rc: 1, rm: 1 });
    client.request(0, { remote: SERVER, auth: { kind: "short-term", credential: cred } });
    const req = drain(client).sent[0]!.data;
    deliver(client, 10, respond(req, MessageClass.SuccessResponse, (b) => b.add(XorMappedAddress, CLIENT)));
    client.handleTimeout(500);
    expect(drain(client).events[0]).toMatchObject({ type: "failure", reason: "integrity" });
  });

  it("fails at once on TCP when the response fails integrity", () => {
    const cred = shortTermCredential("alice:bob", "password-of-bob");
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: SERVER, transport: "tcp", auth: { kind: "short-term", credential: cred } });
    const req = drain(client).sent[0]!.data;
    client.handleReceive(10, { local: CLIENT, remote: SERVER, transport: "tcp", data: respond(req, MessageClass.SuccessResponse, () => {}) });
    expect(drain(client).events[0]).toMatchObject({ type: "failure", reason: "integrity" });
  });
});

describe("StunClient long-term credentials (§9.2), against a scripted server", () => {
  const REALM = "example.org";

  it("sends the first request bare, retries a 401 with REALM/NONCE/USERNAME/MI, caches for the next request", () => {
    const client = new StunClient({ random: counterRandom() });
    const auth = { kind: "long-term" as const, username: "user", password: "pass" };
    client.request(0, { remote: SERVER, auth });
    const first = decodeStunMessage(drain(client).sent[0]!.data);
    expect(first.has(AttributeType.Username) || first.has(AttributeType.MessageIntegrity)).toBe(false);
    deliver(client, 5, respond(first.raw, MessageClass.ErrorResponse, (b) => b.add(ErrorCode, { code: 401, reason: "Unauthenticated" }).add(Realm, REALM).add(Nonce, "n1")));
    const second = decodeStunMessage(drain(client).sent[0]!.data);
    expect(second.get(Realm)).toBe(REALM);
    expect(second.get(Nonce)).toBe("n1");
    expect(second.has(AttributeType.MessageIntegrity)).toBe(true);
    // §9.2.2's example: MD5("user:realm:pass") = 0x8493fbc53ba582fb4c044c456bdc40eb.
    expect(Buffer.from(longTermCredential("user", "realm", "pass").key).toString("hex")).toBe("8493fbc53ba582fb4c044c456bdc40eb");
    const cred = longTermCredential("user", REALM, "pass");
    deliver(client, 10, respond(second.raw, MessageClass.SuccessResponse, (b) => b.add(XorMappedAddress, CLIENT).addMessageIntegrity(cred.sha1)));
    expect(drain(client).events[0]!.type).toBe("success");
    // Subsequent request (§9.2.3.2): signed from the start.
    client.request(20, { remote: SERVER, auth });
    const third = decodeStunMessage(drain(client).sent[0]!.data);
    expect(third.get(Nonce)).toBe("n1");
    expect(third.has(AttributeType.MessageIntegrity)).toBe(true);
  });

  it("gives up when the signed retry gets 401 again for the same realm", () => {
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: SERVER, auth: { kind: "long-term", username: "user", password: "wrong" } });
    const challenge = (req: Uint8Array) => respond(req, MessageClass.ErrorResponse, (b) => b.add(ErrorCode, { code: 401, reason: "Unauthenticated" }).add(Realm, REALM).add(Nonce, "n1"));
    deliver(client, 5, challenge(drain(client).sent[0]!.data));
    deliver(client, 10, challenge(drain(client).sent[0]!.data));
    const { sent, events } = drain(client);
    expect(sent).toHaveLength(0);
    expect(events[0]).toMatchObject({ type: "failure", reason: "auth", errorCode: 401 });
  });

  it("retries a 438 with the fresh nonce, a bounded number of times", () => {
    const client = new StunClient({ random: counterRandom(), maxStaleNonceRetries: 2 });
    client.request(0, { remote: SERVER, auth: { kind: "long-term", username: "user", password: "pass" } });
    deliver(client, 1, respond(drain(client).sent[0]!.data, MessageClass.ErrorResponse, (b) => b.add(ErrorCode, { code: 401, reason: "" }).add(Realm, REALM).add(Nonce, "n1")));
    const nonces: (string | undefined)[] = [];
    for (let i = 2; i <= 4; i++) {
      const { sent } = drain(client);
      if (sent.length === 0) break;
      const req = decodeStunMessage(sent[0]!.data);
      nonces.push(req.get(Nonce));
      deliver(client, i, respond(req.raw, MessageClass.ErrorResponse, (b) => b.add(ErrorCode, { code: 438, reason: "Stale Nonce" }).add(Realm, REALM).add(Nonce, `n${i}`)));
    }
    expect(nonces).toEqual(["n1", "n2", "n3"]);
    expect(drain(client).events[0]).toMatchObject({ type: "failure", reason: "auth", errorCode: 438 });
  });

  it("refuses a 401 whose nonce cookie announces PASSWORD-ALGORITHMS that the response lacks (bid-down)", () => {
    const client = new StunClient({ random: counterRandom() });
    client.request(0, { remote: SERVER, auth: { kind: "long-term", username: "user", password: "pass" } });
    // "obMatJos2" + base64 of the 24 feature bits with bit 0 (password algorithms) set: "gAAA".
    deliver(client, 1, respond(drain(client).sent[0]!.data, MessageClass.ErrorResponse, (b) => b.add(ErrorCode, { code: 401, reason: "" }).add(Realm, REALM).add(Nonce, "obMatJos2gAAAxyz")));
    const { sent, events } = drain(client);
    expect(sent).toHaveLength(0);
    expect(events[0]).toMatchObject({ type: "failure", reason: "auth" });
  });
});

describe("StunClient with followRedirects: false (RFC 8445 §5.1.1.2, RFC 5780 §5)", () => {
  it("fails a 300 as an error response instead of following ALTERNATE-SERVER", () => {
    const client = new StunClient({ random: counterRandom(), followRedirects: false });
    client.request(0, { remote: SERVER });
    const req = drain(client).sent[0]!.data;
    deliver(client, 10, respond(req, MessageClass.ErrorResponse, (b) => b.add(ErrorCode, { code: 300, reason: "Try Alternate" }).add(AlternateServer, { ...SERVER, address: "192.0.2.20" })));
    const { sent, events } = drain(client);
    expect(sent).toHaveLength(0);
    expect(events[0]).toMatchObject({ type: "failure", reason: "error-response", errorCode: 300 });
  });
});
