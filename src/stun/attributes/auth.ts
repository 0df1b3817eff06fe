/**
 * Authentication attributes: MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, FINGERPRINT, USERHASH,
 * PASSWORD-ALGORITHMS and PASSWORD-ALGORITHM.
 *
 * These codecs only read and write the values. Computing the HMACs and the CRC is the job of
 * `StunMessageBuilder` (`builder.ts`) and checking them that of `integrity.ts`, because both
 * cover the message around the attribute.
 *
 * @module
 */
import { AttributeType } from "../constants";
import type { AttributeCodec } from "../attribute";
import { attributeError, expectLength, paddingLength, readU16, readU32, valueError, checkInteger, checkObject, writeU16, writeU32 } from "../attribute";

function fixedBytesCodec(type: number, name: string, size: number): AttributeCodec<Uint8Array> {
  return {
    type,
    name,
    decode(msg, offset, length) {
      expectLength(name, offset, length, size);
      return msg.subarray(offset, offset + length);
    },
    encodedLength(v) {
      if (!(v instanceof Uint8Array) || v.length !== size) throw valueError(name, `pass a Uint8Array of ${size} bytes`);
      return size;
    },
    encode(v, out, offset) {
      out.set(v, offset);
    },
  };
}

/**
 * MESSAGE-INTEGRITY (RFC 8489 §14.5): the 20-byte HMAC-SHA1; a view into the message.
 *
 * @example
 * ```ts
 * toHex(request.get(MessageIntegrity)!) // → "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2" (RFC 5769 §2.1)
 * checkMessageIntegrity(request, cred.sha1) // checking it; builder.addMessageIntegrity adds it
 * ```
 */
export const MessageIntegrity = /* @__PURE__ */ fixedBytesCodec(AttributeType.MessageIntegrity, "MESSAGE-INTEGRITY", 20);

/**
 * MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6): an HMAC-SHA256, possibly truncated to 16-32 bytes in
 * steps of 4; a view into the message.
 *
 * @example
 * ```ts
 * msg.get(MessageIntegritySha256)?.length // → 32, or 16-28 when truncated
 * builder.addMessageIntegritySha256(cred.sha256); // the builder computes and adds it
 * ```
 */
export const MessageIntegritySha256: AttributeCodec<Uint8Array> = {
  type: AttributeType.MessageIntegritySha256,
  name: "MESSAGE-INTEGRITY-SHA256",
  decode(msg, offset, length) {
    if (length < 16 || length > 32 || length % 4 !== 0) {
      throw attributeError("BAD_LENGTH", "MESSAGE-INTEGRITY-SHA256", offset, `length is ${length}, must be 16 to 32 and a multiple of 4`);
    }
    return msg.subarray(offset, offset + length);
  },
  encodedLength(v) {
    if (!(v instanceof Uint8Array) || v.length < 16 || v.length > 32 || v.length % 4 !== 0) {
      throw valueError("MESSAGE-INTEGRITY-SHA256", "pass 16 to 32 bytes, a multiple of 4");
    }
    return v.length;
  },
  encode(v, out, offset) {
    out.set(v, offset);
  },
};

/**
 * FINGERPRINT (RFC 8489 §14.7): CRC-32 of the message before it, XOR 0x5354554e.
 *
 * @example
 * ```ts
 * request.get(Fingerprint) // → 0xe57a3bcf (RFC 5769 §2.1)
 * checkFingerprint(request) // → "valid"; builder.addFingerprint() adds one
 * ```
 */
export const Fingerprint: AttributeCodec<number> = {
  type: AttributeType.Fingerprint,
  name: "FINGERPRINT",
  decode(msg, offset, length) {
    expectLength("FINGERPRINT", offset, length, 4);
    return readU32(msg, offset);
  },
  encodedLength(v) {
    checkInteger("FINGERPRINT", v, 0, 0xffffffff);
    return 4;
  },
  encode(v, out, offset) {
    writeU32(out, offset, v);
  },
};

/**
 * USERHASH (RFC 8489 §14.4): SHA-256 of the username and realm, 32 bytes; a view into the message.
 *
 * @example
 * ```ts
 * builder.add(Userhash, userHash("\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9", "example.org")); // instead of USERNAME
 * ```
 */
export const Userhash = /* @__PURE__ */ fixedBytesCodec(AttributeType.Userhash, "USERHASH", 32);

/**
 * One entry of PASSWORD-ALGORITHMS, or the value of PASSWORD-ALGORITHM (RFC 8489 §14.11-14.12).
 *
 * @example
 * ```ts
 * const sha256: PasswordAlgorithmEntry = { algorithm: PasswordAlgorithm.SHA256, parameters: new Uint8Array(0) };
 * passwordAlgorithmName(sha256.algorithm) // → "SHA-256"
 * ```
 */
