import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_DENIED_PEERS, PeerPolicy, normalizePeerAddress, parsePeerCidr } from "../../src/turn/peer-policy";

const secure = new PeerPolicy();

/** Every special-purpose class the default policy refuses, with addresses at both edges. */
const FORBIDDEN: readonly [string, string][] = [
  ["0.0.0.0", "this host (CVE-2020-26262)"],
  ["0.255.255.255", "this network, top"],
  ["10.0.0.0", "RFC 1918 10/8, bottom"],
  ["10.255.255.255", "RFC 1918 10/8, top"],
  ["100.64.0.0", "CGN shared space, bottom (RFC 6598)"],
  ["100.127.255.255", "CGN shared space, top"],
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback, top"],
  ["169.254.0.1", "link-local"],
  ["169.254.169.254", "cloud metadata service"],
  ["172.16.0.0", "RFC 1918 172.16/12, bottom"],
  ["172.31.255.255", "RFC 1918 172.16/12, top"],
  ["192.0.0.8", "IETF protocol assignments"],
  ["192.0.0.170", "NAT64 discovery"],
  ["192.88.99.1", "6to4 relay anycast"],
  ["192.168.0.1", "RFC 1918 192.168/16"],
  ["192.168.255.255", "RFC 1918 192.168/16, top"],
  ["198.18.0.1", "benchmarking"],
  ["198.19.255.255", "benchmarking, top"],
  ["224.0.0.1", "multicast all-hosts"],
  ["239.255.255.250", "multicast SSDP"],
  ["240.0.0.1", "reserved"],
  ["255.255.255.255", "limited broadcast"],
  ["::", "IPv6 unspecified"],
  ["::1", "IPv6 loopback"],
  ["0:0:0:0:0:0:0:1", "IPv6 loopback, long form"],
  ["fe80::1", "IPv6 link-local"],
  ["febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "IPv6 link-local, top"],
  ["fec0::1", "IPv6 site-local"],
  ["fc00::1", "unique local"],
  ["fdff:ffff::1", "unique local, fd"],
  ["ff02::1", "IPv6 multicast all-nodes"],
  ["ff05::1:3", "IPv6 multicast site"],
  ["100::1", "discard-only"],
  ["2001::1", "Teredo"],
  ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo, real-looking"],
  ["2002:c000:0204::1", "6to4"],
  ["2001:2::1", "IPv6 benchmarking"],
  ["2001:10::1", "ORCHID"],
  ["64:ff9b:1::1", "local-use NAT64"],
  // IPv4 embedded in IPv6: the same addresses, every way they can be spelled.
  ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
  ["::FFFF:127.0.0.1", "IPv4-mapped loopback, upper case"],
  ["::ffff:7f00:1", "IPv4-mapped loopback, hex"],
  ["0:0:0:0:0:ffff:7f00:0001", "IPv4-mapped loopback, long form"],
  ["::ffff:0.0.0.0", "IPv4-mapped this host"],
  ["::ffff:10.0.0.1", "IPv4-mapped private"],
  ["::ffff:169.254.169.254", "IPv4-mapped metadata"],
  ["::ffff:224.0.0.1", "IPv4-mapped multicast"],
  ["::127.0.0.1", "IPv4-compatible loopback"],
  ["::7f00:1", "IPv4-compatible loopback, hex"],
  ["::10.0.0.1", "IPv4-compatible private"],
  ["::ffff:0:127.0.0.1", "SIIT IPv4-translated loopback"],
  ["::ffff:0:192.168.1.1", "SIIT IPv4-translated private"],
  ["64:ff9b::7f00:1", "NAT64 of 127.0.0.1"],
  ["64:ff9b::127.0.0.1", "NAT64 of 127.0.0.1, dotted"],
  ["64:ff9b::a00:1", "NAT64 of 10.0.0.1"],
  ["64:ff9b::c0a8:101", "NAT64 of 192.168.1.1"],
  ["64:ff9b::ffff:ffff", "NAT64 of the broadcast address"],
];

const ALLOWED: readonly [string, string][] = [
  ["8.8.8.8", "public"],
  ["1.0.0.0", "just past 0/8"],
  ["9.255.255.255", "just before 10/8"],
  ["11.0.0.0", "just past 10/8"],
  ["100.63.255.255", "just before CGN"],
  ["100.128.0.0", "just past CGN"],
  ["126.255.255.255", "just before loopback"],
  ["128.0.0.0", "just past loopback"],
  ["169.253.255.255", "just before link-local"],
  ["172.15.255.255", "just before 172.16/12"],
  ["172.32.0.0", "just past 172.16/12"],
  ["192.0.1.0", "just past 192.0.0/24"],
  ["192.0.2.1", "TEST-NET-1 (documentation)"],
  ["198.17.255.255", "just before benchmarking"],
  ["198.20.0.0", "just past benchmarking"],
  ["198.51.100.7", "TEST-NET-2"],
  ["203.0.113.5", "TEST-NET-3"],
  ["223.255.255.255", "just before multicast"],
  ["2001:db8::1", "IPv6 documentation"],
  ["2606:4700:4700::1111", "public IPv6"],
  ["2a00:1450:4001:82a::200e", "public IPv6"],
  ["fe00::1", "not link-local (fe80::/10 starts at fe80)"],
  ["fbff::1", "just before ULA"],
  ["::ffff:8.8.8.8", "IPv4-mapped public"],
  ["::8.8.8.8", "IPv4-compatible public"],
  ["64:ff9b::808:808", "NAT64 of a public address"],
  ["2001:1::1", "not Teredo (2001::/32 ends at 2001:0:ffff:...)"],
];

describe("PeerPolicy defaults (RFC 8656 §21, RFC 6890)", () => {
  it.each(FORBIDDEN)("refuses %s (%s)", (address) => {
    expect(secure.allows(address)).toBe(false);
  });

  it.each(ALLOWED)("allows %s (%s)", (address) => {
    expect(secure.allows(address)).toBe(true);
  });

  it("refuses text that is not an address", () => {
    for (const bad of ["", "localhost", "127.1", "0x7f000001", "2130706433", "127.0.0.01", "::ffff:127.0.0.256", "fe80::1%eth0x:", "1:2:3:4:5:6:7:8:9", "[::1]"]) {
      expect(secure.allows(bad), bad).toBe(false);
    }
  });

  it("explains which rule decided and what the address normalised to", () => {
    expect(secure.check("::ffff:127.0.0.1")).toEqual({ allowed: false, normalized: "127.0.0.1", rule: "127.0.0.0/8" });
    expect(secure.check("64:ff9b::a00:1")).toEqual({ allowed: false, normalized: "10.0.0.1", rule: "10.0.0.0/8" });
    expect(secure.check("::1")).toEqual({ allowed: false, normalized: "0.0.0.1", rule: "0.0.0.0/8" });
    expect(secure.check("2001:db8::1")).toEqual({ allowed: true, normalized: "2001:db8::1" });
    expect(secure.check("nonsense")).toEqual({ allowed: false, normalized: "nonsense" });
  });

  it("lists the default deny rules in canonical form", () => {
    expect(secure.denyRules).toEqual(DEFAULT_DENIED_PEERS.map((r) => parsePeerCidr(r).canonical));
    expect(secure.denyRules).toContain("127.0.0.0/8");
    expect(secure.denyRules).toContain("2002::/16");
  });
});

describe("PeerPolicy allow and deny rules", () => {
  it("--allow-peer 127.0.0.0/8 opens loopback in every spelling, and nothing else", () => {
    const p = new PeerPolicy({ allow: ["127.0.0.0/8"] });
    for (const a of ["127.0.0.1", "127.255.255.255", "::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "::ffff:0:127.0.0.1"]) expect(p.allows(a), a).toBe(true);
    for (const a of ["10.0.0.1", "::1", "0.0.0.0", "::", "192.168.0.1", "169.254.1.1", "fe80::1", "::ffff:10.0.0.1"]) expect(p.allows(a), a).toBe(false);
  });

  it("a /24 opens exactly its 256 addresses", () => {
    const p = new PeerPolicy({ allow: ["10.1.2.0/24"] });
    expect(p.allows("10.1.2.0")).toBe(true);
    expect(p.allows("10.1.2.255")).toBe(true);
    expect(p.allows("10.1.1.255")).toBe(false);
    expect(p.allows("10.1.3.0")).toBe(false);
    expect(p.allows("::ffff:10.1.2.77")).toBe(true);
  });

  it("a bare address is a /32 or /128", () => {
    const p = new PeerPolicy({ allow: ["192.168.1.10", "fd00::5"] });
    expect(p.allows("192.168.1.10")).toBe(true);
    expect(p.allows("192.168.1.11")).toBe(false);
    expect(p.allows("fd00::5")).toBe(true);
    expect(p.allows("fd00::6")).toBe(false);
  });

  it("IPv6 allow rules: ::1/128 opens IPv6 loopback only; fd00::/8 opens that half of the ULA range", () => {
    const p = new PeerPolicy({ allow: ["::1/128", "fd00::/8"] });
    expect(p.allows("::1")).toBe(true);
    expect(p.allows("127.0.0.1")).toBe(false);
    expect(p.allows("fd12:3456::1")).toBe(true);
    expect(p.allows("fc00::1")).toBe(false);
  });

  it("rules written in IPv4-mapped or NAT64 form mean the IPv4 block", () => {
    expect(parsePeerCidr("::ffff:127.0.0.0/104").canonical).toBe("127.0.0.0/8");
    expect(parsePeerCidr("64:ff9b::a00:0/104").canonical).toBe("10.0.0.0/8");
    expect(parsePeerCidr("::ffff:10.1.2.3").canonical).toBe("10.1.2.3/32");
    expect(new PeerPolicy({ allow: ["::ffff:127.0.0.0/104"] }).allows("127.0.0.1")).toBe(true);
    expect(new PeerPolicy({ deny: ["64:ff9b::808:808/128"] }).allows("8.8.8.8")).toBe(false);
  });

  it("deny rules add to the defaults; an allow rule wins over any deny", () => {
    const p = new PeerPolicy({ deny: ["8.8.8.0/24", "2606:4700::/32"], allow: ["8.8.8.8"] });
    expect(p.allows("8.8.8.8")).toBe(true);
    expect(p.allows("8.8.8.9")).toBe(false);
    expect(p.allows("::ffff:8.8.8.9")).toBe(false);
    expect(p.allows("8.8.4.4")).toBe(true);
    expect(p.allows("2606:4700:4700::1111")).toBe(false);
    expect(p.allows("127.0.0.1")).toBe(false);
  });

  it("allow ::/0 or 0.0.0.0/0 opens everything; defaults: false leaves only the operator's rules", () => {
    expect(new PeerPolicy({ allow: ["::/0"] }).allows("127.0.0.1")).toBe(true);
    expect(new PeerPolicy({ allow: ["0.0.0.0/0"] }).allows("10.0.0.1")).toBe(true);
    expect(new PeerPolicy({ allow: ["0.0.0.0/0"] }).allows("fe80::1")).toBe(false);
    const open = new PeerPolicy({ defaults: false, deny: ["203.0.113.0/24"] });
    expect(open.allows("127.0.0.1")).toBe(true);
    expect(open.allows("203.0.113.9")).toBe(false);
  });

  it("refuses CIDRs that do not parse or have host bits set", () => {
    for (const bad of ["10.0.0.0/33", "10.0.0.1/8", "fe80::/129", "fe80::1/10", "abc", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "1.2.3.04", "fe80::1%eth0", "10.0.0.0/08x"]) {
      expect(() => parsePeerCidr(bad), bad).toThrow(/peer CIDR/);
    }
    expect(() => new PeerPolicy({ allow: "127.0.0.0/8" as unknown as string[] })).toThrow(/array/);
    expect(parsePeerCidr("FE80::/10").canonical).toBe("fe80::/10");
    expect(parsePeerCidr(" 10.0.0.0/8 ").canonical).toBe("10.0.0.0/8");
    expect(parsePeerCidr("::/0").canonical).toBe("::/0");
  });
});

/** An IPv4 address as a number and text. */
const ipv4 = fc.integer({ min: 0, max: 0xffffffff }).map((n) => ({ n, text: `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}` }));
const hex = (n: number) => (n & 0xffff).toString(16);

/** An independent reading of the default IPv4 deny list, by numeric ranges. */
function deniedV4(n: number): boolean {
  const inBlock = (base: string, bits: number) => {
    const [a, b, c, d] = base.split(".").map(Number) as [number, number, number, number];
    const net = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return ((n & mask) >>> 0) === net;
  };
  return DEFAULT_DENIED_PEERS.filter((r) => !r.includes(":")).some((r) => {
    const [base, bits] = r.split("/") as [string, string];
    return inBlock(base, Number(bits));
  });
}

describe("PeerPolicy properties", () => {
  it("every spelling of an IPv4 address gets the same answer, under any allow rule", () => {
    fc.assert(
      fc.property(ipv4, ipv4, fc.integer({ min: 0, max: 32 }), (x, net, bits) => {
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        const base = (net.n & mask) >>> 0;
        const cidr = `${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/${bits}`;
        for (const p of [secure, new PeerPolicy({ allow: [cidr] })]) {
          const want = p.allows(x.text);
          const hi = x.n >>> 16;
          const lo = x.n & 0xffff;
          for (const form of [`::ffff:${x.text}`, `::ffff:${hex(hi)}:${hex(lo)}`, `::${x.text}`, `64:ff9b::${hex(hi)}:${hex(lo)}`, `::ffff:0:${x.text}`]) {
            if (p.allows(form) !== want) return false;
          }
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it("the default answer for IPv4 agrees with a range-by-range reading of the list", () => {
    fc.assert(fc.property(ipv4, (x) => secure.allows(x.text) === !deniedV4(x.n)), { numRuns: 5000 });
  });

  it("an allow CIDR opens exactly the addresses inside it", () => {
    fc.assert(
      fc.property(ipv4, ipv4, fc.integer({ min: 1, max: 32 }), (x, net, bits) => {
        const mask = (0xffffffff << (32 - bits)) >>> 0;
        const base = (net.n & mask) >>> 0;
        const p = new PeerPolicy({ allow: [`${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/${bits}`] });
        const inside = ((x.n & mask) >>> 0) === base;
        return p.allows(x.text) === (inside || !deniedV4(x.n));
      }),
      { numRuns: 2000 },
    );
  });

  it("normalizePeerAddress never throws and writes IPv4 as ::ffff:a.b.c.d", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const out = new Uint8Array(16);
        normalizePeerAddress(s, out);
        return true;
      }),
    );
    const out = new Uint8Array(16);
    expect(normalizePeerAddress("1.2.3.4", out)).toBe(true);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
  });
});
