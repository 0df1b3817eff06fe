/**
 * Running a sans-IO engine on a simulated host.
 *
 * An attachment binds sockets for the engine and then keeps the promise of the engine contract
 * (`src/engine.ts`) in virtual time: every datagram that arrives goes to `handleReceive`; after
 * every `handle*` call it drains `pollTransmit` into the sockets and `pollEvent` into
 * {@link Attached.events}, then schedules `handleTimeout` at `pollTimeout`. It is the Node
 * driver's loop with the scheduler standing in for sockets and timers, so an engine runs
 * unchanged in both.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import type { Engine } from "../engine";
import { IcekitError } from "../errors";
import type { Timer } from "./clock";
import type { Host, Socket } from "./host";

/**
 * The event type of an engine.
 *
 * @example
 * ```ts
 * const onEvent = (e: EngineEvent<StunClient>, now: number) => { // e: StunClientEvent
 *   if (e.type === "success") console.log(now, e.rttMs); // → 60 60 (10 ms links, behind a NAT)
 * };
 * net.attach(alice, new StunClient({ random: alice.random }), { onEvent });
 * ```
 */
export type EngineEvent<G> = G extends Engine<infer E> ? E : never;

/**
 * How to attach an engine.
 *
 * @example
 * ```ts
 * // An RFC 5780 server answers on two addresses and two ports of one host.
 * const stun = net.server(["192.0.2.1", "192.0.2.2"]);
 * net.attach(stun, new StunServer({ primary: { address: "192.0.2.1", port: 3478 },
 *   alternate: { address: "192.0.2.2", port: 3479 }, random: stun.random }), { port: [3478, 3479] });
 * net.attach(alice, new StunClient({ random: alice.random }), {
 *   port: 5000, keepEvents: false, onEvent: (e, now) => console.log(now, e.type), // → 60 success
 * });
 * ```
 */
export interface AttachOptions<E> {
  /** Port(s) to bind for the engine; default one random port. The first is where `local`-less transmits go from. */
  readonly port?: number | readonly number[];
  /** Address to bind; default all of the host's addresses. */
  readonly address?: string;
  /** Called with each event as the engine emits it (after it is stored in `events`). */
  readonly onEvent?: (event: E, now: number) => void;
  /** Keep events in `events` (default true); turn off for long runs that only use `onEvent`. */
  readonly keepEvents?: boolean;
}

/**
 * An engine running on a simulated host.
 *
 * @example
 * ```ts
 * const att = net.attach(alice, new StunClient({ random: alice.random }), { port: 5000 });
 * att.engine.request(net.now, { remote: { family: "IPv4", address: "192.0.2.10", port: 3478 } });
 * net.runUntil(() => att.events.length > 0);
 * att.events[0]?.type; // → "success"
 * att.local;           // → { family: "IPv4", address: "192.168.1.2", port: 5000 }
 * ```
 */
export interface Attached<G extends Engine<unknown>> {
  /** The engine itself, to call its own methods (start a transaction, ...). */
  readonly engine: G;
  /** The host it runs on. */
  readonly host: Host;
  /** Its sockets, in the order of the `port` option. */
  readonly sockets: readonly Socket[];
  /** The first socket's address and port. */
  readonly local: TransportAddress;
  /** Every event the engine emitted, oldest first. */
  readonly events: EngineEvent<G>[];
  /**
   * Drains the engine now: sends its transmits, collects its events, reschedules its timeout.
   * Call it after calling the engine's own methods from outside the simulation's callbacks
   * (`net.run()` also drives every engine before it starts).
   */
  drive(): void;
  /** Closes the sockets and stops the timer; the engine is left as it is. */
  detach(): void;
}

/** Same-time timeouts in a row after which an engine is taken to be spinning. */
const SPIN_LIMIT = 10_000;

