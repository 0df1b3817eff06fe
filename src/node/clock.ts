/**
 * The one clock icekit's Node side reads: a monotonic millisecond counter for engines' `now`.
 *
 * @module
 */
import { performance } from "node:perf_hooks";

/**
 * Milliseconds from an arbitrary origin, monotonic (never goes back with the wall clock).
 *
 * @example
 * ```ts
 * const now = monotonicNow();   // e.g. 10234.56: ms since an arbitrary origin
 * turn.handleTimeout(now);      // every engine's `now` comes from here
 * const at = turn.pollTimeout(); // on the same clock: arm a timer for at - monotonicNow() ms
 * ```
 */
export function monotonicNow(): number {
  return performance.now();
}
