/**
 * Properties of the whole codec: random messages round trip byte for byte, and the decoder with
 * everything reachable from a decoded message (attributes(), every get/getAll, the checks) throws
 * nothing but StunDecodeError on random bytes, random bodies behind a valid header, and
 * mutations and truncations of valid messages (DESIGN.md "Errors and bad input").
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes/hex";
import { createHmacKey } from "../../src/crypto/hmac";
import { isStunDecodeError } from "../../src/errors";
import { KNOWN_ATTRIBUTES, codecForType } from "../../src/stun/attributes/index";
import { StunMessageBuilder } from "../../src/stun/builder";
import { encodeStunMessage } from "../../src/stun/encode";
import { checkFingerprint, checkIntegrity, checkMessageIntegrity, checkMessageIntegritySha256 } from "../../src/stun/integrity";
import type { DecodeOptions } from "../../src/stun/message";
import { decodeStunMessage } from "../../src/stun/message";
import type { MessageInit } from "./arbitraries";
import { messageArb, transactionIdArb } from "./arbitraries";

const sha1 = createHmacKey("sha1", new TextEncoder().encode("key"));
const sha256 = createHmacKey("sha256", new TextEncoder().encode("key"));

/** Fails the property unless `e` is a StunDecodeError. */
function expectDecodeError(e: unknown, where: string): void {
  if (!isStunDecodeError(e)) {
    throw new Error(`${where} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not a StunDecodeError`);
  }
}

/**
 * Decodes `bytes` and touches everything a decoded message offers. Only StunDecodeError may come
 * out of the decoder and the attribute decoders; the checks and accessors throw nothing at all.
 *
 * @returns whether the message decoded
 */
function exercise(bytes: Uint8Array, options?: DecodeOptions): boolean {
  let msg;
  try {
    msg = decodeStunMessage(bytes, 0, options);
  } catch (e) {
    expectDecodeError(e, "decodeStunMessage");
    return false;
  }
  // No allocation larger than the input: the message is a view of at most the input.
  expect(msg.raw.length).toBeLessThanOrEqual(bytes.length);
  expect(msg.raw.buffer).toBe(bytes.buffer);
  try {
    const attrs = msg.attributes();
    expect(attrs.length).toBe(msg.attributeCount);
  } catch (e) {
    expectDecodeError(e, "attributes()");
  }
  for (const codec of KNOWN_ATTRIBUTES) {
    try {
      msg.get(codec);
    } catch (e) {
      expectDecodeError(e, `get(${codec.name})`);
    }
    try {
      msg.getAll(codec);
    } catch (e) {
      expectDecodeError(e, `getAll(${codec.name})`);
    }
  }
  for (let i = 0; i < msg.attributeCount; i++) {
    const t = msg.attributeType(i);
    expect(msg.attributeOffset(i) + msg.attributeLength(i)).toBeLessThanOrEqual(msg.raw.length);
    msg.rawValue(t);
    msg.isIgnored(i);
  }
  msg.unknownComprehensionRequired();
  void msg.transactionIdHex;
  checkMessageIntegrity(msg, sha1);
  checkMessageIntegritySha256(msg, sha256);
  checkIntegrity(msg, { sha1, sha256 });
  checkFingerprint(msg);
  return true;
}

/** Encodes a generated message with the builder (so integrity attributes can be appended). */
function encode(m: MessageInit, integrity: boolean): Uint8Array {
  const b = new StunMessageBuilder().begin(m.method, m.messageClass, m.transactionId);
  for (const a of m.attributes) {
    const codec = codecForType(a.type);
    if (codec) b.add(codec, a.value);
    else b.addRaw(a.type, a.value as Uint8Array);
  }
  if (integrity) b.addMessageIntegrity(sha1).addMessageIntegritySha256(sha256).addFingerprint();
  return b.finish().slice();
}

/** A valid header for a body of `bodyLength` bytes (a multiple of 4). */
function header(type: number, bodyLength: number, tid: Uint8Array): Uint8Array {
  const h = new Uint8Array(20);
  h[0] = (type >>> 8) & 0x3f;
  h[1] = type & 0xff;
  h[2] = bodyLength >>> 8;
  h[3] = bodyLength & 0xff;
  h.set([0x21, 0x12, 0xa4, 0x42], 4);
  h.set(tid, 8);
  return h;
}

/** Types that reach every codec, plus the ones that change what counts, plus random ones. */
const attributeTypeArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...KNOWN_ATTRIBUTES.map((c) => c.type)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);

