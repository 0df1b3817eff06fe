/**
 * A scripted TURN server for the TurnClient unit tests: it answers the client's requests the way
 * RFC 8656 describes (401 with REALM/NONCE to unsigned requests, signed success responses), and
 * each test overrides the answers it is about.
 */
import {
  AlternateServer,
  ChannelNumber,
  Data,
  ErrorCode,
  Lifetime,
  MessageClass,
  Method,
  Nonce,
  Realm,
  StunMessageBuilder,
  XorMappedAddress,
  XorPeerAddress,
  XorRelayedAddress,
  AddressErrorCode,
  decodeStunMessage,
  encodeChannelData,
  longTermCredential,
  type StunMessage,
  type TransportAddress,
  type Transmit,
} from "../../src/index";
import { TurnClient } from "../../src/turn/client";
import type { TurnClientEvent, TurnClientOptions } from "../../src/turn/client-types";

export const SERVER: TransportAddress = { family: "IPv4", address: "192.0.2.10", port: 3478 };
export const ALT_SERVER: TransportAddress = { family: "IPv4", address: "192.0.2.20", port: 3478 };
export const LOCAL: TransportAddress = { family: "IPv4", address: "10.0.0.2", port: 40000 };
export const MAPPED: TransportAddress = { family: "IPv4", address: "198.51.100.7", port: 40000 };
export const RELAYED: TransportAddress = { family: "IPv4", address: "192.0.2.10", port: 50000 };
export const RELAYED6: TransportAddress = { family: "IPv6", address: "2001:db8::10", port: 50002 };
export const PEER: TransportAddress = { family: "IPv4", address: "203.0.113.5", port: 6000 };
export const PEER2: TransportAddress = { family: "IPv4", address: "203.0.113.6", port: 6001 };
export const PEER6: TransportAddress = { family: "IPv6", address: "2001:db8::5", port: 6000 };
export const REALM = "example.org";

/** A random source that counts up, so transaction ids are distinct and runs replay. */
export function counterRandom(): (out: Uint8Array) => void {
  let n = 0;
  return (out) => {
    n++;
    for (let i = 0; i < out.length; i++) out[i] = (n * 31 + i * 7) & 0xff;
  };
}

/** What a handler answers: bytes to deliver, "drop" to lose the request, undefined for the default. */
export type Answer = Uint8Array | "drop" | undefined;

/** Builds a response to `req`. */
export function respond(req: StunMessage, cls: MessageClass, fill: (b: StunMessageBuilder) => void, sign = true, password = "pass"): Uint8Array {
  const b = new StunMessageBuilder().begin(req.method, cls, req.transactionId);
  fill(b);
  if (sign && req.has(0x0008 /* MESSAGE-INTEGRITY */)) b.addMessageIntegrity(longTermCredential("user", REALM, password).sha1);
  b.addFingerprint();
  return b.finish().slice();
}

/** An error response with `code`, signed when the request was. */
export function errorResponse(req: StunMessage, code: number, reason = "error", fill?: (b: StunMessageBuilder) => void): Uint8Array {
  return respond(req, MessageClass.ErrorResponse, (b) => {
    b.add(ErrorCode, { code, reason });
    fill?.(b);
  });
}

/** A Data indication from `peer` carrying `data`. */
export function dataIndication(peer: TransportAddress, data: Uint8Array, tid = new Uint8Array(12).fill(9)): Uint8Array {
  return new StunMessageBuilder().begin(Method.Data, MessageClass.Indication, tid).add(XorPeerAddress, peer).add(Data, data).addFingerprint().finish().slice();
}

export { encodeChannelData, decodeStunMessage };

/** A TurnClient wired to a scripted server, with everything it sent and reported recorded. */
export class Harness {
  readonly client: TurnClient;
  /** Every transmit, in order. */
  readonly wire: Transmit[] = [];
  /** Every event, in order. */
  readonly events: TurnClientEvent[] = [];
  /** Requests the server saw, decoded. */
  readonly requests: StunMessage[] = [];
  /** Non-request transmits (indications, ChannelData) not yet looked at. */
  readonly data: Transmit[] = [];
  /** Per-method overrides; return undefined for the default answer. */
  handler: (req: StunMessage, t: Transmit) => Answer = () => undefined;
  nonce = "nonce-1";
  lifetime = 600;
  relayed: TransportAddress[] = [RELAYED];
  now = 0;
  /** How many of {@link wire} the server has looked at. */
  #seen = 0;

