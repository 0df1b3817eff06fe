/**
 * ICE attributes (RFC 8445 §7.1.1 and §16.1): PRIORITY, USE-CANDIDATE, ICE-CONTROLLED and
 * ICE-CONTROLLING.
 *
 * @module
 */
import { AttributeType } from "../constants";
import type { AttributeCodec } from "../attribute";
import { checkInteger, expectLength, readU32, valueError, writeU32 } from "../attribute";

/**
 * PRIORITY (RFC 8445 §7.1.1): the priority a peer-reflexive candidate learned from this check gets.
 *
 * @example
 * ```ts
 * builder.add(Priority, 0x6e0001ff);
 * request.get(Priority) // → 0x6e0001ff (RFC 5769 §2.1)
 * ```
 */
export const Priority: AttributeCodec<number> = {
  type: AttributeType.Priority,
  name: "PRIORITY",
  decode(msg, offset, length) {
    expectLength("PRIORITY", offset, length, 4);
    return readU32(msg, offset);
  },
  encodedLength(v) {
    checkInteger("PRIORITY", v, 0, 0xffffffff);
    return 4;
  },
  encode(v, out, offset) {
    writeU32(out, offset, v);
  },
};

/**
 * A codec for a flag attribute: present with an empty value, or absent. Its value is `true`.
 *
 * @param type - attribute type number
 * @param name - IANA name
 * @example
 * ```ts
 * const DontFragment = flagCodec(AttributeType.DontFragment, "DONT-FRAGMENT"); // how it is made
 * builder.add(DontFragment, true);
 * msg.get(DontFragment) // → true, or undefined when absent
 * ```
 */
export function flagCodec(type: number, name: string): AttributeCodec<true> {
  return {
    type,
    name,
    decode(_msg, offset, length) {
      expectLength(name, offset, length, 0);
      return true;
    },
    encodedLength(v) {
      if (v !== true) throw valueError(name, "the value of a flag attribute is `true`");
      return 0;
    },
    encode() {},
  };
}

/**
 * USE-CANDIDATE (RFC 8445 §7.1.2): the controlling agent nominates this pair.
 *
 * @example
 * ```ts
 * builder.add(UseCandidate, true); // the controlling agent nominates this pair
 * request.get(UseCandidate)       // → true, or undefined when absent
 * ```
 */
export const UseCandidate = /* @__PURE__ */ flagCodec(AttributeType.UseCandidate, "USE-CANDIDATE");

function tiebreakerCodec(type: number, name: string): AttributeCodec<bigint> {
  return {
    type,
    name,
    decode(msg, offset, length) {
      expectLength(name, offset, length, 8);
      return (BigInt(readU32(msg, offset)) << 32n) | BigInt(readU32(msg, offset + 4));
    },
    encodedLength(v) {
      if (typeof v !== "bigint" || v < 0n || v > 0xffffffffffffffffn) throw valueError(name, "pass a bigint from 0n to 2n**64n-1n");
      return 8;
    },
    encode(v, out, offset) {
      writeU32(out, offset, Number(v >> 32n));
      writeU32(out, offset + 4, Number(v & 0xffffffffn));
    },
  };
}

/**
 * ICE-CONTROLLED (RFC 8445 §7.1.3): the sender thinks it is controlled; value is its 64-bit tiebreaker.
 *
 * @example
 * ```ts
 * request.get(IceControlled) // → 0x932ff9b151263b36n (RFC 5769 §2.1)
 * ```
 */
export const IceControlled = /* @__PURE__ */ tiebreakerCodec(AttributeType.IceControlled, "ICE-CONTROLLED");
/**
 * ICE-CONTROLLING (RFC 8445 §7.1.3): the sender thinks it is controlling; value is its 64-bit tiebreaker.
 *
 * @example
 * ```ts
 * builder.add(IceControlling, 0x932ff9b151263b36n); // the agent's 64-bit tiebreaker
 * request.get(IceControlling) // → 0x932ff9b151263b36n
 * ```
 */
export const IceControlling = /* @__PURE__ */ tiebreakerCodec(AttributeType.IceControlling, "ICE-CONTROLLING");
