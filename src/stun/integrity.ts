/**
 * Checking MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256 on a decoded message (RFC 8489 §14.5,
 * §14.6) and FINGERPRINT (§14.7).
 *
 * The HMAC input is the message up to the attribute before the integrity attribute, with the
 * header's length field rewritten to end at the integrity attribute; that is why attributes
 * after MESSAGE-INTEGRITY (other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT) are ignored.
 * The checks hash the decoded message's bytes in place: only the 20-byte header is copied, into
 * a scratch buffer, to patch its length.
 *
 * @module
 */
import { crc32 } from "../crypto/crc32";
import type { HmacKey } from "../crypto/types";
import { readU32 } from "./attribute";
import { AttributeType, FINGERPRINT_XOR, HEADER_LENGTH } from "./constants";
import type { StunMessage } from "./message";

/**
 * What a check found: the attribute is there and right, there and wrong, or not there.
 *
 * @example
 * ```ts
 * const result: CheckResult = checkIntegrity(msg, cred);
 * if (result !== "valid") return; // drop: "invalid" is forged or the wrong key, "absent" unsigned
 * ```
 */
export type CheckResult = "valid" | "invalid" | "absent";

const header = new Uint8Array(HEADER_LENGTH);
const mac = new Uint8Array(32);

/** Constant-time comparison of `a[offset, offset+length)` with `b[0, length)`, in place, so a forger learns nothing from timing. */
function equalsAt(a: Uint8Array, offset: number, b: Uint8Array, length: number): boolean {
  let diff = 0;
  for (let i = 0; i < length; i++) diff |= a[offset + i]! ^ b[i]!;
  return diff === 0;
}

function check(msg: StunMessage, type: number, key: HmacKey): CheckResult {
  const i = msg.indexOf(type);
  if (i < 0) return "absent";
  const raw = msg.raw;
  const value = msg.attributeOffset(i);
  const length = msg.attributeLength(i);
  if (type === AttributeType.MessageIntegrity ? length !== 20 : length < 16 || length > 32 || length % 4 !== 0) return "invalid";
  // §14.5: the length field must point to the end of the integrity attribute.
  for (let k = 0; k < HEADER_LENGTH; k++) header[k] = raw[k]!;
  const adjusted = value + length - HEADER_LENGTH;
  header[2] = adjusted >>> 8;
  header[3] = adjusted;
  key.init().update(header).update(raw, HEADER_LENGTH, value - 4).digestInto(mac, 0);
  return equalsAt(raw, value, mac, length) ? "valid" : "invalid";
}

/**
 * Checks MESSAGE-INTEGRITY (HMAC-SHA1) with `key`.
 *
 * @param msg - a decoded message
 * @param key - the SHA-1 HMAC key of the credential (short-term: keyed with OpaqueString(password);
 *   long-term: with the MD5 or SHA-256 derived key)
 * @returns `"absent"` when the message has no MESSAGE-INTEGRITY, else whether it matches.
 * @example
 * ```ts
 * const cred = shortTermCredential("evtj:h6vY", "VOkJxbRl1RmTxUk/WvJxBt");
 * checkMessageIntegrity(decodeStunMessage(rfc5769Request), cred.sha1) // → "valid" (RFC 5769 §2.1)
 * ```
 */
export function checkMessageIntegrity(msg: StunMessage, key: HmacKey): CheckResult {
  return check(msg, AttributeType.MessageIntegrity, key);
}

/**
 * Checks MESSAGE-INTEGRITY-SHA256 with `key`, whatever its truncated length (16-32 bytes).
 *
 * @param msg - a decoded message
 * @param key - the SHA-256 HMAC key of the credential
 * @example
 * ```ts
 * checkMessageIntegritySha256(msg, cred.sha256) // → "valid", "invalid", or "absent"
 * checkMessageIntegritySha256(decodeStunMessage(rfc5769Request), cred.sha256) // → "absent"
 * ```
 */
export function checkMessageIntegritySha256(msg: StunMessage, key: HmacKey): CheckResult {
  return check(msg, AttributeType.MessageIntegritySha256, key);
}

/**
 * The pair of keys a credential provides; see `StunCredential`.
 *
 * @example
 * ```ts
 * const keys: IntegrityKeys = { sha1: createHmacKey("sha1", key), sha256: createHmacKey("sha256", key) };
 * checkIntegrity(msg, keys); // a StunCredential is IntegrityKeys too
 * ```
 */
export interface IntegrityKeys {
  readonly sha1: HmacKey;
  readonly sha256: HmacKey;
}

/**
 * Checks the message's integrity the way RFC 8489 §9.1.3/§9.2.4 have a receiver do it: if
 * MESSAGE-INTEGRITY-SHA256 is present it decides, otherwise MESSAGE-INTEGRITY does.
 *
 * @returns `"absent"` when neither attribute is present.
 * @example
 * ```ts
 * const cred = shortTermCredential("evtj:h6vY", "VOkJxbRl1RmTxUk/WvJxBt");
 * checkIntegrity(decodeStunMessage(rfc5769Request), cred) // → "valid"
 * ```
 */
export function checkIntegrity(msg: StunMessage, keys: IntegrityKeys): CheckResult {
  const r = check(msg, AttributeType.MessageIntegritySha256, keys.sha256);
  return r === "absent" ? check(msg, AttributeType.MessageIntegrity, keys.sha1) : r;
}

/**
 * Checks FINGERPRINT (RFC 8489 §14.7): present as the last attribute, 4 bytes, equal to the
 * CRC-32 of everything before it XOR 0x5354554e.
 *
 * @returns `"absent"` when there is none; `"invalid"` also when attributes follow it.
 * @example
 * ```ts
 * checkFingerprint(decodeStunMessage(rfc5769Request)) // → "valid" (RFC 5769 §2.1)
 * ```
 */
export function checkFingerprint(msg: StunMessage): CheckResult {
  const n = msg.attributeCount;
  let i = -1;
  for (let k = n - 1; k >= 0; k--) {
    if (msg.attributeType(k) === AttributeType.Fingerprint) {
      i = k;
      break;
    }
  }
  if (i < 0) return "absent";
  if (i !== n - 1 || msg.attributeLength(i) !== 4) return "invalid";
  const value = msg.attributeOffset(i);
  const crc = (crc32(msg.raw, 0, value - 4) ^ FINGERPRINT_XOR) >>> 0;
  return crc === readU32(msg.raw, value) ? "valid" : "invalid";
}
