/**
 * The one clock icekit's Node side reads: a monotonic millisecond counter for engines' `now`.
 *
 * @module
 */
import { performance } from "node:perf_hooks";

/** Milliseconds from an arbitrary origin, monotonic (never goes back with the wall clock). */
export function monotonicNow(): number {
  return performance.now();
}
