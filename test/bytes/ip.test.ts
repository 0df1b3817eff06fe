/**
 * IP address text ⇄ bytes: RFC 5952 canonical IPv6 text, RFC 4291 §2.2 parsing, dotted-quad
 * IPv4 without leading zeros, and the transport-address helpers.
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalIp,
  formatIPv4,
  formatIPv6,
  formatIp,
  formatTransportAddress,
  ipFamily,
  parseIPv4Into,
  parseIPv6Into,
  parseIp,
  sameTransportAddress,
  transportAddress,
} from "../../src/bytes/ip";
import { fromHex, toHex } from "../../src/bytes/hex";
import { IcekitError, isStunDecodeError } from "../../src/errors";

/** Bytes of an IPv6 address written as eight hex groups. */
function groups(...g: number[]): Uint8Array {
  const b = new Uint8Array(16);
  g.forEach((v, k) => {
    b[2 * k] = v >>> 8;
    b[2 * k + 1] = v & 0xff;
  });
  return b;
}

/** Parsed IPv6 bytes as hex, or undefined when the text is refused. */
function v6(text: string): string | undefined {
  const out = new Uint8Array(16);
  return parseIPv6Into(text, out) ? toHex(out) : undefined;
}

/** Parsed IPv4 bytes as dotted text, or undefined when the text is refused. */
function v4(text: string): string | undefined {
  const out = new Uint8Array(4);
  return parseIPv4Into(text, out) ? formatIPv4(out) : undefined;
}

describe("IPv6 formatting (RFC 5952)", () => {
  it("§4.2.1: compresses the longest run of zero groups with ::", () => {
    expect(formatIPv6(groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))).toBe("2001:db8::1");
    expect(formatIPv6(groups(0x2001, 0xdb8, 0, 0, 0, 0, 2, 1))).toBe("2001:db8::2:1");
    expect(formatIPv6(groups(0, 0, 0, 0, 0, 0, 0, 1))).toBe("::1");
    expect(formatIPv6(groups(0, 0, 0, 0, 0, 0, 0, 0))).toBe("::");
    expect(formatIPv6(groups(1, 0, 0, 0, 0, 0, 0, 0))).toBe("1::");
    expect(formatIPv6(groups(0xfe80, 0, 0, 0, 0, 0, 0, 0))).toBe("fe80::");
  });

  it("§4.1: drops leading zeros in each group", () => {
    expect(formatIPv6(groups(0x2001, 0x0db8, 0x000a, 0, 0, 0, 0x00ff, 0x0001))).toBe("2001:db8:a::ff:1");
  });

  it("§4.2.2: does not compress a single zero group", () => {
    expect(formatIPv6(groups(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1))).toBe("2001:db8:0:1:1:1:1:1");
    expect(formatIPv6(groups(0, 1, 2, 3, 4, 5, 6, 7))).toBe("0:1:2:3:4:5:6:7");
    expect(formatIPv6(groups(1, 2, 3, 4, 5, 6, 7, 0))).toBe("1:2:3:4:5:6:7:0");
  });

  it("§4.2.3: compresses the longest run, and the first of tied runs", () => {
    expect(formatIPv6(groups(0x2001, 0, 0, 1, 0, 0, 0, 1))).toBe("2001:0:0:1::1");
    expect(formatIPv6(groups(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1))).toBe("2001:db8::1:0:0:1");
    expect(formatIPv6(groups(0, 0, 1, 0, 0, 1, 0, 0))).toBe("::1:0:0:1:0:0");
    expect(formatIPv6(groups(1, 0, 0, 1, 0, 0, 0, 0))).toBe("1:0:0:1::");
  });

  it("§4.3: lower case", () => {
    expect(formatIPv6(groups(0x2001, 0xdb8, 0xabcd, 0xef, 0, 0, 0, 0xaaaa))).toBe("2001:db8:abcd:ef::aaaa");
  });

  it("§5: IPv4-mapped addresses keep the dotted tail", () => {
    expect(formatIPv6(groups(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201))).toBe("::ffff:192.0.2.1");
    expect(formatIPv6(groups(0, 0, 0, 0, 0, 0xffff, 0, 0))).toBe("::ffff:0.0.0.0");
    // Not mapped (the prefix differs): plain hex.
    expect(formatIPv6(groups(0, 0, 0, 0, 1, 0xffff, 0xc000, 0x0201))).toBe("::1:ffff:c000:201");
    expect(formatIPv6(groups(0, 0, 0, 0, 0, 0xfffe, 0xc000, 0x0201))).toBe("::fffe:c000:201");
  });

  it("reads at an offset", () => {
    const b = new Uint8Array(20);
    b.set(groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 4);
    expect(formatIPv6(b, 4)).toBe("2001:db8::1");
    expect(formatIPv4(fromHex("00c0000201"), 1)).toBe("192.0.2.1");
  });
});

