/**
 * Error attributes: ERROR-CODE (RFC 8489 §14.8), UNKNOWN-ATTRIBUTES (§14.13) and TURN's
 * ADDRESS-ERROR-CODE (RFC 8656 §18.12).
 *
 * @module
 */
import type { AddressFamily } from "../../bytes/ip";
import { AttributeType } from "../constants";
import type { AttributeCodec } from "../attribute";
import { attributeError, checkInteger, checkObject, checkText, codePointCount, readU16, readUtf8, utf8Length, valueError, writeU16, writeUtf8 } from "../attribute";
import { familyCode, familyFromCode } from "./address";

/**
 * An error code and its reason phrase.
 *
 * @example
 * ```ts
 * const staleNonce: ErrorCodeValue = { code: 438, reason: ERROR_REASONS.get(438)! }; // "Stale Nonce"
 * builder.add(ErrorCode, staleNonce);
 * ```
 */
export interface ErrorCodeValue {
  /** 300-699: class × 100 + number. */
  readonly code: number;
  /** Diagnostic text, fewer than 128 characters. */
  readonly reason: string;
}

function decodeCode(name: string, msg: Uint8Array, offset: number): number {
  // §14.8: 21 reserved bits, a 3-bit class (hundreds digit 3-6) and an 8-bit number (0-99).
  const cls = msg[offset + 2]! & 0x07;
  const num = msg[offset + 3]!;
  if (cls < 3 || cls > 6) throw attributeError("BAD_ATTRIBUTE", name, offset, `class ${cls} is outside 3-6`);
  if (num > 99) throw attributeError("BAD_ATTRIBUTE", name, offset, `number ${num} is above 99`);
  return cls * 100 + num;
}

function checkReason(name: string, reason: string): number {
  checkText(`${name} reason`, reason);
  const n = utf8Length(reason);
  if (codePointCount(reason) > 127 || n > 509) throw valueError(name, "reason phrase must be fewer than 128 characters");
  return n;
}

/**
 * ERROR-CODE (RFC 8489 §14.8): code 300-699 and a UTF-8 reason phrase.
 *
 * @example
 * ```ts
 * builder.add(ErrorCode, { code: 401, reason: "Unauthenticated" });
 * response.get(ErrorCode) // → { code: 401, reason: "Unauthenticated" }
 * ```
 */
export const ErrorCode: AttributeCodec<ErrorCodeValue> = {
  type: AttributeType.ErrorCode,
  name: "ERROR-CODE",
  decode(msg, offset, length) {
    if (length < 4) throw attributeError("BAD_LENGTH", "ERROR-CODE", offset, `length is ${length}, must be at least 4`);
    if (length > 4 + 763) throw attributeError("BAD_LENGTH", "ERROR-CODE", offset, `reason phrase of ${length - 4} bytes is longer than 763`);
    return { code: decodeCode("ERROR-CODE", msg, offset), reason: readUtf8("ERROR-CODE", msg, offset + 4, length - 4) };
  },
  encodedLength(v) {
    checkObject("ERROR-CODE", v, "{ code, reason }");
    checkInteger("ERROR-CODE", v.code, 300, 699);
    return 4 + checkReason("ERROR-CODE", v.reason);
  },
  encode(v, out, offset) {
    out[offset] = 0;
    out[offset + 1] = 0;
    out[offset + 2] = Math.floor(v.code / 100);
    out[offset + 3] = v.code % 100;
    writeUtf8(v.reason, out, offset + 4);
  },
};

/**
 * UNKNOWN-ATTRIBUTES (RFC 8489 §14.13): the comprehension-required attribute types a 420 response
 * says it did not understand.
 *
 * @example
 * ```ts
 * builder.add(UnknownAttributes, request.unknownComprehensionRequired()); // in a 420 response
 * response.get(UnknownAttributes) // → e.g. [0x0030]
 * ```
 */
export const UnknownAttributes: AttributeCodec<readonly number[]> = {
  type: AttributeType.UnknownAttributes,
  name: "UNKNOWN-ATTRIBUTES",
  decode(msg, offset, length) {
    if (length % 2 !== 0) throw attributeError("BAD_LENGTH", "UNKNOWN-ATTRIBUTES", offset, `length ${length} is odd; the value is a list of 16-bit types`);
    // The count is bounded by the attribute's length, itself bounded by the message: no allocation
    // beyond the input's size.
    const list = new Array<number>(length / 2);
    for (let i = 0; i < list.length; i++) list[i] = readU16(msg, offset + 2 * i);
    return list;
  },
  encodedLength(v) {
    if (!Array.isArray(v)) throw valueError("UNKNOWN-ATTRIBUTES", "pass an array of attribute types");
    for (const t of v) checkInteger("UNKNOWN-ATTRIBUTES", t, 0, 0xffff);
    if (v.length * 2 > 0xffff) throw valueError("UNKNOWN-ATTRIBUTES", "too many types");
    return v.length * 2;
  },
  encode(v, out, offset) {
    for (let i = 0; i < v.length; i++) writeU16(out, offset + 2 * i, v[i]!);
  },
};

/**
 * The value of ADDRESS-ERROR-CODE: which family could not be allocated, and why.
 *
 * @example
 * ```ts
 * const v: AddressErrorCodeValue = { family: "IPv6", code: 440, reason: "Address Family not Supported" };
 * builder.add(AddressErrorCode, v);
 * ```
 */
export interface AddressErrorCodeValue extends ErrorCodeValue {
  readonly family: AddressFamily;
}

/**
 * ADDRESS-ERROR-CODE (RFC 8656 §18.12): 440 or 508 for one requested address family.
 *
 * @example
 * ```ts
 * allocateResponse.get(AddressErrorCode)
 * // → { family: "IPv6", code: 440, reason: "Address Family not Supported" }: only the IPv4 relay was allocated
 * ```
 */
export const AddressErrorCode: AttributeCodec<AddressErrorCodeValue> = {
  type: AttributeType.AddressErrorCode,
  name: "ADDRESS-ERROR-CODE",
  decode(msg, offset, length) {
    if (length < 4) throw attributeError("BAD_LENGTH", "ADDRESS-ERROR-CODE", offset, `length is ${length}, must be at least 4`);
    if (length > 4 + 763) throw attributeError("BAD_LENGTH", "ADDRESS-ERROR-CODE", offset, `reason phrase of ${length - 4} bytes is longer than 763`);
    const family = familyFromCode("ADDRESS-ERROR-CODE", msg[offset]!, offset);
    return { family, code: decodeCode("ADDRESS-ERROR-CODE", msg, offset), reason: readUtf8("ADDRESS-ERROR-CODE", msg, offset + 4, length - 4) };
  },
  encodedLength(v) {
    checkObject("ADDRESS-ERROR-CODE", v, "{ family, code, reason }");
    if (v.family !== "IPv4" && v.family !== "IPv6") throw valueError("ADDRESS-ERROR-CODE", 'family must be "IPv4" or "IPv6"');
    checkInteger("ADDRESS-ERROR-CODE", v.code, 300, 699);
    return 4 + checkReason("ADDRESS-ERROR-CODE", v.reason);
  },
  encode(v, out, offset) {
    out[offset] = familyCode(v.family);
    out[offset + 1] = 0;
    out[offset + 2] = Math.floor(v.code / 100);
    out[offset + 3] = v.code % 100;
    writeUtf8(v.reason, out, offset + 4);
  },
};