  constructor(options: Partial<TurnClientOptions> = {}) {
    this.client = new TurnClient({ server: SERVER, username: "user", password: "pass", random: counterRandom(), ...options });
  }

  /** The server's default behaviour for one request. */
  defaultAnswer(req: StunMessage): Uint8Array {
    if (!req.has(0x0008)) {
      return respond(req, MessageClass.ErrorResponse, (b) => b.add(ErrorCode, { code: 401, reason: "Unauthenticated" }).add(Realm, REALM).add(Nonce, this.nonce), false);
    }
    switch (req.method) {
      case Method.Allocate:
        return respond(req, MessageClass.SuccessResponse, (b) => {
          for (const r of this.relayed) b.add(XorRelayedAddress, r);
          b.add(Lifetime, req.get(Lifetime) ?? this.lifetime).add(XorMappedAddress, MAPPED);
        });
      case Method.Refresh:
        return respond(req, MessageClass.SuccessResponse, (b) => b.add(Lifetime, req.get(Lifetime) ?? this.lifetime));
      default:
        return respond(req, MessageClass.SuccessResponse, () => {});
    }
  }

  /** Moves transmits and events out of the client. */
  drain(): void {
    for (let t = this.client.pollTransmit(); t; t = this.client.pollTransmit()) this.wire.push(t);
    for (let e = this.client.pollEvent(); e; e = this.client.pollEvent()) this.events.push(e);
  }

  /**
   * Lets the server answer everything the client sent, at `now`, until the client sends nothing
   * new. Returns the requests answered in this round.
   */
  run(now = this.now): StunMessage[] {
    this.now = now;
    const seen: StunMessage[] = [];
    for (let rounds = 0; rounds < 50; rounds++) {
      this.drain();
      const fresh = this.wire.slice(this.#seen);
      this.#seen = this.wire.length;
      if (fresh.length === 0) break;
      for (const t of fresh) {
        const first = t.data[0]!;
        let msg: StunMessage | undefined;
        if (first < 0x40) {
          try {
            msg = decodeStunMessage(t.data);
          } catch {
            msg = undefined;
          }
        }
        if (msg === undefined || msg.messageClass !== MessageClass.Request) {
          this.data.push(t);
          continue;
        }
        this.requests.push(msg);
        seen.push(msg);
        const a = this.handler(msg, t) ?? this.defaultAnswer(msg);
        if (a === "drop") continue;
        this.deliver(a, t.remote);
      }
    }
    this.drain();
    return seen;
  }

  /** Hands `data` to the client as if from the server (or `from`). */
  deliver(data: Uint8Array, from: TransportAddress = this.client.server, transport = this.client.transport): boolean {
    const handled = this.client.handleReceive(this.now, { local: LOCAL, remote: from, transport, data });
    this.drain();
    return handled;
  }

  /** Advances the clock to `t`, runs the timers, and lets the server answer. */
  advance(t: number): StunMessage[] {
    this.now = t;
    this.client.handleTimeout(t);
    return this.run(t);
  }

  /** Allocates with the default 401 → success exchange. */
  allocate(now = 0): void {
    this.now = now;
    this.client.allocate(now);
    this.run(now);
  }

  /** Events of one type, narrowed. */
  eventsOf<T extends TurnClientEvent["type"]>(type: T): Extract<TurnClientEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<TurnClientEvent, { type: T }> => e.type === type);
  }

  /** Takes the data transmits recorded so far. */
  takeData(): Transmit[] {
    this.run();
    return this.data.splice(0, this.data.length);
  }
}

export { AlternateServer, AddressErrorCode, ChannelNumber, Lifetime, XorPeerAddress };