describe("IPv6 parsing (RFC 4291 §2.2)", () => {
  it("reads full, compressed, upper-case, leading-zero and dotted forms", () => {
    expect(v6("2001:db8:0:0:1:0:0:1")).toBe(toHex(groups(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)));
    expect(v6("2001:0DB8:0000:0000:0001:0000:0000:0001")).toBe(toHex(groups(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)));
    expect(v6("::")).toBe("00".repeat(16));
    expect(v6("::1")).toBe(toHex(groups(0, 0, 0, 0, 0, 0, 0, 1)));
    expect(v6("1::")).toBe(toHex(groups(1, 0, 0, 0, 0, 0, 0, 0)));
    expect(v6("1::8")).toBe(toHex(groups(1, 0, 0, 0, 0, 0, 0, 8)));
    expect(v6("1:2:3:4:5:6:7::")).toBe(toHex(groups(1, 2, 3, 4, 5, 6, 7, 0)));
    expect(v6("::2:3:4:5:6:7:8")).toBe(toHex(groups(0, 2, 3, 4, 5, 6, 7, 8)));
    expect(v6("::ffff:192.0.2.1")).toBe(toHex(groups(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201)));
    expect(v6("::FFFF:192.0.2.1")).toBe(toHex(groups(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201)));
    expect(v6("::192.0.2.1")).toBe(toHex(groups(0, 0, 0, 0, 0, 0, 0xc000, 0x0201)));
    expect(v6("1:2:3:4:5:6:192.0.2.1")).toBe(toHex(groups(1, 2, 3, 4, 5, 6, 0xc000, 0x0201)));
    expect(v6("64:ff9b::192.0.2.33")).toBe(toHex(groups(0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221)));
    expect(v6("fe80::1%eth0")).toBe(toHex(groups(0xfe80, 0, 0, 0, 0, 0, 0, 1)));
  });

  it("refuses what is not an IPv6 address", () => {
    for (const bad of [
      "",
      ":",
      ":::",
      "1:2",
      "1::2::3",
      "::1::",
      "12345::",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4::5:6:7:8",
      ":1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:",
      "1:",
      ":1",
      "g::1",
      "::1.2.3",
      "::1.2.3.4.5",
      "::256.1.1.1",
      "1.2.3.4::",
      "1.2.3.4",
      "::1.2.3.4:5",
      "::ffff:01.2.3.4",
      "1:2:3:4:5:6:7:1.2.3.4",
      "[::1]",
      " ::1",
      "::1 ",
      "::-1",
      "::+1",
    ]) {
      expect(v6(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it("round trips any 16 bytes through canonical text", () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    const addr = fc.oneof(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.array(group, { minLength: 8, maxLength: 8 }).map((g) => groups(...g)),
    );
    fc.assert(
      fc.property(addr, (bytes) => {
        const text = formatIPv6(bytes);
        const out = new Uint8Array(16);
        expect(parseIPv6Into(text, out)).toBe(true);
        expect(toHex(out)).toBe(toHex(bytes));
        expect(canonicalIp(text)).toBe(text);
        expect(text).toBe(text.toLowerCase());
        expect(text.split("::").length).toBeLessThanOrEqual(2);
        expect(/(^|:)0[0-9a-f]/.test(text)).toBe(false); // no leading zeros
        expect(ipFamily(text)).toBe("IPv6");
      }),
      { numRuns: 2000 },
    );
  });

  it("canonicalizes any text form of an address", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.boolean(), (g, upper) => {
        // The full, uncompressed form with 4-digit groups.
        let text = g.map((v) => v.toString(16).padStart(4, "0")).join(":");
        if (upper) text = text.toUpperCase();
        expect(canonicalIp(text)).toBe(formatIPv6(groups(...g)));
      }),
      { numRuns: 500 },
    );
  });
});

describe("IPv4", () => {
  it("formats and parses dotted quads", () => {
    expect(formatIPv4(fromHex("c0000201"))).toBe("192.0.2.1");
    expect(v4("0.0.0.0")).toBe("0.0.0.0");
    expect(v4("255.255.255.255")).toBe("255.255.255.255");
    expect(v4("10.0.0.1")).toBe("10.0.0.1");
    expect(v4("100.64.0.100")).toBe("100.64.0.100");
  });

  it("refuses leading zeros (some stacks read them as octal)", () => {
    for (const bad of ["01.2.3.4", "1.2.3.04", "1.02.3.4", "00.0.0.0", "0.0.0.00", "192.0.2.010", "000.0.0.0"]) {
      expect(v4(bad), bad).toBeUndefined();
    }
  });

  it("refuses what is not four decimal octets", () => {
    for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1.2.3.-1", "1..2.3", ".1.2.3", "1.2.3.4.", "a.b.c.d", " 1.2.3.4", "1.2.3.4 ", "0x1.2.3.4", "1.2.3.4/8", "1e2.1.1.1", "4294967295"]) {
      expect(v4(bad), bad).toBeUndefined();
    }
  });

  it("round trips any 4 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        const text = formatIPv4(b);
        expect(toHex(parseIp(text))).toBe(toHex(b));
        expect(ipFamily(text)).toBe("IPv4");
        expect(formatIp(b)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});

describe("parseIp, canonicalIp, transportAddress", () => {
  it("parseIp gives 4 or 16 bytes and refuses other text with StunDecodeError BAD_TEXT", () => {
    expect(parseIp("192.0.2.1")).toHaveLength(4);
    expect(parseIp("2001:db8::1")).toHaveLength(16);
    expect(formatIp(parseIp("2001:DB8:0::1"))).toBe("2001:db8::1");
    try {
      parseIp("example.org");
      expect.unreachable();
    } catch (e) {
      expect(isStunDecodeError(e) && e.code).toBe("BAD_TEXT");
    }
    expect(ipFamily("example.org")).toBeUndefined();
  });

  it("canonicalIp puts text in canonical form and refuses non-addresses with IcekitError", () => {
    expect(canonicalIp("0:0::1")).toBe("::1");
    expect(canonicalIp("::FFFF:192.0.2.1")).toBe("::ffff:192.0.2.1");
    expect(canonicalIp("0:0:0:0:0:ffff:c000:201")).toBe("::ffff:192.0.2.1");
    expect(canonicalIp("192.0.2.1")).toBe("192.0.2.1");
    expect(() => canonicalIp("192.0.2.01")).toThrow(IcekitError);
  });

  it("transportAddress checks the port and canonicalizes the address", () => {
    expect(transportAddress("2001:DB8::0:1", 3478)).toEqual({ family: "IPv6", address: "2001:db8::1", port: 3478 });
    expect(transportAddress("192.0.2.1", 0)).toEqual({ family: "IPv4", address: "192.0.2.1", port: 0 });
    for (const port of [70000, -1, 1.5, Number.NaN, 65536]) expect(() => transportAddress("192.0.2.1", port)).toThrow(IcekitError);
    expect(() => transportAddress("host", 1)).toThrow(IcekitError);
  });

  it("formats and compares transport addresses", () => {
    expect(formatTransportAddress({ family: "IPv4", address: "192.0.2.1", port: 3478 })).toBe("192.0.2.1:3478");
    expect(formatTransportAddress({ family: "IPv6", address: "2001:db8::1", port: 3478 })).toBe("[2001:db8::1]:3478");
    const a = transportAddress("2001:db8::1", 1);
    expect(sameTransportAddress(a, transportAddress("2001:0db8:0::1", 1))).toBe(true);
    expect(sameTransportAddress(a, transportAddress("2001:db8::1", 2))).toBe(false);
  });
});
