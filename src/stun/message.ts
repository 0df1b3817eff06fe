/**
 * Decoding STUN messages (RFC 8489 §5, §6.3, §14).
 *
 * {@link decodeStunMessage} checks the header, walks the attributes once to index their offsets,
 * and returns a {@link StunMessage} that decodes each attribute on demand from the same buffer.
 * Nothing is copied: the message, its transaction id and every byte-string value are views into
 * the input, valid as long as the caller does not overwrite it (a socket's receive buffer reused
 * for the next datagram, for instance).
 *
 * @example
 * ```ts
 * const msg = decodeStunMessage(datagram);
 * if (msg.method === Method.Binding && msg.messageClass === MessageClass.SuccessResponse) {
 *   const mapped = msg.get(XorMappedAddress); // { family: "IPv4", address: "192.0.2.1", port: 32853 }
 * }
 * ```
 *
 * @module
 */
import { IcekitError, StunDecodeError } from "../errors";
import { toHex } from "../bytes/hex";
import type { AttributeCodec } from "./attribute";
import { paddingLength, readU16 } from "./attribute";
import { AttributeType, HEADER_LENGTH, MAGIC_COOKIE, isComprehensionRequired } from "./constants";
import type { MessageClass } from "./constants";
import { classOf, methodOf } from "./header";
import { attributeName, codecForType, rawCodec } from "./attributes/registry";

/** Added to the stored type of an ignored attribute: above any 16-bit type, so no lookup matches it. */
const IGNORED = 0x10000;

/**
 * Options for {@link decodeStunMessage}.
 *
 * @example
 * ```ts
 * const msg = decodeStunMessage(streamBuffer, 0, { allowTrailingBytes: true });
 * const next = msg.raw.length; // where the next message in the buffer starts
 * ```
 */
export interface DecodeOptions {
  /**
   * Accept bytes after the message (a stream buffer holding the next message too). By default a
   * datagram must be exactly one message: RFC 8489 §6.3 has the receiver check that the length
   * field matches.
   */
  readonly allowTrailingBytes?: boolean;
  /**
   * Accept messages without the magic cookie (RFC 3489 peers). XOR attributes in such messages
   * decode to garbage, as they would for the peer.
   */
  readonly allowMissingCookie?: boolean;
}

/**
 * One attribute of a decoded message, decoded to its typed value (raw bytes when unknown).
 *
 * @example
 * ```ts
 * const attrs: StunAttribute[] = decodeStunMessage(rfc5769Request).attributes();
 * attrs.map((a) => a.name) // → ["SOFTWARE", "PRIORITY", "ICE-CONTROLLED", "USERNAME", "MESSAGE-INTEGRITY", "FINGERPRINT"]
 * attrs[3]?.value          // → "evtj:h6vY"
 * ```
 */
export interface StunAttribute {
  /** Type number. */
  readonly type: number;
  /** IANA name, or `"0x8030"` style hex for types icekit does not know. */
  readonly name: string;
  /** The decoded value; a `Uint8Array` view for unknown types. */
  readonly value: unknown;
  /** True when the type is unknown to icekit. */
  readonly unknown: boolean;
  /**
   * True when RFC 8489 §14.5-§14.7 say the receiver ignores it: it follows MESSAGE-INTEGRITY and
   * is neither MESSAGE-INTEGRITY-SHA256 nor FINGERPRINT, or it follows MESSAGE-INTEGRITY-SHA256
   * and is not FINGERPRINT, or it follows FINGERPRINT.
   */
  readonly ignored: boolean;
}

/**
 * A decoded STUN message: the header fields and an index of attribute offsets over the original
 * bytes. Attribute values are decoded when asked for.
 *
 * @example
 * ```ts
 * const msg: StunMessage = decodeStunMessage(rfc5769Response);
 * msg.transactionIdHex               // → "b7e7a701bc34d686fa87dfae"
 * msg.get(XorMappedAddress)          // → { family: "IPv4", address: "192.0.2.1", port: 32853 }
 * msg.has(AttributeType.Fingerprint) // → true
 * ```
 */
export class StunMessage {
  /** The message bytes, from the first header byte to the end of the last attribute. */
  readonly raw: Uint8Array;
  /** The 16-bit message type (method and class interleaved). */
  readonly type: number;
  /** The 12-bit method (`Method.Binding` = 1, ...). */
  readonly method: number;
  /** The class: 0 request, 1 indication, 2 success response, 3 error response. */
  readonly messageClass: MessageClass;
  /** The 96-bit transaction id, a view into {@link raw}. */
  #transactionId: Uint8Array | undefined;
  /**
   * The attribute index: for attribute i, `[3i]` type, `[3i+1]` value offset in {@link raw},
   * `[3i+2]` value length. The type of an attribute RFC 8489 §14.5-§14.7 has the receiver ignore
   * is stored plus {@link IGNORED} (outside the 16-bit range), so lookups by type never match it.
   */
  readonly #index: number[];

