/**
 * ICE credentials (RFC 8445 §5.3, RFC 8839 §5.4): the username fragment and password, and the
 * 64-bit tiebreaker (RFC 8445 §7.1.3).
 *
 * RFC 8445 §5.3: "The values MUST be unguessable, with at least 128 bits of random number
 * generator output used to generate the password, and at least 24 bits of output to generate
 * the username fragment." RFC 8839 §5.4: ufrag 4-256 ice-chars, pwd 22-256 ice-chars.
 *
 * @module
 */
import type { RandomSource } from "../engine";
import { IcekitError } from "../errors";

const ICE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ICE_CHAR_RE = /^[A-Za-z0-9+/]+$/;

/**
 * `length` random ice-chars, 6 bits each.
 *
 * @param random - the byte source
 * @param length - characters to draw
 *
 * @example
 * ```ts
 * randomIceString(defaultRandom, 8);         // → e.g. "8xpRH3Ck": 48 random bits
 * randomIceString((out) => out.fill(0), 4);  // → "AAAA"
 * ```
 */
export function randomIceString(random: RandomSource, length: number): string {
  const bytes = new Uint8Array(length);
  random(bytes);
  let s = "";
  for (const b of bytes) s += ICE_CHARS.charAt(b & 63);
  return s;
}

/**
 * A random 64-bit tiebreaker (RFC 8445 §7.1.3).
 *
 * @example
 * ```ts
 * randomTiebreaker(defaultRandom);              // → e.g. 13581328591530634188n
 * randomTiebreaker((out) => out.fill(0xff));    // → 18446744073709551615n, 2^64 - 1
 * ```
 */
export function randomTiebreaker(random: RandomSource): bigint {
  const b = new Uint8Array(8);
  random(b);
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/**
 * Checks a username fragment or password against RFC 8839 §5.4's grammar.
 *
 * @param value - the ufrag or password
 * @param what - `"ufrag"` or `"pwd"`
 * @param min - the fewest characters accepted (4 for a ufrag, 22 for a password when icekit
 *   makes or is given its own; 1 for the peer's, since some agents send shorter ones)
 * @throws {@link IcekitError} `INVALID_ARGUMENT` naming what is wrong
 *
 * @example
 * ```ts
 * checkIceCredential("8hhY", "ufrag", 4); // passes: 4 ice-chars
 * checkIceCredential("ab", "ufrag", 4);   // throws IcekitError INVALID_ARGUMENT: 'ufrag "ab": pass 4-256 characters of …'
 * ```
 */
export function checkIceCredential(value: string, what: "ufrag" | "pwd", min: number): void {
  if (typeof value !== "string" || value.length < min || value.length > 256 || !ICE_CHAR_RE.test(value)) {
    throw new IcekitError(
      "INVALID_ARGUMENT",
      `${what} ${JSON.stringify(value)}: pass ${min}-256 characters of A-Z a-z 0-9 + / (RFC 8839 §5.4)`,
    );
  }
}
