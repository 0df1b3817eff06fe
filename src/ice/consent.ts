/**
 * Consent freshness (RFC 7675) and keepalives (RFC 8445 §11): the timing rules, kept apart from
 * the agent so that they can be read against the RFCs.
 *
 * - RFC 7675 §5.1: "Consent expires after 30 seconds. That is, if a valid STUN binding response
 *   has not been received from the remote peer's transport address in 30 seconds, the endpoint
 *   MUST cease transmission on that 5-tuple."
 * - "each interval MUST be randomized from between 0.8 and 1.2 times the basic period.
 *   Implementations SHOULD set a default interval of 5 seconds [...] MUST NOT set the period
 *   between checks to less than 4 seconds."
 * - "Each STUN binding request for consent is transmitted once only."
 * - RFC 8445 §11: "An agent MUST send a keepalive on each candidate pair that is used for
 *   sending data if no packet has been sent on that pair in the last Tr seconds. Agents SHOULD
 *   use a Tr value of 15 seconds [...] MUST NOT use a value smaller than 15 seconds." Consent
 *   requests are packets on the pair, so with consent on, keepalives only go out when consent
 *   checks stop (RFC 7675 §4: "dedicated keepalives [...] are not sent on candidate pairs where
 *   consent requests are sent").
 *
 * @module
 */
import type { RandomSource } from "../engine";
import type { CandidatePair } from "./pair";

/**
 * The timers of consent and keepalives, resolved from the agent options.
 *
 * @example
 * ```ts
 * const consent: ConsentConfig = { interval: 5000, timeout: 30_000, disconnectedAfter: 10_000, keepalive: 15_000 }; // the defaults
 * consentStatus(pair, pair.consentAt + 12_000, consent); // → "stale"
 * ```
 */
export interface ConsentConfig {
  /** Base period of consent checks; false: no consent checks. */
  readonly interval: number | false;
  /** Consent expiry (30 000). */
  readonly timeout: number;
  /** Staleness after which the agent reports `disconnected`. */
  readonly disconnectedAfter: number;
  /** Tr. */
  readonly keepalive: number;
}

/**
 * The smallest consent period RFC 7675 §5.1 allows.
 *
 * @example
 * ```ts
 * consentDelay(MIN_CONSENT_INTERVAL, (out) => out.fill(0)); // → 4000, not 3200: the floor holds
 * ```
 */
export const MIN_CONSENT_INTERVAL = 4000;
/**
 * The smallest Tr RFC 8445 §11 allows.
 *
 * @example
 * ```ts
 * new IceAgent({ role: "controlling", keepaliveInterval: MIN_KEEPALIVE_INTERVAL - 1 });
 * // throws IcekitError INVALID_ARGUMENT: "keepaliveInterval 14999: pass an integer from 15000 (default 15000)"
 * ```
 */
export const MIN_KEEPALIVE_INTERVAL = 15_000;

/** Scratch for {@link consentDelay}'s two random bytes: one per module, not one per check. */
const DELAY_BYTES = new Uint8Array(2);

/**
 * A randomized consent interval: `interval × U(0.8, 1.2)`, never below 4 s (RFC 7675 §5.1).
 *
 * @example
 * ```ts
 * consentDelay(5000, (out) => out.fill(0));    // → 4000: 0.8 × 5000
 * consentDelay(5000, (out) => out.fill(0xff)); // → 6000: 1.2 × 5000
 * ```
 */
export function consentDelay(interval: number, random: RandomSource): number {
  const b = DELAY_BYTES;
  random(b);
  const u = ((b[0]! << 8) | b[1]!) / 0xffff;
  return Math.max(MIN_CONSENT_INTERVAL, Math.round(interval * (0.8 + 0.4 * u)));
}

/**
 * How fresh a selected pair's consent is.
 *
 * @example
 * ```ts
 * const status: ConsentStatus = consentStatus(selected, now, consent);
 * if (status === "expired") lost = true;     // RFC 7675 §5.1: the pair may carry nothing more
 * else if (status === "stale") stale = true; // the agent reports "disconnected"
 * ```
 */
export type ConsentStatus = "fresh" | "stale" | "expired";

/**
 * The pair's consent status at `now`.
 *
 * @example
 * ```ts
 * pair.consentAt = 0; // the last authenticated response
 * consentStatus(pair, 5_000, consent);  // → "fresh"
 * consentStatus(pair, 12_000, consent); // → "stale": reported as "disconnected"
 * consentStatus(pair, 30_000, consent); // → "expired"
 * ```
 */
export function consentStatus(pair: CandidatePair, now: number, c: ConsentConfig): ConsentStatus {
  if (pair.consentLost) return "expired";
  if (c.interval === false) return "fresh";
  const age = now - pair.consentAt;
  if (age >= c.timeout) return "expired";
  return age >= c.disconnectedAfter ? "stale" : "fresh";
}

/**
 * When the pair's consent status next changes by itself (for `pollTimeout`), or Infinity.
 *
 * @example
 * ```ts
 * pair.consentAt = 0;
 * nextConsentChange(pair, 5_000, consent);  // → 10000: it turns stale then
 * nextConsentChange(pair, 12_000, consent); // → 30000: it expires then
 * ```
 */
export function nextConsentChange(pair: CandidatePair, now: number, c: ConsentConfig): number {
  if (pair.consentLost || c.interval === false) return Infinity;
  const stale = pair.consentAt + c.disconnectedAfter;
  return stale > now ? stale : pair.consentAt + c.timeout;
}
