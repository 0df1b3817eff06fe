/**
 * The retransmission timeout estimate of RFC 8489 §6.2.1: RFC 6298's SRTT/RTTVAR estimator with
 * STUN's exceptions (initial RTO 500 ms, 1 ms accuracy instead of rounding up to a second), kept
 * per server IP address and forgotten after 10 minutes without a transaction.
 *
 * @module
 */

/**
 * Tuning of the estimator.
 *
 * @example
 * ```ts
 * const rto: RtoOptions = { initialRto: 250, minRto: 20 }; // a LAN, where 500 ms is slow
 * const client = new StunClient({ rto });
 * ```
 */
export interface RtoOptions {
  /** RTO before any measurement, ms. RFC 8489 §6.2.1: SHOULD be >= 500; 500 RECOMMENDED. */
  readonly initialRto?: number;
  /**
   * Floor for a measured RTO, ms. RFC 6298 §2.4 floors at one second and STUN removes that
   * rounding; with no floor at all, a loopback RTT of 0.1 ms would make retransmissions burst
   * sub-millisecond. icekit keeps a small floor (default 50 ms).
   */
  readonly minRto?: number;
  /** Ceiling for a measured RTO, ms (RFC 6298 §2.5 allows one of at least 60 s; default 3000). */
  readonly maxRto?: number;
  /** How long a cached estimate lives without transactions, ms (§6.2.1: 10 minutes). */
  readonly staleAfter?: number;
}

interface Estimate {
  srtt: number;
  rttvar: number;
  rto: number;
  lastUsed: number;
}

/** RFC 6298 §2: K = 4, and a clock granularity G of 1 ms (STUN keeps 1 ms accuracy). */
const K = 4;
const G = 1;

/**
 * Per-server RTO estimates.
 *
 * @example
 * ```ts
 * const rtos = new RtoCache();
 * rtos.rto("192.0.2.10", now)        // → 500: no measurement yet
 * rtos.sample("192.0.2.10", 40, now) // the first RTT: 40 ms
 * rtos.rto("192.0.2.10", now)        // → 120 = 40 + 4 × 20 (RFC 6298 §2.2)
 * ```
 */
export class RtoCache {
  readonly #initial: number;
  readonly #min: number;
  readonly #max: number;
  readonly #stale: number;
  readonly #servers = new Map<string, Estimate>();

  /** @param options - initial RTO, floor, ceiling and staleness */
  constructor(options: RtoOptions = {}) {
    this.#initial = options.initialRto ?? 500;
    this.#min = options.minRto ?? 50;
    this.#max = options.maxRto ?? 3000;
    this.#stale = options.staleAfter ?? 600_000;
  }

  /** The RTO to start a transaction to `server` (its IP address) with, at time `now`. */
  rto(server: string, now: number): number {
    const e = this.#servers.get(server);
    if (e === undefined) return this.#initial;
    if (now - e.lastUsed > this.#stale) {
      this.#servers.delete(server);
      return this.#initial;
    }
    return e.rto;
  }

  /**
   * Records an RTT sample from a transaction that was not retransmitted (Karn's algorithm: a
   * retransmitted transaction's RTT is ambiguous and must not be fed in).
   */
  sample(server: string, rtt: number, now: number): void {
    const e = this.#servers.get(server);
    if (e === undefined || now - e.lastUsed > this.#stale) {
      // RFC 6298 §2.2: first measurement.
      const rttvar = rtt / 2;
      this.#servers.set(server, { srtt: rtt, rttvar, rto: this.#clamp(rtt + Math.max(G, K * rttvar)), lastUsed: now });
      return;
    }
    // RFC 6298 §2.3, alpha = 1/8, beta = 1/4.
    e.rttvar = 0.75 * e.rttvar + 0.25 * Math.abs(e.srtt - rtt);
    e.srtt = 0.875 * e.srtt + 0.125 * rtt;
    e.rto = this.#clamp(e.srtt + Math.max(G, K * e.rttvar));
    e.lastUsed = now;
  }

  /** Notes a transaction to `server` that ended without a usable sample (keeps the entry fresh). */
  touch(server: string, now: number): void {
    const e = this.#servers.get(server);
    if (e !== undefined) e.lastUsed = now;
  }

  /** A timed-out transaction: RFC 6298 §5.5 backs the timer off; icekit returns to the initial RTO. */
  timedOut(server: string): void {
    this.#servers.delete(server);
  }

  #clamp(rto: number): number {
    return Math.min(this.#max, Math.max(this.#min, Math.round(rto)));
  }
}