/** A TLV whose declared length may disagree with the bytes that follow it. */
const looseTlvArb = fc.record({
  type: attributeTypeArb,
  value: fc.uint8Array({ maxLength: 40 }),
  lengthDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) }),
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe("whole messages round trip", () => {
  it("encode → decode → attributes() → encode gives the same bytes and the same values", () => {
    fc.assert(
      fc.property(messageArb, fc.boolean(), (m, integrity) => {
        const bytes = integrity ? encode(m, true) : encodeStunMessage(m);
        const msg = decodeStunMessage(bytes);
        expect(msg.method).toBe(m.method);
        expect(msg.messageClass).toBe(m.messageClass);
        expect(toHex(msg.transactionId)).toBe(toHex(m.transactionId));
        const attrs = msg.attributes();
        const signed = integrity ? 3 : 0;
        expect(attrs.length).toBe(m.attributes.length + signed);
        expect(attrs.slice(0, m.attributes.length).map((a) => ({ type: a.type, value: a.value }))).toEqual(m.attributes);
        const again = encodeStunMessage({ method: msg.method, messageClass: msg.messageClass, transactionId: msg.transactionId, attributes: attrs });
        expect(toHex(again)).toBe(toHex(bytes));
        if (integrity) {
          expect(checkFingerprint(msg)).toBe("valid");
          // Random attributes may put a MESSAGE-INTEGRITY(-SHA256) or FINGERPRINT before the real
          // ones, which then no longer count; when none does, both verify.
          if (!m.attributes.some((a) => a.type === 0x0008 || a.type === 0x001c || a.type === 0x8028)) {
            expect(checkIntegrity(msg, { sha1, sha256 })).toBe("valid");
            expect(checkMessageIntegrity(msg, sha1)).toBe("valid");
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe("the decoder throws only StunDecodeError", () => {
  it("on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), fc.boolean(), (bytes, allowTrailingBytes, allowMissingCookie) => {
        exercise(bytes, { allowTrailingBytes, allowMissingCookie });
      }),
      { numRuns: 3000 },
    );
  });

  it("on random bodies behind a valid header", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x3fff }), transactionIdArb, fc.uint8Array({ maxLength: 30 }).map((a) => Uint8Array.from({ length: a.length * 4 }, (_, i) => a[i >> 2]! ^ (i * 37))), (type, tid, body) => {
        exercise(concat([header(type, body.length, tid), body]));
      }),
      { numRuns: 1500 },
    );
  });

  it("on well-framed attributes with random values, lengths and types", () => {
    let decoded = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x3fff }), transactionIdArb, fc.array(looseTlvArb, { maxLength: 8 }), (type, tid, tlvs) => {
        const parts: Uint8Array[] = [];
        for (const t of tlvs) {
          const declared = Math.max(0, t.value.length + t.lengthDelta);
          const h = new Uint8Array([t.type >>> 8, t.type & 0xff, declared >>> 8, declared & 0xff]);
          const padded = new Uint8Array(t.value.length + ((4 - (t.value.length % 4)) % 4));
          padded.set(t.value);
          parts.push(h, padded);
        }
        const body = concat(parts);
        if (exercise(concat([header(type, body.length, tid), body]))) decoded++;
      }),
      { numRuns: 2500 },
    );
    // The generator is meant to get past the framing most of the time and into the codecs.
    expect(decoded).toBeGreaterThan(1000);
  });

  it("on mutations and truncations of valid messages", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
      fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
    );
    fc.assert(
      fc.property(messageArb, fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (m, integrity, mutations, fixLength) => {
        let b = encode(m, integrity);
        for (const mu of mutations) {
          const at = b.length === 0 ? 0 : mu.at % b.length;
          if (mu.kind === "set") b[at] = mu.value;
          else if (mu.kind === "flip") b[at]! ^= 1 << mu.bit;
          else if (mu.kind === "truncate") b = b.slice(0, at);
          else if (mu.kind === "insert") b = concat([b.subarray(0, at), mu.bytes, b.subarray(at)]);
          else b = concat([b.subarray(0, at), b.subarray(at + mu.count)]);
        }
        // Half the time make the header length agree with the bytes, so the walk runs.
        if (fixLength && b.length >= 20 && b.length % 4 === 0) {
          b[2] = (b.length - 20) >>> 8;
          b[3] = (b.length - 20) & 0xff;
        }
        exercise(b);
        exercise(b, { allowTrailingBytes: true, allowMissingCookie: true });
      }),
      { numRuns: 1500 },
    );
  });

  it("on every truncation and every single-byte change of a few valid messages", () => {
    fc.assert(
      fc.property(messageArb, fc.integer({ min: 0, max: 255 }), (m, value) => {
        const b = encode(m, true);
        for (let n = 0; n < b.length; n++) {
          expect(exercise(b.subarray(0, n))).toBe(false); // a strict prefix never decodes
          exercise(b.slice(0, n), { allowTrailingBytes: true });
        }
        for (let i = 0; i < b.length; i++) {
          const c = b.slice();
          c[i] = value;
          exercise(c);
        }
      }),
      { numRuns: 20 },
    );
  });
});
