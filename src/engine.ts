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

/**
 * The transport a datagram or framed message travels on.
 *
 * @example
 * ```ts
 * const transport: TransportProtocol = parseIceServerUri("turns:turn.example.org").transport; // → "tls"
 * ```
 */
export type TransportProtocol = "udp" | "tcp" | "tls";

/**
 * Something an engine wants sent. `local` names the source (the base an ICE or TURN engine sends
 * from); it is undefined when the engine has a single socket and does not know its address.
 *
 * @example
 * ```ts
 * for (let t: Transmit | undefined; (t = engine.pollTransmit()); ) {
 *   const socket = t.local ? socketFor(t.local) : defaultSocket; // send from the base it names
 *   socket.send(t.data, t.remote.port, t.remote.address);
 * }
 * ```
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

/**
 * A datagram (or one framed TCP/TLS message) handed to an engine.
 *
 * @example
 * ```ts
 * const received: Received = {
 *   local: transportAddress("192.0.2.1", 3478), // the socket it arrived on
 *   remote: transportAddress("198.51.100.7", 50000),
 *   transport: "udp",
 *   data: datagram,
 * };
 * server.handleReceive(now, received);
 * ```
 */
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
 * @example
 * ```ts
 * function drain<E>(engine: Engine<E>, send: (t: Transmit) => void, onEvent: (e: E) => void): number | undefined {
 *   for (let t; (t = engine.pollTransmit()); ) send(t);
 *   for (let e; (e = engine.pollEvent()) !== undefined; ) onEvent(e);
 *   return engine.pollTimeout(); // call engine.handleTimeout(now) then, and drain again
 * }
 * ```
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

/**
 * A source of random bytes: fills `out`. Engines take one, so that simulations replay exactly.
 *
 * @example
 * ```ts
 * let state = 1;
 * const seeded: RandomSource = (out) => {
 *   for (let i = 0; i < out.length; i++) out[i] = (state = (state * 48271) % 0x7fffffff) & 0xff;
 * };
 * newTransactionId(seeded); // the same ids on every run, as a simulation needs
 * ```
 */
export type RandomSource = (out: Uint8Array) => void;

/**
 * The default random source: the platform's `crypto.getRandomValues`.
 *
 * @example
 * ```ts
 * const tiebreaker = new Uint8Array(8);
 * defaultRandom(tiebreaker); // 8 bytes from crypto.getRandomValues
 * newTransactionId();        // uses defaultRandom when given no source
 * ```
 */
export const defaultRandom: RandomSource = (out) => {
  globalThis.crypto.getRandomValues(out);
};

/**
 * A small FIFO queue: the engines' outboxes. Amortised O(1) shift without array copies.
 *
 * @example
 * ```ts
 * const outbox = new Queue<Transmit>();
 * outbox.push(transmit);
 * outbox.length  // → 1
 * outbox.shift() // → transmit; then undefined
 * ```
 */
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
