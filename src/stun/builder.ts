/**
 * Encoding STUN messages (RFC 8489 §5, §14) into a reusable buffer.
 *
 * A {@link StunMessageBuilder} writes the header, then each attribute in place, then the
 * MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT attributes with the header length
 * fixed up as §14.5-14.7 require. It keeps one buffer across messages, so a hot loop that sends a
 * Binding request per packet allocates nothing; {@link StunMessageBuilder.finish} returns a view
 * that stays valid until the next {@link StunMessageBuilder.begin}.
 *
 * @example
 * ```ts
 * const b = new StunMessageBuilder();
 * const bytes = b
 *   .begin(Method.Binding, MessageClass.Request, newTransactionId())
 *   .add(Username, "evtj:h6vY")
 *   .add(Priority, 0x6e0001ff)
 *   .addMessageIntegrity(credential.sha1)
 *   .addFingerprint()
 *   .finish();
 * ```
 *
 * @module
 */
import { IcekitError } from "../errors";
import { crc32 } from "../crypto/crc32";
import type { HmacKey } from "../crypto/types";
import type { AttributeCodec } from "./attribute";
import { paddingLength, writeU16, writeU32 } from "./attribute";
import { AttributeType, FINGERPRINT_XOR, HEADER_LENGTH, MAGIC_COOKIE, TRANSACTION_ID_LENGTH } from "./constants";
import type { MessageClass } from "./constants";
import { messageType } from "./header";
import { defaultRandom } from "../engine";
import type { RandomSource } from "../engine";

/** Largest STUN message: the 16-bit length field plus the header. */
const MAX_MESSAGE = HEADER_LENGTH + 0xfffc;

/**
 * Options for a {@link StunMessageBuilder}.
 *
 * @example
 * ```ts
 * new StunMessageBuilder({ buffer: new Uint8Array(1500) }); // never allocates; BUFFER_TOO_SMALL past 1500
 * new StunMessageBuilder({ paddingByte: 0x20 });            // reproduces RFC 5769's bytes exactly
 * ```
 */
export interface BuilderOptions {
  /**
   * A buffer to write into. When given, the builder never allocates and throws `BUFFER_TOO_SMALL`
   * if a message does not fit. When absent, it owns a buffer that grows as needed.
   */
  readonly buffer?: Uint8Array;
  /**
   * The byte written as attribute padding. RFC 8489 §14 says senders use zero; RFC 5769's test
   * vectors pad with spaces (0x20), which matters because the padding is covered by
   * MESSAGE-INTEGRITY. Only set this to reproduce such bytes.
   */
  readonly paddingByte?: number;
}

/**
 * Writes STUN messages into one reusable buffer. Not re-entrant.
 *
 * @example
 * ```ts
 * const b = new StunMessageBuilder();
 * const request = b.begin(Method.Binding, MessageClass.Request, newTransactionId()).addFingerprint().finish();
 * request.length // → 28: header and FINGERPRINT; a view, valid until the next begin()
 * ```
 */
export class StunMessageBuilder {
  #buf: Uint8Array;
  readonly #fixed: boolean;
  readonly #pad: number;
  #len = 0;
  #open = false;
  /** Scratch for HMAC output, so signing allocates nothing. */
  readonly #mac = new Uint8Array(32);

  /** @param options - an external buffer and/or the padding byte */
  constructor(options?: BuilderOptions) {
    this.#fixed = options?.buffer !== undefined;
    this.#buf = options?.buffer ?? new Uint8Array(576);
    this.#pad = options?.paddingByte ?? 0;
  }

  /**
   * Starts a message: writes the header with the given method, class and transaction id.
   *
   * @param method - 12-bit method (`Method.Binding`, ...)
   * @param cls - message class
   * @param transactionId - 12 bytes
   * @throws {@link IcekitError} for a method outside 0-0xFFF or a transaction id that is not 12 bytes.
   */
  begin(method: number, cls: MessageClass, transactionId: Uint8Array): this {
    if (!Number.isInteger(method) || method < 0 || method > 0xfff) {
      throw new IcekitError("INVALID_ARGUMENT", `method ${method} is out of range; pass an integer from 0 to 0xfff`);
    }
    if (!(transactionId instanceof Uint8Array) || transactionId.length !== TRANSACTION_ID_LENGTH) {
      throw new IcekitError("INVALID_ARGUMENT", "transaction id must be a Uint8Array of 12 bytes; use newTransactionId()");
    }
    this.#ensure(HEADER_LENGTH);
    const b = this.#buf;
    writeU16(b, 0, messageType(method, cls));
    writeU16(b, 2, 0);
    writeU32(b, 4, MAGIC_COOKIE);
    b.set(transactionId, 8);
    this.#len = HEADER_LENGTH;
    this.#open = true;
    return this;
  }

  /**
   * Appends an attribute, encoded by its codec, with padding.
   *
   * @throws {@link IcekitError} when the codec refuses the value or the message grows past 64 KiB.
   */
  add<T>(codec: AttributeCodec<T>, value: T): this {
    this.#check();
    const n = codec.encodedLength(value);
    const at = this.#attributeHeader(codec.type, n);
    codec.encode(value, this.#buf, at);
    this.#finishAttribute(at, n);
    return this;
  }

  /** Appends an attribute whose value is given as bytes (any type, known or not). */
  addRaw(type: number, value: Uint8Array): this {
    this.#check();
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) throw new IcekitError("INVALID_ARGUMENT", `attribute type ${type} must be 0-0xffff`);
    // A string or number array would be written as garbage (`set` coerces each element).
    if (!(value instanceof Uint8Array)) throw new IcekitError("INVALID_ARGUMENT", `attribute 0x${type.toString(16)}: pass the value as a Uint8Array`);
    const at = this.#attributeHeader(type, value.length);
    this.#buf.set(value, at);
    this.#finishAttribute(at, value.length);
    return this;
  }

