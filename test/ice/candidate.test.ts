/**
 * The RFC 8839 §5.1 candidate grammar, both ways: the RFC's examples, browser lines with
 * extensions, malformed lines, and round trips of arbitrary candidates (fast-check).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatCandidate, isMdnsName, parseCandidate } from "../../src/ice/candidate";
import type { IceCandidate } from "../../src/ice/candidate";
import { isStunDecodeError } from "../../src/errors";

describe("parseCandidate", () => {
  it("reads RFC 8839 §5.1's example, with and without a= and candidate:", () => {
    const expected: IceCandidate = {
      foundation: "2",
      component: 1,
      transport: "udp",
      priority: 1694498815,
      address: "192.0.2.3",
      port: 45664,
      type: "srflx",
      relatedAddress: "203.0.113.141",
      relatedPort: 8998,
    };
    const value = "2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998";
    expect(parseCandidate(`a=candidate:${value}`)).toEqual(expected);
    expect(parseCandidate(`candidate:${value}`)).toEqual(expected);
    expect(parseCandidate(value)).toEqual(expected);
    expect(parseCandidate(`  a=candidate:${value}\r\n`)).toEqual(expected);
  });

  it("reads RFC 8838 §9's IPv6 example with ufrag and puts the address in canonical form", () => {
    expect(parseCandidate("a=candidate:1 1 UDP 2130706431 2001:DB8:0:0::1 5000 typ host ufrag 8hhY")).toEqual({
      foundation: "1",
      component: 1,
      transport: "udp",
      priority: 2130706431,
      address: "2001:db8::1",
      port: 5000,
      type: "host",
      ufrag: "8hhY",
    });
  });

  it("reads RFC 6544's TCP candidates with tcptype", () => {
    const c = parseCandidate("a=candidate:1 1 TCP 2128609279 10.0.1.1 9 typ host tcptype active");
    expect(c).toMatchObject({ transport: "tcp", port: 9, tcpType: "active" });
    expect(parseCandidate("candidate:3 1 TCP 2120220671 10.0.1.1 8999 typ host tcptype so").tcpType).toBe("so");
  });

  it("keeps extensions it does not know, in order, and reads generation", () => {
    const line = "candidate:842163049 1 udp 1677729535 198.51.100.7 54321 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag aBc1 network-id 3 network-cost 10";
    const c = parseCandidate(line);
    expect(c.generation).toBe(0);
    expect(c.ufrag).toBe("aBc1");
    expect(c.extensions).toEqual([
      ["network-id", "3"],
      ["network-cost", "10"],
    ]);
    expect(formatCandidate(c)).toBe(line);
  });

  it("keeps mDNS names as text", () => {
    const c = parseCandidate("candidate:1 1 udp 2122260223 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54400 typ host");
    expect(c.address).toBe("1f4712db-ea17-4bcf-a596-105139dfd8bf.local");
    expect(isMdnsName(c.address)).toBe(true);
    expect(isMdnsName("example.org")).toBe(false);
  });

  it.each([
    ["", "missing foundation"],
    ["candidate:", "missing foundation"],
    ["candidate:1 1 udp 1 192.0.2.1 5000 typ", "candidate type"],
    ["candidate:1 1 udp 1 192.0.2.1 5000 host", "'typ'"],
    ["candidate:1 0 udp 1 192.0.2.1 5000 typ host", "component-id 0"],
    ["candidate:1 257 udp 1 192.0.2.1 5000 typ host", "above 256"],
    ["candidate:1 1 sctp 1 192.0.2.1 5000 typ host", "not supported"],
    ["candidate:1 1 udp 4294967296 192.0.2.1 5000 typ host", "priority"],
    ["candidate:1 1 udp 1 192.0.2.1 65536 typ host", "port"],
    ["candidate:1 1 udp 1 192.0.2.999 5000 typ host", "host name"],
    ["candidate:1 1 udp 1 2001:db8::zz 5000 typ host", "not an IP address"],
    ["candidate:1 1 udp 1 192.0.2.1 5000 typ bogus", "candidate type"],
    ["candidate:1 1 udp 1 192.0.2.1 5000 typ srflx raddr", "no value"],
    ["candidate:1 1 udp 1 192.0.2.1 5000 typ srflx rport x", "rport"],
    ["candidate:a_b 1 udp 1 192.0.2.1 5000 typ host", "foundation"],
    ["candidate:123456789012345678901234567890123 1 udp 1 192.0.2.1 5000 typ host", "foundation"],
    ["candidate:1 1 udp 1 192.0.2.1 5000 typ host tcptype sideways", "tcptype"],
  ])("refuses %j with BAD_TEXT naming %s", (line, fragment) => {
    let error: unknown;
    try {
      parseCandidate(line);
    } catch (e) {
      error = e;
    }
    expect(isStunDecodeError(error)).toBe(true);
    expect((error as { code: string }).code).toBe("BAD_TEXT");
    expect((error as Error).message).toContain(fragment);
  });

  it("throws only StunDecodeError on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseCandidate(s);
        } catch (e) {
          expect(isStunDecodeError(e)).toBe(true);
        }
      }),
    );
  });
});

const iceChars = fc.stringMatching(/^[A-Za-z0-9+/]{1,32}$/);
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(":"));
const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/).filter((t) => !["raddr", "rport", "tcptype", "generation", "ufrag"].includes(t));

const candidateArb: fc.Arbitrary<IceCandidate> = fc
  .record({
    foundation: iceChars,
    component: fc.integer({ min: 1, max: 256 }),
    transport: fc.constantFrom("udp" as const, "tcp" as const),
    priority: fc.integer({ min: 0, max: 0xffffffff }),
    address: fc.oneof(ipv4, ipv6),
    port: fc.integer({ min: 0, max: 65535 }),
    type: fc.constantFrom("host" as const, "srflx" as const, "prflx" as const, "relay" as const),
    related: fc.option(fc.tuple(fc.oneof(ipv4, ipv6), fc.integer({ min: 0, max: 65535 })), { nil: undefined }),
    tcpType: fc.option(fc.constantFrom("active" as const, "passive" as const, "so" as const), { nil: undefined }),
    generation: fc.option(fc.nat(), { nil: undefined }),
    ufrag: fc.option(fc.stringMatching(/^[A-Za-z0-9+/]{4,16}$/), { nil: undefined }),
    extensions: fc.option(fc.array(fc.tuple(token, fc.stringMatching(/^[\x21-\x7e]{1,12}$/)), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  })
  .map((r) => {
    const c: { -readonly [K in keyof IceCandidate]: IceCandidate[K] } = {
      foundation: r.foundation,
      component: r.component,
      transport: r.transport,
      priority: r.priority,
      address: parseCandidate(`1 1 udp 1 ${r.address} 1 typ host`).address,
      port: r.port,
      type: r.type,
    };
    if (r.related) {
      c.relatedAddress = parseCandidate(`1 1 udp 1 ${r.related[0]} 1 typ host`).address;
      c.relatedPort = r.related[1];
    }
    if (r.tcpType) c.tcpType = r.tcpType;
    if (r.generation !== undefined) c.generation = r.generation;
    if (r.ufrag) c.ufrag = r.ufrag;
    if (r.extensions) c.extensions = r.extensions;
    return c;
  });

describe("formatCandidate", () => {
  it("writes the attribute value without a=, transport in lower case", () => {
    expect(
      formatCandidate({ foundation: "2", component: 1, transport: "udp", priority: 1694498815, address: "192.0.2.3", port: 45664, type: "srflx", relatedAddress: "203.0.113.141", relatedPort: 8998 }),
    ).toBe("candidate:2 1 udp 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998");
  });

  it("round-trips every candidate: parse(format(c)) equals c", () => {
    fc.assert(fc.property(candidateArb, (c) => {
      expect(parseCandidate(formatCandidate(c))).toEqual(c);
    }));
  });

  it("round-trips every line it writes: format(parse(line)) equals line", () => {
    fc.assert(
      fc.property(candidateArb, (c) => {
        const line = formatCandidate(c);
        expect(formatCandidate(parseCandidate(`a=${line}`))).toBe(line);
      }),
    );
  });

  it("refuses what the grammar cannot carry", () => {
    const base: IceCandidate = { foundation: "1", component: 1, transport: "udp", priority: 1, address: "192.0.2.1", port: 1, type: "host" };
    expect(() => formatCandidate({ ...base, foundation: "a b" })).toThrow(/foundation/);
    expect(() => formatCandidate({ ...base, component: 0 })).toThrow(/component/);
    expect(() => formatCandidate({ ...base, port: 70000 })).toThrow(/port/);
    expect(() => formatCandidate({ ...base, extensions: [["raddr", "x"]] })).toThrow(/extension/);
    expect(() => formatCandidate({ ...base, extensions: [["x", "two words"]] })).toThrow(/extension/);
  });
});
