/**
 * Priorities (RFC 8445 §5.1.2, §6.1.2.3), RFC 8421 dual-stack ordering and foundations
 * (§5.1.1.3), checked against BigInt references.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { candidatePriority, pairPriority } from "../../src/ice/candidate";
import { Foundations } from "../../src/ice/foundation";
import { TYPE_PREFERENCE, dualStackRanks, localPreference } from "../../src/ice/priority";

/** §6.1.2.3 computed in BigInt, straight from the formula. */
function referencePairPriority(g: number, d: number): bigint {
  const G = BigInt(g);
  const D = BigInt(d);
  const min = G < D ? G : D;
  const max = G < D ? D : G;
  return 2n ** 32n * min + 2n * max + (G > D ? 1n : 0n);
}

describe("candidatePriority", () => {
  it("uses the recommended type preferences 126/110/100/0 (§5.1.2.2)", () => {
    expect(TYPE_PREFERENCE).toEqual({ host: 126, prflx: 110, srflx: 100, relay: 0 });
    expect(candidatePriority("host", 65535, 1)).toBe(2130706431);
    expect(candidatePriority("srflx", 65535, 1)).toBe(1694498815); // RFC 8839's example
    expect(candidatePriority("relay", 65535, 2)).toBe(16777214);
  });

  it("matches (2^24)·type + (2^8)·local + (256 - component) for every input", () => {
    fc.assert(
      fc.property(fc.constantFrom("host" as const, "srflx" as const, "prflx" as const, "relay" as const), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 1, max: 256 }), (type, local, component) => {
        const expected = 2n ** 24n * BigInt(TYPE_PREFERENCE[type]) + 2n ** 8n * BigInt(local) + BigInt(256 - component);
        const p = candidatePriority(type, local, component);
        expect(BigInt(p)).toBe(expected);
        expect(p).toBeLessThan(2 ** 31);
      }),
    );
  });

  it("refuses out-of-range inputs", () => {
    expect(() => candidatePriority("host", 65536, 1)).toThrow(/local preference/);
    expect(() => candidatePriority("host", 1, 0)).toThrow(/component/);
    expect(() => candidatePriority("host", 1, 257)).toThrow(/component/);
  });
});

describe("pairPriority", () => {
  it("equals the BigInt reference for every pair of 32-bit priorities", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (g, d) => {
        expect(pairPriority(g, d)).toBe(referencePairPriority(g, d));
      }),
      { numRuns: 2000 },
    );
  });

  it("is exact at the extremes, beyond 2^53", () => {
    expect(pairPriority(0xffffffff, 0xffffffff)).toBe(0xffffffffn * 2n ** 32n + 2n * 0xffffffffn);
    expect(pairPriority(0xffffffff, 0xfffffffe)).toBe(referencePairPriority(0xffffffff, 0xfffffffe));
    expect(pairPriority(0, 0)).toBe(0n);
    expect(pairPriority(1, 0)).toBe(3n);
    expect(pairPriority(0, 1)).toBe(2n);
  });

  it("orders the pair the same way from both sides' point of view", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (a1, b1, a2, b2) => {
        // Agent A controls: both compute G from A's candidates.
        const fromA = pairPriority(a1, b1) > pairPriority(a2, b2);
        const fromB = pairPriority(a1, b1) > pairPriority(a2, b2);
        expect(fromA).toBe(fromB);
      }),
    );
  });

  it("refuses values that are not 32-bit unsigned integers", () => {
    expect(() => pairPriority(-1, 0)).toThrow(/priority/);
    expect(() => pairPriority(0, 2 ** 32)).toThrow(/priority/);
    expect(() => pairPriority(0.5, 0)).toThrow(/priority/);
  });
});

describe("RFC 8421 local preferences", () => {
  it("intermingles IPv4 after a head start of (N4+N6)/N4 IPv6 addresses (§4 example)", () => {
    const fam = ["IPv4", "IPv4", "IPv6", "IPv6", "IPv6", "IPv6", "IPv6", "IPv6"] as const;
    const ranks = dualStackRanks([...fam]);
    const order = ranks.map((r, i) => ({ r, f: fam[i] })).sort((a, b) => a.r - b.r).map((x) => x.f);
    expect(order).toEqual(["IPv6", "IPv6", "IPv6", "IPv6", "IPv4", "IPv6", "IPv6", "IPv4"]);
  });

  it("gives a permutation of ranks and unique local preferences for any mix", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("IPv4" as const, "IPv6" as const), { maxLength: 40 }), (fams) => {
        const ranks = dualStackRanks(fams);
        expect([...ranks].sort((a, b) => a - b)).toEqual(fams.map((_, i) => i));
        const prefs = ranks.map((r) => localPreference(r));
        expect(new Set(prefs).size).toBe(prefs.length);
        // Within one family the caller's order is kept.
        for (const f of ["IPv4", "IPv6"]) {
          const rs = ranks.filter((_, i) => fams[i] === f);
          expect(rs).toEqual([...rs].sort((a, b) => a - b));
        }
      }),
    );
  });

  it("puts IPv6 first and gives a single address 65535 (§5.1.2.1)", () => {
    expect(dualStackRanks(["IPv4", "IPv6"])).toEqual([1, 0]);
    expect(localPreference(dualStackRanks(["IPv4"])[0]!)).toBe(65535);
  });
});

describe("Foundations (§5.1.1.3)", () => {
  it("is the same for the same type, base IP, server IP and transport, whatever the ports", () => {
    const f = new Foundations();
    expect(f.get("host", "192.0.2.1", undefined, "udp")).toBe(f.get("host", "192.0.2.1", undefined, "udp"));
    expect(f.get("srflx", "192.0.2.1", "198.51.100.1", "udp")).toBe(f.get("srflx", "192.0.2.1", "198.51.100.1", "udp"));
  });

  it("differs when the type, base IP, server IP or transport differ", () => {
    const f = new Foundations();
    const all = [
      f.get("host", "192.0.2.1", undefined, "udp"),
      f.get("srflx", "192.0.2.1", "198.51.100.1", "udp"),
      f.get("host", "192.0.2.2", undefined, "udp"),
      f.get("srflx", "192.0.2.1", "198.51.100.2", "udp"),
      f.get("host", "192.0.2.1", undefined, "tcp"),
      f.get("relay", "192.0.2.1", "198.51.100.1", "udp"),
      f.get("prflx", "192.0.2.1", undefined, "udp"),
    ];
    expect(new Set(all).size).toBe(all.length);
    for (const x of all) expect(x).toMatch(/^[A-Za-z0-9+/]{1,32}$/);
  });
});
