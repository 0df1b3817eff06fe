import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyPacket, isChannelData, isStunMessage, type PacketKind } from "../../src/stun/demux";
import { decodeChannelData, encodeChannelData } from "../../src/turn/channel-data";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** RFC 5769 §2.1 sample request: 20-byte header and 0x58 bytes of attributes. */
const RFC5769_REQUEST = hex(`
  000100582112a442b7e7a701bc34d686fa87dfae802200105354554e20746573
  7420636c69656e74002400046e0001ff80290008932ff9b151263b3600060009
  6576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249
  c1b571a280280004e57a3bcf`);

/** RFC 9443 §3, Figure 3, written out as ranges so each can be held against the figure. */
const RFC9443_TABLE: [number, number, PacketKind][] = [
  [0, 3, "stun"],
  [4, 15, "unknown"], // "DROP"
  [16, 19, "zrtp"],
  [20, 63, "dtls"],
  [64, 79, "turn-channel"], // "(if from TURN server), else QUIC"
  [80, 127, "quic"],
  [128, 191, "rtp"],
  [192, 255, "quic"],
];

function expectedKind(b: number, fromTurnServer: boolean): PacketKind {
  for (const [lo, hi, kind] of RFC9443_TABLE) {
    if (b >= lo && b <= hi) return kind === "turn-channel" && !fromTurnServer ? "quic" : kind;
  }
  throw new Error(`byte ${b} not in the table`);
}

describe("classifyPacket (RFC 7983 §7 as updated by RFC 9443 §3)", () => {
  it("classifies every first byte 0..255 as RFC 9443 Figure 3 says", () => {
    for (let b = 0; b <= 255; b++) {
      expect([b, classifyPacket(Uint8Array.of(b))]).toEqual([b, expectedKind(b, true)]);
      expect([b, classifyPacket(Uint8Array.of(b), 0, {})]).toEqual([b, expectedKind(b, true)]);
      expect([b, classifyPacket(Uint8Array.of(b), 0, { fromTurnServer: true })]).toEqual([b, expectedKind(b, true)]);
    }
  });

  it("classifies 64-79 as QUIC when the packet does not come from a TURN server (RFC 9443 §2)", () => {
    for (let b = 0; b <= 255; b++) {
      expect([b, classifyPacket(Uint8Array.of(b), 0, { fromTurnServer: false })]).toEqual([b, expectedKind(b, false)]);
    }
    expect(classifyPacket(Uint8Array.of(64), 0, { fromTurnServer: false })).toBe("quic");
    expect(classifyPacket(Uint8Array.of(79), 0, { fromTurnServer: false })).toBe("quic");
  });

  it("agrees with the RFC 7983 §7 table wherever RFC 9443 did not change it", () => {
    const rfc7983 = (b: number): PacketKind | undefined =>
      b <= 3 ? "stun" : b >= 16 && b <= 19 ? "zrtp" : b >= 20 && b <= 63 ? "dtls" : b >= 64 && b <= 79 ? "turn-channel" : b >= 128 && b <= 191 ? "rtp" : undefined;
    for (let b = 0; b <= 255; b++) {
      const old = rfc7983(b);
      if (old !== undefined) expect(classifyPacket(Uint8Array.of(b))).toBe(old);
    }
  });

  it("checks the boundaries of each range", () => {
    const cases: [number, PacketKind][] = [
      [3, "stun"],
      [4, "unknown"],
      [15, "unknown"],
      [16, "zrtp"],
      [19, "zrtp"],
      [20, "dtls"],
      [63, "dtls"],
      [64, "turn-channel"],
      [79, "turn-channel"],
      [80, "quic"],
      [127, "quic"],
      [128, "rtp"],
      [191, "rtp"],
      [192, "quic"],
      [255, "quic"],
    ];
    for (const [b, kind] of cases) expect([b, classifyPacket(Uint8Array.of(b))]).toEqual([b, kind]);
  });

  it("classifies real packets: STUN and ChannelData", () => {
    expect(classifyPacket(RFC5769_REQUEST)).toBe("stun");
    expect(classifyPacket(encodeChannelData(0x4000, new Uint8Array(3)))).toBe("turn-channel");
    expect(classifyPacket(encodeChannelData(0x4fff, new Uint8Array(3)))).toBe("turn-channel");
  });

  it("reads the byte at the offset", () => {
    const buf = Uint8Array.of(0x00, 0x17, 0x80);
    expect(classifyPacket(buf, 1)).toBe("dtls");
    expect(classifyPacket(buf, 2)).toBe("rtp");
  });

  it("returns unknown, never throws, for an empty buffer or an offset off the buffer", () => {
    expect(classifyPacket(new Uint8Array(0))).toBe("unknown");
    expect(classifyPacket(Uint8Array.of(0), 1)).toBe("unknown");
    expect(classifyPacket(Uint8Array.of(0), -1)).toBe("unknown");
    expect(classifyPacket(Uint8Array.of(0, 0), 0.5)).toBe("unknown");
    expect(classifyPacket(Uint8Array.of(0), Number.NaN)).toBe("unknown");
  });
});

