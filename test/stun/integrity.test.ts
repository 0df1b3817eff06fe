/**
 * MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 (full and truncated) and FINGERPRINT: values
 * checked against node:crypto and a bitwise CRC-32, every single-bit change detected, and the
 * checks' answers on malformed or misplaced attributes.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/bytes/hex";
import { createHmacKey } from "../../src/crypto/hmac";
import type { HmacKey } from "../../src/crypto/types";
import { isStunDecodeError } from "../../src/errors";
import { MessageIntegrity, Software, Username, codecForType } from "../../src/stun/attributes/index";
import { StunMessageBuilder } from "../../src/stun/builder";
import { AttributeType } from "../../src/stun/constants";
import { checkFingerprint, checkIntegrity, checkMessageIntegrity, checkMessageIntegritySha256 } from "../../src/stun/integrity";
import type { CheckResult } from "../../src/stun/integrity";
import { decodeStunMessage } from "../../src/stun/message";
import type { StunMessage } from "../../src/stun/message";
import type { MessageInit } from "./arbitraries";
import { knownAttributeArb, messageClassArb, methodArb, transactionIdArb, unknownAttributeArb } from "./arbitraries";

const TID = fromHex("b7e7a701bc34d686fa87dfae");

/** CRC-32 (ITU V.42 / RFC 1952 §8), bit by bit: an independent reference for FINGERPRINT. */
function referenceCrc32(b: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of b) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Smaller messages than `messageArb`, so that flipping each of their bits stays quick. */
const smallMessageArb: fc.Arbitrary<MessageInit> = fc.record({
  method: methodArb,
  messageClass: messageClassArb,
  transactionId: transactionIdArb,
  attributes: fc.array(fc.oneof({ weight: 3, arbitrary: knownAttributeArb }, { weight: 1, arbitrary: unknownAttributeArb }), { maxLength: 4 }),
});

const keyBytesArb = fc.uint8Array({ minLength: 1, maxLength: 40 });
const sha256LengthArb = fc.constantFrom(16, 20, 24, 28, 32);

interface Signed {
  readonly bytes: Uint8Array;
  /** End of MESSAGE-INTEGRITY, or -1. */
  readonly miEnd: number;
  /** End of MESSAGE-INTEGRITY-SHA256, or -1. */
  readonly mi256End: number;
  readonly fingerprint: boolean;
}

/** Encodes `m` and appends the requested integrity attributes, recording where they end. */
function sign(m: MessageInit, sha1: HmacKey | undefined, sha256: HmacKey | undefined, sha256Length: number, fingerprint: boolean): Signed {
  const b = new StunMessageBuilder().begin(m.method, m.messageClass, m.transactionId);
  for (const a of m.attributes) {
    const codec = codecForType(a.type);
    // Integrity attributes with random values among the others would make what counts depend on
    // the generator; they are covered by the message tests. Keep them out of the signed part.
    if (a.type === AttributeType.MessageIntegrity || a.type === AttributeType.MessageIntegritySha256 || a.type === AttributeType.Fingerprint) continue;
    if (codec) b.add(codec, a.value);
    else b.addRaw(a.type, a.value as Uint8Array);
  }
  let miEnd = -1;
  let mi256End = -1;
  if (sha1) miEnd = b.addMessageIntegrity(sha1).length;
  if (sha256) mi256End = b.addMessageIntegritySha256(sha256, sha256Length).length;
  if (fingerprint) b.addFingerprint();
  return { bytes: b.finish().slice(), miEnd, mi256End, fingerprint };
}

/** Decodes, or returns undefined when the decoder refuses with StunDecodeError (anything else fails). */
function tryDecode(bytes: Uint8Array): StunMessage | undefined {
  try {
    return decodeStunMessage(bytes);
  } catch (e) {
    if (isStunDecodeError(e)) return undefined;
    throw e;
  }
}

/**
 * Flips each bit of `bytes[0, end)` in turn and returns the positions where `stillValid` says the
 * tampered message passes (which must never happen).
 */
function undetectedFlips(bytes: Uint8Array, end: number, stillValid: (msg: StunMessage) => boolean): number[] {
  const undetected: number[] = [];
  const copy = bytes.slice();
  for (let bit = 0; bit < end * 8; bit++) {
    const i = bit >>> 3;
    const mask = 0x80 >>> (bit & 7);
    copy[i]! ^= mask;
    const msg = tryDecode(copy);
    if (msg !== undefined && stillValid(msg)) undetected.push(bit);
    copy[i]! ^= mask;
  }
  return undetected;
}

