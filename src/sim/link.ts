/**
 * Links: what a datagram suffers between a node and its router. Propagation delay, jitter, loss,
 * duplication, reordering, a bandwidth limit with a send queue, and an MTU.
 *
 * Every interface (a host's, or a NAT's external side) has one link to its router, used in both
 * directions; each direction has its own send queue. A datagram from a host to a server crosses
 * the host's link up, its NAT's link up, and the server's link down, so one-way delay is the sum
 * of the three delays.
 *
 * The impairments are drawn from the link's own seeded stream, in a fixed order (queue, loss,
 * jitter, reorder, duplication), and only when enabled, so that a run replays exactly and turning
 * one impairment on leaves the other links' draws alone.
 *
 * @module
 */
import { IcekitError } from "../errors";
import type { Prng } from "./random";
import type { DropReason } from "./trace";

/**
 * What a link does to datagrams. All fields optional; the defaults are a perfect link.
 *
 * @example
 * ```ts
 * const mobile: LinkOptions = { delay: 40, jitter: 10, loss: 0.02, bandwidth: 2_000_000, queue: 64_000 };
 * const phone = net.nat(symmetric(), { link: mobile }).host();
 * ```
 */
export interface LinkOptions {
  /** One-way propagation delay in ms. Default 0. */
  readonly delay?: number;
  /**
   * Each datagram's delay varies uniformly within ±`jitter` ms of `delay` (never below 0), as
   * netem does. Jitter larger than the spacing of datagrams reorders them. Default 0.
   */
  readonly jitter?: number;
  /** Probability that a datagram is lost, 0-1. Default 0. */
  readonly loss?: number;
  /** Probability that a datagram is delivered twice, 0-1. Default 0. */
  readonly duplicate?: number;
  /** Probability that a datagram is held back by `reorderDelay`, letting later ones overtake it. Default 0. */
  readonly reorder?: number;
  /** How long a reordered datagram is held back, in ms. Default: `delay`, at least 1. */
  readonly reorderDelay?: number;
  /** Bandwidth in bits per second; datagrams queue behind each other for their serialization time. Default unlimited. */
  readonly bandwidth?: number;
  /** Most bytes the send queue holds (with `bandwidth`); a datagram that does not fit is dropped. Default unlimited. */
  readonly queue?: number;
  /** IP MTU in bytes: a datagram whose payload + UDP + IP headers exceed it is dropped (no fragmentation). Default 1500. */
  readonly mtu?: number;
}

/**
 * Counters of one link, both directions together.
 *
 * @example
 * ```ts
 * // After one STUN Binding transaction of alice's:
 * alice.link.stats; // → { packets: 2, bytes: 124, lost: 0, duplicated: 0, reordered: 0, mtu: 0, queue: 0 }
 * ```
 */
export interface LinkStats {
  /** Datagrams offered to the link. */
  packets: number;
  /** IP bytes offered to the link. */
  bytes: number;
  /** Dropped by `loss`. */
  lost: number;
  /** Extra copies made by `duplicate`. */
  duplicated: number;
  /** Held back by `reorder`. */
  reordered: number;
  /** Dropped for exceeding the MTU. */
  mtu: number;
  /** Dropped because the send queue was full. */
  queue: number;
}

/**
 * Which way a datagram crosses a link: from the node to its router, or back.
 *
 * @example
 * ```ts
 * const link = new Link("test", new Prng(1), { delay: 20 });
 * link.carry(0, 1200, "up");   // → { arrivals: [20] }
 * link.carry(0, 1600, "down"); // → { drop: "mtu" }
 * ```
 */
export type LinkDirection = "up" | "down";

/**
 * The outcome of offering a datagram to a link: arrival times (two when duplicated) or a drop.
 *
 * @example
 * ```ts
 * const outcome: LinkOutcome = link.carry(now, wireSize(packet), "up");
 * if ("drop" in outcome) traceDrop(w, link.name, packet, outcome.drop);
 * else for (const t of outcome.arrivals) scheduler.at(t, () => deliver(packet));
 * ```
 */
export type LinkOutcome = { readonly drop: DropReason } | { readonly arrivals: readonly number[] };

interface Resolved {
  delay: number;
  jitter: number;
  loss: number;
  duplicate: number;
  reorder: number;
  reorderDelay: number | undefined;
  bandwidth: number;
  queue: number;
  mtu: number;
}

function check(name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !(value >= min && value <= max)) {
    throw new IcekitError("INVALID_ARGUMENT", `link ${name} ${String(value)} is out of range; pass a number from ${min} to ${max}`);
  }
}

