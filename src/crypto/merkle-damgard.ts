/**
 * The buffering, padding and length encoding that SHA-1, SHA-256 (FIPS 180-4 §5.1.1, §6) and
 * MD5 (RFC 1321 §3.1–3.2) share: a 64-byte block, a 0x80 byte, zeros, and the message length in
 * bits as 64 bits. Only the compression function, the byte order and the initial value differ,
 * so each hash is this class plus its compression function.
 *
 * Not exported from the package entry: the public types are `Sha1`, `Sha256` and `Md5`, which
 * extend {@link MerkleDamgard}.
 *
 * @module
 */
import { IcekitError } from "../errors";
import type { HashState } from "./types";

/** Bytes per block for all three hashes (FIPS 180-4 §1, RFC 1321 §3.4). */
const BLOCK = 64;

/** @internal Throws the misuse error for a bad `[start, end)` range; kept out of the hot path. */
export function throwRange(name: string, data: Uint8Array, start: number, end: number): never {
  throw new IcekitError(
    "INVALID_ARGUMENT",
    `${name}: range [${start}, ${end}) is not within 0..${data?.length}; pass integers with 0 <= start <= end <= data.length`,
  );
}

/** @internal Throws the misuse error for an output buffer too short to hold the digest. */
export function throwOutput(name: string, out: Uint8Array, offset: number, length: number): never {
  throw new IcekitError(
    "BUFFER_TOO_SMALL",
    `${name}: needs ${length} bytes at offset ${offset} but out has ${out?.length}; pass a larger buffer or a smaller offset`,
  );
}

/**
 * A Merkle–Damgård hash over 64-byte blocks with a 32-bit-word chaining value.
 *
 * Subclasses supply the compression function; everything else (buffering across
 * {@link MerkleDamgard.update} calls, padding, length, copying states) lives here, once for
 * all three.
 */
export abstract class MerkleDamgard implements HashState {
  /** 64 bytes for every hash built on this class. */
  readonly blockLength = BLOCK;
  /** Bytes of digest. */
  readonly outputLength: number;
  /** The chaining value H (FIPS 180-4 §5.3) or the MD buffer A, B, C, D (RFC 1321 §3.3). */
  protected readonly state: Int32Array;
  /** Bytes of a block not yet complete. Only `buffer[0..bufferLength)` is meaningful. */
  protected readonly buffer = new Uint8Array(BLOCK);
  protected bufferLength = 0;
  /** Total bytes hashed: a double holds 2^53 exactly, far past any message icekit sees. */
  protected length = 0;
  /** True once digestInto() has padded the buffer; update() must not continue from there. */
  protected finished = false;
  private readonly iv: Int32Array;
  /** MD5 is little-endian in its words and its length (RFC 1321 §3.2, §3.4); SHA is big-endian. */
  private readonly littleEndian: boolean;
  private readonly name: string;

  /**
   * @param name - for error messages
   * @param outputLength - bytes of digest, a multiple of 4 no larger than the state
   * @param iv - the initial chaining value, copied on every reset()
   * @param littleEndian - word and length byte order
   */
  protected constructor(name: string, outputLength: number, iv: Int32Array, littleEndian: boolean) {
    this.name = name;
    this.outputLength = outputLength;
    this.iv = iv;
    this.state = new Int32Array(iv.length);
    this.littleEndian = littleEndian;
    this.reset();
  }

  /** Processes the 64 bytes at `data[offset..offset+64)` into {@link MerkleDamgard.state}. */
  protected abstract compress(data: Uint8Array, offset: number): void;

  reset(): this {
    const s = this.state;
    const iv = this.iv;
    for (let i = 0; i < s.length; i++) s[i] = iv[i]!;
    this.bufferLength = 0;
    this.length = 0;
    this.finished = false;
    return this;
  }

  update(data: Uint8Array, start = 0, end: number = data.length): this {
    if (this.finished) this.throwFinished();
    // `>>> 0` rejects negatives, fractions and NaN in one comparison each.
    if (start >>> 0 !== start || end >>> 0 !== end || start > end || end > data.length) {
      throwRange(this.name, data, start, end);
    }
    this.length += end - start;
    const buf = this.buffer;
    let fill = this.bufferLength;
    let pos = start;
    if (fill > 0) {
      const stop = Math.min(end, pos + BLOCK - fill);
      while (pos < stop) buf[fill++] = data[pos++]!;
      if (fill < BLOCK) {
        this.bufferLength = fill;
        return this;
      }
      this.compress(buf, 0);
      fill = 0;
    }
    // Whole blocks are compressed straight from the caller's bytes: no copy.
    for (; end - pos >= BLOCK; pos += BLOCK) this.compress(data, pos);
    while (pos < end) buf[fill++] = data[pos++]!;
    this.bufferLength = fill;
    return this;
  }

