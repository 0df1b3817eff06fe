/**
 * MD5 (RFC 1321), pure and synchronous.
 *
 * MD5 is broken as a general-purpose hash; icekit carries it because STUN's long-term credential
 * key is `MD5(username ":" OpaqueString(realm) ":" OpaqueString(password))` (RFC 8489 §9.2.2,
 * §18.5.1.1), which TURN servers and clients still use everywhere. Use {@link md5} for one-shot
 * hashing and {@link Md5} to hash in pieces.
 *
 * @module
 */
import { MerkleDamgard } from "./merkle-damgard";

/** RFC 1321 §3.3: the initial MD buffer A, B, C, D (the spec lists it low-order byte first). */
const IV = /* @__PURE__ */ Int32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);

/**
 * RFC 1321 §3.4: T[1..64], the integer part of 2^32 * |sin(i)|, written out rather than computed
 * so that the result never depends on a platform's Math.sin.
 */
const T = /* @__PURE__ */ Int32Array.of(
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
);

/** The block as sixteen little-endian words X[0..15], shared: compression is synchronous. */
const X = /* @__PURE__ */ new Int32Array(16);

/**
 * Incremental MD5 (RFC 1321).
 *
 * @example
 * ```ts
 * const h = new Md5();
 * h.update(utf8(username)).update(utf8(":")).update(utf8(realm));
 * h.update(utf8(":")).update(utf8(password));
 * const key = new Uint8Array(16);
 * h.digestInto(key);
 * ```
 */
export class Md5 extends MerkleDamgard {
  /** A state ready to hash the empty message. */
  constructor() {
    super("Md5", 16, IV, true);
  }

  /** RFC 1321 §3.4: the four rounds of sixteen operations on one 512-bit block. */
  protected compress(m: Uint8Array, o: number): void {
    const x = X;
    for (let i = 0; i < 16; i++, o += 4) {
      x[i] = m[o]! | (m[o + 1]! << 8) | (m[o + 2]! << 16) | (m[o + 3]! << 24);
    }
    const s = this.state;
    let a = s[0]!;
    let b = s[1]!;
    let c = s[2]!;
    let d = s[3]!;
    let t: number;
    let i = 0;
    // Each operation is RFC 1321's [abcd k s i]: a = b + ((a + f(b,c,d) + X[k] + T[i]) <<< s),
    // four per loop pass so that the rotation amounts are constants.
    for (; i < 16; i += 4) {
      // Round 1: F(x, y, z) = xy v not(x) z, X[k] in order.
      t = (a + ((b & c) | (~b & d)) + x[i]! + T[i]!) | 0;
      a = (b + ((t << 7) | (t >>> 25))) | 0;
      t = (d + ((a & b) | (~a & c)) + x[i + 1]! + T[i + 1]!) | 0;
      d = (a + ((t << 12) | (t >>> 20))) | 0;
      t = (c + ((d & a) | (~d & b)) + x[i + 2]! + T[i + 2]!) | 0;
      c = (d + ((t << 17) | (t >>> 15))) | 0;
      t = (b + ((c & d) | (~c & a)) + x[i + 3]! + T[i + 3]!) | 0;
      b = (c + ((t << 22) | (t >>> 10))) | 0;
    }
    for (; i < 32; i += 4) {
      // Round 2: G(x, y, z) = xz v y not(z), k = 5i + 1 mod 16.
      t = (a + ((b & d) | (c & ~d)) + x[(5 * i + 1) & 15]! + T[i]!) | 0;
      a = (b + ((t << 5) | (t >>> 27))) | 0;
      t = (d + ((a & c) | (b & ~c)) + x[(5 * i + 6) & 15]! + T[i + 1]!) | 0;
      d = (a + ((t << 9) | (t >>> 23))) | 0;
      t = (c + ((d & b) | (a & ~b)) + x[(5 * i + 11) & 15]! + T[i + 2]!) | 0;
      c = (d + ((t << 14) | (t >>> 18))) | 0;
      t = (b + ((c & a) | (d & ~a)) + x[(5 * i + 16) & 15]! + T[i + 3]!) | 0;
      b = (c + ((t << 20) | (t >>> 12))) | 0;
    }
    for (; i < 48; i += 4) {
      // Round 3: H(x, y, z) = x xor y xor z, k = 3i + 5 mod 16.
      t = (a + (b ^ c ^ d) + x[(3 * i + 5) & 15]! + T[i]!) | 0;
      a = (b + ((t << 4) | (t >>> 28))) | 0;
      t = (d + (a ^ b ^ c) + x[(3 * i + 8) & 15]! + T[i + 1]!) | 0;
      d = (a + ((t << 11) | (t >>> 21))) | 0;
      t = (c + (d ^ a ^ b) + x[(3 * i + 11) & 15]! + T[i + 2]!) | 0;
      c = (d + ((t << 16) | (t >>> 16))) | 0;
      t = (b + (c ^ d ^ a) + x[(3 * i + 14) & 15]! + T[i + 3]!) | 0;
      b = (c + ((t << 23) | (t >>> 9))) | 0;
    }
    for (; i < 64; i += 4) {
      // Round 4: I(x, y, z) = y xor (x v not(z)), k = 7i mod 16.
      t = (a + (c ^ (b | ~d)) + x[(7 * i) & 15]! + T[i]!) | 0;
      a = (b + ((t << 6) | (t >>> 26))) | 0;
      t = (d + (b ^ (a | ~c)) + x[(7 * i + 7) & 15]! + T[i + 1]!) | 0;
      d = (a + ((t << 10) | (t >>> 22))) | 0;
      t = (c + (a ^ (d | ~b)) + x[(7 * i + 14) & 15]! + T[i + 2]!) | 0;
      c = (d + ((t << 15) | (t >>> 17))) | 0;
      t = (b + (d ^ (c | ~a)) + x[(7 * i + 21) & 15]! + T[i + 3]!) | 0;
      b = (c + ((t << 21) | (t >>> 11))) | 0;
    }
    s[0] = (s[0]! + a) | 0;
    s[1] = (s[1]! + b) | 0;
    s[2] = (s[2]! + c) | 0;
    s[3] = (s[3]! + d) | 0;
  }
}

let shared: Md5 | undefined;

/**
 * MD5 of `data` (RFC 1321).
 *
 * @param data - the message
 * @returns a new 16-byte digest
 * @example
 * ```ts
 * md5(new TextEncoder().encode("abc")) // 90015098 3cd24fb0 d6963f7d 28e17f72
 * ```
 */
export function md5(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  (shared ??= new Md5()).reset().update(data).digestInto(out, 0);
  return out;
}
