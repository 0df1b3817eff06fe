/**
 * The published test vectors: FIPS 180-2 Appendix A/B examples for SHA-1 and SHA-256, the
 * RFC 1321 §A.5 test suite for MD5, RFC 2202 §3 (HMAC-SHA1), RFC 4231 §4 (HMAC-SHA256) and the
 * CRC-32/ISO-HDLC check value.
 *
 * @module
 */
import { describe, expect, it } from "vitest";
import { crc32, createHmacKey, hmac, hmacSha1, hmacSha256, Md5, md5, Sha1, sha1, Sha256, sha256 } from "../../src/crypto/index";
import type { HashState } from "../../src/crypto/index";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const repeat = (byte: number, n: number): Uint8Array => new Uint8Array(n).fill(byte);

const MILLION_A = repeat(0x61, 1_000_000);
const ABC448 = ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");

/** Hashes `data` through `h` in pieces of `chunk` bytes, using start/end rather than copies. */
function chunked(h: HashState, data: Uint8Array, chunk: number): Uint8Array {
  h.reset();
  for (let i = 0; i < data.length; i += chunk) h.update(data, i, Math.min(data.length, i + chunk));
  const out = new Uint8Array(h.outputLength);
  h.digestInto(out);
  return out;
}

describe("SHA-1 (FIPS 180-4 §6.1)", () => {
  it('hashes "abc" (one block)', () => {
    expect(hex(sha1(ascii("abc")))).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
  });
  it("hashes the 448-bit message (padding spills into a second block)", () => {
    expect(hex(sha1(ABC448))).toBe("84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  });
  it("hashes one million 'a'", () => {
    expect(hex(sha1(MILLION_A))).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });
  it("hashes one million 'a' fed in uneven pieces", () => {
    expect(hex(chunked(new Sha1(), MILLION_A, 1000))).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    expect(hex(chunked(new Sha1(), MILLION_A, 77))).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });
  it("hashes the empty message", () => {
    expect(hex(sha1(new Uint8Array(0)))).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
  });
  it("reports its block and output lengths", () => {
    const h = new Sha1();
    expect([h.blockLength, h.outputLength]).toEqual([64, 20]);
  });
});

describe("SHA-256 (FIPS 180-4 §6.2)", () => {
  it('hashes "abc" (one block)', () => {
    expect(hex(sha256(ascii("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
  it("hashes the 448-bit message (padding spills into a second block)", () => {
    expect(hex(sha256(ABC448))).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });
  it("hashes one million 'a'", () => {
    expect(hex(sha256(MILLION_A))).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });
  it("hashes one million 'a' fed in uneven pieces", () => {
    expect(hex(chunked(new Sha256(), MILLION_A, 999))).toBe(
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    );
  });
  it("hashes the empty message", () => {
    expect(hex(sha256(new Uint8Array(0)))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
  it("reports its block and output lengths", () => {
    const h = new Sha256();
    expect([h.blockLength, h.outputLength]).toEqual([64, 32]);
  });
});

describe("MD5 (RFC 1321 §A.5 test suite)", () => {
  const suite: [string, string][] = [
    ["", "d41d8cd98f00b204e9800998ecf8427e"],
    ["a", "0cc175b9c0f1b6a831c399e269772661"],
    ["abc", "900150983cd24fb0d6963f7d28e17f72"],
    ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
    ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
    ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
    [
      "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
      "57edf4a22be3c955ac49da2e2107b67a",
    ],
  ];
  for (const [text, digest] of suite) {
    it(`MD5("${text}")`, () => {
      expect(hex(md5(ascii(text)))).toBe(digest);
      expect(hex(chunked(new Md5(), ascii(text), 3))).toBe(digest);
    });
  }
  it("reports its block and output lengths", () => {
    const h = new Md5();
    expect([h.blockLength, h.outputLength]).toEqual([64, 16]);
  });
});

interface HmacCase {
  name: string;
  key: Uint8Array;
  data: Uint8Array;
  mac: string;
  /** Bytes of the MAC the RFC lists, when it truncates. */
  truncate?: number;
}

/** RFC 2202 §3. */
const RFC2202: HmacCase[] = [
  { name: "1", key: repeat(0x0b, 20), data: ascii("Hi There"), mac: "b617318655057264e28bc0b6fb378c8ef146be00" },
  {
    name: "2",
    key: ascii("Jefe"),
    data: ascii("what do ya want for nothing?"),
    mac: "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
  },
  { name: "3", key: repeat(0xaa, 20), data: repeat(0xdd, 50), mac: "125d7342b9ac11cd91a39af48aa17b4f63f175d3" },
  {
    name: "4",
    key: unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
    data: repeat(0xcd, 50),
    mac: "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
  },
  {
    name: "5",
    key: repeat(0x0c, 20),
    data: ascii("Test With Truncation"),
    mac: "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
  },
  {
    name: "6 (key longer than a block)",
    key: repeat(0xaa, 80),
    data: ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
    mac: "aa4ae5e15272d00e95705637ce8a3b55ed402112",
  },
  {
    name: "7 (key and data longer than a block)",
    key: repeat(0xaa, 80),
    data: ascii("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
    mac: "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
  },
];

/** RFC 4231 §4.2–4.8. */
const RFC4231: HmacCase[] = [
  {
    name: "1",
    key: repeat(0x0b, 20),
    data: ascii("Hi There"),
    mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  },
  {
    name: "2",
    key: ascii("Jefe"),
    data: ascii("what do ya want for nothing?"),
    mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  },
  {
    name: "3",
    key: repeat(0xaa, 20),
    data: repeat(0xdd, 50),
    mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
  },
  {
    name: "4",
    key: unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
    data: repeat(0xcd, 50),
    mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
  },
  {
    name: "5 (truncated to 128 bits)",
    key: repeat(0x0c, 20),
    data: ascii("Test With Truncation"),
    mac: "a3b6167473100ee06e0c796c2955552b",
    truncate: 16,
  },
  {
    name: "6 (key longer than a block)",
    key: repeat(0xaa, 131),
    data: ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
    mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  },
  {
    name: "7 (key and data longer than a block)",
    key: repeat(0xaa, 131),
    data: ascii(
      "This is a test using a larger than block-size key and a larger than block-size data. " +
        "The key needs to be hashed before being used by the HMAC algorithm.",
    ),
    mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
  },
];

describe("HMAC-SHA1 (RFC 2202 §3)", () => {
  for (const c of RFC2202) {
    it(`test case ${c.name}`, () => {
      expect(hex(hmacSha1(c.key, c.data))).toBe(c.mac);
      expect(hex(hmac("sha1", c.key, c.data))).toBe(c.mac);
      expect(hex(createHmacKey("sha1", c.key).compute(c.data))).toBe(c.mac);
    });
  }
});

describe("HMAC-SHA256 (RFC 4231 §4)", () => {
  for (const c of RFC4231) {
    it(`test case ${c.name}`, () => {
      const n = c.truncate ?? 32;
      expect(hex(hmacSha256(c.key, c.data).subarray(0, n))).toBe(c.mac);
      expect(hex(hmac("sha256", c.key, c.data).subarray(0, n))).toBe(c.mac);
      expect(hex(createHmacKey("sha256", c.key).compute(c.data).subarray(0, n))).toBe(c.mac);
    });
  }
});

describe("CRC-32/ISO-HDLC", () => {
  it('has the check value 0xCBF43926 for "123456789"', () => {
    expect(crc32(ascii("123456789"))).toBe(0xcbf43926);
  });
  it("is 0 for no bytes", () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
  it("checks a range of a larger buffer", () => {
    const buf = ascii("xx123456789yyy");
    expect(crc32(buf, 2, 11)).toBe(0xcbf43926);
  });
  it("is unsigned", () => {
    // A message whose CRC has the top bit set must not come back negative.
    expect(crc32(ascii("The quick brown fox jumps over the lazy dog"))).toBe(0x414fa339);
    expect(crc32(ascii("a"))).toBe(0xe8b7be43);
  });
});
