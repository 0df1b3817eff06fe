/**
 * The global pacing of RFC 8445 §14.2, shared by every agent of one implementation.
 *
 * "Regardless of the Ta value chosen for each agent, the combination of all transactions from
 * all agents (if a given implementation runs several concurrent agents) MUST NOT be sent more
 * often than once every 5 ms (as though there were one global Ta value for pacing all agents)."
 *
 * Ta still paces each agent (§6.1.4.2, §5.1.1.2); the {@link IcePacer} adds the floor across
 * agents. It reads no clock: each agent passes `now` in. An agent that wants to start a
 * transaction takes a slot with {@link IcePacer.reserve}: slots are handed out one interval
 * apart in the order agents ask, so every agent that asks gets a slot (first come, first served:
 * no starvation however many agents share the pacer). An agent whose slot is in the future
 * reports it from `pollTimeout` and sends when the driver wakes it then
 * ({@link IcePacer.claim}). The claim also checks the time of the last transaction actually
 * sent, so a driver that wakes an agent late cannot squeeze two transactions closer than the
 * interval: the late agent reserves again. Both calls are a few comparisons: nothing per packet
 * but the check itself.
 *
 * What counts: new STUN transactions an agent starts — ordinary and triggered connectivity
 * checks, gathering Binding and Allocate requests, server-reflexive binding refreshes, and the TURN transactions of
 * the agent's relays: the Allocate and its signed retry after a 401 or 438, Refresh (the deleting
 * one on close included), CreatePermission and ChannelBind, each in a slot of its own, and a
 * check that had to wait in the TURN client for its permission, which leaves only then and takes
 * the slot after the permission's (it can never overtake it). Retransmissions are not new
 * transactions (Appendix B.1 paces them with RTO), keepalives are Binding indications, not
 * transactions (§11), and Send indications and ChannelData are the envelopes of data and of
 * checks that already had their slot: the data path never asks the pacer. Consent checks
 * (RFC 7675) keep their own schedule: RFC 7675 §5.1 requires every interval to be 0.8-1.2 times
 * the period, which a pacer shared by more than about 1000 connected agents would break (200
 * transactions a second is one consent check per 5 s for 1000 agents).
 *
 * @example
 * ```ts
 * const pacer = new IcePacer();                      // one per process (or per UDP mux)
 * const a = new IceAgent({ role: "controlling", pacer });
 * const b = new IceAgent({ role: "controlling", pacer });
 * // a and b together start at most one transaction per 5 ms.
 * ```
 *
 * @module
 */
import { IcekitError } from "../errors";

/**
 * RFC 8445 §14.2: the global minimum interval between transactions, ms (Appendix B.1).
 *
 * @example
 * ```ts
 * new IcePacer(MIN_PACING_INTERVAL) // the same as new IcePacer()
 * ```
 */
export const MIN_PACING_INTERVAL = 5;

/**
 * A pure, clock-free slot allocator shared by agents: see the module comment.
 *
 * @example
 * ```ts
 * const pacer = new IcePacer();
 * pacer.reserve(100); // 100: free, take it
 * pacer.claim(100, 100); // true: send now
 * pacer.reserve(101); // 105: the next slot
 * ```
 */
export class IcePacer {
  /** The interval between two transactions, ms (at least 5). */
  readonly interval: number;
  /** The first time no slot has been handed out for. */
  #nextFree = -Infinity;
  /** When the last transaction was actually sent. */
  #lastSent = -Infinity;
  #granted = 0;

  /**
   * @param interval - ms between transactions; default and minimum 5 (RFC 8445 §14.2)
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for an interval below 5 ms
   */
  constructor(interval = MIN_PACING_INTERVAL) {
    if (typeof interval !== "number" || !Number.isFinite(interval) || interval < MIN_PACING_INTERVAL) {
      throw new IcekitError("INVALID_ARGUMENT", `pacer interval ${String(interval)}: pass a number of ms, at least 5 (RFC 8445 §14.2)`);
    }
    this.interval = interval;
  }

  /** The earliest time a new reservation could be sent at. */
  get nextFreeAt(): number {
    return Math.max(this.#nextFree, this.#lastSent + this.interval);
  }

  /** Transactions granted so far (for statistics and tests). */
  get granted(): number {
    return this.#granted;
  }

  /**
   * Takes the next free slot at or after `now`.
   *
   * @returns the slot's time; pass it to {@link claim} at that time or later
   */
  reserve(now: number): number {
    const at = Math.max(now, this.#nextFree, this.#lastSent + this.interval);
    this.#nextFree = at + this.interval;
    return at;
  }

  /**
   * Uses a slot from {@link reserve}: true when the transaction may be sent now. False when
   * `now` is before the slot, or when another transaction went out less than an interval ago
   * (this agent was woken late): reserve again.
   */
  claim(now: number, slot: number): boolean {
    if (now < slot || now < this.#lastSent + this.interval) return false;
    this.#lastSent = now;
    this.#granted++;
    return true;
  }
}
