import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IcekitError, StunDecodeError } from "../../src/errors";
import {
  CHANNEL_NUMBER_MAX,
  CHANNEL_NUMBER_MIN,
  channelDataLength,
  decodeChannelData,
  encodeChannelData,
  encodeChannelDataInto,
  isValidChannelNumber,
  streamFrameLength,
} from "../../src/turn/channel-data";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Runs `f` and returns what it threw, failing the test when it returns normally. */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

const channelNumber = fc.integer({ min: CHANNEL_NUMBER_MIN, max: CHANNEL_NUMBER_MAX });
const payload = fc.uint8Array({ minLength: 0, maxLength: 1500 });

describe("channel number range (RFC 8656 §12, Table 2)", () => {
  it("allows exactly 0x4000 through 0x4FFF", () => {
    expect(CHANNEL_NUMBER_MIN).toBe(0x4000);
    expect(CHANNEL_NUMBER_MAX).toBe(0x4fff);
    expect(isValidChannelNumber(0x3fff)).toBe(false);
    expect(isValidChannelNumber(0x4000)).toBe(true);
    expect(isValidChannelNumber(0x4fff)).toBe(true);
    expect(isValidChannelNumber(0x5000)).toBe(false);
    // RFC 5766 allowed up to 0x7FFF; RFC 8656 does not.
    expect(isValidChannelNumber(0x7fff)).toBe(false);
    expect(isValidChannelNumber(0)).toBe(false);
    expect(isValidChannelNumber(0xffff)).toBe(false);
  });

  it("refuses non-integers", () => {
    expect(isValidChannelNumber(0x4000 + 0.5)).toBe(false);
    expect(isValidChannelNumber(Number.NaN)).toBe(false);
    expect(isValidChannelNumber(Number.POSITIVE_INFINITY)).toBe(false);
  });
});

describe("encodeChannelData / decodeChannelData", () => {
  // RFC 8656 §20 (Figure 16) sends ChannelData on channel 0x4000 with unspecified data; the
  // bytes below follow the §12.4 layout for the data "hello".
  const hello = new TextEncoder().encode("hello");

  it("lays out channel number, length and data as in RFC 8656 §12.4", () => {
    expect(toHex(encodeChannelData(0x4000, hello))).toBe("40000005" + "68656c6c6f");
  });

  it("pads to a multiple of 4 with zeros when asked, without counting padding in Length (§12.5)", () => {
    expect(toHex(encodeChannelData(0x4000, hello, true))).toBe("40000005" + "68656c6c6f" + "000000");
    expect(toHex(encodeChannelData(0x4fff, new Uint8Array(4), true))).toBe("4fff0004" + "00000000");
  });

  it("encodes and decodes an empty payload (0 is a valid length, §12.4)", () => {
    const frame = encodeChannelData(0x4123, new Uint8Array(0), true);
    expect(toHex(frame)).toBe("41230000");
    const decoded = decodeChannelData(frame);
    expect(decoded.channelNumber).toBe(0x4123);
    expect(decoded.data.length).toBe(0);
  });

  it("decodes the RFC-shaped frame and returns a view, not a copy", () => {
    const buf = hex("40000005 68656c6c6f 000000");
    const decoded = decodeChannelData(buf);
    expect(decoded.channelNumber).toBe(0x4000);
    expect(new TextDecoder().decode(decoded.data)).toBe("hello");
    expect(decoded.data.buffer).toBe(buf.buffer);
    expect(decoded.data.byteOffset).toBe(4);
    buf[4] = 0x48;
    expect(decoded.data[0]).toBe(0x48);
  });

  it("accepts UDP padding and other trailing bytes after the data (§12.5)", () => {
    expect(decodeChannelData(hex("40010001 ff 000000")).data).toEqual(Uint8Array.of(0xff));
    expect(decodeChannelData(hex("40010001 ff aabbccddeeff")).data).toEqual(Uint8Array.of(0xff));
  });

  it("decodes at an offset", () => {
    const buf = hex("deadbeef 4abc0002 0102");
    const decoded = decodeChannelData(buf, 4);
    expect(decoded.channelNumber).toBe(0x4abc);
    expect(decoded.data).toEqual(Uint8Array.of(1, 2));
  });

  it("round-trips any channel and payload, padded and unpadded", () => {
    fc.assert(
      fc.property(channelNumber, payload, fc.boolean(), (ch, data, padded) => {
        const frame = encodeChannelData(ch, data, padded);
        expect(frame.length).toBe(channelDataLength(data.length, padded));
        if (padded) expect(frame.length % 4).toBe(0);
        else expect(frame.length).toBe(4 + data.length);
        for (let i = 4 + data.length; i < frame.length; i++) expect(frame[i]).toBe(0);
        const decoded = decodeChannelData(frame);
        expect(decoded.channelNumber).toBe(ch);
        expect(decoded.data).toEqual(data);
      }),
    );
  });

  it("encodeChannelDataInto writes at the offset, returns the size and leaves the rest alone", () => {
    fc.assert(
      fc.property(channelNumber, payload, fc.boolean(), fc.nat(16), (ch, data, padded, offset) => {
        const size = channelDataLength(data.length, padded);
        // Stale bytes everywhere: padding must come out zero, bytes outside the frame untouched.
        const out = new Uint8Array(offset + size + 8).fill(0xee);
        expect(encodeChannelDataInto(out, offset, ch, data, padded)).toBe(size);
        expect(out.subarray(offset, offset + size)).toEqual(encodeChannelData(ch, data, padded));
        expect(out.subarray(0, offset).every((x) => x === 0xee)).toBe(true);
        expect(out.subarray(offset + size).every((x) => x === 0xee)).toBe(true);
      }),
    );
  });

  it("encodes in place when the payload already sits after the header", () => {
    const out = new Uint8Array(12);
    out.set([9, 8, 7, 6, 5], 4);
    expect(encodeChannelDataInto(out, 0, 0x4002, out.subarray(4, 9), true)).toBe(12);
    expect(toHex(out)).toBe("40020005" + "0908070605" + "000000");
  });

  it("copies correctly when the payload overlaps the destination elsewhere", () => {
    const out = Uint8Array.of(1, 2, 3, 4, 5, 6, 0, 0, 0, 0);
    expect(encodeChannelDataInto(out, 0, 0x4000, out.subarray(0, 6))).toBe(10);
    expect(toHex(out)).toBe("40000006" + "010203040506");
  });

  it("gives the same bytes whenever the payload is a view into the destination", () => {
    const bytes = fc.uint8Array({ minLength: 1, maxLength: 80 });
    fc.assert(
      fc.property(channelNumber, bytes, fc.nat(), fc.nat(), fc.nat(), fc.boolean(), (ch, initial, a, b, o, padded) => {
        const out = Uint8Array.from(initial);
        const from = a % out.length;
        const data = out.subarray(from, from + (b % (out.length - from + 1)));
        const expected = encodeChannelData(ch, data.slice(), padded);
        const offset = o % (out.length + 1);
        fc.pre(offset + expected.length <= out.length);
        encodeChannelDataInto(out, offset, ch, data, padded);
        expect(toHex(out.subarray(offset, offset + expected.length))).toBe(toHex(expected));
      }),
    );
  });

  it("encodes the largest payload, 65535 bytes", () => {
    const data = new Uint8Array(0xffff).fill(7);
    const frame = encodeChannelData(0x4000, data, true);
    expect(frame.length).toBe(65540);
    expect(decodeChannelData(frame).data.length).toBe(0xffff);
  });
});

