/**
 * PCP codec (RFC 6887): header and MAP layouts of §7.1, §7.2 and §11.1 byte for byte,
 * IPv4-mapped addresses (§5), options (§7.3), version negotiation answers (§9), round trips of
 * every message kind as fast-check properties, and decoders on random and mutated bytes throwing
 * nothing but StunDecodeError.
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIPv6 } from "../../src/bytes/ip";
import { isIcekitError, isStunDecodeError } from "../../src/errors";
import type { PcpOption, PcpRequest, PcpResponse } from "../../src/nat/pcp";
import { PcpResultCode, decodePcpRequest, decodePcpResponse, encodePcpRequest, encodePcpResponse, pcpResultName } from "../../src/nat/pcp";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join("."));
/** IPv6 text in canonical form, never IPv4-mapped (that decodes as IPv4 text). */
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b)).filter((t) => !t.startsWith("::ffff:") || !t.includes("."));
const address = fc.oneof(ipv4, ipv6);
const nonce = fc.uint8Array({ minLength: 12, maxLength: 12 });
const options: fc.Arbitrary<PcpOption[]> = fc.array(fc.record({ code: fc.nat(255), data: fc.uint8Array({ maxLength: 21 }) }), { maxLength: 4 });

const mapReq = { lifetime: u32, clientAddress: address, options, nonce, protocol: fc.nat(255), internalPort: u16, suggestedExternalPort: u16, suggestedExternalAddress: address };
export const pcpRequestArb: fc.Arbitrary<PcpRequest> = fc.oneof(
  fc.record({ kind: fc.constant("announce" as const), lifetime: u32, clientAddress: address, options }),
  fc.record({ kind: fc.constant("map" as const), ...mapReq }),
  fc.record({ kind: fc.constant("peer" as const), ...mapReq, remotePeerPort: u16, remotePeerAddress: address }),
);

const common = { resultCode: fc.nat(255).filter((c) => c !== 1), lifetime: u32, epoch: u32, options };
const mapRes = { ...common, nonce, protocol: fc.nat(255), internalPort: u16, externalPort: u16, externalAddress: address };
export const pcpResponseArb: fc.Arbitrary<PcpResponse> = fc.oneof(
  fc.record({ kind: fc.constant("announce" as const), ...common }),
  fc.record({ kind: fc.constant("map" as const), ...mapRes }),
  fc.record({ kind: fc.constant("peer" as const), ...mapRes, remotePeerPort: u16, remotePeerAddress: address }),
  fc.record({ kind: fc.constant("unsupported-version" as const), version: fc.nat(255), epoch: u32 }),
);