  digestInto(out: Uint8Array, offset = 0): void {
    if (this.finished) this.throwFinished();
    const n = this.outputLength;
    if (offset >>> 0 !== offset || out.length - offset < n) throwOutput(this.name, out, offset, n);
    this.finished = true;
    // FIPS 180-4 §5.1.1, RFC 1321 §3.1–3.2: append 0x80, zeros to 56 mod 64, then the bit length.
    const buf = this.buffer;
    let fill = this.bufferLength;
    buf[fill++] = 0x80;
    if (fill > BLOCK - 8) {
      while (fill < BLOCK) buf[fill++] = 0;
      this.compress(buf, 0);
      fill = 0;
    }
    while (fill < BLOCK - 8) buf[fill++] = 0;
    const len = this.length;
    // Bit length = bytes * 8, split without leaving the exact range of a double.
    const lo = (len % 0x20000000) * 8;
    const hi = Math.floor(len / 0x20000000);
    if (this.littleEndian) {
      writeLE(buf, 56, lo);
      writeLE(buf, 60, hi);
    } else {
      writeBE(buf, 56, hi);
      writeBE(buf, 60, lo);
    }
    this.compress(buf, 0);
    this.writeDigest(out, offset);
  }

  private writeDigest(out: Uint8Array, offset: number): void {
    const s = this.state;
    const n = this.outputLength;
    if (this.littleEndian) for (let i = 0; i < n; i += 4) writeLE(out, offset + i, s[i >> 2]!);
    else for (let i = 0; i < n; i += 4) writeBE(out, offset + i, s[i >> 2]!);
  }

  /**
   * Finishes a hash whose last block is already padded: resumes from `chaining`'s state,
   * compresses `block` and writes the digest. HMAC's outer hash is always one such block
   * (RFC 2104: the opad block, then the inner digest, padding and a fixed length), so it skips
   * the buffering and padding of update() and digestInto().
   *
   * @param chaining - a state that has hashed whole blocks only
   * @param block - 64 bytes: the message tail with its FIPS 180-4 §5.1.1 padding in place
   * @param out - where the digest goes, checked by the caller
   * @param offset - index in `out` of the first digest byte
   * @internal
   */
  digestFinalBlock(chaining: this, block: Uint8Array, out: Uint8Array, offset: number): void {
    const s = this.state;
    const c = chaining.state;
    for (let i = 0; i < s.length; i++) s[i] = c[i]!;
    this.compress(block, 0);
    this.finished = true;
    this.writeDigest(out, offset);
  }

  copyFrom(other: this): this {
    if (other.constructor !== this.constructor) {
      throw new IcekitError("INVALID_ARGUMENT", `${this.name}.copyFrom: pass a ${this.name}, not ${other?.constructor?.name}`);
    }
    const s = this.state;
    const o = other.state;
    for (let i = 0; i < s.length; i++) s[i] = o[i]!;
    // Only the live part of the buffer matters; the HMAC pad states have none.
    const n = other.bufferLength;
    const buf = this.buffer;
    const ob = other.buffer;
    for (let i = 0; i < n; i++) buf[i] = ob[i]!;
    this.bufferLength = n;
    this.length = other.length;
    this.finished = other.finished;
    return this;
  }

  private throwFinished(): never {
    throw new IcekitError(
      "INVALID_STATE",
      `${this.name}: the hash was already finished by digestInto(); call reset() (or init() on an HMAC key) first`,
    );
  }
}

function writeBE(out: Uint8Array, i: number, v: number): void {
  out[i] = v >>> 24;
  out[i + 1] = v >>> 16;
  out[i + 2] = v >>> 8;
  out[i + 3] = v;
}

function writeLE(out: Uint8Array, i: number, v: number): void {
  out[i] = v;
  out[i + 1] = v >>> 8;
  out[i + 2] = v >>> 16;
  out[i + 3] = v >>> 24;
}
