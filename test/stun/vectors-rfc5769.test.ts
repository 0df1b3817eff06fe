/**
 * The RFC 5769 test vectors (§2.1-§2.4) and RFC 8489 Appendix B.1: decode every attribute,
 * check MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT, and re-encode the same fields to the same
 * bytes.
 *
 * The hex is copied from the RFC texts in ../shared/rfc (RFC 5769 §2, RFC 8489 Appendix B).
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/bytes/hex";
import { createHmacKey } from "../../src/crypto/hmac";
import type { HmacKey } from "../../src/crypto/types";
import {
  IceControlled,
  MessageIntegrity,
  MessageIntegritySha256,
  Nonce,
  PasswordAlgorithmAttr,
  Priority,
  Realm,
  Software,
  Userhash,
  Username,
  XorMappedAddress,
} from "../../src/stun/attributes/index";
import { StunMessageBuilder } from "../../src/stun/builder";
import { AttributeType, MessageClass, Method } from "../../src/stun/constants";
import { longTermKey, userHash } from "../../src/stun/credentials";
import { encodeStunMessage } from "../../src/stun/encode";
import { checkFingerprint, checkIntegrity, checkMessageIntegrity, checkMessageIntegritySha256 } from "../../src/stun/integrity";
import { decodeStunMessage } from "../../src/stun/message";

/** RFC 5769 §2.1-§2.3 short-term password; the key is its bytes (RFC 8489 §9.1.1). */
const PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt";
const shortTermKeyBytes = new TextEncoder().encode(PASSWORD);
const sha1Key = (): HmacKey => createHmacKey("sha1", shortTermKeyBytes);

/** RFC 5769 §2.1 Sample Request. */
const REQUEST = fromHex(`
  00 01 00 58  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 10  53 54 55 4e  20 74 65 73  74 20 63 6c  69 65 6e 74
  00 24 00 04  6e 00 01 ff
  80 29 00 08  93 2f f9 b1  51 26 3b 36
  00 06 00 09  65 76 74 6a  3a 68 36 76  59 20 20 20
  00 08 00 14  9a ea a7 0c  bf d8 cb 56  78 1e f2 b5  b2 d3 f2 49  c1 b5 71 a2
  80 28 00 04  e5 7a 3b cf`);

/** RFC 5769 §2.2 Sample IPv4 Response. */
const RESPONSE_V4 = fromHex(`
  01 01 00 3c  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 0b  74 65 73 74  20 76 65 63  74 6f 72 20
  00 20 00 08  00 01 a1 47  e1 12 a6 43
  00 08 00 14  2b 91 f5 99  fd 9e 90 c3  8c 74 89 f9  2a f9 ba 53  f0 6b e7 d7
  80 28 00 04  c0 7d 4c 96`);

/** RFC 5769 §2.3 Sample IPv6 Response. */
const RESPONSE_V6 = fromHex(`
  01 01 00 48  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 0b  74 65 73 74  20 76 65 63  74 6f 72 20
  00 20 00 14  00 02 a1 47  01 13 a9 fa  a5 d3 f1 79  bc 25 f4 b5  be d2 b9 d9
  00 08 00 14  a3 82 95 4e  4b e6 7b f1  17 84 c9 7c  82 92 c2 75  bf e3 ed 41
  80 28 00 04  c8 fb 0b 4c`);

/** RFC 5769 §2.4 Sample Request with Long-Term Authentication. */
const REQUEST_LONG_TERM = fromHex(`
  00 01 00 60  21 12 a4 42  78 ad 34 33  c6 ad 72 c0  29 da 41 2e
  00 06 00 12  e3 83 9e e3  83 88 e3 83  aa e3 83 83  e3 82 af e3  82 b9 00 00
  00 15 00 1c  66 2f 2f 34  39 39 6b 39  35 34 64 36  4f 4c 33 34  6f 4c 39 46  53 54 76 79  36 34 73 41
  00 14 00 0b  65 78 61 6d  70 6c 65 2e  6f 72 67 00
  00 08 00 14  f6 70 24 65  6d d6 4a 3e  02 b8 e0 71  2e 85 c9 a2  8c a8 96 66`);

