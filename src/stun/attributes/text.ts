/**
 * Text attributes: USERNAME, REALM, NONCE, SOFTWARE and ALTERNATE-DOMAIN.
 *
 * Decoders accept up to the lengths RFC 8489 says an implementation must be able to parse
 * (763 bytes, for RFC 5389 compatibility) and refuse malformed UTF-8. Encoders enforce the
 * sending limits (fewer than 509 bytes; fewer than 128 characters), so icekit never puts on the
 * wire what a strict peer must reject.
 *
 * @module
 */
import { AttributeType } from "../constants";
import type { AttributeCodec } from "../attribute";
import { attributeError, checkText, codePointCount, readUtf8, utf8Length, valueError, writeUtf8 } from "../attribute";

/** Limits on one text attribute. */
interface TextLimits {
  /** Longest value, in bytes, a receiver accepts. */
  readonly maxDecodeBytes: number;
  /** Longest value, in bytes, we send. */
  readonly maxEncodeBytes: number;
  /** Most characters (code points) we send, if the RFC limits characters. */
  readonly maxChars?: number;
}

/**
 * A codec for a UTF-8 text attribute.
 *
 * @param type - attribute type number
 * @param name - IANA name
 * @param limits - decode and encode length limits from the attribute's RFC section
 * @example
 * ```ts
 * // ORIGIN (0x802F), a text attribute icekit has no codec for:
 * const Origin = textCodec(0x802f, "ORIGIN", { maxDecodeBytes: 763, maxEncodeBytes: 508 });
 * builder.add(Origin, "https://example.org");
 * request.get(Origin) // → "https://example.org"
 * ```
 */
export function textCodec(type: number, name: string, limits: TextLimits): AttributeCodec<string> {
  return {
    type,
    name,
    decode(msg, offset, length) {
      if (length > limits.maxDecodeBytes) {
        throw attributeError("BAD_LENGTH", name, offset, `length is ${length}, longer than the ${limits.maxDecodeBytes} bytes a receiver must accept`);
      }
      return readUtf8(name, msg, offset, length);
    },
    encodedLength(v) {
      checkText(name, v);
      const n = utf8Length(v);
      if (n > limits.maxEncodeBytes) throw valueError(name, `${n} bytes of UTF-8; pass at most ${limits.maxEncodeBytes}`);
      if (limits.maxChars !== undefined && codePointCount(v) > limits.maxChars) {
        throw valueError(name, `pass fewer than ${limits.maxChars + 1} characters`);
      }
      return n;
    },
    encode(v, out, offset) {
      writeUtf8(v, out, offset);
    },
  };
}

/**
 * USERNAME (RFC 8489 §14.3): fewer than 509 bytes sent, up to 763 accepted.
 *
 * @example
 * ```ts
 * builder.add(Username, "evtj:h6vY");
 * request.get(Username) // → "evtj:h6vY" (RFC 5769 §2.1)
 * ```
 */
export const Username = /* @__PURE__ */ textCodec(AttributeType.Username, "USERNAME", { maxDecodeBytes: 763, maxEncodeBytes: 508 });
/**
 * REALM (RFC 8489 §14.9): fewer than 128 characters (up to 763 bytes accepted).
 *
 * @example
 * ```ts
 * challenge.get(Realm) // → "example.org" (RFC 5769 §2.4)
 * ```
 */
export const Realm = /* @__PURE__ */ textCodec(AttributeType.Realm, "REALM", { maxDecodeBytes: 763, maxEncodeBytes: 509, maxChars: 127 });
/**
 * NONCE (RFC 8489 §14.10): fewer than 128 characters (up to 763 bytes accepted).
 *
 * @example
 * ```ts
 * challenge.get(Nonce) // → "f//499k954d6OL34oL9FSTvy64sA" (RFC 5769 §2.4)
 * ```
 */
export const Nonce = /* @__PURE__ */ textCodec(AttributeType.Nonce, "NONCE", { maxDecodeBytes: 763, maxEncodeBytes: 509, maxChars: 127 });
/**
 * SOFTWARE (RFC 8489 §14.14): fewer than 128 characters (up to 763 bytes accepted).
 *
 * @example
 * ```ts
 * builder.add(Software, "icekit 0.1.0");
 * response.get(Software) // → "test vector" (RFC 5769 §2.2)
 * ```
 */
export const Software = /* @__PURE__ */ textCodec(AttributeType.Software, "SOFTWARE", { maxDecodeBytes: 763, maxEncodeBytes: 509, maxChars: 127 });
/**
 * ALTERNATE-DOMAIN (RFC 8489 §14.16): the TLS server name for the ALTERNATE-SERVER; at most 255
 * bytes of ASCII or IDNA2008 text.
 *
 * @example
 * ```ts
 * response.get(AlternateDomain) // → "stun2.example.org": the TLS name to check at the ALTERNATE-SERVER
 * ```
 */
export const AlternateDomain = /* @__PURE__ */ textCodec(AttributeType.AlternateDomain, "ALTERNATE-DOMAIN", { maxDecodeBytes: 255, maxEncodeBytes: 255 });
