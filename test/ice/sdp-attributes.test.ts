/**
 * The ICE attributes of RFC 8839 §5 (and RFC 8840's end-of-candidates): the RFC's examples,
 * round trips, malformed input.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  DEFAULT_ICE_PACING,
  ICE_OPTIONS,
  formatCandidateAttribute,
  formatEndOfCandidates,
  formatIceLite,
  formatIceOptions,
  formatIcePacing,
  formatIcePwd,
  formatIceUfrag,
  iceSessionAttributes,
  parseIceAttribute,
  parseIceAttributes,
} from "../../src/ice/sdp-attributes";
import { isIcekitError, isStunDecodeError } from "../../src/errors";

/** RFC 8839 §4.2.6's example SDP (the candidate lines unfolded). */
const RFC_SDP = [
  "v=0",
  "o=jdoe 2890844526 2890842807 IN IP4 203.0.113.141",
  "s=",
  "c=IN IP4 192.0.2.3",
  "t=0 0",
  "a=ice-options:ice2",
  "a=ice-pacing:50",
  "a=ice-pwd:asd88fgpdd777uzjYhagZg",
  "a=ice-ufrag:8hhY",
  "m=audio 45664 RTP/AVP 0",
  "b=RS:0",
  "b=RR:0",
  "a=rtpmap:0 PCMU/8000",
  "a=candidate:1 1 UDP 2130706431 203.0.113.141 8998 typ host",
  "a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998",
];

const iceChar = fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".split(""));
const iceString = (min: number, max: number) => fc.array(iceChar, { minLength: min, maxLength: max }).map((a) => a.join(""));

describe("RFC 8839 examples", () => {
  it("reads the example SDP of §4.2.6", () => {
    const d = parseIceAttributes(RFC_SDP);
    expect(d.ufrag).toBe("8hhY");
    expect(d.pwd).toBe("asd88fgpdd777uzjYhagZg");
    expect(d.options).toEqual(["ice2"]);
    expect(d.pacing).toBe(50);
    expect(d.lite).toBe(false);
    expect(d.endOfCandidates).toBe(false);
    expect(d.candidates.map((c) => [c.type, c.address, c.port])).toEqual([
      ["host", "203.0.113.141", 8998],
      ["srflx", "192.0.2.3", 45664],
    ]);
  });

  it("writes the attributes of §5.4, §5.5 and §5.6 as the RFC shows them", () => {
    expect(formatIceUfrag("8hhY")).toBe("a=ice-ufrag:8hhY");
    expect(formatIcePwd("asd88fgpdd777uzjYhagZg")).toBe("a=ice-pwd:asd88fgpdd777uzjYhagZg");
    expect(formatIcePacing(50)).toBe("a=ice-pacing:50");
    expect(formatIceOptions(["ice2", "rtp+ecn"])).toBe("a=ice-options:ice2 rtp+ecn");
    expect(parseIceAttribute("a=ice-options:ice2 rtp+ecn")).toEqual({ kind: "ice-options", options: ["ice2", "rtp+ecn"] });
    expect(formatIceLite()).toBe("a=ice-lite");
    expect(formatEndOfCandidates()).toBe("a=end-of-candidates");
  });

  it("signals trickle and ice2 by default (RFC 8445 §10 MUST, RFC 8838 §3)", () => {
    expect(ICE_OPTIONS).toEqual(["trickle", "ice2"]);
    expect(formatIceOptions()).toBe("a=ice-options:trickle ice2");
    expect(DEFAULT_ICE_PACING).toBe(50);
  });

  it("a full agent proposes ice-pacing, a lite one says ice-lite and no ice-pacing (RFC 8839 §4.3.1)", () => {
    expect(iceSessionAttributes({ ufrag: "8hhY", pwd: "asd88fgpdd777uzjYhagZg", pacing: 50 })).toEqual([
      "a=ice-ufrag:8hhY",
      "a=ice-pwd:asd88fgpdd777uzjYhagZg",
      "a=ice-options:trickle ice2",
      "a=ice-pacing:50",
    ]);
    expect(iceSessionAttributes({ ufrag: "8hhY", pwd: "asd88fgpdd777uzjYhagZg", lite: true, pacing: 50 })).toEqual([
      "a=ice-ufrag:8hhY",
      "a=ice-pwd:asd88fgpdd777uzjYhagZg",
      "a=ice-options:trickle ice2",
      "a=ice-lite",
    ]);
  });

  it("candidate lines go through the candidate codec", () => {
    const a = parseIceAttribute(RFC_SDP[14]!);
    expect(a?.kind).toBe("candidate");
    if (a?.kind !== "candidate") return;
    expect(formatCandidateAttribute(a.candidate)).toBe("a=candidate:2 1 udp 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998");
  });

  it("skips lines that are not ICE attributes", () => {
    expect(parseIceAttribute("a=rtpmap:0 PCMU/8000")).toBeUndefined();
    expect(parseIceAttribute("m=audio 45664 RTP/AVP 0")).toBeUndefined();
    expect(parseIceAttribute("a=end-of-candidates\r\n")).toEqual({ kind: "end-of-candidates" });
  });
});