/** RFC 8489 Appendix B.1, exactly as printed (see the erratum note in its describe block). */
const B1_AS_PRINTED = fromHex(`
  00 01 00 9c  21 12 a4 42  78 ad 34 33  c6 ad 72 c0  29 da 41 2e
  00 1e 00 20  4a 3c f3 8f  ef 69 92 bd  a9 52 c6 78  04 17 da 0f  24 81 94 15  56 9e 60 b2  05 c4 6e 41  40 7f 17 04
  00 15 00 29  6f 62 4d 61  74 4a 6f 73  32 41 41 41  43 66 2f 2f  34 39 39 6b  39 35 34 64  36 4f 4c 33
               34 6f 4c 39  46 53 54 76  79 36 34 73  41 00 00 00
  00 14 00 0b  65 78 61 6d  70 6c 65 2e  6f 72 67 00
  00 1c 00 20  e4 68 6c 8f  0e de b5 90  13 e0 70 90  01 0a 93 ef  cc bc cc 54  4c 0a 45 d9  f8 30 aa 6d  6f 73 5a 01`);

const TID_SHORT = fromHex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae");
const TID_LONG = fromHex("78 ad 34 33 c6 ad 72 c0 29 da 41 2e");

/** "マトリックス" (RFC 5769 §2.4, RFC 8489 Appendix B.1). */
const LT_USERNAME = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9";
const LT_REALM = "example.org";
/** The §2.4 password after SASLprep ("The\u00ADM\u00AAtr\u2168" before). */
const LT_PASSWORD = "TheMatrIX";

describe("RFC 5769 §2.1 Sample Request", () => {
  const msg = decodeStunMessage(REQUEST);

  it("decodes the header", () => {
    expect(msg.method).toBe(Method.Binding);
    expect(msg.messageClass).toBe(MessageClass.Request);
    expect(msg.type).toBe(0x0001);
    expect(toHex(msg.transactionId)).toBe("b7e7a701bc34d686fa87dfae");
    expect(msg.attributeCount).toBe(6);
  });

  it("decodes every attribute", () => {
    expect(msg.get(Software)).toBe("STUN test client");
    expect(msg.get(Priority)).toBe(0x6e0001ff);
    expect(msg.get(IceControlled)).toBe(0x932ff9b151263b36n);
    expect(msg.get(Username)).toBe("evtj:h6vY");
    expect(toHex(msg.get(MessageIntegrity)!)).toBe("9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2");
    expect(msg.attributes().map((a) => a.name)).toEqual([
      "SOFTWARE",
      "PRIORITY",
      "ICE-CONTROLLED",
      "USERNAME",
      "MESSAGE-INTEGRITY",
      "FINGERPRINT",
    ]);
    expect(msg.unknownComprehensionRequired()).toEqual([]);
  });

  it("has a valid MESSAGE-INTEGRITY with the short-term password and a valid FINGERPRINT", () => {
    expect(checkMessageIntegrity(msg, sha1Key())).toBe("valid");
    expect(checkIntegrity(msg, { sha1: sha1Key(), sha256: createHmacKey("sha256", shortTermKeyBytes) })).toBe("valid");
    expect(checkMessageIntegrity(msg, createHmacKey("sha1", new TextEncoder().encode("wrong")))).toBe("invalid");
    expect(checkMessageIntegritySha256(msg, createHmacKey("sha256", shortTermKeyBytes))).toBe("absent");
    expect(checkFingerprint(msg)).toBe("valid");
  });

  it("re-encodes to the same bytes with space padding", () => {
    const b = new StunMessageBuilder({ paddingByte: 0x20 });
    const out = b
      .begin(Method.Binding, MessageClass.Request, TID_SHORT)
      .add(Software, "STUN test client")
      .add(Priority, 0x6e0001ff)
      .add(IceControlled, 0x932ff9b151263b36n)
      .add(Username, "evtj:h6vY")
      .addMessageIntegrity(sha1Key())
      .addFingerprint()
      .finish();
    expect(toHex(out)).toBe(toHex(REQUEST));

    const viaInit = encodeStunMessage(
      {
        method: Method.Binding,
        messageClass: MessageClass.Request,
        transactionId: TID_SHORT,
        attributes: msg.attributes().filter((a) => a.type !== AttributeType.MessageIntegrity && a.type !== AttributeType.Fingerprint),
      },
      { integrity: sha1Key(), fingerprint: true, paddingByte: 0x20 },
    );
    expect(toHex(viaInit)).toBe(toHex(REQUEST));
  });

  it("re-encodes with zero padding to different bytes that still verify", () => {
    // RFC 8489 §14: padding is covered by MESSAGE-INTEGRITY, so the padding byte changes the HMAC.
    const out = new StunMessageBuilder()
      .begin(Method.Binding, MessageClass.Request, TID_SHORT)
      .add(Software, "STUN test client")
      .add(Priority, 0x6e0001ff)
      .add(IceControlled, 0x932ff9b151263b36n)
      .add(Username, "evtj:h6vY")
      .addMessageIntegrity(sha1Key())
      .addFingerprint()
      .finish();
    expect(toHex(out)).not.toBe(toHex(REQUEST));
    const again = decodeStunMessage(out);
    expect(checkMessageIntegrity(again, sha1Key())).toBe("valid");
    expect(checkFingerprint(again)).toBe("valid");
  });
});

