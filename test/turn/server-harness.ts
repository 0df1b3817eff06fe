/**
 * A harness for the TURN server engine: the real StunClient speaks to it on a virtual clock,
 * relay sockets are "bound" as soon as the engine asks (or refused, when a test says so), and
 * peers send datagrams to relayed addresses.
 */
import type { TransportAddress } from "../../src/bytes/ip";
import type { Received, Transmit, TransportProtocol } from "../../src/engine";
import { StunClient } from "../../src/stun/client";
import type { AttributeEntry, StunClientEvent } from "../../src/stun/client";
import { ErrorCode } from "../../src/stun/attributes/error";
import { decodeStunMessage } from "../../src/stun/message";
import type { StunMessage } from "../../src/stun/message";
import { TurnServer } from "../../src/turn/server";
import type { TurnServerEvent, TurnServerOptions } from "../../src/turn/server";

export const SERVER: TransportAddress = { family: "IPv4", address: "192.0.2.1", port: 3478 };
export const SERVER6: TransportAddress = { family: "IPv6", address: "2001:db8::1", port: 3478 };
export const CLIENT: TransportAddress = { family: "IPv4", address: "198.51.100.7", port: 40000 };
export const CLIENT2: TransportAddress = { family: "IPv4", address: "198.51.100.8", port: 40001 };
export const PEER: TransportAddress = { family: "IPv4", address: "203.0.113.5", port: 5000 };
export const PEER2: TransportAddress = { family: "IPv4", address: "203.0.113.6", port: 6000 };
export const PEER6: TransportAddress = { family: "IPv6", address: "2001:db8:5::5", port: 5000 };
export const REALM = "example.org";

/** A random source that counts up, so runs replay and nonces differ. */
export function counterRandom(): (out: Uint8Array) => void {
  let n = 0;
  return (out) => {
    n++;
    for (let i = 0; i < out.length; i++) out[i] = (n * 31 + i * 7 + (n >> 3)) & 0xff;
  };
}

export function baseOptions(extra: Partial<TurnServerOptions> = {}): TurnServerOptions {
  return {
    realm: REALM,
    users: { alice: "alice-pw", bob: "bob-pw" },
    relayAddresses: ["192.0.2.1", "2001:db8::1"],
    random: counterRandom(),
    software: "icekit-test",
    ...extra,
  };
}

/** The error code of a response, if it is an error. */
export function errorCode(msg: StunMessage | undefined): number | undefined {
  return msg?.get(ErrorCode)?.code;
}

/** What a request ended with: the response (success or error) and the client's event. */
export interface Outcome {
  readonly event: StunClientEvent;
  readonly response: StunMessage | undefined;
  readonly code: number | undefined;
}

/** The engine, a clock, auto-binding relay sockets, and what came out. */
export class Harness {
  readonly server: TurnServer;
  now = 1_000_000;
  /** Every event, in order. */
  readonly events: TurnServerEvent[] = [];
  /** Relay sockets "open" in the driver, by "family|port". */
  readonly open = new Set<string>();
  /** Return true to make the driver fail binding that address. */
  failBind: (a: TransportAddress) => boolean = () => false;
  /** When false, relay-open events are left for the test to answer. */
  autoBind = true;
  /** relay-open events not answered yet (autoBind false). */
  readonly unbound: TransportAddress[] = [];
  /** Transmits to peers (local = a relayed address). */
  readonly toPeers: Transmit[] = [];
  /** Transmits to clients that no test client claimed. */
  readonly toClients: Transmit[] = [];

  constructor(options: Partial<TurnServerOptions> = {}) {
    this.server = new TurnServer(baseOptions(options));
  }

  /** Hands a datagram in and drains the engine. */
  deliver(r: Received): boolean {
    const handled = this.server.handleReceive(this.now, r);
    this.drain();
    return handled;
  }

  /** A datagram from a peer to a relayed address. */
  fromPeer(relayed: TransportAddress, peer: TransportAddress, data: Uint8Array): Transmit[] {
    const before = this.toClients.length;
    this.deliver({ local: relayed, remote: peer, transport: "udp", data });
    return this.toClients.splice(before);
  }