describe("encoding misuse throws IcekitError", () => {
  it.each([0x3000, 0x3fff, 0x5000, 0xffff, -1, 0x4000 + 0.5, Number.NaN])(
    "refuses channel number %d",
    (ch) => {
      const e = thrown(() => encodeChannelData(ch, new Uint8Array(1)));
      expect(e).toBeInstanceOf(IcekitError);
      expect((e as IcekitError).code).toBe("INVALID_ARGUMENT");
      expect((e as IcekitError).message).toContain("0x4000");
      expect(thrown(() => encodeChannelDataInto(new Uint8Array(8), 0, ch, new Uint8Array(1)))).toBeInstanceOf(
        IcekitError,
      );
    },
  );

  it("names the refused channel number in hex", () => {
    expect((thrown(() => encodeChannelData(0x3000, new Uint8Array(0))) as Error).message).toContain("0x3000");
  });

  it("refuses a payload over 65535 bytes", () => {
    const e = thrown(() => encodeChannelData(0x4000, new Uint8Array(0x10000)));
    expect(e).toBeInstanceOf(IcekitError);
    expect((e as IcekitError).code).toBe("INVALID_ARGUMENT");
    expect((e as IcekitError).message).toContain("65536");
  });

  it("refuses a buffer too small, without writing", () => {
    const out = new Uint8Array(8);
    const e = thrown(() => encodeChannelDataInto(out, 0, 0x4000, new Uint8Array(5), true));
    expect(e).toBeInstanceOf(IcekitError);
    expect((e as IcekitError).code).toBe("BUFFER_TOO_SMALL");
    expect(out.every((x) => x === 0)).toBe(true);
    expect(thrown(() => encodeChannelDataInto(new Uint8Array(8), 4, 0x4000, new Uint8Array(1)))).toBeInstanceOf(
      IcekitError,
    );
  });

  it("refuses a bad offset", () => {
    for (const offset of [-1, 0.5, Number.NaN]) {
      const e = thrown(() => encodeChannelDataInto(new Uint8Array(16), offset, 0x4000, new Uint8Array(1)));
      expect((e as IcekitError).code).toBe("INVALID_ARGUMENT");
    }
  });
});