describe("RFC 5769 §2.2 Sample IPv4 Response", () => {
  const msg = decodeStunMessage(RESPONSE_V4);

  it("decodes every attribute", () => {
    expect(msg.method).toBe(Method.Binding);
    expect(msg.messageClass).toBe(MessageClass.SuccessResponse);
    expect(msg.type).toBe(0x0101);
    expect(msg.get(Software)).toBe("test vector");
    expect(msg.get(XorMappedAddress)).toEqual({ family: "IPv4", address: "192.0.2.1", port: 32853 });
  });

  it("has a valid MESSAGE-INTEGRITY and FINGERPRINT", () => {
    expect(checkMessageIntegrity(msg, sha1Key())).toBe("valid");
    expect(checkFingerprint(msg)).toBe("valid");
  });

  it("re-encodes to the same bytes with space padding", () => {
    const out = encodeStunMessage(
      {
        method: Method.Binding,
        messageClass: MessageClass.SuccessResponse,
        transactionId: TID_SHORT,
        attributes: [
          { type: AttributeType.Software, value: "test vector" },
          { type: AttributeType.XorMappedAddress, value: { family: "IPv4", address: "192.0.2.1", port: 32853 } },
        ],
      },
      { integrity: sha1Key(), fingerprint: true, paddingByte: 0x20 },
    );
    expect(toHex(out)).toBe(toHex(RESPONSE_V4));
  });
});

describe("RFC 5769 §2.3 Sample IPv6 Response", () => {
  const msg = decodeStunMessage(RESPONSE_V6);

  it("decodes every attribute", () => {
    expect(msg.type).toBe(0x0101);
    expect(msg.get(Software)).toBe("test vector");
    expect(msg.get(XorMappedAddress)).toEqual({ family: "IPv6", address: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853 });
  });

  it("has a valid MESSAGE-INTEGRITY and FINGERPRINT", () => {
    expect(checkMessageIntegrity(msg, sha1Key())).toBe("valid");
    expect(checkFingerprint(msg)).toBe("valid");
  });

  it("re-encodes to the same bytes with space padding", () => {
    const out = new StunMessageBuilder({ paddingByte: 0x20 })
      .begin(Method.Binding, MessageClass.SuccessResponse, TID_SHORT)
      .add(Software, "test vector")
      .add(XorMappedAddress, { family: "IPv6", address: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853 })
      .addMessageIntegrity(sha1Key())
      .addFingerprint()
      .finish();
    expect(toHex(out)).toBe(toHex(RESPONSE_V6));
  });
});