function resolve(base: Resolved, o: LinkOptions): Resolved {
  check("delay", o.delay, 0, Infinity);
  check("jitter", o.jitter, 0, Infinity);
  check("loss", o.loss, 0, 1);
  check("duplicate", o.duplicate, 0, 1);
  check("reorder", o.reorder, 0, 1);
  check("reorderDelay", o.reorderDelay, 0, Infinity);
  check("bandwidth", o.bandwidth, 0, Infinity);
  check("queue", o.queue, 0, Infinity);
  check("mtu", o.mtu, 68, Infinity);
  return {
    delay: o.delay ?? base.delay,
    jitter: o.jitter ?? base.jitter,
    loss: o.loss ?? base.loss,
    duplicate: o.duplicate ?? base.duplicate,
    reorder: o.reorder ?? base.reorder,
    reorderDelay: o.reorderDelay ?? base.reorderDelay,
    bandwidth: o.bandwidth ?? base.bandwidth,
    queue: o.queue ?? base.queue,
    mtu: o.mtu ?? base.mtu,
  };
}

const PERFECT: Resolved = {
  delay: 0,
  jitter: 0,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderDelay: undefined,
  bandwidth: 0,
  queue: Infinity,
  mtu: 1500,
};

/**
 * One node's link to its router. Change its conditions mid-run with {@link Link.configure}.
 *
 * @example
 * ```ts
 * alice.link.options.delay;             // → 5, as created with { link: { delay: 5 } }
 * net.at(10_000, () => alice.link.configure({ loss: 1 })); // cut alice off at 10 s
 * ```
 */
export class Link {
  /** The owning node's name (and interface number after the first). */
  readonly name: string;
  /** Counters, both directions. */
  readonly stats: LinkStats = { packets: 0, bytes: 0, lost: 0, duplicated: 0, reordered: 0, mtu: 0, queue: 0 };
  #o: Resolved;
  readonly #rng: Prng;
  /** When each direction's transmitter is free again (bandwidth model). */
  readonly #busy = { up: 0, down: 0 };

  /**
   * @param name - for the trace
   * @param rng - the link's own stream
   * @param options - conditions; see {@link LinkOptions}
   * @throws {@link IcekitError} for out-of-range options.
   */
  constructor(name: string, rng: Prng, options: LinkOptions = {}) {
    this.name = name;
    this.#rng = rng;
    this.#o = resolve(PERFECT, options);
  }

  /** The current conditions, defaults filled in. */
  get options(): Required<Omit<LinkOptions, "reorderDelay">> & { readonly reorderDelay: number } {
    const o = this.#o;
    return { ...o, reorderDelay: o.reorderDelay ?? Math.max(1, o.delay) };
  }

  /**
   * Changes some conditions from now on (datagrams already in flight keep theirs), e.g.
   * `link.configure({ loss: 1 })` to cut the link.
   *
   * @throws {@link IcekitError} for out-of-range options.
   */
  configure(options: LinkOptions): void {
    this.#o = resolve(this.#o, options);
  }

  /**
   * Offers a datagram of `size` IP bytes at time `now` in direction `dir`; returns when it
   * arrives at the other end (twice when duplicated) or why it was dropped.
   */
  carry(now: number, size: number, dir: LinkDirection): LinkOutcome {
    const o = this.#o;
    const s = this.stats;
    s.packets++;
    s.bytes += size;
    if (size > o.mtu) {
      s.mtu++;
      return { drop: "mtu" };
    }
    let depart = now;
    if (o.bandwidth > 0) {
      const start = Math.max(now, this.#busy[dir]);
      // bytes still waiting ahead of this datagram in the send queue
      if (((start - now) * o.bandwidth) / 8000 + size > o.queue) {
        s.queue++;
        return { drop: "queue" };
      }
      depart = start + (size * 8000) / o.bandwidth;
      this.#busy[dir] = depart;
    }
    if (this.#rng.chance(o.loss)) {
      s.lost++;
      return { drop: "loss" };
    }
    let arrival = depart + this.#delay();
    if (this.#rng.chance(o.reorder)) {
      s.reordered++;
      arrival += o.reorderDelay ?? Math.max(1, o.delay);
    }
    if (this.#rng.chance(o.duplicate)) {
      s.duplicated++;
      return { arrivals: [arrival, depart + this.#delay()] };
    }
    return { arrivals: [arrival] };
  }

  #delay(): number {
    const o = this.#o;
    if (o.jitter <= 0) return o.delay;
    return Math.max(0, o.delay + (this.#rng.next() * 2 - 1) * o.jitter);
  }
}