/** Decoded messages hold views; compare them as plain arrays. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Array.from(x) : x)));
}

function onlyDecodeErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!isStunDecodeError(e)) throw new Error(`threw ${String(e)}, not a StunDecodeError`);
  }
}

function codeOf(f: () => unknown): string {
  try {
    f();
    return "none";
  } catch (e) {
    return isStunDecodeError(e) ? e.code : "other";
  }
}

const NONCE = Uint8Array.from({ length: 12 }, (_, i) => i + 1);

describe("PCP layouts (RFC 6887)", () => {
  it("encodes a MAP request: header, IPv4-mapped client address, nonce, protocol, ports (§7.1, §11.1)", () => {
    const b = encodePcpRequest({
      kind: "map",
      lifetime: 7200,
      clientAddress: "192.168.1.20",
      nonce: NONCE,
      protocol: 17,
      internalPort: 5000,
      suggestedExternalPort: 0,
      suggestedExternalAddress: "0.0.0.0",
    });
    expect(b.length).toBe(60);
    expect(hex(b)).toBe(
      "02010000" + "00001c20" + "00000000000000000000ffffc0a80114" + "0102030405060708090a0b0c" + "11000000" + "13880000" + "00000000000000000000ffff00000000",
    );
  });

  it("decodes a MAP response with the R bit, result, lifetime, epoch and an IPv4 external address", () => {
    const b = Uint8Array.from(
      Buffer.from("02810000" + "00000e10" + "0000002a" + "000000000000000000000000" + "0102030405060708090a0b0c" + "06000000" + "1388c350" + "00000000000000000000ffffcb007107", "hex"),
    );
    const r = decodePcpResponse(b);
    expect(plain(r)).toEqual({
      kind: "map",
      resultCode: 0,
      lifetime: 3600,
      epoch: 42,
      options: [],
      nonce: Array.from(NONCE),
      protocol: 6,
      internalPort: 5000,
      externalPort: 50000,
      externalAddress: "203.0.113.7",
    });
  });

  it("keeps IPv6 addresses as IPv6 and the IPv6 all-zeros address as '::' (§5)", () => {
    const req: PcpRequest = { kind: "map", lifetime: 1, clientAddress: "2001:db8::5", nonce: NONCE, protocol: 17, internalPort: 1, suggestedExternalPort: 0, suggestedExternalAddress: "::" };
    const back = decodePcpRequest(encodePcpRequest(req));
    expect(back.kind === "map" && [back.clientAddress, back.suggestedExternalAddress]).toEqual(["2001:db8::5", "::"]);
  });

  it("pads options to 4 bytes and reads them back with their semantic length (§7.3)", () => {
    const b = encodePcpResponse({ kind: "announce", resultCode: 0, lifetime: 0, epoch: 9, options: [{ code: 0x82, data: Uint8Array.of(1, 2, 3) }] });
    expect(hex(b.subarray(24))).toBe("82000003" + "01020300");
    expect(plain(decodePcpResponse(b))).toMatchObject({ options: [{ code: 0x82, data: [1, 2, 3] }] });
  });

  it("reads a NAT-PMP gateway's 8-byte answer as UNSUPP_VERSION from version 0 (§9, Appendix A)", () => {
    expect(decodePcpResponse(Uint8Array.from(Buffer.from("0000000100000063", "hex")))).toEqual({ kind: "unsupported-version", version: 0, epoch: 99 });
    expect(decodePcpResponse(Uint8Array.from(Buffer.from("0081000100000063", "hex")))).toEqual({ kind: "unsupported-version", version: 0, epoch: 99 });
  });

  it("names result codes (§7.4)", () => {
    expect(pcpResultName(PcpResultCode.NoResources)).toBe("NO_RESOURCES");
    expect(pcpResultName(PcpResultCode.AddressMismatch)).toBe("ADDRESS_MISMATCH");
    expect(pcpResultName(200)).toBe("UNKNOWN_200");
  });

  it("refuses bad frames with the right codes (§8.3)", () => {
    const valid = encodePcpResponse({ kind: "announce", resultCode: 0, lifetime: 0, epoch: 1, options: [] });
    const req = encodePcpRequest({ kind: "announce", lifetime: 0, clientAddress: "10.0.0.2" });
    const overrun = valid.slice();
    const withOption = new Uint8Array(28);
    withOption.set(overrun);
    withOption[24] = 1;
    withOption[27] = 8; // length 8 but only 0 bytes follow
    const unknownOp = valid.slice();
    unknownOp[1] = 0x85;
    expect([
      codeOf(() => decodePcpResponse(valid.subarray(0, 3))),
      codeOf(() => decodePcpResponse(valid.subarray(0, 20))),
      codeOf(() => decodePcpResponse(Uint8Array.of(...valid, 0, 0))),
      codeOf(() => decodePcpResponse(new Uint8Array(1104).fill(0).map((_, i) => (i < 24 ? valid[i]! : 0)))),
      codeOf(() => decodePcpResponse(req)),
      codeOf(() => decodePcpResponse(withOption)),
      codeOf(() => decodePcpResponse(unknownOp)),
    ]).toEqual(["TRUNCATED", "TRUNCATED", "BAD_LENGTH", "BAD_LENGTH", "NOT_STUN", "ATTRIBUTE_OVERRUN", "BAD_ATTRIBUTE"]);
  });

  it("refuses a wrong nonce size and messages over 1100 bytes with IcekitError", () => {
    const bad = [
      () => encodePcpRequest({ kind: "map", lifetime: 1, clientAddress: "10.0.0.2", nonce: new Uint8Array(8), protocol: 17, internalPort: 1, suggestedExternalPort: 0, suggestedExternalAddress: "0.0.0.0" }),
      () => encodePcpRequest({ kind: "announce", lifetime: 0, clientAddress: "10.0.0.2", options: [{ code: 1, data: new Uint8Array(1100) }] }),
      () => encodePcpRequest({ kind: "announce", lifetime: 0, clientAddress: "not-an-ip" }),
    ];
    for (const f of bad) {
      let caught: unknown;
      try {
        f();
      } catch (e) {
        caught = e;
      }
      expect(isIcekitError(caught)).toBe(true);
    }
  });
});

describe("PCP properties", () => {
  it("requests round trip", () => {
    fc.assert(
      fc.property(pcpRequestArb, (r) => {
        expect(plain(decodePcpRequest(encodePcpRequest(r)))).toEqual(plain(r));
      }),
    );
  });

  it("responses round trip", () => {
    fc.assert(
      fc.property(pcpResponseArb, (r) => {
        expect(plain(decodePcpResponse(encodePcpResponse(r)))).toEqual(plain(r));
      }),
    );
  });

  it("decoders throw only StunDecodeError on random bytes and random bodies behind a valid header", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(0x00, 0x01, 0x02, 0x80, 0x81, 0x82), (b, op) => {
        onlyDecodeErrors(() => decodePcpRequest(b));
        onlyDecodeErrors(() => decodePcpResponse(b));
        const h = Uint8Array.of(2, op, ...b);
        onlyDecodeErrors(() => decodePcpRequest(h));
        onlyDecodeErrors(() => decodePcpResponse(h));
      }),
      { numRuns: 2000 },
    );
  });

  it("decoders throw only StunDecodeError on mutated and truncated valid messages", () => {
    fc.assert(
      fc.property(pcpResponseArb, pcpRequestArb, fc.nat(), fc.nat(255), fc.nat(80), (res, req, at, value, cut) => {
        for (const valid of [encodePcpResponse(res), encodePcpRequest(req)]) {
          const m = valid.slice();
          m[at % m.length] = value;
          const t = valid.subarray(0, Math.max(0, valid.length - cut));
          for (const b of [m, t]) {
            onlyDecodeErrors(() => decodePcpRequest(b));
            onlyDecodeErrors(() => decodePcpResponse(b));
          }
        }
      }),
    );
  });
});
