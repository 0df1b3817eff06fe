/**
 * Tests of STUN credentials: the short-term and long-term keys (RFC 8489 §9.1.1, §9.2.2,
 * §18.5.1), USERHASH (§14.4), the credential bundle and the nonce cookie's security features
 * (§9.2, §18.1), against the vectors of RFC 5769 §2.1 and §2.4 and RFC 8489 Appendix B.1 and
 * against node:crypto.
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createHmacKey } from "../../src/crypto/hmac";
import type { HmacAlgorithm, HmacFactory, HmacKey } from "../../src/crypto/types";
import { isIcekitError } from "../../src/errors";
import {
  NONCE_COOKIE,
  PasswordAlgorithm,
  longTermCredential,
  longTermKey,
  makeNonceWithFeatures,
  nonceSecurityFeatureBits,
  parseNonceSecurityFeatures,
  passwordAlgorithmName,
  passwordAlgorithmNumber,
  shortTermCredential,
  shortTermKey,
  userHash,
} from "../../src/stun/credentials";

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const nodeHash = (algorithm: "md5" | "sha256", text: string): string =>
  createHash(algorithm).update(Buffer.from(text, "utf8")).digest("hex");

/** RFC 5769 §2.4 and RFC 8489 Appendix B.1: "マトリックス". */
const MATRIX_USER = "\u30de\u30c8\u30ea\u30c3\u30af\u30b9";
/** The password of those vectors before SASLprep ("and after: TheMatrIX"). */
const MATRIX_PASSWORD_RAW = "The\u00adM\u00aatr\u2168";

/** RFC 5769 §2.1: short-term request, MESSAGE-INTEGRITY then FINGERPRINT. */
const RFC5769_2_1 = hex(`
  00010058 2112a442 b7e7a701 bc34d686 fa87dfae 80220010 5354554e 20746573 7420636c 69656e74
  00240004 6e0001ff 80290008 932ff9b1 51263b36 00060009 6576746a 3a683676 59202020 00080014
  9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2 80280004 e57a3bcf`);

/** RFC 5769 §2.4: long-term request, MESSAGE-INTEGRITY last. */
const RFC5769_2_4 = hex(`
  00010060 2112a442 78ad3433 c6ad72c0 29da412e 00060012 e3839ee3 8388e383 aae38383 e382afe3
  82b90000 0015001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341 0014000b
  6578616d 706c652e 6f726700 00080014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666`);

/** RFC 8489 Appendix B.1: USERHASH, NONCE, REALM, MESSAGE-INTEGRITY-SHA256 last. */
const RFC8489_B_1 = hex(`
  0001009c 2112a442 78ad3433 c6ad72c0 29da412e 001e0020 4a3cf38f ef6992bd a952c678 0417da0f
  24819415 569e60b2 05c46e41 407f1704 00150029 6f624d61 744a6f73 32414141 43662f2f 3439396b
  39353464 364f4c33 346f4c39 46535476 79363473 41000000 0014000b 6578616d 706c652e 6f726700
  001c0020 e4686c8f 0edeb590 13e07090 010a93ef ccbccc54 4c0a45d9 f830aa6d 6f735a01`);

function thrown(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isIcekitError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("did not throw");
}

describe("password algorithms (RFC 8489 §18.5)", () => {
  it("has the registry numbers", () => {
    expect(PasswordAlgorithm.MD5).toBe(0x0001);
    expect(PasswordAlgorithm.SHA256).toBe(0x0002);
    expect(passwordAlgorithmNumber("MD5")).toBe(1);
    expect(passwordAlgorithmNumber("SHA-256")).toBe(2);
    expect(passwordAlgorithmName(1)).toBe("MD5");
    expect(passwordAlgorithmName(2)).toBe("SHA-256");
    expect(passwordAlgorithmName(0)).toBeUndefined();
    expect(passwordAlgorithmName(0x8000)).toBeUndefined();
  });
});

