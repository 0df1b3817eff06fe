/**
 * Decoding whole messages (RFC 8489 §5, §6.3, §14): header checks, the attribute walk, unknown
 * attributes, the attributes a receiver ignores after MESSAGE-INTEGRITY, and the message type's
 * bit layout.
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/bytes/hex";
import { IcekitError, isStunDecodeError } from "../../src/errors";
import type { DecodeErrorCode } from "../../src/errors";
import { createHmacKey } from "../../src/crypto/hmac";
import {
  Fingerprint,
  MessageIntegrity,
  MessageIntegritySha256,
  Priority,
  Software,
  Username,
  XorMappedAddress,
} from "../../src/stun/attributes/index";
import { StunMessageBuilder } from "../../src/stun/builder";
import { AttributeType, MessageClass, Method } from "../../src/stun/constants";
import { encodeStunMessage } from "../../src/stun/encode";
import { classOf, messageType, methodOf } from "../../src/stun/header";
import { checkFingerprint, checkMessageIntegrity, checkMessageIntegritySha256 } from "../../src/stun/integrity";
import { decodeStunMessage } from "../../src/stun/message";
import { messageClassArb, methodArb, transactionIdArb, unknownAttributeArb } from "./arbitraries";

const TID = fromHex("b7e7a701bc34d686fa87dfae");
const key = createHmacKey("sha1", new TextEncoder().encode("VOkJxbRl1RmTxUk/WvJxBt"));
const key256 = createHmacKey("sha256", new TextEncoder().encode("VOkJxbRl1RmTxUk/WvJxBt"));

/** A small valid message: Binding request with SOFTWARE and PRIORITY (32 bytes of attributes). */
function sample(): Uint8Array {
  return new StunMessageBuilder().begin(Method.Binding, MessageClass.Request, TID).add(Software, "test").add(Priority, 7).finish().slice();
}

/** The StunDecodeError code `decodeStunMessage(...args)` throws, failing if it returns or throws anything else. */
function decodeError(bytes: Uint8Array, offset?: number, options?: Parameters<typeof decodeStunMessage>[2]): { code: DecodeErrorCode; offset: number | undefined } {
  try {
    decodeStunMessage(bytes, offset, options);
  } catch (e) {
    if (isStunDecodeError(e)) return { code: e.code, offset: e.offset };
    throw e;
  }
  throw new Error("expected decodeStunMessage to throw");
}

