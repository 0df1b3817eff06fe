/**
 * Tests of the OpaqueString profile (RFC 8265 §4.2): the mapping and normalization rules, the
 * FreeformClass code points it refuses (RFC 8264 §8, §9; RFC 5892 §2.6 and Appendix A), and
 * the properties PRECIS promises (idempotence, printable ASCII unchanged).
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isIcekitError } from "../../src/errors";
import { opaqueString, tryOpaqueString } from "../../src/stun/opaque-string";

/** The IcekitError opaqueString throws for `s`, for looking at its code and message. */
function rejection(s: string): { code: string; message: string } {
  try {
    opaqueString(s, "password");
  } catch (e) {
    if (isIcekitError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error(`opaqueString accepted ${JSON.stringify(s)}`);
}

describe("opaqueString: rules that change the string (RFC 8265 §4.2.2)", () => {
  it("returns printable ASCII unchanged, spaces included", () => {
    for (const s of ["pass", "VOkJxbRl1RmTxUk/WvJxBt", "a b", " ", "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./"]) {
      expect(opaqueString(s)).toBe(s);
    }
  });

  it("normalizes to NFC", () => {
    expect(opaqueString("e\u0301")).toBe("\u00e9");
    expect(opaqueString("\u212b")).toBe("\u00c5"); // ANGSTROM SIGN is a canonical singleton
    expect(opaqueString("\u1e9b\u0323")).toBe("\u1e9b\u0323"); // NFC, not NFKC (UAX #15's example)
  });

  it("maps non-ASCII spaces (Zs) to U+0020", () => {
    expect(opaqueString("a\u00a0b")).toBe("a b");
    expect(opaqueString("\u3000x\u3000")).toBe(" x ");
    expect(opaqueString("\u2009\u202f\u205f")).toBe("   ");
  });

  it("keeps compatibility characters as they are, unlike SASLprep's NFKC", () => {
    // RFC 5769 §2.4's password without its soft hyphen: SASLprep gives "TheMatrIX"
    expect(opaqueString("TheM\u00aatr\u2168")).toBe("TheM\u00aatr\u2168");
    expect(opaqueString("\uff21\ufb01")).toBe("\uff21\ufb01"); // FULLWIDTH A, LATIN SMALL LIGATURE FI
  });

  it("accepts letters, marks, digits, symbols and punctuation of any script, astral too", () => {
    for (const s of ["\u30de\u30c8\u30ea\u30c3\u30af\u30b9", "\u043f\u0430\u0440\u043e\u043b\u044c", "\u00df\u03c2", "\u{1f642}", "\u{20000}", "\u3131"]) {
      expect(opaqueString(s)).toBe(s);
    }
  });

  it("accepts modern jamo that NFC composes into a syllable", () => {
    expect(opaqueString("\u1100\u1161")).toBe("\uac00");
  });
});

describe("opaqueString: code points the FreeformClass disallows (RFC 8264 §8)", () => {
  it("rejects the empty string and says so", () => {
    const r = rejection("");
    expect(r.code).toBe("INVALID_ARGUMENT");
    expect(r.message).toMatch(/empty/);
  });

  it("rejects control characters, naming the code point and its position", () => {
    expect(rejection("pass\n").message).toMatch(/U\+000A \(a control character\) at position 4/);
    for (const s of ["\u0000", "a\tb", "\u007f", "\u0085", "\r"]) expect(tryOpaqueString(s)).toBeUndefined();
  });

  it("rejects default-ignorable code points such as the soft hyphen", () => {
    const r = rejection("The\u00adM\u00aatr\u2168");
    expect(r.code).toBe("INVALID_ARGUMENT");
    expect(r.message).toMatch(/U\+00AD \(a default-ignorable code point\) at position 3/);
    for (const s of ["a\u200bb", "\ufeffx", "x\u2060", "\u034f", "\u180e"]) expect(tryOpaqueString(s)).toBeUndefined();
  });

  it("rejects noncharacters, unassigned code points, surrogates, private use and separators", () => {
    expect(rejection("\ufdd0").message).toMatch(/U\+FDD0 \(a noncharacter\)/);
    expect(rejection("a\uffff").message).toMatch(/U\+FFFF \(a noncharacter\) at position 1/);
    expect(rejection("\u0378").message).toMatch(/U\+0378 \(a code point unassigned/);
    expect(rejection("ab\ud800").message).toMatch(/U\+D800 \(an unpaired surrogate/);
    expect(rejection("\udc00").message).toMatch(/U\+DC00/);
    expect(rejection("\ue000").message).toMatch(/private-use/);
    expect(rejection("\u{10fffd}").message).toMatch(/U\+10FFFD \(a private-use/);
    expect(rejection("a\u2028").message).toMatch(/line or paragraph separator/);
    expect(rejection("\u0600").message).toMatch(/format character/);
  });

  it("rejects old Hangul jamo that stay uncomposed", () => {
    expect(rejection("\u1100").message).toMatch(/U\+1100 \(a conjoining Hangul jamo/);
    expect(tryOpaqueString("\ua960")).toBeUndefined();
    expect(tryOpaqueString("\ud7b0")).toBeUndefined();
  });

  it("applies RFC 5892 §2.6's DISALLOWED exceptions", () => {
    for (const s of ["\u0640", "\u07fa", "\u302e", "\u3031", "\u303b"]) expect(tryOpaqueString(s)).toBeUndefined();
  });

  it("applies the CONTEXTO rules of RFC 5892 Appendix A.3-A.9", () => {
    expect(opaqueString("col\u00b7lecci\u00f3")).toBe("col\u00b7lecci\u00f3"); // Catalan l·l
    expect(rejection("a\u00b7b").message).toMatch(/U\+00B7 \(a code point whose context rule/);
    expect(opaqueString("\u0375\u03b1")).toBe("\u0375\u03b1");
    expect(tryOpaqueString("\u0375a")).toBeUndefined();
    expect(opaqueString("\u05d0\u05f3")).toBe("\u05d0\u05f3");
    expect(tryOpaqueString("a\u05f4")).toBeUndefined();
    expect(opaqueString("\u30fb\u30ab")).toBe("\u30fb\u30ab");
    expect(tryOpaqueString("\u30fbab")).toBeUndefined();
    expect(opaqueString("\u0660\u0661")).toBe("\u0660\u0661");
    expect(opaqueString("\u06f0\u06f1")).toBe("\u06f0\u06f1");
    expect(tryOpaqueString("\u0660\u06f1")).toBeUndefined();
  });

  it("applies the CONTEXTJ rules of RFC 5892 Appendix A.1-A.2 to the joiners", () => {
    expect(opaqueString("\u0915\u094d\u200d\u0937")).toBe("\u0915\u094d\u200d\u0937"); // ZWJ after DEVANAGARI VIRAMA
    expect(opaqueString("\u0915\u094d\u200c\u0937")).toBe("\u0915\u094d\u200c\u0937"); // ZWNJ after a virama
    expect(opaqueString("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645")).toBe(
      "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
    ); // Persian ZWNJ between joining letters
    expect(rejection("a\u200db").message).toMatch(/U\+200D \(a zero width \(non-\)joiner/);
    expect(tryOpaqueString("\u200c")).toBeUndefined();
    expect(tryOpaqueString("a\u200cb")).toBeUndefined();
  });

  it("reports positions in the normalized string when normalization changed it", () => {
    expect(rejection("e\u0301\u0000").message).toMatch(/U\+0000 \(a control character\) at position 1 after NFC/);
  });

  it("checks the class after normalization: GREEK ANO TELEIA becomes a context-bound MIDDLE DOT", () => {
    // U+0387 is valid punctuation, but NFC maps it to U+00B7, which RFC 5892 A.3 allows only in l·l
    expect(tryOpaqueString("a\u0387b")).toBeUndefined();
    expect(opaqueString("l\u0387l")).toBe("l\u00b7l");
  });

  it("uses the name it is given in the message and never echoes the whole string", () => {
    const r = rejection("secret\u0007");
    expect(r.message).toMatch(/^password contains U\+0007/);
    expect(r.message).not.toContain("secret");
  });

  it("refuses a non-string with an IcekitError, not a TypeError", () => {
    expect(() => opaqueString(42 as unknown as string)).toThrow(/must be a string/);
    expect(tryOpaqueString(undefined as unknown as string)).toBeUndefined();
  });
});

describe("opaqueString: properties", () => {
  const interesting = fc.constantFrom(
    "e", "l", "a", " ", "\u0301", "\u00a0", "\u3000", "\u00ad", "\u00b7", "\u0387", "\u200c", "\u200d",
    "\u094d", "\u0915", "\u0645", "\u1100", "\u1161", "\u11a8", "\u212b", "\u0660", "\u06f0", "\u30fb",
    "\u30ab", "\u0375", "\u03b1", "\u05d0", "\u05f3", "\u0000", "\ud800", "\u{1f642}", "\u0340", "\u0344",
  );
  const anyString = fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: interesting }), fc.string({ unit: "grapheme" }));

  it("is idempotent on the strings it accepts, and throws exactly when tryOpaqueString says no", () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const once = tryOpaqueString(s);
        if (once === undefined) {
          expect(() => opaqueString(s)).toThrow();
          return;
        }
        expect(opaqueString(s)).toBe(once);
        expect(opaqueString(once)).toBe(once);
        expect(once.normalize("NFC")).toBe(once);
        expect(/(?! )\p{Zs}/u.test(once)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts every non-empty printable ASCII string unchanged", () => {
    const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.string({ unit: printable, minLength: 1 }), (s) => {
        expect(opaqueString(s)).toBe(s);
      }),
    );
  });

  it("never throws anything but an IcekitError", () => {
    fc.assert(
      fc.property(anyString, (s) => {
        try {
          opaqueString(s);
        } catch (e) {
          expect(isIcekitError(e)).toBe(true);
        }
      }),
    );
  });
});