describe("isStunMessage (RFC 8489 §5)", () => {
  it("accepts the RFC 5769 §2.1 sample request", () => {
    expect(isStunMessage(RFC5769_REQUEST)).toBe(true);
    expect(isStunMessage(RFC5769_REQUEST, 0, true)).toBe(true);
    expect(isStunMessage(RFC5769_REQUEST, 0, false)).toBe(true);
  });

  it("accepts a header-only message (Length 0)", () => {
    expect(isStunMessage(RFC5769_REQUEST.slice(0, 20).fill(0, 2, 4))).toBe(true);
  });

  it("in exact mode wants the message to end at the end of the buffer; on streams it may not", () => {
    const withTrailer = Uint8Array.of(...RFC5769_REQUEST, 0x40, 0, 0, 0);
    expect(isStunMessage(withTrailer)).toBe(false);
    expect(isStunMessage(withTrailer, 0, false)).toBe(true);
    const cut = RFC5769_REQUEST.subarray(0, RFC5769_REQUEST.length - 4);
    expect(isStunMessage(cut, 0, true)).toBe(false);
    expect(isStunMessage(cut, 0, false)).toBe(false);
  });

  it("reads at an offset", () => {
    const buf = Uint8Array.of(0xff, 0xff, ...RFC5769_REQUEST);
    expect(isStunMessage(buf, 2)).toBe(true);
    expect(isStunMessage(buf, 0)).toBe(false);
  });

  it("refuses a wrong first two bits, magic cookie or Length", () => {
    const mutate = (i: number, v: number) => {
      const m = RFC5769_REQUEST.slice();
      m[i] = v;
      return m;
    };
    expect(isStunMessage(mutate(0, 0x40))).toBe(false); // ChannelData bits
    expect(isStunMessage(mutate(0, 0x80))).toBe(false);
    expect(isStunMessage(mutate(0, 0x3f))).toBe(true); // still 00 in the top bits
    for (let i = 4; i < 8; i++) expect(isStunMessage(mutate(i, (RFC5769_REQUEST[i] ?? 0) ^ 1))).toBe(false);
    // Length 0x59 is not a multiple of 4, even with the bytes to match.
    expect(isStunMessage(Uint8Array.of(...mutate(3, 0x59), 0), 0, true)).toBe(false);
    expect(isStunMessage(mutate(3, 0x5c))).toBe(false);
    expect(isStunMessage(mutate(3, 0x54))).toBe(false);
    expect(isStunMessage(mutate(3, 0x54), 0, false)).toBe(true);
  });

  it("refuses anything shorter than the 20-byte header, and bad offsets, without throwing", () => {
    for (let n = 0; n < 20; n++) expect(isStunMessage(RFC5769_REQUEST.subarray(0, n), 0, false)).toBe(false);
    expect(isStunMessage(RFC5769_REQUEST, -1)).toBe(false);
    expect(isStunMessage(RFC5769_REQUEST, 0.5)).toBe(false);
    expect(isStunMessage(RFC5769_REQUEST, 1000)).toBe(false);
  });

  it("never throws, and accepts only bytes with the header invariants, on random and mutated bytes", () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
        const m = RFC5769_REQUEST.slice();
        m[i % m.length] = v;
        return m;
      }),
    );
    fc.assert(
      fc.property(bytes, fc.boolean(), (b, exact) => {
        if (isStunMessage(b, 0, exact)) {
          // Top two bits zero: first byte 0-63, wider than RFC 7983's 0-3 (see the next test).
          expect(b[0]).toBeLessThan(64);
          expect(Array.from(b.subarray(4, 8))).toEqual([0x21, 0x12, 0xa4, 0x42]);
          const length = ((b[2] ?? 0) << 8) | (b[3] ?? 0);
          expect(length % 4).toBe(0);
          if (exact) expect(length).toBe(b.length - 20);
          else expect(length).toBeLessThanOrEqual(b.length - 20);
        }
      }),
    );
  });

  it("follows RFC 8489 §5 (top bits 00), not the narrower RFC 7983 first-byte range", () => {
    // A reserved method (0x100-0xFFF, RFC 7983 §3) still has a STUN header; classifyPacket is
    // the place that applies the multiplexing ranges.
    const m = RFC5769_REQUEST.slice();
    m[0] = 0x3f;
    expect(isStunMessage(m)).toBe(true);
    expect(classifyPacket(m)).toBe("dtls");
  });
});