describe("channelDataLength (RFC 8656 §12.5)", () => {
  it("is 4 + length, rounded up to 4 when padded", () => {
    const cases: [number, boolean, number][] = [
      [0, false, 4],
      [0, true, 4],
      [1, false, 5],
      [1, true, 8],
      [3, true, 8],
      [4, true, 8],
      [5, true, 12],
      [0xffff, false, 65539],
      [0xffff, true, 65540],
    ];
    for (const [len, padded, size] of cases) expect(channelDataLength(len, padded)).toBe(size);
  });

  it("refuses lengths a 16-bit field cannot hold", () => {
    for (const len of [-1, 0x10000, 1.5, Number.NaN]) {
      const e = thrown(() => channelDataLength(len, true));
      expect(e).toBeInstanceOf(IcekitError);
      expect((e as IcekitError).code).toBe("INVALID_ARGUMENT");
    }
  });
});

describe("decodeChannelData on bad input", () => {
  it.each([
    ["3fff", 0x3fff],
    ["5000", 0x5000],
    ["7fff", 0x7fff],
    ["0001", 0x0001],
  ])("refuses channel number 0x%s with BAD_CHANNEL_DATA (§12.6)", (h, n) => {
    const e = thrown(() => decodeChannelData(hex(`${h}0000`)));
    expect(e).toBeInstanceOf(StunDecodeError);
    expect((e as StunDecodeError).code).toBe("BAD_CHANNEL_DATA");
    expect((e as StunDecodeError).offset).toBe(0);
    expect((e as StunDecodeError).message).toContain(`0x${n.toString(16).toUpperCase().padStart(4, "0")}`);
  });

  it("reports the offset of the frame it rejects", () => {
    const e = thrown(() => decodeChannelData(hex("00000000 50000000"), 4)) as StunDecodeError;
    expect(e.offset).toBe(4);
    expect(e.message).toContain("offset 4");
  });

  it("refuses a header shorter than 4 bytes with TRUNCATED", () => {
    for (const h of ["", "40", "4000", "400000"]) {
      const e = thrown(() => decodeChannelData(hex(h)));
      expect(e).toBeInstanceOf(StunDecodeError);
      expect((e as StunDecodeError).code).toBe("TRUNCATED");
    }
  });

  it("refuses a Length longer than the datagram with TRUNCATED at the Length field (§12.6)", () => {
    const e = thrown(() => decodeChannelData(hex("ffffffff 40000005 01020304"), 4)) as StunDecodeError;
    expect(e).toBeInstanceOf(StunDecodeError);
    expect(e.code).toBe("TRUNCATED");
    expect(e.offset).toBe(6);
    expect(e.message).toContain("Length 5");
    // One byte fewer than claimed is enough to refuse; exactly enough is accepted.
    expect(decodeChannelData(hex("40000004 01020304")).data.length).toBe(4);
  });

  it("treats a bad offset as misuse, not bad input", () => {
    for (const offset of [-1, 9, 0.5]) {
      const e = thrown(() => decodeChannelData(new Uint8Array(8), offset));
      expect(e).toBeInstanceOf(IcekitError);
    }
  });

  it("throws only StunDecodeError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const d = decodeChannelData(bytes);
          expect(isValidChannelNumber(d.channelNumber)).toBe(true);
          expect(4 + d.data.length).toBeLessThanOrEqual(bytes.length);
        } catch (e) {
          expect(e).toBeInstanceOf(StunDecodeError);
        }
      }),
    );
  });

  it("throws only StunDecodeError on mutated valid frames, and accepts only what fits", () => {
    const mutation = fc.record({
      index: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
      cut: fc.nat(),
      kind: fc.constantFrom("flip", "truncate", "extend"),
    });
    fc.assert(
      fc.property(channelNumber, fc.uint8Array({ maxLength: 64 }), fc.boolean(), mutation, (ch, data, padded, m) => {
        let frame = encodeChannelData(ch, data, padded);
        if (m.kind === "flip") frame[m.index % frame.length] = m.value;
        else if (m.kind === "truncate") frame = frame.subarray(0, m.cut % frame.length);
        else frame = Uint8Array.of(...frame, m.value);
        try {
          const d = decodeChannelData(frame);
          expect(isValidChannelNumber(d.channelNumber)).toBe(true);
          expect(4 + d.data.length).toBeLessThanOrEqual(frame.length);
        } catch (e) {
          expect(e).toBeInstanceOf(StunDecodeError);
        }
      }),
    );
  });
});