describe("shortTermKey (RFC 8489 §9.1.1)", () => {
  it("is the UTF-8 of OpaqueString(password)", () => {
    expect(toHex(shortTermKey("VOkJxbRl1RmTxUk/WvJxBt"))).toBe(Buffer.from("VOkJxbRl1RmTxUk/WvJxBt").toString("hex"));
    expect(toHex(shortTermKey("e\u0301\u00a0"))).toBe("c3a920");
  });

  it("refuses a password OpaqueString rejects, with an IcekitError", () => {
    const e = thrown(() => shortTermKey("pass\n"));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toMatch(/^password contains U\+000A/);
    expect(thrown(() => shortTermKey("")).code).toBe("INVALID_ARGUMENT");
  });

  it("signs RFC 5769 §2.1's MESSAGE-INTEGRITY", () => {
    const cred = shortTermCredential("evtj:h6vY", "VOkJxbRl1RmTxUk/WvJxBt");
    // §14.5: the length field covers up to MESSAGE-INTEGRITY, not the FINGERPRINT after it
    const miStart = RFC5769_2_1.length - 8 - 24;
    const signed = RFC5769_2_1.slice(0, miStart);
    signed[3] = miStart + 24 - 20;
    expect(toHex(cred.sha1.compute(signed))).toBe(toHex(RFC5769_2_1.subarray(miStart + 4, miStart + 24)));
  });
});