describe("RFC 5769 §2.4 Sample Request with Long-Term Authentication", () => {
  const msg = decodeStunMessage(REQUEST_LONG_TERM);
  /** RFC 8489 §9.2.2 (RFC 5389 §15.4): key = MD5(username ":" realm ":" SASLprep(password)). */
  const md5Key = createHash("md5").update(`${LT_USERNAME}:${LT_REALM}:${LT_PASSWORD}`, "utf8").digest();
  const key = (): HmacKey => createHmacKey("sha1", new Uint8Array(md5Key));

  it("decodes every attribute", () => {
    expect(msg.method).toBe(Method.Binding);
    expect(msg.messageClass).toBe(MessageClass.Request);
    expect(toHex(msg.transactionId)).toBe("78ad3433c6ad72c029da412e");
    expect(msg.get(Username)).toBe(LT_USERNAME);
    expect(msg.get(Nonce)).toBe("f//499k954d6OL34oL9FSTvy64sA");
    expect(msg.get(Realm)).toBe(LT_REALM);
    expect(msg.attributeCount).toBe(4);
  });

  it("has a valid MESSAGE-INTEGRITY with the MD5 long-term key, and no FINGERPRINT", () => {
    expect(checkMessageIntegrity(msg, key())).toBe("valid");
    expect(checkFingerprint(msg)).toBe("absent");
  });

  it("matches longTermKey with the already-SASLprep'd password", () => {
    expect(toHex(longTermKey(LT_USERNAME, LT_REALM, LT_PASSWORD, { processPassword: false }))).toBe(md5Key.toString("hex"));
  });

  it("re-encodes to the same bytes with zero padding", () => {
    const out = new StunMessageBuilder()
      .begin(Method.Binding, MessageClass.Request, TID_LONG)
      .add(Username, LT_USERNAME)
      .add(Nonce, "f//499k954d6OL34oL9FSTvy64sA")
      .add(Realm, LT_REALM)
      .addMessageIntegrity(key())
      .finish();
    expect(toHex(out)).toBe(toHex(REQUEST_LONG_TERM));
  });
});

/**
 * RFC 8489 Appendix B.1 as printed does not decode: its header length field is 0x009c (156),
 * which is the size of the whole message *including* the 20-byte header; the attributes take
 * 136 bytes (0x0088). A decoder that checks the length against the datagram, as RFC 8489 §6.3
 * requires, sees a message 20 bytes shorter than its length field and rejects it.
 *
 * The HMAC-SHA256 in the vector was computed over the header *with that wrong length field*
 * (0x009c, which is not "adjusted to point to the end of the MESSAGE-INTEGRITY-SHA256
 * attribute" as §14.6 says). So with the length corrected to 0x0088 the message decodes but its
 * MESSAGE-INTEGRITY-SHA256 does not verify, and with the length as printed it does not decode.
 * What does hold: USERHASH = SHA-256("マトリックス:example.org"), the key
 * SHA-256("マトリックス:example.org:TheMatrIX") reproduces the printed HMAC over the printed
 * bytes, and the same fields re-encoded by icekit verify. The vector has no PASSWORD-ALGORITHM
 * attribute (though SHA-256 is the algorithm it uses), so there is nothing to check there.
 */
