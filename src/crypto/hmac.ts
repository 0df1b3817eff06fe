/**
 * HMAC (RFC 2104) over SHA-1 and SHA-256, with the key's two pad blocks hashed once.
 *
 * HMAC(K, m) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)). Both `K ⊕ pad` values fill exactly one block,
 * so {@link createHmacKey} compresses each once, at construction, and keeps the two chaining
 * values. A MAC then costs the message's own blocks plus one outer block: for a 100-byte STUN
 * message that is three compressions instead of five, and no allocation. This is what makes
 * checking MESSAGE-INTEGRITY (RFC 8489 §14.5) on every packet cheap.
 *
 * @example
 * ```ts
 * const key = createHmacKey("sha1", shortTermKey);   // once per credential
 * const mac = new Uint8Array(20);
 * key.compute(message, 0, integrityOffset, mac);      // per packet, allocation-free
 * ```
 *
 * @module
 */
import { IcekitError } from "../errors";
import type { MerkleDamgard } from "./merkle-damgard";
import { throwOutput } from "./merkle-damgard";
import { Sha1 } from "./sha1";
import { Sha256 } from "./sha256";
import type { HmacAlgorithm, HmacFactory, HmacKey } from "./types";

/** RFC 2104 §2: ipad and opad, the byte 0x36 and 0x5C repeated over a block. */
const IPAD = 0x36;
const OPAD = 0x5c;

/** The pure {@link HmacKey}: one working hash state plus the two pad states. */
class Hmac<H extends MerkleDamgard> implements HmacKey {
  readonly algorithm: HmacAlgorithm;
  readonly outputLength: number;
  /** The running inner hash, then (inside digestInto) the outer one. */
  private readonly work: H;
  /** The state after hashing K ⊕ ipad: where every inner hash starts. */
  private readonly inner: H;
  /** The state after hashing K ⊕ opad: where every outer hash starts. */
  private readonly outer: H;
  /**
   * The outer hash's only block after the opad block: the inner digest in the first
   * `outputLength` bytes, then padding and length that never change, written once here.
   */
  private readonly outerBlock: Uint8Array;

  constructor(algorithm: HmacAlgorithm, key: Uint8Array, create: () => H) {
    this.algorithm = algorithm;
    const work = create();
    const n = work.outputLength;
    this.outputLength = n;
    this.work = work;
    const block = work.blockLength;
    // FIPS 180-4 §5.1.1 padding of a (block + n)-byte message; SHA-1 and SHA-256 are both
    // big-endian and the bit length, at most 768, fits the last two bytes.
    const outerBlock = new Uint8Array(block);
    outerBlock[n] = 0x80;
    const bits = (block + n) * 8;
    outerBlock[block - 2] = bits >>> 8;
    outerBlock[block - 1] = bits;
    this.outerBlock = outerBlock;
    // RFC 2104 §2 step 1: a key longer than the block is replaced by its hash, then zero-padded.
    const pad = new Uint8Array(block);
    if (key.length > block) work.update(key).digestInto(pad, 0);
    else pad.set(key);
    for (let i = 0; i < block; i++) pad[i]! ^= IPAD;
    this.inner = create().update(pad);
    for (let i = 0; i < block; i++) pad[i]! ^= IPAD ^ OPAD;
    this.outer = create().update(pad);
    // The pad held key bytes, and after hashing a long key so does the working buffer (the
    // key's last partial block). Zero the one; hashing the empty message rewrites all 64 bytes of
    // the other with public padding.
    pad.fill(0);
    work.reset().digestInto(pad, 0);
    // Ready for update() straight away, as if init() had been called.
    work.copyFrom(this.inner);
  }

  init(): this {
    this.work.copyFrom(this.inner);
    return this;
  }

  update(data: Uint8Array, start?: number, end?: number): this {
    this.work.update(data, start, end);
    return this;
  }

  digestInto(out: Uint8Array, offset = 0): void {
    const n = this.outputLength;
    // Checked here too, so a short `out` leaves the MAC unfinished rather than half-written.
    if (offset >>> 0 !== offset || out.length - offset < n) throwOutput(`Hmac(${this.algorithm})`, out, offset, n);
    const work = this.work;
    const block = this.outerBlock;
    work.digestInto(block, 0);
    work.digestFinalBlock(this.outer, block, out, offset);
  }