describe("header checks (RFC 8489 §5, §6.3)", () => {
  it("accepts a well-formed message and reads the header", () => {
    const msg = decodeStunMessage(sample());
    expect(msg.method).toBe(Method.Binding);
    expect(msg.messageClass).toBe(MessageClass.Request);
    expect(msg.transactionIdHex).toBe("b7e7a701bc34d686fa87dfae");
    expect(msg.attributeCount).toBe(2);
    expect(msg.raw.length).toBe(20 + 8 + 8);
  });

  it("refuses messages whose first two bits are not 00", () => {
    for (const first of [0x40, 0x80, 0xc0, 0x41]) {
      const b = sample();
      b[0] = first | (b[0]! & 0x3f);
      expect(decodeError(b)).toEqual({ code: "NOT_STUN", offset: 0 });
    }
  });

  it("refuses a wrong magic cookie, unless allowMissingCookie", () => {
    const b = sample();
    b.set([0, 0, 0, 0], 4);
    expect(decodeError(b)).toEqual({ code: "NOT_STUN", offset: 4 });
    for (let i = 4; i < 8; i++) {
      const c = sample();
      c[i]! ^= 1;
      expect(decodeError(c).code).toBe("NOT_STUN");
    }
    // RFC 3489 peers: no cookie, the 128-bit transaction id takes its place.
    const msg = decodeStunMessage(b, 0, { allowMissingCookie: true });
    expect(msg.get(Software)).toBe("test");
    expect(msg.get(Priority)).toBe(7);
  });

  it("refuses a length that is not a multiple of 4", () => {
    for (const delta of [1, 2, 3]) {
      const b = sample();
      b[3]! += delta;
      expect(decodeError(b)).toEqual({ code: "BAD_LENGTH", offset: 2 });
    }
  });

  it("refuses fewer than 20 bytes as TRUNCATED", () => {
    const b = sample();
    for (let n = 0; n < 20; n++) expect(decodeError(b.subarray(0, n)).code).toBe("TRUNCATED");
  });

  it("refuses a length that runs past the bytes present as TRUNCATED", () => {
    const b = sample();
    for (let n = 20; n < b.length; n += 4) expect(decodeError(b.subarray(0, n)).code, String(n)).toBe("TRUNCATED");
    const c = sample();
    c[3]! += 4;
    expect(decodeError(c)).toEqual({ code: "TRUNCATED", offset: 2 });
  });

  it("refuses trailing bytes, unless allowTrailingBytes", () => {
    const b = sample();
    const longer = new Uint8Array(b.length + 5);
    longer.set(b);
    expect(decodeError(longer)).toEqual({ code: "BAD_LENGTH", offset: 2 });
    const msg = decodeStunMessage(longer, 0, { allowTrailingBytes: true });
    expect(msg.raw.length).toBe(b.length);
    expect(toHex(msg.raw)).toBe(toHex(b));
    expect(msg.get(Software)).toBe("test");
  });

  it("decodes at an offset in a larger buffer, e.g. the second of two messages in a stream", () => {
    const a = sample();
    const b = new StunMessageBuilder().begin(Method.Allocate, MessageClass.ErrorResponse, TID).add(Username, "u").finish().slice();
    const stream = new Uint8Array(a.length + b.length);
    stream.set(a);
    stream.set(b, a.length);
    const first = decodeStunMessage(stream, 0, { allowTrailingBytes: true });
    expect(first.get(Software)).toBe("test");
    const second = decodeStunMessage(stream, first.raw.length);
    expect(second.method).toBe(Method.Allocate);
    expect(second.messageClass).toBe(MessageClass.ErrorResponse);
    expect(second.get(Username)).toBe("u");
    expect(second.raw.byteOffset).toBe(a.length);
    // Errors report offsets in the buffer given.
    const bad = stream.slice();
    bad[a.length + 4] = 0;
    expect(decodeError(bad, a.length)).toEqual({ code: "NOT_STUN", offset: a.length + 4 });
    expect(decodeError(stream, stream.length - 3).code).toBe("TRUNCATED");
    expect(decodeError(stream, stream.length + 10).code).toBe("TRUNCATED");
  });

  it("refuses an offset that is not an index into the buffer with IcekitError", () => {
    const b = sample();
    for (const offset of [-1, 0.5, Number.NaN]) {
      expect(() => decodeStunMessage(b, offset)).toThrow(IcekitError);
    }
  });

  it("accepts a message with no attributes", () => {
    const msg = decodeStunMessage(new StunMessageBuilder().begin(1, 0, TID).finish());
    expect(msg.attributeCount).toBe(0);
    expect(msg.attributes()).toEqual([]);
    expect(msg.get(Software)).toBeUndefined();
  });

  it("does not copy: the message, transaction id and byte values are views into the input", () => {
    const b = new StunMessageBuilder().begin(1, 0, TID).addRaw(0x8030, fromHex("010203")).finish().slice();
    const msg = decodeStunMessage(b);
    expect(msg.raw.buffer).toBe(b.buffer);
    expect(msg.transactionId.buffer).toBe(b.buffer);
    expect(msg.rawValue(0x8030)!.buffer).toBe(b.buffer);
    expect(toHex(msg.rawValue(0x8030)!)).toBe("010203");
  });
});

