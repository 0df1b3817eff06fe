import { describe, expect, it } from "vitest";
import type { FilteringBehavior, MappingBehavior, ReachableNatType } from "../../src/nat/index";
import { classicNatType } from "../../src/nat/index";

const mappings: (MappingBehavior | undefined)[] = ["endpoint-independent", "address-dependent", "address-and-port-dependent", undefined];
const filterings: (FilteringBehavior | undefined)[] = ["endpoint-independent", "address-dependent", "address-and-port-dependent", undefined];

/**
 * The whole table, written out: rows are mapping (EIM, ADM, APDM, unknown), columns filtering
 * (EIF, ADF, APDF, unknown), one matrix per value of behindNat.
 */
const table: Record<"true" | "false" | "undefined", ReachableNatType[][]> = {
  // Behind a NAT: cones need endpoint-independent mapping; unknowns are the most restrictive.
  true: [
    ["full-cone", "restricted-cone", "port-restricted-cone", "port-restricted-cone"],
    ["symmetric", "symmetric", "symmetric", "symmetric"],
    ["symmetric", "symmetric", "symmetric", "symmetric"],
    ["symmetric", "symmetric", "symmetric", "symmetric"],
  ],
  // Local address unknown: the same, since "open" needs proof that nothing translates.
  undefined: [
    ["full-cone", "restricted-cone", "port-restricted-cone", "port-restricted-cone"],
    ["symmetric", "symmetric", "symmetric", "symmetric"],
    ["symmetric", "symmetric", "symmetric", "symmetric"],
    ["symmetric", "symmetric", "symmetric", "symmetric"],
  ],
  // No translation: open, or a firewall named by its filtering. An unknown mapping is
  // endpoint-independent by construction (RFC 5780 §4.3); a measured dependent one still wins.
  false: [
    ["open", "restricted-cone", "port-restricted-cone", "port-restricted-cone"],
    ["symmetric", "symmetric", "symmetric", "symmetric"],
    ["symmetric", "symmetric", "symmetric", "symmetric"],
    ["open", "restricted-cone", "port-restricted-cone", "port-restricted-cone"],
  ],
};

describe("classicNatType: RFC 4787 behaviours → RFC 3489 names", () => {
  for (const behindNat of [true, undefined, false]) {
    it(`follows the documented table with behindNat ${String(behindNat)}`, () => {
      const got = mappings.map((m) => filterings.map((f) => classicNatType(m, f, behindNat)));
      expect(got).toEqual(table[String(behindNat) as keyof typeof table]);
    });
  }

  it("gives the seeds' four NAT names for the four classic presets", () => {
    expect(classicNatType("endpoint-independent", "endpoint-independent", true)).toBe("full-cone");
    expect(classicNatType("endpoint-independent", "address-dependent", true)).toBe("restricted-cone");
    expect(classicNatType("endpoint-independent", "address-and-port-dependent", true)).toBe("port-restricted-cone");
    expect(classicNatType("address-and-port-dependent", "address-and-port-dependent", true)).toBe("symmetric");
  });
});
