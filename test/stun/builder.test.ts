/**
 * StunMessageBuilder and encodeStunMessage: external buffers, reuse across messages, growth,
 * misuse refused with IcekitError, and the header length around integrity and fingerprint.
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/bytes/hex";
import { createHmacKey } from "../../src/crypto/hmac";
import { isIcekitError } from "../../src/errors";
import { Data, Padding, Priority, Software, Username, codecForType } from "../../src/stun/attributes/index";
import { StunMessageBuilder, newTransactionId } from "../../src/stun/builder";
import { AttributeType, MessageClass, Method } from "../../src/stun/constants";
import { encodeStunMessage } from "../../src/stun/encode";
import { checkFingerprint, checkIntegrity, checkMessageIntegrity, checkMessageIntegritySha256 } from "../../src/stun/integrity";
import { decodeStunMessage } from "../../src/stun/message";
import type { MessageInit } from "./arbitraries";
import { messageArb } from "./arbitraries";

const TID = fromHex("b7e7a701bc34d686fa87dfae");
const sha1 = createHmacKey("sha1", new TextEncoder().encode("pass"));
const sha256 = createHmacKey("sha256", new TextEncoder().encode("pass"));

/** What `f` threw as an IcekitError code; fails on a return or another error. */
function icekitErrorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isIcekitError(e)) return e.code;
    throw e;
  }
  throw new Error("expected an IcekitError");
}

/** Writes `m` (with MI, MI-SHA256 and FINGERPRINT) into `b`. */
function build(b: StunMessageBuilder, m: MessageInit): Uint8Array {
  b.begin(m.method, m.messageClass, m.transactionId);
  for (const a of m.attributes) {
    const codec = codecForType(a.type);
    if (codec) b.add(codec, a.value);
    else b.addRaw(a.type, a.value as Uint8Array);
  }
  return b.addMessageIntegrity(sha1).addMessageIntegritySha256(sha256, 24).addFingerprint().finish();
}

describe("external buffer", () => {
  it("writes into the buffer it was given and returns a view of it", () => {
    const buf = new Uint8Array(100);
    const out = new StunMessageBuilder({ buffer: buf }).begin(1, 0, TID).add(Software, "x").finish();
    expect(out.buffer).toBe(buf.buffer);
    expect(out.byteOffset).toBe(0);
    expect(decodeStunMessage(out).get(Software)).toBe("x");
  });

  it("throws BUFFER_TOO_SMALL when the header does not fit", () => {
    expect(icekitErrorCode(() => new StunMessageBuilder({ buffer: new Uint8Array(19) }).begin(1, 0, TID))).toBe("BUFFER_TOO_SMALL");
  });

  it("throws BUFFER_TOO_SMALL when an attribute, its padding, or an integrity attribute does not fit", () => {
    const b = new StunMessageBuilder({ buffer: new Uint8Array(28) });
    b.begin(1, 0, TID);
    expect(icekitErrorCode(() => b.add(Software, "12345"))).toBe("BUFFER_TOO_SMALL"); // 4 + 5 + 3 padding = 12 > 8
    b.begin(1, 0, TID).add(Software, "1234");
    expect(icekitErrorCode(() => b.addFingerprint())).toBe("BUFFER_TOO_SMALL");
    expect(icekitErrorCode(() => b.addMessageIntegrity(sha1))).toBe("BUFFER_TOO_SMALL");
    expect(b.finish().length).toBe(28); // the failed calls left the message as it was
    const exact = new StunMessageBuilder({ buffer: new Uint8Array(20 + 24 + 8) });
    const out = exact.begin(1, 0, TID).addMessageIntegrity(sha1).addFingerprint().finish();
    expect(checkFingerprint(decodeStunMessage(out))).toBe("valid");
  });
});

