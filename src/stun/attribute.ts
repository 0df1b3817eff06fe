/**
 * The shape every attribute codec has, and the byte helpers they share.
 *
 * An {@link AttributeCodec} turns one attribute's value bytes into a typed value and back. Codecs
 * work in place on the message buffer: `decode` reads `msg[offset, offset+length)` where `msg`
 * starts at the STUN header (so XOR codecs find the magic cookie and transaction id at bytes
 * 4-19), and `encode` writes into the buffer a {@link StunMessageBuilder} is filling, whose header
 * has already been written. Neither copies the message.
 *
 * @module
 */
import { IcekitError, StunDecodeError } from "../errors";

/**
 * Decoder and encoder for one attribute type.
 *
 * @typeParam T - the decoded value's type
 */
export interface AttributeCodec<T> {
  /** The IANA attribute type number. */
  readonly type: number;
  /** The IANA registry name, e.g. `"XOR-MAPPED-ADDRESS"`. */
  readonly name: string;
  /**
   * Decodes the value at `msg[offset, offset+length)`.
   *
   * Values that are byte strings (DATA, MESSAGE-INTEGRITY, unknown attributes) are views into
   * `msg`, valid as long as the caller does not overwrite that buffer.
   *
   * @throws {@link StunDecodeError} when the bytes break the attribute's format.
   */
  decode(msg: Uint8Array, offset: number, length: number): T;
  /**
   * The value's length in bytes before padding. Validates `value` first.
   *
   * @throws {@link IcekitError} when `value` cannot be encoded (out of range, too long).
   */
  encodedLength(value: T): number;
  /**
   * Writes the value at `out[offset..]`; `out` starts at the STUN header, which is already
   * written. Padding is the builder's job. Call only after {@link encodedLength} accepted `value`.
   */
  encode(value: T, out: Uint8Array, offset: number): void;
}

/** The decoded value type of a codec. */
export type AttributeValue<C> = C extends AttributeCodec<infer T> ? T : never;

/** Bytes of padding that follow a value of `length` bytes (RFC 8489 §14: 32-bit alignment). */
export function paddingLength(length: number): number {
  return (4 - (length & 3)) & 3;
}

/** Big-endian 16-bit read. */
export function readU16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Big-endian 32-bit unsigned read. */
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Big-endian 16-bit write. */
export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

/** Big-endian 32-bit write. */
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** A decode error about attribute `name` at `offset`. */
export function attributeError(
  code: "BAD_LENGTH" | "BAD_ATTRIBUTE" | "BAD_FAMILY",
  name: string,
  offset: number,
  detail: string,
): StunDecodeError {
  return new StunDecodeError(code, `${name}: ${detail}`, offset);
}

/** Throws BAD_LENGTH unless `length` is exactly `want`. */
export function expectLength(name: string, offset: number, length: number, want: number): void {
  if (length !== want) throw attributeError("BAD_LENGTH", name, offset, `length is ${length}, must be ${want}`);
}

/** An encode-side refusal for attribute `name`. */
export function valueError(name: string, detail: string): IcekitError {
  return new IcekitError("INVALID_ARGUMENT", `${name}: ${detail}`);
}

/**
 * Checks that a value is an object before its fields are read, so that `null` or a number passed
 * through the untyped `encodeStunMessage` path is refused with an IcekitError, not a
 * TypeError.
 */
export function checkObject(name: string, v: unknown, shape: string): void {
  if (typeof v !== "object" || v === null) throw valueError(name, `pass ${shape}`);
}

/**
 * Checks that `s` is a string of Unicode text: no lone UTF-16 surrogate, which UTF-8 cannot
 * carry (the encoder would silently send U+FFFD instead).
 */
export function checkText(name: string, s: unknown): asserts s is string {
  if (typeof s !== "string") throw valueError(name, "pass a string");
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++;
      continue;
    }
    throw valueError(name, `lone surrogate U+${c.toString(16).toUpperCase()} at index ${i}; pass well-formed Unicode text`);
  }
}

/** Checks an integer value is in [min, max] for encoding. */
export function checkInteger(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw valueError(name, `${v} is out of range; pass an integer from ${min} to ${max}`);
  }
}

const utf8Decoder = /* @__PURE__ */ new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = /* @__PURE__ */ new TextEncoder();

/**
 * Decodes UTF-8 text, taking a fast path for ASCII (most usernames, realms and nonces).
 *
 * @throws {@link StunDecodeError} `BAD_ATTRIBUTE` on malformed UTF-8.
 */
export function readUtf8(name: string, b: Uint8Array, offset: number, length: number): string {
  const end = offset + length;
  let ascii = true;
  for (let i = offset; i < end; i++) {
    if (b[i]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    // String.fromCharCode on a small range beats TextDecoder for short ASCII strings.
    let s = "";
    for (let i = offset; i < end; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
  try {
    return utf8Decoder.decode(b.subarray(offset, end));
  } catch {
    throw attributeError("BAD_ATTRIBUTE", name, offset, "value is not valid UTF-8");
  }
}

/** UTF-8 byte length of `s` without allocating (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Writes `s` as UTF-8 at `out[offset..]`; returns bytes written. */
export function writeUtf8(s: string, out: Uint8Array, offset: number): number {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    for (let i = 0; i < s.length; i++) out[offset + i] = s.charCodeAt(i);
    return s.length;
  }
  return utf8Encoder.encodeInto(s, out.subarray(offset)).written;
}

/** Number of Unicode code points in `s` (RFC 8489 limits several texts to fewer than 128 characters). */
export function codePointCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    n++;
  }
  return n;
}