describe("MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256 values", () => {
  it("equal HMAC-SHA1 / HMAC-SHA256 (node:crypto) over the message before them, length field adjusted", () => {
    fc.assert(
      fc.property(smallMessageArb, keyBytesArb, sha256LengthArb, fc.boolean(), (m, keyBytes, n, fp) => {
        const s = sign(m, createHmacKey("sha1", keyBytes), createHmacKey("sha256", keyBytes), n, fp);
        const miStart = s.miEnd - 24;
        const mi256Start = s.mi256End - 4 - n;
        const forMi = s.bytes.slice(0, miStart);
        forMi[2] = (s.miEnd - 20) >>> 8;
        forMi[3] = (s.miEnd - 20) & 0xff;
        expect(toHex(s.bytes.subarray(miStart + 4, s.miEnd))).toBe(createHmac("sha1", keyBytes).update(forMi).digest("hex"));
        const for256 = s.bytes.slice(0, mi256Start);
        for256[2] = (s.mi256End - 20) >>> 8;
        for256[3] = (s.mi256End - 20) & 0xff;
        expect(toHex(s.bytes.subarray(mi256Start + 4, s.mi256End))).toBe(createHmac("sha256", keyBytes).update(for256).digest("hex").slice(0, 2 * n));
        const msg = decodeStunMessage(s.bytes);
        expect(checkMessageIntegrity(msg, createHmacKey("sha1", keyBytes))).toBe("valid");
        expect(checkMessageIntegritySha256(msg, createHmacKey("sha256", keyBytes))).toBe("valid");
      }),
      { numRuns: 100 },
    );
  });

  it("are invalid under any other key", () => {
    fc.assert(
      fc.property(smallMessageArb, keyBytesArb, keyBytesArb, (m, k1, k2) => {
        fc.pre(toHex(k1) !== toHex(k2));
        const msg = decodeStunMessage(sign(m, createHmacKey("sha1", k1), createHmacKey("sha256", k1), 32, true).bytes);
        expect(checkMessageIntegrity(msg, createHmacKey("sha1", k2))).toBe("invalid");
        expect(checkMessageIntegritySha256(msg, createHmacKey("sha256", k2))).toBe("invalid");
        expect(checkIntegrity(msg, { sha1: createHmacKey("sha1", k2), sha256: createHmacKey("sha256", k2) })).toBe("invalid");
      }),
      { numRuns: 50 },
    );
  });
});

describe("FINGERPRINT value", () => {
  it("equals CRC-32 of the message before it XOR 0x5354554e, with the length field including it", () => {
    fc.assert(
      fc.property(smallMessageArb, fc.boolean(), (m, mi) => {
        const s = sign(m, mi ? createHmacKey("sha1", fromHex("00")) : undefined, undefined, 32, true);
        const n = s.bytes.length;
        const expected = (referenceCrc32(s.bytes.subarray(0, n - 8)) ^ 0x5354554e) >>> 0;
        expect(toHex(s.bytes.subarray(n - 8, n))).toBe("80280004" + expected.toString(16).padStart(8, "0"));
        expect(checkFingerprint(decodeStunMessage(s.bytes))).toBe("valid");
      }),
      { numRuns: 100 },
    );
  });
});