/** The attachment implementation; not exported from `icekit/sim`. */
export class Attachment<G extends Engine<unknown>> implements Attached<G> {
  readonly engine: G;
  readonly host: Host;
  readonly sockets: readonly Socket[];
  readonly events: EngineEvent<G>[] = [];
  readonly #clock: { readonly now: number; at(time: number, fn: () => void): Timer };
  readonly #onEvent: ((event: EngineEvent<G>, now: number) => void) | undefined;
  readonly #keep: boolean;
  readonly #onDetach: () => void;
  #timer: Timer | undefined;
  #driving = false;
  #again = false;
  #detached = false;
  #spinAt = -1;
  #spins = 0;

  constructor(
    host: Host,
    engine: G,
    options: AttachOptions<EngineEvent<G>>,
    clock: { readonly now: number; at(time: number, fn: () => void): Timer },
    onDetach: () => void,
  ) {
    this.host = host;
    this.engine = engine;
    this.#clock = clock;
    this.#onEvent = options.onEvent;
    this.#keep = options.keepEvents ?? true;
    this.#onDetach = onDetach;
    const ports = options.port === undefined ? [0] : typeof options.port === "number" ? [options.port] : [...options.port];
    if (ports.length === 0) throw new IcekitError("INVALID_ARGUMENT", "attach: pass at least one port, or none for a random one");
    const sockets: Socket[] = [];
    try {
      for (const p of ports) sockets.push(host.bind(p, options.address));
    } catch (e) {
      for (const s of sockets) s.close();
      throw e;
    }
    for (const s of sockets) {
      s.onReceive = (received, now) => {
        this.engine.handleReceive(now, received);
        this.drive();
      };
    }
    this.sockets = sockets;
  }

  get local(): TransportAddress {
    return this.sockets[0]!.local;
  }

  drive(): void {
    if (this.#detached) return;
    // An onEvent callback that calls the engine and then drive() lands here: finish the outer loop.
    if (this.#driving) {
      this.#again = true;
      return;
    }
    this.#driving = true;
    try {
      do {
        this.#again = false;
        for (let t = this.engine.pollTransmit(); t !== undefined; t = this.engine.pollTransmit()) {
          this.#socketFor(t.local).send(t);
        }
        for (let e = this.engine.pollEvent(); e !== undefined; e = this.engine.pollEvent()) {
          const event = e as EngineEvent<G>;
          if (this.#keep) this.events.push(event);
          this.#onEvent?.(event, this.#clock.now);
          this.#again = true; // the callback may have given the engine more to send
        }
      } while (this.#again && !this.#detached);
    } finally {
      this.#driving = false;
    }
    this.#schedule();
  }

  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    for (const s of this.sockets) s.close();
    this.#onDetach();
  }

  #socketFor(local: TransportAddress | undefined): Socket {
    if (local === undefined) return this.sockets[0]!;
    const s =
      this.sockets.find((s) => s.port === local.port && s.address === local.address) ??
      this.sockets.find((s) => s.port === local.port && s.address === undefined);
    if (s === undefined) {
      throw new IcekitError(
        "INVALID_ARGUMENT",
        `engine on ${this.host.name} sends from ${local.address}:${local.port}, which it is not attached to; attach with port: [${this.sockets.map((x) => x.port).join(", ")}, ${local.port}]`,
      );
    }
    return s;
  }

  #schedule(): void {
    if (this.#detached) return;
    const at = this.engine.pollTimeout();
    if (at === undefined) {
      this.#timer?.cancel();
      this.#timer = undefined;
      return;
    }
    const now = this.#clock.now;
    const time = Math.max(at, now);
    if (this.#timer !== undefined && this.#timer.time === time) return;
    this.#timer?.cancel();
    this.#timer = this.#clock.at(time, () => this.#fire());
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#clock.now;
    if (now === this.#spinAt) {
      if (++this.#spins > SPIN_LIMIT) {
        throw new IcekitError(
          "INVALID_STATE",
          `engine on ${this.host.name} asked for a timeout at or before ${now} ${SPIN_LIMIT} times in a row; its handleTimeout does not advance pollTimeout`,
        );
      }
    } else {
      this.#spinAt = now;
      this.#spins = 0;
    }
    this.engine.handleTimeout(now);
    this.drive();
  }
}
