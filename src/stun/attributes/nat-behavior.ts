/**
 * NAT behaviour discovery attributes (RFC 5780 §7): CHANGE-REQUEST, RESPONSE-PORT, PADDING and
 * CACHE-TIMEOUT. RESPONSE-ORIGIN and OTHER-ADDRESS share MAPPED-ADDRESS's format and live in
 * `address.ts`.
 *
 * @module
 */
import { AttributeType } from "../constants";
import type { AttributeCodec } from "../attribute";
import { checkInteger, expectLength, readU16, valueError, writeU16 } from "../attribute";
import { u32Codec } from "./turn";

/**
 * The value of CHANGE-REQUEST.
 *
 * @example
 * ```ts
 * const both: ChangeRequestValue = { changeIp: true, changePort: true }; // RFC 5780 §4.4 test II
 * builder.add(ChangeRequest, both);
 * ```
 */
export interface ChangeRequestValue {
  /** Flag A: answer from the other IP address. */
  readonly changeIp: boolean;
  /** Flag B: answer from the other port. */
  readonly changePort: boolean;
}

/**
 * CHANGE-REQUEST (RFC 5780 §7.2): 32 bits of which A (0x4) and B (0x2) are used.
 *
 * @example
 * ```ts
 * builder.add(ChangeRequest, { changeIp: false, changePort: true }); // RFC 5780 §4.4 test III
 * request.get(ChangeRequest) // → { changeIp: false, changePort: true }
 * ```
 */
export const ChangeRequest: AttributeCodec<ChangeRequestValue> = {
  type: AttributeType.ChangeRequest,
  name: "CHANGE-REQUEST",
  decode(msg, offset, length) {
    expectLength("CHANGE-REQUEST", offset, length, 4);
    const bits = msg[offset + 3]!;
    return { changeIp: (bits & 0x04) !== 0, changePort: (bits & 0x02) !== 0 };
  },
  encodedLength(v) {
    if (typeof v?.changeIp !== "boolean" || typeof v.changePort !== "boolean") {
      throw valueError("CHANGE-REQUEST", "pass { changeIp: boolean, changePort: boolean }");
    }
    return 4;
  },
  encode(v, out, offset) {
    out[offset] = 0;
    out[offset + 1] = 0;
    out[offset + 2] = 0;
    out[offset + 3] = (v.changeIp ? 0x04 : 0) | (v.changePort ? 0x02 : 0);
  },
};

/**
 * RESPONSE-PORT (RFC 5780 §7.5): send the response to this port; 16 bits and 2 bytes of padding.
 *
 * @example
 * ```ts
 * builder.add(ResponsePort, 40000); // answer to port 40000 of the request's source address
 * request.get(ResponsePort) // → 40000
 * ```
 */
export const ResponsePort: AttributeCodec<number> = {
  type: AttributeType.ResponsePort,
  name: "RESPONSE-PORT",
  decode(msg, offset, length) {
    expectLength("RESPONSE-PORT", offset, length, 4);
    return readU16(msg, offset);
  },
  encodedLength(v) {
    checkInteger("RESPONSE-PORT", v, 0, 0xffff);
    return 4;
  },
  encode(v, out, offset) {
    writeU16(out, offset, v);
    out[offset + 2] = 0;
    out[offset + 3] = 0;
  },
};

/**
 * PADDING (RFC 5780 §7.6): free-form bytes that make the datagram large enough to fragment. The
 * value is a view into the message; build one with `new Uint8Array(n)`.
 *
 * @example
 * ```ts
 * builder.add(Padding, new Uint8Array(1400)); // large enough that the datagram fragments
 * response.get(Padding)?.length // → 1500 from an icekit server (its MTU guess)
 * ```
 */
export const Padding: AttributeCodec<Uint8Array> = {
  type: AttributeType.Padding,
  name: "PADDING",
  decode: (msg, offset, length) => msg.subarray(offset, offset + length),
  encodedLength(v) {
    if (!(v instanceof Uint8Array) || v.length > 0xffff) throw valueError("PADDING", "pass a Uint8Array of at most 65535 bytes");
    return v.length;
  },
  encode(v, out, offset) {
    out.set(v, offset);
  },
};

/**
 * CACHE-TIMEOUT (RFC 5780 §9.1 registers it; the final RFC does not define its format). icekit
 * reads it as 32-bit seconds, as the drafts that defined it did.
 *
 * @example
 * ```ts
 * response.get(CacheTimeout) // → e.g. 120 (seconds), when the server sends one
 * ```
 */
export const CacheTimeout = /* @__PURE__ */ u32Codec(AttributeType.CacheTimeout, "CACHE-TIMEOUT");
