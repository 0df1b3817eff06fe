/**
 * The sans-IO contract every icekit protocol engine follows, and the datagram shapes that cross
 * it.
 *
 * An engine (STUN client, STUN server, NAT discovery, TURN, ICE) is a plain object driven from
 * outside, as in str0m and quinn-proto. It never reads a clock, never opens a socket and never
 * sets a timer: the caller hands it time and bytes, and drains what it wants to send.
 *
 * ```ts
 * // The whole driver loop, for any engine:
 * function drive(engine: Engine<unknown>, now: number) {
 *   for (let t; (t = engine.pollTransmit()); ) socket.send(t.data, t.remote.port, t.remote.address);
 *   for (let e; (e = engine.pollEvent()); ) handle(e);
 *   const at = engine.pollTimeout();
 *   if (at !== undefined) timer = setTimer(() => { engine.handleTimeout(clock()); drive(engine, clock()); }, at - now);
 * }
 * socket.on("message", (data, rinfo) => {
 *   engine.handleReceive(clock(), { local, remote: fromRinfo(rinfo), transport: "udp", data });
 *   drive(engine, clock());
 * });
 * ```
 *
 * Rules the engines keep:
 * - `now` is milliseconds from any monotonic origin; engines only compare and add.
 * - After any `handle*` call, drain `pollTransmit` and `pollEvent` until they return undefined,
 *   then sleep until `pollTimeout`. A `handleTimeout` that comes early does nothing.
 * - No `handle*` call throws on network input: bad packets are dropped and counted.
 *
 * @module
 */
import type { TransportAddress } from "./bytes/ip";

/** The transport a datagram or framed message travels on. */
export type TransportProtocol = "udp" | "tcp" | "tls";

/**
 * Something an engine wants sent. `local` names the source (the base an ICE or TURN engine sends
 * from); it is undefined when the engine has a single socket and does not know its address.
 */
export interface Transmit {
  /** The source: which local socket to send from, when the engine has a choice. */
  readonly local: TransportAddress | undefined;
  /** The destination. */
  readonly remote: TransportAddress;
  /** Transport to send on. For TCP/TLS, `data` is one complete framed message. */
  readonly transport: TransportProtocol;
  /** The bytes. The engine does not touch them after handing them out. */
  readonly data: Uint8Array;
}

/** A datagram (or one framed TCP/TLS message) handed to an engine. */
export interface Received {
  /** The local address it arrived on (the socket's address). */
  readonly local: TransportAddress;
  /** Where it came from. */
  readonly remote: TransportAddress;
  /** The transport it arrived on. */
  readonly transport: TransportProtocol;
  /** The bytes. The engine may keep views into them only until `handleReceive` returns. */
  readonly data: Uint8Array;
}

/**
 * The five verbs of a sans-IO engine.
 *
 * @typeParam E - the engine's event union
 */
export interface Engine<E> {
  /** Hands in a datagram or framed message. Never throws on bad bytes. */
  handleReceive(now: number, received: Received): void;
  /** Tells the engine the time has come; early calls do nothing. */
  handleTimeout(now: number): void;
  /** Next thing to send, or undefined when there is none. */
  pollTransmit(): Transmit | undefined;
  /** When to call {@link handleTimeout} next, or undefined when nothing is pending. */
  pollTimeout(): number | undefined;
  /** Next event, or undefined when there is none. */
  pollEvent(): E | undefined;
}

/** A source of random bytes: fills `out`. Engines take one, so that simulations replay exactly. */
export type RandomSource = (out: Uint8Array) => void;

/** The default random source: the platform's `crypto.getRandomValues`. */
export const defaultRandom: RandomSource = (out) => {
  globalThis.crypto.getRandomValues(out);
};

/** A small FIFO queue: the engines' outboxes. Amortised O(1) shift without array copies. */
export class Queue<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** Appends `item`. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** Removes and returns the oldest item, or undefined. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 64 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Items waiting. */
  get length(): number {
    return this.#items.length - this.#head;
  }
}