describe("longTermKey (RFC 8489 §9.2.2, §18.5.1)", () => {
  it("gives §9.2.2's example key for user:realm:pass", () => {
    expect(toHex(longTermKey("user", "realm", "pass"))).toBe("8493fbc53ba582fb4c044c456bdc40eb");
  });

  it("gives RFC 5769 §2.4's key, which signs that vector's MESSAGE-INTEGRITY", () => {
    const key = longTermKey(MATRIX_USER, "example.org", "TheMatrIX");
    expect(key.length).toBe(16);
    expect(toHex(key)).toBe(nodeHash("md5", `${MATRIX_USER}:example.org:TheMatrIX`));
    expect(toHex(key)).toBe("e8ca7ad59d5eb0518e312911d2dab2a9");
    expect(toHex(longTermKey(MATRIX_USER, "example.org", "TheMatrIX", { processPassword: false }))).toBe(toHex(key));
    const end = RFC5769_2_4.length - 24;
    const mac = createHmacKey("sha1", key).compute(RFC5769_2_4, 0, end);
    expect(toHex(mac)).toBe(toHex(RFC5769_2_4.subarray(end + 4)));
  });

  it("differs from RFC 5389's SASLprep for that vector's unprepared password (the compatibility caveat)", () => {
    // SASLprep maps U+00AD to nothing and NFKC maps ª to a and Ⅸ to IX; OpaqueString does neither
    const e = thrown(() => longTermKey(MATRIX_USER, "example.org", MATRIX_PASSWORD_RAW));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toMatch(/U\+00AD/);
    const withoutSoftHyphen = longTermKey(MATRIX_USER, "example.org", "TheM\u00aatr\u2168");
    expect(toHex(withoutSoftHyphen)).toBe(nodeHash("md5", `${MATRIX_USER}:example.org:TheM\u00aatr\u2168`));
    expect(toHex(withoutSoftHyphen)).not.toBe("e8ca7ad59d5eb0518e312911d2dab2a9");
  });

  it("hashes with SHA-256 for the SHA-256 password algorithm", () => {
    const key = longTermKey(MATRIX_USER, "example.org", "TheMatrIX", { algorithm: "SHA-256" });
    expect(key.length).toBe(32);
    expect(toHex(key)).toBe(nodeHash("sha256", `${MATRIX_USER}:example.org:TheMatrIX`));
  });

  it("gives the key of RFC 8489 Appendix B.1, whose MESSAGE-INTEGRITY-SHA256 it reproduces", () => {
    // The vector carries no PASSWORD-ALGORITHM, yet its HMAC needs the SHA-256 key, not MD5.
    // Its header says length 0x9c (156), the whole message, where §14.6 would give 0x88 (136);
    // the HMAC was computed over the header as printed, so it is checked over the bytes as they are.
    expect(RFC8489_B_1.length).toBe(156);
    const cred = longTermCredential(MATRIX_USER, "example.org", "TheMatrIX", { algorithm: "SHA-256" });
    const end = RFC8489_B_1.length - 36;
    expect(toHex(cred.sha256.compute(RFC8489_B_1, 0, end))).toBe(toHex(RFC8489_B_1.subarray(end + 4)));
    const md5Key = longTermKey(MATRIX_USER, "example.org", "TheMatrIX");
    expect(toHex(createHmacKey("sha256", md5Key).compute(RFC8489_B_1, 0, end))).not.toBe(
      toHex(RFC8489_B_1.subarray(end + 4)),
    );
  });

  it("applies OpaqueString to the realm and password but uses the username as given", () => {
    const key = (u: string, r: string, p: string): string => toHex(longTermKey(u, r, p));
    expect(key("u", "exa\u00a0mple", "p")).toBe(key("u", "exa mple", "p"));
    expect(key("u", "r", "e\u0301")).toBe(key("u", "r", "\u00e9"));
    expect(key("e\u0301", "r", "p")).toBe(nodeHash("md5", "e\u0301:r:p"));
    expect(key("e\u0301", "r", "p")).not.toBe(key("\u00e9", "r", "p"));
  });

  it("hashes the password unprocessed when processPassword is false", () => {
    expect(toHex(longTermKey("u", "r", "p\u00a0x", { processPassword: false }))).toBe(nodeHash("md5", "u:r:p\u00a0x"));
    expect(toHex(longTermKey("u", "r", "p\u00a0x"))).toBe(nodeHash("md5", "u:r:p x"));
  });

  it("removes trailing nulls and enclosing quotes as §9.2.2 says", () => {
    const plain = toHex(longTermKey("user", "realm", "pass"));
    expect(toHex(longTermKey("user\0", "realm\0\0", "pass\0"))).toBe(plain);
    expect(toHex(longTermKey('"user"', '"realm"', "pass"))).toBe(plain);
    expect(toHex(longTermKey('"user"\0', '"realm"', "pass"))).toBe(plain);
    expect(toHex(longTermKey("user", "realm", '"pass"'))).toBe(nodeHash("md5", 'user:realm:"pass"'));
  });

  it("refuses what cannot be hashed", () => {
    expect(thrown(() => longTermKey("u", "r", "p", { algorithm: "SHA-1" as "MD5" })).message).toMatch(/not "MD5" or "SHA-256"/);
    expect(thrown(() => longTermKey("u", "", "p")).message).toMatch(/^realm is empty/);
    expect(thrown(() => longTermKey("u", "r", "")).message).toMatch(/^password is empty/);
    expect(thrown(() => longTermKey("u\ud800", "r", "p")).message).toMatch(/^username contains an unpaired surrogate/);
    expect(thrown(() => longTermKey("u", "r", "p\ud800", { processPassword: false })).message).toMatch(/^password/);
    expect(thrown(() => longTermKey("u", "r\u0001", "p")).message).toMatch(/^realm contains U\+0001/);
  });

  it("equals MD5 and SHA-256 of the joined strings for printable ASCII", () => {
    const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
    const text = fc.string({ unit: printable, minLength: 1 }).filter((s) => !(s.length >= 2 && s.startsWith('"') && s.endsWith('"')));
    fc.assert(
      fc.property(text, text, text, fc.constantFrom("MD5" as const, "SHA-256" as const), (u, r, p, algorithm) => {
        const expected = nodeHash(algorithm === "MD5" ? "md5" : "sha256", `${u}:${r}:${p}`);
        expect(toHex(longTermKey(u, r, p, { algorithm }))).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe("userHash (RFC 8489 §14.4)", () => {
  it("gives the USERHASH of RFC 8489 Appendix B.1", () => {
    const h = userHash(MATRIX_USER, "example.org");
    expect(toHex(h)).toBe("4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704");
    expect(toHex(h)).toBe(toHex(RFC8489_B_1.subarray(24, 56)));
  });

  it("applies OpaqueString to both the username and the realm", () => {
    expect(toHex(userHash("e\u0301", "a\u3000b"))).toBe(nodeHash("sha256", "\u00e9:a b"));
    expect(thrown(() => userHash("", "r")).message).toMatch(/^username is empty/);
    expect(thrown(() => userHash("u", "r\n")).message).toMatch(/^realm contains U\+000A/);
  });
});

/** An HmacFactory that counts how often it keys each algorithm. */
function countingFactory(): { factory: HmacFactory; calls: Record<HmacAlgorithm, number> } {
  const calls: Record<HmacAlgorithm, number> = { sha1: 0, sha256: 0 };
  const factory = (algorithm: HmacAlgorithm, key: Uint8Array): HmacKey => {
    calls[algorithm]++;
    return createHmacKey(algorithm, key);
  };
  return { factory, calls };
}

describe("StunCredential", () => {
  it("bundles a short-term credential", () => {
    const cred = shortTermCredential("evtj:h6vY", "VOkJxbRl1RmTxUk/WvJxBt");
    expect(cred.kind).toBe("short-term");
    expect(cred.username).toBe("evtj:h6vY");
    expect("realm" in cred).toBe(false);
    expect(toHex(cred.key)).toBe(Buffer.from("VOkJxbRl1RmTxUk/WvJxBt").toString("hex"));
    expect(cred.sha1.algorithm).toBe("sha1");
    expect(cred.sha256.algorithm).toBe("sha256");
  });

  it("bundles a long-term credential with OpaqueString-enforced username and realm", () => {
    const cred = longTermCredential("\u212bngstro\u0308m", "exa\u00a0mple", "pass", { algorithm: "SHA-256" });
    expect(cred.kind).toBe("long-term");
    expect(cred.username).toBe("\u00c5ngstr\u00f6m");
    expect(cred.realm).toBe("exa mple");
    expect(cred.algorithm).toBe("SHA-256");
    expect(toHex(cred.key)).toBe(nodeHash("sha256", "\u00c5ngstr\u00f6m:exa mple:pass"));
    expect(longTermCredential("user", "realm", "pass").algorithm).toBe("MD5");
    expect(toHex(longTermCredential("user\0", "realm", "pass").key)).toBe("8493fbc53ba582fb4c044c456bdc40eb");
  });

  it("keys each HMAC once, on first use, and reuses it for every message", () => {
    const { factory, calls } = countingFactory();
    const cred = longTermCredential("user", "realm", "pass", { hmac: factory });
    expect(calls).toEqual({ sha1: 0, sha256: 0 });
    const first = cred.sha1;
    for (let i = 0; i < 5; i++) expect(cred.sha1).toBe(first);
    expect(cred.sha256).toBe(cred.sha256);
    expect(calls).toEqual({ sha1: 1, sha256: 1 });
    const short = countingFactory();
    const sc = shortTermCredential("a:b", "pw", short.factory);
    sc.sha256.compute(new Uint8Array(20));
    sc.sha256.compute(new Uint8Array(40));
    expect(short.calls).toEqual({ sha1: 0, sha256: 1 });
  });

  it("computes the same MACs as node:crypto", () => {
    const cred = longTermCredential("user", "realm", "pass");
    const data = new Uint8Array(100).map((_, i) => i * 7);
    expect(toHex(cred.sha1.compute(data))).toBe(createHmac("sha1", cred.key).update(data).digest("hex"));
    expect(toHex(cred.sha256.compute(data))).toBe(createHmac("sha256", cred.key).update(data).digest("hex"));
  });

  it("refuses usernames OpaqueString rejects", () => {
    expect(thrown(() => shortTermCredential("a\u0000b", "pw")).message).toMatch(/^username contains U\+0000/);
    expect(thrown(() => longTermCredential("", "realm", "pw")).message).toMatch(/^username is empty/);
  });
});

describe("nonce cookie and security features (RFC 8489 §9.2, §18.1)", () => {
  const all = [
    { passwordAlgorithms: false, usernameAnonymity: false },
    { passwordAlgorithms: true, usernameAnonymity: false },
    { passwordAlgorithms: false, usernameAnonymity: true },
    { passwordAlgorithms: true, usernameAnonymity: true },
  ];

  it("encodes bit 0 as the most significant of the 24 bits", () => {
    const encoded = all.map((f) => makeNonceWithFeatures(f, "x").slice(9, 13));
    expect(encoded).toEqual(["AAAA", "gAAA", "QAAA", "wAAA"]);
    expect(nonceSecurityFeatureBits("obMatJos2gAAAx")).toBe(0x800000);
    expect(nonceSecurityFeatureBits("obMatJos2QAAAx")).toBe(0x400000);
  });

  it("round-trips all four feature combinations with any opaque part", () => {
    const qdtext = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).filter((c) => c !== 0x22 && c !== 0x5c).map((c) => String.fromCharCode(c)),
      maxLength: 100,
    });
    fc.assert(
      fc.property(fc.constantFrom(...all), qdtext, (features, opaque) => {
        const nonce = makeNonceWithFeatures(features, opaque);
        expect(nonce.startsWith(NONCE_COOKIE)).toBe(true);
        expect(nonce.slice(13)).toBe(opaque);
        expect(parseNonceSecurityFeatures(nonce)).toEqual(features);
      }),
    );
  });

  it("finds no cookie in an RFC 5389 nonce or a malformed one", () => {
    expect(parseNonceSecurityFeatures("f//499k954d6OL34oL9FSTvy64sA")).toBeUndefined(); // RFC 5769 §2.4
    expect(parseNonceSecurityFeatures("obMatJos2AA")).toBeUndefined();
    expect(parseNonceSecurityFeatures("obMatJos2AA=Axyz")).toBeUndefined();
    expect(parseNonceSecurityFeatures("obMatJos")).toBeUndefined();
    expect(parseNonceSecurityFeatures("")).toBeUndefined();
    expect(parseNonceSecurityFeatures("obmatjos2AAAA")).toBeUndefined();
  });

  it("reads RFC 8489 Appendix B.1's nonce by §18.1's numbering, where it sets only unassigned bit 22", () => {
    const nonce = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";
    expect(new TextDecoder().decode(RFC8489_B_1.subarray(60, 60 + 41))).toBe(nonce);
    expect(nonceSecurityFeatureBits(nonce)).toBe(0x000002);
    expect(parseNonceSecurityFeatures(nonce)).toEqual({ passwordAlgorithms: false, usernameAnonymity: false });
  });

  it("refuses an opaque part NONCE cannot carry, or a nonce of 128 characters", () => {
    const none = all[0]!;
    expect(thrown(() => makeNonceWithFeatures(none, 'a"b')).code).toBe("INVALID_ARGUMENT");
    expect(thrown(() => makeNonceWithFeatures(none, "a\\b")).code).toBe("INVALID_ARGUMENT");
    expect(thrown(() => makeNonceWithFeatures(none, "a\nb")).code).toBe("INVALID_ARGUMENT");
    expect(makeNonceWithFeatures(none, "x".repeat(114))).toHaveLength(127);
    expect(thrown(() => makeNonceWithFeatures(none, "x".repeat(115))).message).toMatch(/at most 114 characters/);
  });
});