describe("reuse and growth", () => {
  it("reusing one builder for many messages gives the same bytes as a fresh builder each time", () => {
    const shared = new StunMessageBuilder();
    const sharedPadded = new StunMessageBuilder({ paddingByte: 0xff });
    fc.assert(
      fc.property(messageArb, (m) => {
        const reused = build(shared, m).slice();
        const fresh = build(new StunMessageBuilder(), m);
        expect(toHex(reused)).toBe(toHex(fresh));
        // Stale bytes from a longer previous message must never leak into a shorter one.
        const padded = build(sharedPadded, m);
        expect(toHex(padded)).toBe(toHex(build(new StunMessageBuilder({ paddingByte: 0xff }), m)));
      }),
      { numRuns: 150 },
    );
  });

  it("grows past its initial 576 bytes and keeps what it wrote", () => {
    const data = new Uint8Array(5000).map((_, i) => i * 7);
    const b = new StunMessageBuilder();
    const out = b.begin(Method.Send, MessageClass.Indication, TID).add(Software, "before").add(Data, data).add(Username, "after").addFingerprint().finish();
    expect(out.length).toBe(20 + 12 + 4 + 5000 + 12 + 8);
    const msg = decodeStunMessage(out);
    expect(msg.get(Software)).toBe("before");
    expect(toHex(msg.get(Data)!)).toBe(toHex(data));
    expect(msg.get(Username)).toBe("after");
    expect(checkFingerprint(msg)).toBe("valid");
    // Grown, it still writes small messages correctly.
    const small = b.begin(1, 0, TID).add(Priority, 1).finish();
    expect(small.length).toBe(28);
    expect(decodeStunMessage(small).get(Priority)).toBe(1);
  });

  it("takes a message up to the 16-bit length limit and refuses one byte more", () => {
    const b = new StunMessageBuilder();
    const max = 0xfffc - 4; // one attribute filling the largest body
    const out = b.begin(1, 1, TID).add(Padding, new Uint8Array(max)).finish();
    expect(out.length).toBe(20 + 0xfffc);
    expect(toHex(out.subarray(2, 4))).toBe("fffc");
    expect(decodeStunMessage(out).get(Padding)!.length).toBe(max);
    b.begin(1, 1, TID).add(Padding, new Uint8Array(max - 4));
    expect(icekitErrorCode(() => b.add(Priority, 1))).toBe("INVALID_ARGUMENT");
    expect(icekitErrorCode(() => b.begin(1, 1, TID).add(Padding, new Uint8Array(max + 1)))).toBe("INVALID_ARGUMENT");
  });

  it("finish() returns a view valid until the next begin()", () => {
    const b = new StunMessageBuilder();
    const first = b.begin(1, 0, TID).add(Software, "first").finish();
    const copy = first.slice();
    b.begin(2, 0, TID).add(Software, "second").finish();
    expect(toHex(first)).not.toBe(toHex(copy));
  });
});

describe("misuse is refused with IcekitError", () => {
  it("begin: method outside 0-0xFFF, transaction id not 12 bytes", () => {
    const b = new StunMessageBuilder();
    expect(icekitErrorCode(() => b.begin(0x1000, 0, TID))).toBe("INVALID_ARGUMENT");
    expect(icekitErrorCode(() => b.begin(-1, 0, TID))).toBe("INVALID_ARGUMENT");
    expect(icekitErrorCode(() => b.begin(1.5, 0, TID))).toBe("INVALID_ARGUMENT");
    expect(icekitErrorCode(() => b.begin(1, 0, new Uint8Array(11)))).toBe("INVALID_ARGUMENT");
    expect(icekitErrorCode(() => b.begin(1, 0, new Uint8Array(16)))).toBe("INVALID_ARGUMENT");
  });

  it("adding or finishing without begin() is INVALID_STATE", () => {
    const b = new StunMessageBuilder();
    expect(icekitErrorCode(() => b.add(Priority, 1))).toBe("INVALID_STATE");
    expect(icekitErrorCode(() => b.finish())).toBe("INVALID_STATE");
    b.begin(1, 0, TID).finish();
    expect(icekitErrorCode(() => b.finish())).toBe("INVALID_STATE");
    expect(icekitErrorCode(() => b.addFingerprint())).toBe("INVALID_STATE");
    expect(icekitErrorCode(() => b.addMessageIntegrity(sha1))).toBe("INVALID_STATE");
  });

  it("addRaw: type outside 0-0xFFFF", () => {
    const b = new StunMessageBuilder().begin(1, 0, TID);
    expect(icekitErrorCode(() => b.addRaw(0x10000, new Uint8Array(0)))).toBe("INVALID_ARGUMENT");
    expect(icekitErrorCode(() => b.addRaw(-1, new Uint8Array(0)))).toBe("INVALID_ARGUMENT");
  });

  it("addRaw: a value that is not a Uint8Array", () => {
    const b = new StunMessageBuilder().begin(1, 0, TID);
    expect(icekitErrorCode(() => b.addRaw(0x8030, "abc" as unknown as Uint8Array))).toBe("INVALID_ARGUMENT");
    expect(icekitErrorCode(() => b.addRaw(0x8030, [1, 2] as unknown as Uint8Array))).toBe("INVALID_ARGUMENT");
    expect(b.finish().length).toBe(20);
  });

  it("addMessageIntegritySha256: length 16 to 32 in steps of 4", () => {
    const b = new StunMessageBuilder().begin(1, 0, TID);
    for (const n of [0, 12, 15, 18, 33, 36]) expect(icekitErrorCode(() => b.addMessageIntegritySha256(sha256, n)), String(n)).toBe("INVALID_ARGUMENT");
  });

  it("a refused attribute leaves the message as it was", () => {
    const b = new StunMessageBuilder().begin(1, 0, TID).add(Priority, 5);
    expect(icekitErrorCode(() => b.add(Priority, -5))).toBe("INVALID_ARGUMENT");
    const msg = decodeStunMessage(b.finish());
    expect(msg.attributeCount).toBe(1);
  });
});