  /** Advances the clock and fires the timer as a driver would. */
  advance(ms: number): void {
    this.now += ms;
    for (let at = this.server.pollTimeout(); at !== undefined && at <= this.now; at = this.server.pollTimeout()) {
      const before = at;
      this.server.handleTimeout(this.now);
      this.drain();
      if (this.server.pollTimeout() === before) break;
    }
  }

  /** Drains events (answering relay-open) and transmits. */
  drain(): void {
    for (;;) {
      let moved = false;
      for (let e; (e = this.server.pollEvent()); ) {
        moved = true;
        this.events.push(e);
        if (e.type === "relay-open") {
          if (!this.autoBind) {
            this.unbound.push(e.relayed);
            continue;
          }
          if (this.failBind(e.relayed)) this.server.handleRelayBindFailed(this.now, e.relayed, "EADDRINUSE");
          else {
            this.open.add(`${e.relayed.family}|${e.relayed.port}`);
            this.server.handleRelayBound(this.now, e.relayed);
          }
        } else if (e.type === "relay-close") {
          this.open.delete(`${e.relayed.family}|${e.relayed.port}`);
        }
      }
      for (let t; (t = this.server.pollTransmit()); ) {
        moved = true;
        if (t.local !== undefined && t.local.port !== SERVER.port) this.toPeers.push(t);
        else this.toClients.push(t);
      }
      if (!moved) return;
    }
  }

  /** Events of one type seen so far. */
  eventsOf<T extends TurnServerEvent["type"]>(type: T): Extract<TurnServerEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<TurnServerEvent, { type: T }> => e.type === type);
  }
}

/** A TURN client made of the real StunClient, talking to the harness from one 5-tuple. */
export class TestClient {
  readonly stun: StunClient;
  /** Bytes of every request this client sent, in order. */
  readonly sent: Uint8Array[] = [];

  constructor(
    readonly h: Harness,
    readonly user: string,
    readonly password: string,
    readonly from: TransportAddress = CLIENT,
    readonly transport: TransportProtocol = "udp",
    readonly server: TransportAddress = SERVER,
  ) {
    this.stun = new StunClient({ random: counterRandom(), software: "test-client" });
  }

  /** Runs one authenticated request to completion. */
  request(method: number, attributes: readonly AttributeEntry<any>[] = [], auth = true): Outcome {
    this.stun.request(this.h.now, {
      remote: this.server,
      transport: this.transport,
      method,
      attributes,
      ...(auth ? { auth: { kind: "long-term" as const, username: this.user, password: this.password } } : {}),
    });
    for (let steps = 0; steps < 20; steps++) {
      for (let t; (t = this.stun.pollTransmit()); ) {
        this.sent.push(t.data.slice());
        this.h.deliver({ local: this.server, remote: this.from, transport: this.transport, data: t.data });
      }
      this.pump();
      for (let e; (e = this.stun.pollEvent()); ) {
        const response = e.type === "success" ? e.response : e.response;
        return { event: e, response, code: errorCode(response) };
      }
    }
    throw new Error("the request did not complete");
  }

  /** Hands server transmits addressed to this client to its StunClient; returns the rest of them. */
  pump(): Transmit[] {
    const mine: Transmit[] = [];
    const rest: Transmit[] = [];
    for (const t of this.h.toClients.splice(0)) {
      if (t.remote.address === this.from.address && t.remote.port === this.from.port && t.transport === this.transport) mine.push(t);
      else rest.push(t);
    }
    this.h.toClients.push(...rest);
    const data: Transmit[] = [];
    for (const t of mine) {
      const first = t.data[0]!;
      // STUN responses go to the StunClient; indications and ChannelData are the test's.
      if (first < 4 && decodeStunMessage(t.data).messageClass >= 2) this.stun.handleReceive(this.h.now, { local: this.from, remote: t.local!, transport: t.transport, data: t.data });
      else data.push(t);
    }
    return data;
  }

  /** Sends raw bytes (an indication, ChannelData, a replayed request) on this 5-tuple. */
  raw(data: Uint8Array): Transmit[] {
    this.h.deliver({ local: this.server, remote: this.from, transport: this.transport, data });
    const out = this.h.toClients.filter((t) => t.remote.address === this.from.address && t.remote.port === this.from.port);
    for (const t of out) this.h.toClients.splice(this.h.toClients.indexOf(t), 1);
    return out;
  }
}