describe("round trips (property)", () => {
  it("ufrag, pwd, options, pacing, flags", () => {
    fc.assert(
      fc.property(iceString(4, 32), iceString(22, 256), fc.array(iceString(1, 12), { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 9_999_999_999 }), fc.boolean(), fc.boolean(), (ufrag, pwd, options, pacing, lite, eoc) => {
        const lines = [formatIceUfrag(ufrag), formatIcePwd(pwd), formatIceOptions(options), lite ? formatIceLite() : formatIcePacing(pacing)];
        if (eoc) lines.push(formatEndOfCandidates());
        const d = parseIceAttributes(lines);
        expect(d.ufrag).toBe(ufrag);
        expect(d.pwd).toBe(pwd);
        expect(d.options).toEqual([...new Set(options)]);
        expect(d.lite).toBe(lite);
        expect(d.pacing).toBe(lite ? undefined : pacing);
        expect(d.endOfCandidates).toBe(eoc);
      }),
    );
  });

  it("accepts ufrags up to 256 characters when receiving (RFC 8839 §5.4)", () => {
    fc.assert(
      fc.property(iceString(4, 256), (ufrag) => {
        expect(parseIceAttribute(`a=ice-ufrag:${ufrag}`)).toEqual({ kind: "ice-ufrag", ufrag });
      }),
    );
  });
});

describe("malformed input", () => {
  const cases: [string, string][] = [
    ["a ufrag under 4 characters", "a=ice-ufrag:abc"],
    ["a ufrag over 256", `a=ice-ufrag:${"a".repeat(257)}`],
    ["a ufrag with a bad character", "a=ice-ufrag:ab-cd"],
    ["a pwd under 22", "a=ice-pwd:short"],
    ["a pwd with a space", "a=ice-pwd:asd88fgpdd777uzj Yhag Zg"],
    ["an empty ufrag", "a=ice-ufrag:"],
    ["options with a double space", "a=ice-options:ice2  trickle"],
    ["options with a bad character", "a=ice-options:ice2 tr=ckle"],
    ["an empty options list", "a=ice-options:"],
    ["a negative pacing", "a=ice-pacing:-5"],
    ["a pacing of 11 digits", "a=ice-pacing:12345678901"],
    ["a pacing with a unit", "a=ice-pacing:50ms"],
    ["ice-lite with a value", "a=ice-lite:yes"],
    ["end-of-candidates with a value", "a=end-of-candidates:1"],
    ["a broken candidate", "a=candidate:1 1 UDP notanumber 203.0.113.141 8998 typ host"],
  ];
  for (const [what, line] of cases) {
    it(`throws StunDecodeError BAD_TEXT for ${what}`, () => {
      let err: unknown;
      try {
        parseIceAttribute(line);
      } catch (e) {
        err = e;
      }
      expect(isStunDecodeError(err)).toBe(true);
      expect((err as { code: string }).code).toBe("BAD_TEXT");
    });
  }

  it("random lines throw only StunDecodeError (property)", () => {
    const prefix = fc.constantFrom("a=ice-ufrag:", "a=ice-pwd:", "a=ice-options:", "a=ice-pacing:", "a=ice-lite", "a=end-of-candidates", "a=candidate:", "");
    fc.assert(
      fc.property(prefix, fc.string({ maxLength: 80 }), (p, rest) => {
        try {
          parseIceAttribute(p + rest);
        } catch (e) {
          expect(isStunDecodeError(e)).toBe(true);
        }
      }),
    );
  });

  it("refuses to write what the grammar cannot carry, with IcekitError", () => {
    for (const f of [
      () => formatIceUfrag("a".repeat(33)), // "MUST NOT be longer than 32 characters when sending"
      () => formatIceUfrag("abc"),
      () => formatIcePwd("x".repeat(21)),
      () => formatIceOptions([]),
      () => formatIceOptions(["ice 2"]),
      () => formatIcePacing(2.5),
      () => formatIcePacing(-1),
    ]) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(isIcekitError(err)).toBe(true);
    }
  });
});