describe("attribute walk (RFC 8489 §14)", () => {
  it("refuses an attribute whose length runs past the message as ATTRIBUTE_OVERRUN", () => {
    const b = sample(); // SOFTWARE (4+4) at 20, PRIORITY (4+4) at 28
    b[31] = 5; // PRIORITY length 5: 28+4+5 > 40
    expect(decodeError(b)).toEqual({ code: "ATTRIBUTE_OVERRUN", offset: 28 });
    const c = sample();
    c[23] = 0xff; // SOFTWARE length 255
    expect(decodeError(c)).toEqual({ code: "ATTRIBUTE_OVERRUN", offset: 20 });
  });

  it("refuses a value one byte longer than the bytes left, and accepts it when its padding is there", () => {
    const b = fromHex("0001000c2112a442" + toHex(TID) + "8030000501020304" + "00000000");
    expect(decodeStunMessage(b).rawValue(0x8030)!.length).toBe(5);
    const c = fromHex("000100082112a442" + toHex(TID) + "8030000501020304");
    expect(decodeError(c).code).toBe("ATTRIBUTE_OVERRUN");
  });

  it("ignores padding bytes on receipt (RFC 8489 §14: any value)", () => {
    const b = new StunMessageBuilder({ paddingByte: 0xa5 }).begin(1, 0, TID).add(Username, "abcde").add(Priority, 9).finish();
    const msg = decodeStunMessage(b);
    expect(msg.get(Username)).toBe("abcde");
    expect(msg.get(Priority)).toBe(9);
    expect(b[20 + 4 + 5]).toBe(0xa5);
  });

  it("keeps unknown attributes byte for byte through decode and encode, odd lengths included", () => {
    fc.assert(
      fc.property(fc.array(unknownAttributeArb, { maxLength: 8 }), methodArb, messageClassArb, transactionIdArb, (attrs, method, cls, tid) => {
        const b = new StunMessageBuilder().begin(method, cls, tid);
        for (const a of attrs) b.addRaw(a.type, a.value as Uint8Array);
        const bytes = b.finish().slice();
        const msg = decodeStunMessage(bytes);
        const decoded = msg.attributes();
        expect(decoded.map((a) => [a.type, toHex(a.value as Uint8Array), a.unknown])).toEqual(attrs.map((a) => [a.type, toHex(a.value as Uint8Array), true]));
        for (const a of decoded) expect(a.name).toBe(`0x${a.type.toString(16).padStart(4, "0")}`);
        const again = encodeStunMessage({ method: msg.method, messageClass: msg.messageClass, transactionId: msg.transactionId, attributes: decoded });
        expect(toHex(again)).toBe(toHex(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it("unknown attributes given by value must be bytes", () => {
    expect(() => encodeStunMessage({ method: 1, messageClass: 0, transactionId: TID, attributes: [{ type: 0x8030, value: "text" }] })).toThrow(IcekitError);
  });

  it("get() returns the first occurrence, getAll() every one, indexOf() the first index", () => {
    const msg = decodeStunMessage(
      new StunMessageBuilder()
        .begin(1, 0, TID)
        .add(Software, "one")
        .add(XorMappedAddress, { family: "IPv4", address: "192.0.2.1", port: 1 })
        .add(XorMappedAddress, { family: "IPv6", address: "2001:db8::2", port: 2 })
        .add(Software, "two")
        .finish(),
    );
    expect(msg.get(Software)).toBe("one");
    expect(msg.getAll(Software)).toEqual(["one", "two"]);
    expect(msg.getAll(XorMappedAddress)).toEqual([
      { family: "IPv4", address: "192.0.2.1", port: 1 },
      { family: "IPv6", address: "2001:db8::2", port: 2 },
    ]);
    expect(msg.indexOf(AttributeType.XorMappedAddress)).toBe(1);
    expect(msg.indexOf(AttributeType.Username)).toBe(-1);
    expect(msg.getAll(Username)).toEqual([]);
  });
});

describe("unknownComprehensionRequired (RFC 8489 §6.3.1, §14)", () => {
  const msg = decodeStunMessage(
    new StunMessageBuilder()
      .begin(1, 0, TID)
      .addRaw(0x0002, new Uint8Array(0)) // reserved (was RESPONSE-ADDRESS): unknown, required
      .add(Username, "u")
      .addRaw(0x7fff, fromHex("01"))
      .addRaw(0x8030, fromHex("0102")) // comprehension-optional: never listed
      .addRaw(0x0002, fromHex("ff")) // duplicate
      .addRaw(0x0000, new Uint8Array(0))
      .addRaw(0xffff, new Uint8Array(0))
      .addMessageIntegrity(key)
      .addRaw(0x0004, new Uint8Array(0)) // after MESSAGE-INTEGRITY: ignored, not listed
      .finish()
      .slice(),
  );

  it("lists each unknown 0x0000-0x7FFF type once, in order of appearance", () => {
    expect(msg.unknownComprehensionRequired()).toEqual([0x0002, 0x7fff, 0x0000]);
  });

  it("takes the set of types the usage understands", () => {
    expect(msg.unknownComprehensionRequired((t) => t === 0x7fff)).toEqual([0x0002, 0x0006, 0x0000, 0x0008]);
    expect(msg.unknownComprehensionRequired(() => true)).toEqual([]);
  });

  it("is empty for a message of known attributes", () => {
    expect(decodeStunMessage(sample()).unknownComprehensionRequired()).toEqual([]);
  });
});

describe("attributes after MESSAGE-INTEGRITY (RFC 8489 §14.5-§14.7)", () => {
  const bytes = new StunMessageBuilder()
    .begin(1, 0, TID)
    .add(Username, "u")
    .addMessageIntegrity(key)
    .add(Software, "after MI") // ignored
    .add(XorMappedAddress, { family: "IPv4", address: "192.0.2.1", port: 1 }) // ignored
    .addMessageIntegritySha256(key256) // counts
    .add(Priority, 1) // ignored
    .addMessageIntegrity(key) // a second MI: ignored
    .addFingerprint() // counts
    .finish()
    .slice();

  it("are ignored except MESSAGE-INTEGRITY-SHA256 and FINGERPRINT", () => {
    // The builder signs at the current position; decode sees the order as written.
    const msg = decodeStunMessage(bytes);
    expect(msg.attributeCount).toBe(8);
    expect(msg.get(Username)).toBe("u");
    expect(msg.get(MessageIntegrity)).toBeDefined();
    expect(msg.get(Software)).toBeUndefined();
    expect(msg.has(AttributeType.Software)).toBe(false);
    expect(msg.get(XorMappedAddress)).toBeUndefined();
    expect(msg.getAll(XorMappedAddress)).toEqual([]);
    expect(msg.rawValue(AttributeType.Software)).toBeUndefined();
    expect(msg.get(Priority)).toBeUndefined();
    expect(msg.getAll(MessageIntegrity)).toHaveLength(1);
    // §14.5 excepts MESSAGE-INTEGRITY-SHA256 and FINGERPRINT even when ignored attributes come
    // between; §14.6 then excepts only FINGERPRINT.
    expect(msg.get(MessageIntegritySha256)).toHaveLength(32);
    expect(msg.get(Fingerprint)).toBeTypeOf("number");
    expect(msg.attributes().map((a) => [a.name, a.ignored])).toEqual([
      ["USERNAME", false],
      ["MESSAGE-INTEGRITY", false],
      ["SOFTWARE", true],
      ["XOR-MAPPED-ADDRESS", true],
      ["MESSAGE-INTEGRITY-SHA256", false],
      ["PRIORITY", true],
      ["MESSAGE-INTEGRITY", true],
      ["FINGERPRINT", false],
    ]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => msg.isIgnored(i))).toEqual([false, false, true, true, false, true, true, false]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => msg.attributeType(i))).toEqual([0x0006, 0x0008, 0x8022, 0x0020, 0x001c, 0x0024, 0x0008, 0x8028]);
    expect(msg.indexOf(AttributeType.MessageIntegrity)).toBe(1);
    expect(msg.indexOf(AttributeType.Priority)).toBe(-1);
    expect(msg.indexOf(AttributeType.Priority + 0x10000)).toBe(-1); // out-of-range types match nothing
    expect(checkMessageIntegrity(msg, key)).toBe("valid");
    expect(checkMessageIntegritySha256(msg, key256)).toBe("valid");
    expect(checkFingerprint(msg)).toBe("valid");
  });

  it("in a well-formed message, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT after MESSAGE-INTEGRITY count", () => {
    const msg = decodeStunMessage(
      new StunMessageBuilder().begin(1, 0, TID).add(Username, "u").addMessageIntegrity(key).addMessageIntegritySha256(key256).addFingerprint().finish(),
    );
    expect(msg.get(MessageIntegritySha256)).toHaveLength(32);
    expect(msg.get(Fingerprint)).toBeTypeOf("number");
    expect(msg.attributes().map((a) => a.ignored)).toEqual([false, false, false, false]);
  });

  it("after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT counts; after FINGERPRINT nothing", () => {
    const msg = decodeStunMessage(
      new StunMessageBuilder()
        .begin(1, 0, TID)
        .addMessageIntegritySha256(key256)
        .addMessageIntegrity(key) // MI after MI-SHA256: ignored
        .add(Software, "x")
        .finish(),
    );
    expect(msg.get(MessageIntegritySha256)).toHaveLength(32);
    expect(msg.get(MessageIntegrity)).toBeUndefined();
    expect(msg.get(Software)).toBeUndefined();
    const fp = decodeStunMessage(new StunMessageBuilder().begin(1, 0, TID).addFingerprint().add(Software, "x").addRaw(0x0002, new Uint8Array(0)).finish());
    expect(fp.get(Fingerprint)).toBeTypeOf("number");
    expect(fp.get(Software)).toBeUndefined();
    expect(fp.unknownComprehensionRequired()).toEqual([]);
    expect(checkFingerprint(fp)).toBe("invalid"); // FINGERPRINT must be last (§14.7)
  });

  it("ignored attributes are not decoded by get(), so a malformed one does no harm", () => {
    const msg = decodeStunMessage(
      new StunMessageBuilder().begin(1, 0, TID).addMessageIntegrity(key).addRaw(AttributeType.XorMappedAddress, fromHex("0003")).finish(),
    );
    expect(msg.get(XorMappedAddress)).toBeUndefined();
    expect(checkMessageIntegrity(msg, key)).toBe("valid");
  });
});

describe("message type bit layout (RFC 8489 §5, Figure 3)", () => {
  it("places the class bits C1 at 0x0100 and C0 at 0x0010", () => {
    expect(messageType(Method.Binding, MessageClass.Request)).toBe(0x0001);
    expect(messageType(Method.Binding, MessageClass.Indication)).toBe(0x0011);
    expect(messageType(Method.Binding, MessageClass.SuccessResponse)).toBe(0x0101);
    expect(messageType(Method.Binding, MessageClass.ErrorResponse)).toBe(0x0111);
    expect(messageType(Method.Allocate, MessageClass.Request)).toBe(0x0003);
    expect(messageType(Method.Send, MessageClass.Indication)).toBe(0x0016);
    expect(messageType(Method.Data, MessageClass.Indication)).toBe(0x0017);
    expect(messageType(Method.ChannelBind, MessageClass.ErrorResponse)).toBe(0x0119);
  });

  it("spreads a 12-bit method as M11-M7 C1 M6-M4 C0 M3-M0", () => {
    expect(messageType(0xfff, MessageClass.Request)).toBe(0x3eef);
    expect(messageType(0xfff, MessageClass.ErrorResponse)).toBe(0x3fff);
    expect(messageType(0x080, MessageClass.Request)).toBe(0x0200); // M7 jumps over C1
    expect(messageType(0x010, MessageClass.Request)).toBe(0x0020); // M4 jumps over C0
    expect(messageType(0x00f, MessageClass.Request)).toBe(0x000f);
  });

  it("decodes what it encodes, for every method and class, and the top two bits stay 0", () => {
    for (let method = 0; method <= 0xfff; method++) {
      for (const cls of [0, 1, 2, 3] as const) {
        const t = messageType(method, cls);
        expect(t & 0xc000).toBe(0);
        if (methodOf(t) !== method || classOf(t) !== cls) throw new Error(`0x${method.toString(16)}/${cls} → 0x${t.toString(16)}`);
      }
    }
  });

  it("the decoder reads method and class from the wire", () => {
    const b = new StunMessageBuilder().begin(0xfff, MessageClass.ErrorResponse, TID).finish();
    expect(toHex(b.subarray(0, 2))).toBe("3fff");
    const msg = decodeStunMessage(b);
    expect(msg.method).toBe(0xfff);
    expect(msg.messageClass).toBe(MessageClass.ErrorResponse);
    expect(msg.type).toBe(0x3fff);
  });
});
