/**
 * The simulator's seeded pseudo-random generator: xoshiro128** seeded through splitmix32.
 *
 * Every random choice in a simulated network (link loss, jitter, duplication, a NAT's random
 * ports, a host's ephemeral ports, the engines' transaction ids) comes from a {@link Prng}
 * derived from the network's seed. Streams are *forked by label* from the seed, not drawn from a
 * shared stream, so adding a host or a link leaves every other stream untouched: the packets of
 * the rest of the network keep their loss draws and their ports.
 *
 * The generator is not cryptographic. It only has to be fast, well distributed and exactly
 * reproducible on every JavaScript engine, which 32-bit integer arithmetic (`Math.imul`, `>>>`)
 * guarantees.
 *
 * @module
 */
import { IcekitError } from "../errors";
import type { RandomSource } from "../engine";

const TWO_POW_32 = 4294967296;

/**
 * Murmur3's 32-bit finaliser: a bijective avalanche on 32-bit integers.
 *
 * @example
 * ```ts
 * mix32(1); // → 1364076727: neighbouring inputs give unrelated outputs
 * mix32(0); // → 0, its one fixed point
 * ```
 */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * FNV-1a (32-bit) of a string's UTF-16 code units: turns a fork label into a number.
 *
 * @example
 * ```ts
 * labelHash("alice"); // → 1478347799
 * labelHash("");      // → 2166136261, the FNV-1a offset basis
 * ```
 */
export function labelHash(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    h = Math.imul(h ^ (c & 0xff), 0x01000193);
    h = Math.imul(h ^ (c >>> 8), 0x01000193);
  }
  return h >>> 0;
}

/**
 * Reduces a seed to 32 bits. Any safe integer is accepted; seeds below 2^32 are used as they are.
 *
 * @example
 * ```ts
 * normalizeSeed(42);          // → 42
 * normalizeSeed(2 ** 40 + 5); // → 1164980570, the seed new Network({ seed: 2 ** 40 + 5 }) reports
 * normalizeSeed(1.5);         // throws IcekitError INVALID_ARGUMENT
 * ```
 *
 * @throws {@link IcekitError} when `seed` is not a safe integer.
 */
export function normalizeSeed(seed: number): number {
  if (!Number.isSafeInteger(seed)) {
    throw new IcekitError("INVALID_ARGUMENT", `seed ${String(seed)} is not an integer; pass e.g. { seed: 42 }`);
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  return hi === 0 ? lo : (lo ^ mix32(hi)) >>> 0;
}

/**
 * A seeded xoshiro128** generator (Blackman and Vigna), its 128-bit state filled by splitmix32.
 *
 * @example
 * ```ts
 * const rng = new Prng(42);
 * rng.next();              // a float in [0, 1)
 * rng.int(49152, 65535);   // an integer in [49152, 65535]
 * const ids = rng.fork("alice").source; // a RandomSource for an engine
 * ```
 */
export class Prng {
  /** The 32-bit seed this stream was made from (forks get their own). */
  readonly seed: number;
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /**
   * @param seed - any safe integer; see {@link normalizeSeed}
   * @throws {@link IcekitError} when `seed` is not a safe integer.
   */
  constructor(seed: number) {
    this.seed = normalizeSeed(seed);
    // splitmix32: a Weyl sequence through an avalanche, so that nearby seeds give unrelated states.
    let s = this.seed;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    // xoshiro's only forbidden state is all zeros; splitmix32 cannot give four zeros in a row,
    // but a guard costs nothing.
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1;
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    const a = this.#a;
    const b = this.#b;
    const c = this.#c;
    const d = this.#d;
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    let c2 = c ^ a;
    let d2 = d ^ b;
    this.#b = (b ^ c2) >>> 0;
    this.#a = (a ^ d2) >>> 0;
    c2 ^= t;
    d2 = rotl(d2, 11);
    this.#c = c2 >>> 0;
    this.#d = d2 >>> 0;
    return r;
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** An integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /**
   * True with probability `p`. Draws nothing when `p` is 0 or 1, so that turning an impairment
   * off does not shift the stream for the others.
   */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.next() < p;
  }

  /** Fills `out` with random bytes. */
  fill(out: Uint8Array): void {
    let i = 0;
    for (; i + 4 <= out.length; i += 4) {
      const v = this.nextU32();
      out[i] = v & 0xff;
      out[i + 1] = (v >>> 8) & 0xff;
      out[i + 2] = (v >>> 16) & 0xff;
      out[i + 3] = v >>> 24;
    }
    if (i < out.length) {
      let v = this.nextU32();
      for (; i < out.length; i++, v >>>= 8) out[i] = v & 0xff;
    }
  }

  /**
   * An independent stream for `label`, derived from this stream's seed (not its position), so
   * forks do not depend on how much of the parent was drawn or in which order forks were made.
   */
  fork(label: string): Prng {
    return new Prng(mix32((this.seed ^ mix32((labelHash(label) + 0x9e3779b9) >>> 0)) >>> 0));
  }

  /** This stream as the {@link RandomSource} engines take. */
  get source(): RandomSource {
    return (out) => this.fill(out);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
