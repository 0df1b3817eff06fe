/**
 * NAT-PMP codec (RFC 6886): the message layouts of §3.2-§3.5 byte for byte, round trips of every
 * message as fast-check properties, and decoders on random and mutated bytes throwing nothing but
 * StunDecodeError.
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isIcekitError, isStunDecodeError } from "../../src/errors";
import type { NatPmpRequest, NatPmpResponse } from "../../src/nat/natpmp";
import { NatPmpResultCode, decodeNatPmpRequest, decodeNatPmpResponse, encodeNatPmpRequest, encodeNatPmpResponse, natPmpResultName } from "../../src/nat/natpmp";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join("."));

export const natPmpRequestArb: fc.Arbitrary<NatPmpRequest> = fc.oneof(
  fc.constant<NatPmpRequest>({ kind: "external-address" }),
  fc.record({ kind: fc.constant("map" as const), protocol: fc.constantFrom("udp" as const, "tcp" as const), internalPort: u16, suggestedExternalPort: u16, lifetime: u32 }),
  fc.integer({ min: 3, max: 127 }).map((opcode): NatPmpRequest => ({ kind: "unknown-opcode", opcode })),
);

export const natPmpResponseArb: fc.Arbitrary<NatPmpResponse> = fc.oneof(
  fc.record({ epoch: u32, externalAddress: ipv4 }).map((r): NatPmpResponse => ({ kind: "external-address", resultCode: 0, ...r })),
  fc.record({ epoch: u32, resultCode: fc.integer({ min: 2, max: 0xffff }) }).map((r): NatPmpResponse => ({ kind: "external-address", ...r, externalAddress: undefined })),
  fc
    .record({ protocol: fc.constantFrom("udp" as const, "tcp" as const), resultCode: u16.filter((c) => c !== 1), epoch: u32, internalPort: u16, externalPort: u16, lifetime: u32 })
    .map((r): NatPmpResponse => ({ kind: "map", ...r })),
  fc.record({ opcode: fc.nat(255), epoch: u32 }).map((r): NatPmpResponse => ({ kind: "unsupported-version", ...r })),
  fc.record({ opcode: fc.integer({ min: 131, max: 255 }), resultCode: u16.filter((c) => c !== 1) }).map((r): NatPmpResponse => ({ kind: "unknown-opcode", ...r })),
);

function onlyDecodeErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!isStunDecodeError(e)) throw new Error(`threw ${String(e)}, not a StunDecodeError`);
  }
}

describe("NAT-PMP layouts (RFC 6886)", () => {
  it("encodes the external-address request as two bytes, version 0 opcode 0 (§3.2)", () => {
    expect(hex(encodeNatPmpRequest({ kind: "external-address" }))).toBe("0000");
  });

  it("encodes a TCP mapping request with ports and lifetime in network order (§3.3)", () => {
    const b = encodeNatPmpRequest({ kind: "map", protocol: "tcp", internalPort: 0x1388, suggestedExternalPort: 0x1389, lifetime: 7200 });
    expect(hex(b)).toBe("0002" + "0000" + "1388" + "1389" + "00001c20");
  });

  it("decodes an external-address response and its epoch (§3.2)", () => {
    const r = decodeNatPmpResponse(Uint8Array.from(Buffer.from("00800000000004d2cb007107", "hex")));
    expect(r).toEqual({ kind: "external-address", resultCode: 0, epoch: 1234, externalAddress: "203.0.113.7" });
  });

  it("ignores the address of a failed external-address response (§3.2 'MUST be ignored')", () => {
    const r = decodeNatPmpResponse(Uint8Array.from(Buffer.from("00800003000000050a000001", "hex")));
    expect(r).toEqual({ kind: "external-address", resultCode: 3, epoch: 5, externalAddress: undefined });
  });

  it("decodes a UDP mapping response (§3.3)", () => {
    const r = decodeNatPmpResponse(Uint8Array.from(Buffer.from("00810000000000641388c35000000e10", "hex")));
    expect(r).toEqual({ kind: "map", protocol: "udp", resultCode: 0, epoch: 100, internalPort: 5000, externalPort: 50000, lifetime: 3600 });
  });

  it("decodes the 8-byte Unsupported Version answer with opcode 0, as §3.5 draws it", () => {
    expect(decodeNatPmpResponse(Uint8Array.from(Buffer.from("0000000100000007", "hex")))).toEqual({ kind: "unsupported-version", opcode: 0, epoch: 7 });
  });

  it("names result codes, including undefined ones (§3.5 'MUST be treated as fatal')", () => {
    expect(natPmpResultName(NatPmpResultCode.OutOfResources)).toBe("OUT_OF_RESOURCES");
    expect(natPmpResultName(99)).toBe("UNKNOWN_99");
  });

  it("refuses truncated responses, versions other than 0 and request opcodes", () => {
    const codes = ["0081000000000064", "0280000000000000", "0001000000000000"].map((h) => {
      try {
        decodeNatPmpResponse(Uint8Array.from(Buffer.from(h, "hex")));
        return "none";
      } catch (e) {
        return isStunDecodeError(e) ? e.code : "other";
      }
    });
    expect(codes).toEqual(["TRUNCATED", "NOT_STUN", "NOT_STUN"]);
  });

  it("refuses out-of-range arguments with IcekitError", () => {
    let caught: unknown;
    try {
      encodeNatPmpRequest({ kind: "map", protocol: "udp", internalPort: 70000, suggestedExternalPort: 0, lifetime: 1 });
    } catch (e) {
      caught = e;
    }
    expect(isIcekitError(caught)).toBe(true);
  });
});

describe("NAT-PMP properties", () => {
  it("requests round trip", () => {
    fc.assert(fc.property(natPmpRequestArb, (r) => {
      expect(decodeNatPmpRequest(encodeNatPmpRequest(r))).toEqual(r);
    }));
  });

  it("responses round trip", () => {
    fc.assert(fc.property(natPmpResponseArb, (r) => {
      expect(decodeNatPmpResponse(encodeNatPmpResponse(r))).toEqual(r);
    }));
  });

  it("decoders throw only StunDecodeError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        onlyDecodeErrors(() => decodeNatPmpRequest(b));
        onlyDecodeErrors(() => decodeNatPmpResponse(b));
      }),
      { numRuns: 2000 },
    );
  });

  it("decoders throw only StunDecodeError on mutated and truncated valid messages", () => {
    fc.assert(
      fc.property(natPmpResponseArb, natPmpRequestArb, fc.nat(), fc.nat(255), fc.nat(20), (res, req, at, value, cut) => {
        for (const valid of [encodeNatPmpResponse(res), encodeNatPmpRequest(req)]) {
          const m = valid.slice();
          m[at % m.length] = value;
          const t = valid.subarray(0, Math.max(0, valid.length - cut));
          for (const b of [m, t]) {
            onlyDecodeErrors(() => decodeNatPmpRequest(b));
            onlyDecodeErrors(() => decodeNatPmpResponse(b));
          }
        }
      }),
    );
  });
});