describe("isChannelData (RFC 8656 §12.4, §12.6)", () => {
  it("accepts channel numbers 0x4000-0x4FFF and nothing either side", () => {
    expect(isChannelData(hex("3fff0000"))).toBe(false);
    expect(isChannelData(hex("40000000"))).toBe(true);
    expect(isChannelData(hex("4fff0000"))).toBe(true);
    expect(isChannelData(hex("50000000"))).toBe(false);
  });

  it("wants the claimed Length to fit, and allows padding after it", () => {
    expect(isChannelData(hex("40000002 0102"))).toBe(true);
    expect(isChannelData(hex("40000002 0102 0000"))).toBe(true);
    expect(isChannelData(hex("40000003 0102"))).toBe(false);
    expect(isChannelData(hex("400000"))).toBe(false);
    expect(isChannelData(new Uint8Array(0))).toBe(false);
  });

  it("reads at an offset and refuses bad offsets without throwing", () => {
    const buf = hex("0000 40010000");
    expect(isChannelData(buf, 2)).toBe(true);
    expect(isChannelData(buf, 0)).toBe(false);
    expect(isChannelData(buf, -1)).toBe(false);
    expect(isChannelData(buf, 1.5)).toBe(false);
    expect(isChannelData(buf, 99)).toBe(false);
  });

  it("is true exactly when decodeChannelData accepts the bytes", () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc
        .tuple(fc.integer({ min: 0x3ff0, max: 0x5010 }), fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -3, max: 3 }))
        .map(([ch, data, delta]) => {
          const frame = Uint8Array.of(ch >> 8, ch & 0xff, data.length >> 8, data.length & 0xff, ...data);
          return frame.subarray(0, Math.max(0, frame.length + Math.min(delta, 0)));
        }),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        let decodes = true;
        try {
          decodeChannelData(b);
        } catch {
          decodes = false;
        }
        expect(isChannelData(b)).toBe(decodes);
        if (decodes) expect(classifyPacket(b)).toBe("turn-channel");
      }),
    );
  });

  it("never confuses STUN with ChannelData", () => {
    expect(isChannelData(RFC5769_REQUEST)).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (b) => {
        expect(isStunMessage(b, 0, false) && isChannelData(b)).toBe(false);
      }),
    );
  });
});