  compute(data: Uint8Array, start?: number, end?: number, out?: Uint8Array, outOffset = 0): Uint8Array {
    const o = out ?? new Uint8Array(this.outputLength);
    this.init().update(data, start, end).digestInto(o, outOffset);
    return o;
  }
}

function isUint8Array(x: unknown): x is Uint8Array {
  // Not `instanceof`: a Uint8Array from another realm (vm, worker transfer, jsdom) is fine too.
  return ArrayBuffer.isView(x) && Object.prototype.toString.call(x) === "[object Uint8Array]";
}

/**
 * Creates a reusable HMAC key (RFC 2104): the pure default {@link HmacFactory}.
 *
 * Create it once per credential and keep it; each MAC then costs only the message's
 * compression rounds plus one, and allocates nothing when given an output buffer. The key
 * bytes are copied (hashed first when longer than 64 bytes, per RFC 2104 §2); `key` is not kept.
 *
 * @param algorithm - `"sha1"` (STUN MESSAGE-INTEGRITY) or `"sha256"` (MESSAGE-INTEGRITY-SHA256)
 * @param key - the key, any length
 * @returns a key object; not re-entrant, so give each concurrent user its own
 * @throws `IcekitError` `INVALID_ARGUMENT` for another algorithm or a key that is not a
 *   Uint8Array.
 * @example
 * ```ts
 * const key = createHmacKey("sha256", new TextEncoder().encode("pass"));
 * const mac = key.compute(message);               // a new Uint8Array(32)
 * key.init().update(header).update(body).digestInto(out, 20); // in pieces, into a buffer
 * ```
 */
export function createHmacKey(algorithm: HmacAlgorithm, key: Uint8Array): HmacKey {
  if (!isUint8Array(key)) {
    throw new IcekitError("INVALID_ARGUMENT", `createHmacKey: the key must be a Uint8Array, not ${typeof key}`);
  }
  if (algorithm === "sha1") return new Hmac(algorithm, key, () => new Sha1());
  if (algorithm === "sha256") return new Hmac(algorithm, key, () => new Sha256());
  throw new IcekitError("INVALID_ARGUMENT", `createHmacKey: algorithm ${JSON.stringify(algorithm)} is not "sha1" or "sha256"`);
}

/**
 * One-shot HMAC (RFC 2104) of `data` under `key`. Hashes the key pads on every call: for many
 * messages under one key, keep a {@link createHmacKey} instead.
 *
 * @param algorithm - `"sha1"` or `"sha256"`
 * @param key - the key, any length
 * @param data - the message
 * @returns a new 20- or 32-byte MAC
 * @throws `IcekitError` `INVALID_ARGUMENT` as {@link createHmacKey} does.
 * @example
 * ```ts
 * hmac("sha256", key, message) // Uint8Array(32)
 * ```
 */
export function hmac(algorithm: HmacAlgorithm, key: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmacKey(algorithm, key).compute(data);
}

/**
 * One-shot HMAC-SHA1 (RFC 2104, RFC 2202): `hmac("sha1", key, data)`.
 *
 * @param key - the key, any length
 * @param data - the message
 * @returns a new 20-byte MAC
 * @example
 * ```ts
 * // RFC 2202 §3, test case 1
 * hmacSha1(new Uint8Array(20).fill(0x0b), new TextEncoder().encode("Hi There"))
 * // → b617318655057264e28bc0b6fb378c8ef146be00
 * ```
 */
export function hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmacKey("sha1", key).compute(data);
}

/**
 * One-shot HMAC-SHA256 (RFC 2104, RFC 4231): `hmac("sha256", key, data)`.
 *
 * @param key - the key, any length
 * @param data - the message
 * @returns a new 32-byte MAC
 * @example
 * ```ts
 * // RFC 4231 §4.2, test case 1
 * hmacSha256(new Uint8Array(20).fill(0x0b), new TextEncoder().encode("Hi There"))
 * // → b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7
 * ```
 */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmacKey("sha256", key).compute(data);
}
