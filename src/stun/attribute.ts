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
 * @example
 * ```ts
 * const codec: AttributeCodec<number> = Priority;
 * codec.type                      // → 0x0024
 * codec.encodedLength(0x6e0001ff) // → 4
 * request.get(codec)              // → 0x6e0001ff (RFC 5769 §2.1)
 * ```
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

/**
 * The decoded value type of a codec.
 *
 * @example
 * ```ts
 * type Mapped = AttributeValue<typeof XorMappedAddress>; // TransportAddress
 * const change: AttributeValue<typeof ChangeRequest> = { changeIp: true, changePort: false };
 * ```
 */
export type AttributeValue<C> = C extends AttributeCodec<infer T> ? T : never;

/**
 * Bytes of padding that follow a value of `length` bytes (RFC 8489 §14: 32-bit alignment).
 *
 * @example
 * ```ts
 * paddingLength(9) // → 3: USERNAME "evtj:h6vY" is followed by 3 bytes of padding
 * paddingLength(8) // → 0
 * ```
 */
export function paddingLength(length: number): number {
  return (4 - (length & 3)) & 3;
}

/**
 * Big-endian 16-bit read.
 *
 * @example
 * ```ts
 * readU16(fromHex("0001 0058"), 2) // → 0x58: the length field of RFC 5769 §2.1
 * ```
 */
export function readU16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/**
 * Big-endian 32-bit unsigned read.
 *
 * @example
 * ```ts
 * readU32(msg.raw, 4) // → 0x2112a442: the magic cookie
 * ```
 */
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * Big-endian 16-bit write.
 *
 * @example
 * ```ts
 * const b = new Uint8Array(2);
 * writeU16(b, 0, 3478); // b → 0d 96
 * ```
 */
export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

/**
 * Big-endian 32-bit write.
 *
 * @example
 * ```ts
 * writeU32(out, 4, MAGIC_COOKIE); // out[4..8) → 21 12 a4 42
 * ```
 */
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/**
 * A decode error about attribute `name` at `offset`.
 *
 * @example
 * ```ts
 * throw attributeError("BAD_LENGTH", "ORIGIN", 24, "length is 0, must be at least 1");
 * // StunDecodeError BAD_LENGTH: "ORIGIN: length is 0, must be at least 1 (offset 24)"
 * ```
 */
export function attributeError(
  code: "BAD_LENGTH" | "BAD_ATTRIBUTE" | "BAD_FAMILY",
  name: string,
  offset: number,
  detail: string,
): StunDecodeError {
  return new StunDecodeError(code, `${name}: ${detail}`, offset);
}

/**
 * Throws BAD_LENGTH unless `length` is exactly `want`.
 *
 * @example
 * ```ts
 * expectLength("PRIORITY", offset, length, 4); // throws StunDecodeError BAD_LENGTH unless length is 4
 * ```
 */
export function expectLength(name: string, offset: number, length: number, want: number): void {
  if (length !== want) throw attributeError("BAD_LENGTH", name, offset, `length is ${length}, must be ${want}`);
}

/**
 * An encode-side refusal for attribute `name`.
 *
 * @example
 * ```ts
 * throw valueError("ORIGIN", "pass at most 763 bytes");
 * // IcekitError INVALID_ARGUMENT: "ORIGIN: pass at most 763 bytes"
 * ```
 */
export function valueError(name: string, detail: string): IcekitError {
  return new IcekitError("INVALID_ARGUMENT", `${name}: ${detail}`);
}

/**
 * Checks that a value is an object before its fields are read, so that `null` or a number passed
 * through the untyped `encodeStunMessage` path is refused with an IcekitError, not a
 * TypeError.
 *
 * @example
 * ```ts
 * checkObject("ICMP", value, "{ type, code, errorData }");
 * // value null → IcekitError: "ICMP: pass { type, code, errorData }"
 * ```
 */
export function checkObject(name: string, v: unknown, shape: string): void {
  if (typeof v !== "object" || v === null) throw valueError(name, `pass ${shape}`);
}

/**
 * Checks that `s` is a string of Unicode text: no lone UTF-16 surrogate, which UTF-8 cannot
 * carry (the encoder would silently send U+FFFD instead).
 *
 * @example
 * ```ts
 * checkText("USERNAME", "evtj:h6vY"); // passes, and narrows `unknown` to string
 * checkText("USERNAME", "\ud800");    // throws IcekitError: lone surrogate U+D800 at index 0
 * ```
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

/**
 * Checks an integer value is in [min, max] for encoding.
 *
 * @example
 * ```ts
 * checkInteger("LIFETIME", 600, 0, 0xffffffff);        // passes
 * checkInteger("CHANNEL-NUMBER", 0x10000, 0, 0xffff); // throws IcekitError:
 * // "CHANNEL-NUMBER: 65536 is out of range; pass an integer from 0 to 65535"
 * ```
 */
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
 * @example
 * ```ts
 * readUtf8("USERNAME", new TextEncoder().encode("evtj:h6vY"), 0, 9) // → "evtj:h6vY"
 * readUtf8("USERNAME", Uint8Array.of(0xff), 0, 1) // throws StunDecodeError BAD_ATTRIBUTE
 * ```
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

/**
 * UTF-8 byte length of `s` without allocating (lone surrogates count as U+FFFD, 3 bytes).
 *
 * @example
 * ```ts
 * utf8Length("evtj:h6vY") // → 9
 * utf8Length("\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9") // → 18: RFC 5769 §2.4's username
 * ```
 */
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

/**
 * Writes `s` as UTF-8 at `out[offset..]`; returns bytes written.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(32);
 * writeUtf8("example.org", out, 0) // → 11
 * ```
 */
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

/**
 * Number of Unicode code points in `s` (RFC 8489 limits several texts to fewer than 128 characters).
 *
 * @example
 * ```ts
 * codePointCount("\u{1F600}") // → 1, where "\u{1F600}".length is 2
 * ```
 */
export function codePointCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    n++;
  }
  return n;
}