describe("RFC 8489 Appendix B.1 (MESSAGE-INTEGRITY-SHA256 and USERHASH; erratum in the length field)", () => {
  const sha256Key = createHash("sha256").update(`${LT_USERNAME}:${LT_REALM}:${LT_PASSWORD}`, "utf8").digest();
  const key = (): HmacKey => createHmacKey("sha256", new Uint8Array(sha256Key));
  const NONCE = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";
  const corrected = B1_AS_PRINTED.slice();
  corrected[2] = 0x00;
  corrected[3] = 0x88;

  it("as printed: the length field counts the header, so the decoder refuses it", () => {
    expect(B1_AS_PRINTED.length).toBe(156);
    expect(() => decodeStunMessage(B1_AS_PRINTED)).toThrow(expect.objectContaining({ name: "StunDecodeError", code: "TRUNCATED" }));
  });

  it("as printed: the HMAC is over the printed bytes (wrong length included) with the SHA-256 key", () => {
    const signed = B1_AS_PRINTED.subarray(0, B1_AS_PRINTED.length - 36);
    const printedMac = B1_AS_PRINTED.subarray(B1_AS_PRINTED.length - 32);
    expect(toHex(key().compute(signed))).toBe(toHex(printedMac));
    // Cross-check the pure HMAC against node:crypto.
    expect(createHmac("sha256", sha256Key).update(signed).digest("hex")).toBe(toHex(printedMac));
  });

  it("with the length corrected: every attribute decodes", () => {
    const msg = decodeStunMessage(corrected);
    expect(msg.method).toBe(Method.Binding);
    expect(msg.messageClass).toBe(MessageClass.Request);
    expect(toHex(msg.get(Userhash)!)).toBe("4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704");
    expect(toHex(msg.get(Userhash)!)).toBe(createHash("sha256").update(`${LT_USERNAME}:${LT_REALM}`, "utf8").digest("hex"));
    expect(toHex(userHash(LT_USERNAME, LT_REALM))).toBe(toHex(msg.get(Userhash)!));
    expect(msg.get(Nonce)).toBe(NONCE);
    expect(msg.get(Realm)).toBe(LT_REALM);
    expect(msg.get(MessageIntegritySha256)!.length).toBe(32);
    expect(msg.get(PasswordAlgorithmAttr)).toBeUndefined();
    expect(msg.get(Username)).toBeUndefined();
  });

  it("with the length corrected: MESSAGE-INTEGRITY-SHA256 does not verify (the erratum), by one field only", () => {
    const msg = decodeStunMessage(corrected);
    expect(checkMessageIntegritySha256(msg, key())).toBe("invalid");
    expect(checkMessageIntegrity(msg, createHmacKey("sha1", new Uint8Array(16)))).toBe("absent");
  });

  it("the SHA-256 long-term key matches longTermKey", () => {
    expect(toHex(longTermKey(LT_USERNAME, LT_REALM, LT_PASSWORD, { algorithm: "SHA-256", processPassword: false }))).toBe(sha256Key.toString("hex"));
  });

  it("re-encoded by icekit, the same fields give the printed bytes but for the length and the HMAC, and verify", () => {
    const out = new StunMessageBuilder()
      .begin(Method.Binding, MessageClass.Request, TID_LONG)
      .add(Userhash, userHash(LT_USERNAME, LT_REALM))
      .add(Nonce, NONCE)
      .add(Realm, LT_REALM)
      .addMessageIntegritySha256(key())
      .finish();
    expect(out.length).toBe(156);
    expect(toHex(out.subarray(0, 2))).toBe("0001");
    expect(toHex(out.subarray(2, 4))).toBe("0088");
    expect(toHex(out.subarray(4, 156 - 32))).toBe(toHex(corrected.subarray(4, 156 - 32)));
    const msg = decodeStunMessage(out);
    expect(checkMessageIntegritySha256(msg, key())).toBe("valid");
    expect(checkIntegrity(msg, { sha1: createHmacKey("sha1", new Uint8Array(16)), sha256: key() })).toBe("valid");
  });
});