describe("every single-bit change is detected", () => {
  // Decoding fails (StunDecodeError) or the check no longer says "valid": both are detection.
  it("by MESSAGE-INTEGRITY, over every bit it covers", () => {
    fc.assert(
      fc.property(smallMessageArb, keyBytesArb, fc.boolean(), (m, k, fp) => {
        const sha1 = createHmacKey("sha1", k);
        const keys = { sha1, sha256: createHmacKey("sha256", k) };
        const s = sign(m, sha1, undefined, 32, fp);
        expect(undetectedFlips(s.bytes, s.miEnd, (msg) => checkMessageIntegrity(msg, sha1) === "valid")).toEqual([]);
        expect(undetectedFlips(s.bytes, s.miEnd, (msg) => checkIntegrity(msg, keys) === "valid")).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });

  it("by MESSAGE-INTEGRITY-SHA256, full and truncated to 16-28 bytes, after MESSAGE-INTEGRITY or alone", () => {
    fc.assert(
      fc.property(smallMessageArb, keyBytesArb, sha256LengthArb, fc.boolean(), fc.boolean(), (m, k, n, withSha1, fp) => {
        const sha1 = createHmacKey("sha1", k);
        const sha256 = createHmacKey("sha256", k);
        const s = sign(m, withSha1 ? sha1 : undefined, sha256, n, fp);
        expect(undetectedFlips(s.bytes, s.mi256End, (msg) => checkMessageIntegritySha256(msg, sha256) === "valid")).toEqual([]);
        // checkIntegrity decides by MESSAGE-INTEGRITY-SHA256 when there is one. A flip after
        // MESSAGE-INTEGRITY that turns MESSAGE-INTEGRITY-SHA256 into another type leaves a valid
        // MESSAGE-INTEGRITY over everything that counts, so only the part both cover is asserted.
        const end = withSha1 ? s.miEnd : s.mi256End;
        expect(undetectedFlips(s.bytes, end, (msg) => checkIntegrity(msg, { sha1, sha256 }) === "valid")).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });

  it("by FINGERPRINT, over the whole message", () => {
    fc.assert(
      fc.property(smallMessageArb, fc.boolean(), (m, mi) => {
        const s = sign(m, mi ? createHmacKey("sha1", fromHex("01")) : undefined, undefined, 32, true);
        expect(undetectedFlips(s.bytes, s.bytes.length, (msg) => checkFingerprint(msg) === "valid")).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});

describe("check results on malformed and misplaced attributes", () => {
  const sha1 = createHmacKey("sha1", fromHex("0102"));
  const sha256 = createHmacKey("sha256", fromHex("0102"));
  const check = (bytes: Uint8Array): [CheckResult, CheckResult, CheckResult, CheckResult] => {
    const msg = decodeStunMessage(bytes);
    return [checkMessageIntegrity(msg, sha1), checkMessageIntegritySha256(msg, sha256), checkIntegrity(msg, { sha1, sha256 }), checkFingerprint(msg)];
  };

  it("absent when there is none", () => {
    expect(check(new StunMessageBuilder().begin(1, 0, TID).add(Username, "u").finish())).toEqual(["absent", "absent", "absent", "absent"]);
  });

  it("a MESSAGE-INTEGRITY of the wrong length is invalid, not a throw", () => {
    for (const n of [0, 16, 19, 21, 32]) {
      const bytes = new StunMessageBuilder().begin(1, 0, TID).addRaw(AttributeType.MessageIntegrity, new Uint8Array(n)).finish();
      expect(check(bytes)[0]).toBe("invalid");
      expect(check(bytes)[2]).toBe("invalid");
      expect(() => decodeStunMessage(bytes).get(MessageIntegrity)).toThrow();
    }
  });

  it("a MESSAGE-INTEGRITY-SHA256 of a length §14.6 forbids is invalid", () => {
    for (const n of [0, 12, 18, 36]) {
      const bytes = new StunMessageBuilder().begin(1, 0, TID).addRaw(AttributeType.MessageIntegritySha256, new Uint8Array(n)).finish();
      expect(check(bytes)[1]).toBe("invalid");
      expect(check(bytes)[2]).toBe("invalid");
    }
  });

  it("checkIntegrity decides by MESSAGE-INTEGRITY-SHA256 when both are present", () => {
    const other = createHmacKey("sha256", fromHex("ff"));
    const bytes = new StunMessageBuilder().begin(1, 0, TID).add(Username, "u").addMessageIntegrity(sha1).addMessageIntegritySha256(other).finish();
    expect(check(bytes).slice(0, 3)).toEqual(["valid", "invalid", "invalid"]);
  });

  it("a FINGERPRINT that is not last, or not 4 bytes, is invalid", () => {
    const notLast = new StunMessageBuilder().begin(1, 0, TID).addFingerprint().add(Software, "x").finish();
    expect(check(notLast)[3]).toBe("invalid");
    const short = new StunMessageBuilder().begin(1, 0, TID).addRaw(AttributeType.Fingerprint, fromHex("000000")).finish();
    expect(check(short)[3]).toBe("invalid");
  });

  it("MESSAGE-INTEGRITY ignores what follows it, FINGERPRINT does not", () => {
    const s = sign({ method: 1, messageClass: 0, transactionId: TID, attributes: [{ type: AttributeType.Username, value: "u" }] }, sha1, undefined, 32, true);
    const tampered = s.bytes.slice();
    tampered[tampered.length - 1]! ^= 1;
    expect(check(tampered)[0]).toBe("valid");
    expect(check(tampered)[3]).toBe("invalid");
  });

  it("the checks leave the message bytes as they were", () => {
    const s = sign({ method: 1, messageClass: 0, transactionId: TID, attributes: [{ type: AttributeType.Username, value: "u" }] }, sha1, sha256, 32, true);
    const before = toHex(s.bytes);
    check(s.bytes);
    expect(toHex(s.bytes)).toBe(before);
  });
});