describe("integrity and fingerprint placement (RFC 8489 §14.5-§14.7)", () => {
  it("the header length covers each integrity attribute while it is computed, then the whole message", () => {
    const out = new StunMessageBuilder().begin(1, 0, TID).add(Username, "u").addMessageIntegrity(sha1).addMessageIntegritySha256(sha256).addFingerprint().finish();
    expect(out.length).toBe(20 + 8 + 24 + 36 + 8);
    expect(toHex(out.subarray(2, 4))).toBe((out.length - 20).toString(16).padStart(4, "0"));
    const msg = decodeStunMessage(out);
    expect(checkMessageIntegrity(msg, sha1)).toBe("valid");
    expect(checkMessageIntegritySha256(msg, sha256)).toBe("valid");
    expect(checkIntegrity(msg, { sha1, sha256 })).toBe("valid");
    expect(checkFingerprint(msg)).toBe("valid");
  });

  it("truncated MESSAGE-INTEGRITY-SHA256 keeps the first bytes of the HMAC", () => {
    const full = decodeStunMessage(new StunMessageBuilder().begin(1, 0, TID).add(Username, "u").addMessageIntegritySha256(sha256).finish().slice());
    for (const n of [16, 20, 24, 28, 32]) {
      const msg = decodeStunMessage(new StunMessageBuilder().begin(1, 0, TID).add(Username, "u").addMessageIntegritySha256(sha256, n).finish().slice());
      const mac = msg.rawValue(AttributeType.MessageIntegritySha256)!;
      expect(mac.length).toBe(n);
      expect(checkMessageIntegritySha256(msg, sha256)).toBe("valid");
      if (n === 32) expect(toHex(mac)).toBe(toHex(full.rawValue(AttributeType.MessageIntegritySha256)!));
    }
  });

  it("encodeStunMessage appends MESSAGE-INTEGRITY, then MESSAGE-INTEGRITY-SHA256, then FINGERPRINT", () => {
    const out = encodeStunMessage(
      { method: 1, messageClass: 0, transactionId: TID, attributes: [{ type: AttributeType.Username, value: "u" }] },
      { integrity: sha1, integritySha256: sha256, fingerprint: true },
    );
    expect(decodeStunMessage(out).attributes().map((a) => a.name)).toEqual(["USERNAME", "MESSAGE-INTEGRITY", "MESSAGE-INTEGRITY-SHA256", "FINGERPRINT"]);
    const viaBuilder = new StunMessageBuilder().begin(1, 0, TID).add(Username, "u").addMessageIntegrity(sha1).addMessageIntegritySha256(sha256).addFingerprint().finish();
    expect(toHex(out)).toBe(toHex(viaBuilder));
  });

  it("encodeStunMessage returns a copy the caller owns", () => {
    const a = encodeStunMessage({ method: 1, messageClass: 0, transactionId: TID });
    const b = encodeStunMessage({ method: 1, messageClass: 0, transactionId: TID });
    expect(a.buffer).not.toBe(b.buffer);
    expect(a.length).toBe(20);
    expect(a.buffer.byteLength).toBe(20);
  });
});

describe("newTransactionId", () => {
  it("fills 12 bytes from the random source it is given", () => {
    let calls = 0;
    const id = newTransactionId((out) => {
      calls++;
      out.fill(0xab);
    });
    expect(calls).toBe(1);
    expect(toHex(id)).toBe("ab".repeat(12));
    expect(newTransactionId()).toHaveLength(12);
  });
});