describe("streamFrameLength (RFC 8656 §12.5)", () => {
  const stunHeader = (length: number) =>
    Uint8Array.of(0x00, 0x01, length >> 8, length & 0xff, 0x21, 0x12, 0xa4, 0x42, ...new Uint8Array(12));

  it("sizes a STUN message as 20 + Length", () => {
    expect(streamFrameLength(stunHeader(0))).toBe(20);
    expect(streamFrameLength(stunHeader(0x58))).toBe(20 + 0x58);
    expect(streamFrameLength(hex("0101ffff"))).toBe(20 + 0xffff);
  });

  it("sizes ChannelData as 4 + Length rounded up to 4", () => {
    expect(streamFrameLength(hex("40000000"))).toBe(4);
    expect(streamFrameLength(hex("40000001"))).toBe(8);
    expect(streamFrameLength(hex("40000004"))).toBe(8);
    expect(streamFrameLength(hex("4fff0005"))).toBe(12);
    expect(streamFrameLength(hex("4000ffff"))).toBe(65540);
  });

  it("still sizes ChannelData on a reserved channel, which the decoder then discards (§12.6)", () => {
    const buf = hex("7fff0002 0102 0000");
    expect(streamFrameLength(buf)).toBe(8);
    expect(thrown(() => decodeChannelData(buf))).toBeInstanceOf(StunDecodeError);
  });

  it("returns undefined until the 4 bytes holding the Length have arrived", () => {
    const frame = encodeChannelData(0x4001, new Uint8Array(13), true);
    expect(streamFrameLength(new Uint8Array(0))).toBeUndefined();
    for (let n = 1; n < 4; n++) expect(streamFrameLength(frame.subarray(0, n))).toBeUndefined();
    for (let n = 4; n <= frame.length; n++) expect(streamFrameLength(frame.subarray(0, n))).toBe(20);
    const stun = stunHeader(8);
    for (let n = 1; n < 4; n++) expect(streamFrameLength(stun.subarray(0, n))).toBeUndefined();
    expect(streamFrameLength(stun.subarray(0, 4))).toBe(28);
  });

  it("reads at an offset; offset at the end means no bytes yet", () => {
    const buf = hex("40000001 aa000000 40010000");
    expect(streamFrameLength(buf, 8)).toBe(4);
    expect(streamFrameLength(buf, 12)).toBeUndefined();
    expect(thrown(() => streamFrameLength(buf, 13))).toBeInstanceOf(IcekitError);
  });

  it.each([0x80, 0xbf, 0xc0, 0xff])("refuses first byte %i as soon as it arrives", (b) => {
    const e = thrown(() => streamFrameLength(Uint8Array.of(b))) as StunDecodeError;
    expect(e).toBeInstanceOf(StunDecodeError);
    expect(e.code).toBe("BAD_CHANNEL_DATA");
    expect(e.offset).toBe(0);
    expect(thrown(() => streamFrameLength(Uint8Array.of(0, 0, b, 0, 0), 2))).toBeInstanceOf(StunDecodeError);
  });

  it("cuts an interleaved stream back into its frames, however it was chunked", () => {
    const stunFrame = fc.integer({ min: 0, max: 40 }).map((words) => {
      const m = new Uint8Array(20 + words * 4);
      m.set(stunHeader(words * 4));
      return m;
    });
    const cdFrame = fc
      .tuple(channelNumber, fc.uint8Array({ maxLength: 100 }))
      .map(([ch, data]) => encodeChannelData(ch, data, true));
    fc.assert(
      fc.property(fc.array(fc.oneof(stunFrame, cdFrame), { maxLength: 8 }), fc.array(fc.nat()), (frames, cuts) => {
        const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        let at = 0;
        for (const f of frames) {
          stream.set(f, at);
          at += f.length;
        }
        // Deliver the stream in arbitrary chunks, as TCP may.
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const got: Uint8Array[] = [];
        let pending = new Uint8Array(0);
        for (const end of [...points, stream.length]) {
          const chunk = stream.subarray(pending.length + got.reduce((n, f) => n + f.length, 0), end);
          pending = Uint8Array.of(...pending, ...chunk);
          let pos = 0;
          let n: number | undefined;
          while ((n = streamFrameLength(pending, pos)) !== undefined && pos + n <= pending.length) {
            got.push(pending.slice(pos, pos + n));
            pos += n;
          }
          pending = pending.slice(pos);
        }
        expect(pending.length).toBe(0);
        expect(got.map(toHex)).toEqual(frames.map(toHex));
      }),
    );
  });

  it("throws only StunDecodeError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), fc.nat(32), (bytes, o) => {
        const offset = o % (bytes.length + 1);
        try {
          const n = streamFrameLength(bytes, offset);
          // STUN frames are 20 + Length even when a bogus Length is not a multiple of 4.
          if (n !== undefined) expect(n).toBeGreaterThanOrEqual(4);
        } catch (e) {
          expect(e).toBeInstanceOf(StunDecodeError);
        }
      }),
    );
  });
});
