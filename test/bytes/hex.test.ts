/**
 * Hex and base64 text forms: known answers (RFC 4648 §10), the forms copied from RFCs and
 * Wireshark, round trips, and refusals with StunDecodeError BAD_TEXT.
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromBase64, fromHex, looksLikeHex, toBase64, toHex } from "../../src/bytes/hex";
import { isStunDecodeError } from "../../src/errors";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The StunDecodeError code `f` throws. */
function textError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isStunDecodeError(e)) return e.code;
    throw e;
  }
  throw new Error("expected a StunDecodeError");
}

describe("hex", () => {
  it("writes lower-case pairs, optionally of a range", () => {
    expect(toHex(new Uint8Array([0x21, 0x12, 0xa4, 0x42]))).toBe("2112a442");
    expect(toHex(new Uint8Array(0))).toBe("");
    expect(toHex(new Uint8Array([0, 1, 0xff, 0x10]), 1, 3)).toBe("01ff");
  });

  it("reads the forms RFCs and packet dumps use", () => {
    expect(toHex(fromHex("0001 0058\n2112a442"))).toBe("000100582112a442");
    expect(toHex(fromHex("00:01:00:58"))).toBe("00010058");
    expect(toHex(fromHex("0x00 0x01 0xAB 0xcd"))).toBe("0001abcd");
    expect(toHex(fromHex("DEADbeef"))).toBe("deadbeef");
    expect(toHex(fromHex("\t00\r\n01 "))).toBe("0001");
    expect(fromHex("")).toHaveLength(0);
  });

  it("refuses odd digit counts and other characters with BAD_TEXT", () => {
    expect(textError(() => fromHex("abc"))).toBe("BAD_TEXT");
    expect(textError(() => fromHex("zz"))).toBe("BAD_TEXT");
    expect(textError(() => fromHex("00-01"))).toBe("BAD_TEXT");
    expect(textError(() => fromHex("0g"))).toBe("BAD_TEXT");
  });

  it("round trips any bytes, in either case", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const h = toHex(b);
        expect(h).toBe(Buffer.from(b).toString("hex"));
        expect(fromHex(h)).toEqual(b);
        expect(fromHex(h.toUpperCase())).toEqual(b);
        if (b.length > 0) expect(looksLikeHex(h)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("looksLikeHex tells hex from base64 and words", () => {
    expect(looksLikeHex("0001 0058")).toBe(true);
    expect(looksLikeHex("AAEAWCESpEI=")).toBe(false);
    expect(looksLikeHex("hello")).toBe(false);
    expect(looksLikeHex("")).toBe(false);
  });
});

describe("base64 (RFC 4648)", () => {
  it("§10 test vectors", () => {
    const vectors: [string, string][] = [
      ["", ""],
      ["f", "Zg=="],
      ["fo", "Zm8="],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg=="],
      ["fooba", "Zm9vYmE="],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, b64] of vectors) {
      expect(toBase64(ascii(plain))).toBe(b64);
      expect(fromBase64(b64)).toEqual(ascii(plain));
      expect(fromBase64(b64.replace(/=/g, ""))).toEqual(ascii(plain)); // padding optional
    }
  });

  it("reads the URL-safe alphabet (§5) and ignores whitespace", () => {
    expect(fromBase64("-_-_")).toEqual(new Uint8Array([0xfb, 0xff, 0xbf]));
    expect(fromBase64("+/+/")).toEqual(new Uint8Array([0xfb, 0xff, 0xbf]));
    expect(fromBase64("Zm9v\nYmFy")).toEqual(ascii("foobar"));
    expect(fromBase64(" Zm 9v ")).toEqual(ascii("foo"));
  });

  it("refuses characters outside both alphabets and impossible lengths with BAD_TEXT", () => {
    expect(textError(() => fromBase64("Zm9v!"))).toBe("BAD_TEXT");
    expect(textError(() => fromBase64("Z"))).toBe("BAD_TEXT");
    expect(textError(() => fromBase64("Zm9vY"))).toBe("BAD_TEXT");
    expect(textError(() => fromBase64("Zm.v"))).toBe("BAD_TEXT");
  });

  it("round trips any bytes and agrees with node's Buffer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const s = toBase64(b);
        expect(s).toBe(Buffer.from(b).toString("base64"));
        expect(fromBase64(s)).toEqual(b);
        expect(fromBase64(Buffer.from(b).toString("base64url"))).toEqual(b);
      }),
      { numRuns: 500 },
    );
  });
});