  /** @internal use {@link decodeStunMessage}. */
  constructor(raw: Uint8Array, index: number[]) {
    this.raw = raw;
    this.type = readU16(raw, 0);
    this.method = methodOf(this.type);
    this.messageClass = classOf(this.type);
    this.#index = index;
  }

  /** The 96-bit transaction id, a view into {@link raw} (made on first use: most hot paths compare bytes instead). */
  get transactionId(): Uint8Array {
    return (this.#transactionId ??= this.raw.subarray(8, 20));
  }

  /** Number of attributes in the message, ignored ones included. */
  get attributeCount(): number {
    return this.#index.length / 3;
  }

  /** Type of attribute `i` (0-based, in message order). */
  attributeType(i: number): number {
    return this.#index[3 * i]! & 0xffff;
  }

  /** Offset in {@link raw} where attribute `i`'s value starts. */
  attributeOffset(i: number): number {
    return this.#index[3 * i + 1]!;
  }

  /** Length of attribute `i`'s value, without padding. */
  attributeLength(i: number): number {
    return this.#index[3 * i + 2]!;
  }

  /** True when attribute `i` is one a receiver must ignore (see {@link StunAttribute.ignored}). */
  isIgnored(i: number): boolean {
    return this.#index[3 * i]! >= IGNORED;
  }

  /**
   * Index of the first attribute of `type` that counts (not ignored per §14.5), or -1.
   */
  indexOf(type: number): number {
    if (type >= IGNORED) return -1; // not a 16-bit type: must not match an ignored entry
    const idx = this.#index;
    for (let k = 0; k < idx.length; k += 3) if (idx[k] === type) return k / 3;
    return -1;
  }

  /** True when the message has an attribute of `type` that counts. */
  has(type: number): boolean {
    return this.indexOf(type) >= 0;
  }

  /**
   * Decodes the first attribute the codec handles (RFC 8489 §14: only the first occurrence needs
   * processing), or returns undefined if there is none.
   *
   * @throws {@link StunDecodeError} when the attribute's value is malformed.
   */
  get<T>(codec: AttributeCodec<T>): T | undefined {
    const i = this.indexOf(codec.type);
    if (i < 0) return undefined;
    return codec.decode(this.raw, this.#index[3 * i + 1]!, this.#index[3 * i + 2]!);
  }

  /**
   * Decodes every attribute of the codec's type that counts, in order (e.g. several
   * XOR-PEER-ADDRESS in a CreatePermission request).
   *
   * @throws {@link StunDecodeError} when one of them is malformed.
   */
  getAll<T>(codec: AttributeCodec<T>): T[] {
    const out: T[] = [];
    if (codec.type >= IGNORED) return out;
    const idx = this.#index;
    for (let k = 0; k < idx.length; k += 3) {
      if (idx[k] === codec.type) out.push(codec.decode(this.raw, idx[k + 1]!, idx[k + 2]!));
    }
    return out;
  }

  /** The raw value bytes (a view) of the first counting attribute of `type`, or undefined. */
  rawValue(type: number): Uint8Array | undefined {
    const i = this.indexOf(type);
    if (i < 0) return undefined;
    const o = this.#index[3 * i + 1]!;
    return this.raw.subarray(o, o + this.#index[3 * i + 2]!);
  }

  /**
   * The comprehension-required attribute types (0x0000-0x7FFF) in this message that `known`
   * does not recognise, without duplicates: what a 420 response lists in UNKNOWN-ATTRIBUTES
   * (RFC 8489 §6.3.1). By default every type icekit has a codec for is known; an engine passes
   * the set its usage understands.
   */
  unknownComprehensionRequired(known: (type: number) => boolean = (t) => codecForType(t) !== undefined): number[] {
    const out: number[] = [];
    const idx = this.#index;
    for (let k = 0; k < idx.length; k += 3) {
      const t = idx[k]!;
      if (t >= IGNORED) continue;
      if (isComprehensionRequired(t) && !known(t) && !out.includes(t)) out.push(t);
    }
    return out;
  }

  /**
   * Every attribute, decoded: known types to their typed value, unknown ones to raw bytes.
   *
   * @throws {@link StunDecodeError} when a known attribute is malformed.
   */
  attributes(): StunAttribute[] {
    const out: StunAttribute[] = [];
    for (let i = 0; i < this.attributeCount; i++) {
      const stored = this.#index[3 * i]!;
      const type = stored & 0xffff;
      const known = codecForType(type);
      const codec = known ?? rawCodec(type);
      out.push({
        type,
        name: known?.name ?? attributeName(type),
        value: codec.decode(this.raw, this.#index[3 * i + 1]!, this.#index[3 * i + 2]!),
        unknown: known === undefined,
        ignored: stored >= IGNORED,
      });
    }
    return out;
  }

  /** The transaction id as 24 hex digits, for logs and maps keyed by string. */
  get transactionIdHex(): string {
    return toHex(this.transactionId);
  }
}

/**
 * Decodes a STUN message from `bytes[offset..]`.
 *
 * Checks (RFC 8489 §5, §6.3): the two leading zero bits, the magic cookie, a length field that
 * is a multiple of 4 and matches the bytes present, and attributes that tile the body exactly.
 * Attribute values are not decoded here; {@link StunMessage.get} decodes them on demand. Padding
 * bytes are not checked: RFC 8489 §14 says receivers MUST ignore them.
 *
 * @param bytes - the datagram, or a stream buffer with `allowTrailingBytes`
 * @param offset - where the message starts in `bytes`
 * @throws {@link StunDecodeError} `TRUNCATED`, `NOT_STUN`, `BAD_LENGTH` or `ATTRIBUTE_OVERRUN`.
 * @throws {@link IcekitError} `INVALID_ARGUMENT` when `offset` is not a non-negative integer.
 * @example
 * ```ts
 * decodeStunMessage(fromHex("000100002112a442b7e7a701bc34d686fa87dfae")).method // → 1 (Method.Binding)
 * decodeStunMessage(Uint8Array.of(0x40, 0x00, 0x00, 0x00)) // throws StunDecodeError TRUNCATED
 * ```
 */
export function decodeStunMessage(bytes: Uint8Array, offset = 0, options?: DecodeOptions): StunMessage {
  // A bad offset is the caller's mistake, not the peer's: without this, -1 or 0.5 would read
  // `undefined` bytes as zeros and return a garbage message.
  if (!Number.isInteger(offset) || offset < 0) {
    throw new IcekitError("INVALID_ARGUMENT", `offset ${offset} is not an index; pass an integer from 0 to bytes.length`);
  }
  const avail = bytes.length - offset;
  if (avail < HEADER_LENGTH) {
    throw new StunDecodeError("TRUNCATED", `STUN header: ${Math.max(avail, 0)} bytes, need 20`, offset);
  }
  const b0 = bytes[offset]!;
  if ((b0 & 0xc0) !== 0) {
    throw new StunDecodeError("NOT_STUN", `STUN header: first two bits are ${b0 >>> 6 === 1 ? "01 (TURN ChannelData?)" : "not 00"}`, offset);
  }
  const length = readU16(bytes, offset + 2);
  if (
    !options?.allowMissingCookie &&
    (bytes[offset + 4] !== 0x21 || bytes[offset + 5] !== 0x12 || bytes[offset + 6] !== 0xa4 || bytes[offset + 7] !== 0x42)
  ) {
    const cookie = ((bytes[offset + 4]! << 24) | (bytes[offset + 5]! << 16) | (bytes[offset + 6]! << 8) | bytes[offset + 7]!) >>> 0;
    throw new StunDecodeError("NOT_STUN", `STUN header: magic cookie is 0x${cookie.toString(16).padStart(8, "0")}, must be 0x${MAGIC_COOKIE.toString(16)}`, offset + 4);
  }
  if ((length & 3) !== 0) {
    throw new StunDecodeError("BAD_LENGTH", `STUN header: message length ${length} is not a multiple of 4`, offset + 2);
  }
  const total = HEADER_LENGTH + length;
  if (total > avail) {
    throw new StunDecodeError("TRUNCATED", `STUN header: message length ${length} needs ${total} bytes, ${avail} present`, offset + 2);
  }
  if (total < avail && !options?.allowTrailingBytes) {
    throw new StunDecodeError("BAD_LENGTH", `STUN header: message length ${length} leaves ${avail - total} bytes unaccounted for`, offset + 2);
  }
  const raw = offset === 0 && total === bytes.length ? bytes : bytes.subarray(offset, offset + total);

  const index: number[] = [];
  let stage = 0; // 0 before integrity, 1 after MI, 2 after MI-SHA256, 3 after FINGERPRINT
  let o = HEADER_LENGTH;
  while (o < total) {
    if (total - o < 4) {
      throw new StunDecodeError("ATTRIBUTE_OVERRUN", `attribute header at ${o} needs 4 bytes, ${total - o} left`, offset + o);
    }
    const type = readU16(raw, o);
    const len = readU16(raw, o + 2);
    const value = o + 4;
    if (value + len > total) {
      throw new StunDecodeError("ATTRIBUTE_OVERRUN", `${attributeName(type)}: length ${len} runs ${value + len - total} bytes past the message end`, offset + o);
    }
    // RFC 8489 §14.5-14.7: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and
    // FINGERPRINT count, after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT, after FINGERPRINT
    // nothing. `stage` is how far along that sequence the message is. An ignored attribute does
    // not end the sequence: in MESSAGE-INTEGRITY, SOFTWARE, FINGERPRINT the FINGERPRINT counts.
    let ignored = false;
    if (type === AttributeType.Fingerprint ? stage >= 3 : type === AttributeType.MessageIntegritySha256 ? stage >= 2 : stage >= 1) {
      ignored = true;
    } else if (type === AttributeType.MessageIntegrity) stage = 1;
    else if (type === AttributeType.MessageIntegritySha256) stage = 2;
    else if (type === AttributeType.Fingerprint) stage = 3;
    index.push(ignored ? type + IGNORED : type, value, len);
    o = value + len + paddingLength(len);
  }
  return new StunMessage(raw, index);
}