  /**
   * Appends MESSAGE-INTEGRITY (RFC 8489 §14.5): HMAC-SHA1 with `key` over the message so far, the
   * header length counting the attribute itself.
   *
   * @param key - the credential's SHA-1 HMAC key (see `shortTermCredential` / `longTermCredential`)
   */
  addMessageIntegrity(key: HmacKey): this {
    return this.#sign(AttributeType.MessageIntegrity, key, 20);
  }

  /**
   * Appends MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
   *
   * @param key - the credential's SHA-256 HMAC key
   * @param length - bytes of the HMAC to keep: 32 (default) or a multiple of 4 down to 16, where
   *   the usage allows truncation
   */
  addMessageIntegritySha256(key: HmacKey, length = 32): this {
    if (!Number.isInteger(length) || length < 16 || length > 32 || length % 4 !== 0) {
      throw new IcekitError("INVALID_ARGUMENT", `MESSAGE-INTEGRITY-SHA256 length ${length}: pass 16 to 32 in steps of 4`);
    }
    return this.#sign(AttributeType.MessageIntegritySha256, key, length);
  }

  /** Appends FINGERPRINT (RFC 8489 §14.7): CRC-32 of the message so far XOR 0x5354554e. Call last. */
  addFingerprint(): this {
    this.#check();
    const at = this.#attributeHeader(AttributeType.Fingerprint, 4);
    // The CRC covers the header with a length that already includes FINGERPRINT.
    writeU16(this.#buf, 2, this.#len + 8 - HEADER_LENGTH);
    writeU32(this.#buf, at, (crc32(this.#buf, 0, at - 4) ^ FINGERPRINT_XOR) >>> 0);
    this.#finishAttribute(at, 4);
    return this;
  }

  /** The message's length so far, header included. */
  get length(): number {
    return this.#len;
  }

  /**
   * Ends the message and returns it: a view into the builder's buffer, valid until the next
   * {@link begin}. Copy it (`.slice()`) to keep it longer.
   */
  finish(): Uint8Array {
    this.#check();
    writeU16(this.#buf, 2, this.#len - HEADER_LENGTH);
    this.#open = false;
    return this.#buf.subarray(0, this.#len);
  }

  #sign(type: number, key: HmacKey, length: number): this {
    this.#check();
    const at = this.#attributeHeader(type, length);
    const b = this.#buf;
    // §14.5/§14.6: the length field points to the end of the integrity attribute while hashing.
    writeU16(b, 2, at + length - HEADER_LENGTH);
    key.init().update(b, 0, at - 4).digestInto(this.#mac, 0);
    b.set(length === this.#mac.length ? this.#mac : this.#mac.subarray(0, length), at);
    this.#finishAttribute(at, length);
    return this;
  }

  #check(): void {
    if (!this.#open) throw new IcekitError("INVALID_STATE", "call begin() before adding attributes or finishing a message");
  }

  /** Writes an attribute header, reserves the value and its padding; returns the value offset. */
  #attributeHeader(type: number, valueLength: number): number {
    const end = this.#len + 4 + valueLength + paddingLength(valueLength);
    if (end > MAX_MESSAGE) {
      throw new IcekitError("INVALID_ARGUMENT", `message would be ${end} bytes; a STUN message holds at most ${MAX_MESSAGE}`);
    }
    this.#ensure(end);
    writeU16(this.#buf, this.#len, type);
    writeU16(this.#buf, this.#len + 2, valueLength);
    return this.#len + 4;
  }

  #finishAttribute(valueOffset: number, valueLength: number): void {
    const end = valueOffset + valueLength;
    const pad = paddingLength(valueLength);
    if (pad) this.#buf.fill(this.#pad, end, end + pad);
    this.#len = end + pad;
  }

  #ensure(size: number): void {
    if (size <= this.#buf.length) return;
    if (this.#fixed) {
      throw new IcekitError("BUFFER_TOO_SMALL", `the message needs ${size} bytes, the buffer passed has ${this.#buf.length}`);
    }
    let n = this.#buf.length * 2;
    while (n < size) n *= 2;
    const bigger = new Uint8Array(Math.min(n, MAX_MESSAGE));
    bigger.set(this.#buf.subarray(0, this.#len));
    this.#buf = bigger;
  }
}

/**
 * A fresh 96-bit transaction id. RFC 8489 §5: it MUST be uniformly and randomly chosen from
 * the interval 0 .. 2**96-1, and SHOULD be cryptographically random.
 *
 * @param random - the byte source; defaults to `crypto.getRandomValues`
 * @example
 * ```ts
 * newTransactionId()       // → 12 random bytes from crypto.getRandomValues
 * newTransactionId(seeded) // → reproducible ids from a seeded RandomSource
 * ```
 */
export function newTransactionId(random: RandomSource = defaultRandom): Uint8Array {
  const id = new Uint8Array(TRANSACTION_ID_LENGTH);
  random(id);
  return id;
}