export interface PasswordAlgorithmEntry {
  /** Registry number: 0x0001 MD5, 0x0002 SHA-256 (RFC 8489 §18.5). */
  readonly algorithm: number;
  /** Algorithm parameters; empty for MD5 and SHA-256. A view into the message when decoded. */
  readonly parameters: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function decodeAlgorithm(name: string, msg: Uint8Array, offset: number, end: number): [PasswordAlgorithmEntry, number] {
  if (end - offset < 4) throw attributeError("BAD_LENGTH", name, offset, `${end - offset} bytes left, an algorithm entry needs 4`);
  const algorithm = readU16(msg, offset);
  const plen = readU16(msg, offset + 2);
  const pstart = offset + 4;
  if (pstart + plen > end) throw attributeError("BAD_LENGTH", name, offset, `parameters length ${plen} runs past the attribute`);
  const parameters = plen === 0 ? EMPTY : msg.subarray(pstart, pstart + plen);
  return [{ algorithm, parameters }, pstart + plen + paddingLength(plen)];
}

function algorithmLength(name: string, e: PasswordAlgorithmEntry): number {
  checkObject(name, e, "{ algorithm, parameters }");
  checkInteger(`${name} algorithm`, e.algorithm, 0, 0xffff);
  if (!(e.parameters instanceof Uint8Array) || e.parameters.length > 0xffff) throw valueError(name, "parameters must be a Uint8Array of at most 65535 bytes");
  return 4 + e.parameters.length + paddingLength(e.parameters.length);
}

function encodeAlgorithm(e: PasswordAlgorithmEntry, out: Uint8Array, offset: number): number {
  writeU16(out, offset, e.algorithm);
  writeU16(out, offset + 2, e.parameters.length);
  out.set(e.parameters, offset + 4);
  const end = offset + 4 + e.parameters.length;
  const pad = paddingLength(e.parameters.length);
  out.fill(0, end, end + pad);
  return end + pad;
}

/**
 * PASSWORD-ALGORITHMS (RFC 8489 §14.11): the algorithms the server offers, in its order of preference.
 *
 * @example
 * ```ts
 * const none = new Uint8Array(0);
 * builder.add(PasswordAlgorithms, [{ algorithm: PasswordAlgorithm.SHA256, parameters: none }, { algorithm: PasswordAlgorithm.MD5, parameters: none }]);
 * challenge.get(PasswordAlgorithms)?.map((e) => passwordAlgorithmName(e.algorithm)) // → ["SHA-256", "MD5"]
 * ```
 */
export const PasswordAlgorithms: AttributeCodec<readonly PasswordAlgorithmEntry[]> = {
  type: AttributeType.PasswordAlgorithms,
  name: "PASSWORD-ALGORITHMS",
  decode(msg, offset, length) {
    const list: PasswordAlgorithmEntry[] = [];
    const end = offset + length;
    let o = offset;
    while (o < end) {
      const [entry, next] = decodeAlgorithm("PASSWORD-ALGORITHMS", msg, o, end);
      list.push(entry);
      o = next;
    }
    // The last entry's padding may be the attribute's own padding, outside `length`.
    return list;
  },
  encodedLength(v) {
    if (!Array.isArray(v)) throw valueError("PASSWORD-ALGORITHMS", "pass an array of { algorithm, parameters }");
    let n = 0;
    for (const e of v) n += algorithmLength("PASSWORD-ALGORITHMS", e);
    return n;
  },
  encode(v, out, offset) {
    let o = offset;
    for (const e of v) o = encodeAlgorithm(e, out, o);
  },
};

/**
 * PASSWORD-ALGORITHM (RFC 8489 §14.12): the algorithm the client chose from PASSWORD-ALGORITHMS.
 *
 * @example
 * ```ts
 * builder.add(PasswordAlgorithmAttr, { algorithm: PasswordAlgorithm.SHA256, parameters: new Uint8Array(0) });
 * request.get(PasswordAlgorithmAttr)?.algorithm // → 2
 * ```
 */
export const PasswordAlgorithmAttr: AttributeCodec<PasswordAlgorithmEntry> = {
  type: AttributeType.PasswordAlgorithm,
  name: "PASSWORD-ALGORITHM",
  decode(msg, offset, length) {
    const [entry, next] = decodeAlgorithm("PASSWORD-ALGORITHM", msg, offset, offset + length);
    // The attribute holds exactly one entry. §14.12 pads the parameters "in the same manner as an
    // attribute" without saying whether the length counts that padding: accept it either way.
    if (next !== offset + length && next - paddingLength(entry.parameters.length) !== offset + length) {
      throw attributeError("BAD_LENGTH", "PASSWORD-ALGORITHM", offset, `length ${length} does not match one algorithm entry`);
    }
    return entry;
  },
  encodedLength(v) {
    algorithmLength("PASSWORD-ALGORITHM", v); // validates
    return 4 + v.parameters.length;
  },
  encode(v, out, offset) {
    writeU16(out, offset, v.algorithm);
    writeU16(out, offset + 2, v.parameters.length);
    out.set(v.parameters, offset + 4);
  },
};
