/**
 * The ICE attributes of SDP (RFC 8839 §5, RFC 8840 for `end-of-candidates`), formatted and
 * parsed as single lines, for applications that carry ICE in SDP or an SDP-like signaling:
 *
 * ```
 * ice-ufrag-att  = "ice-ufrag:" ufrag                     ufrag    = 4*256ice-char
 * ice-pwd-att    = "ice-pwd:" password                    password = 22*256ice-char
 * ice-options    = "ice-options:" ice-option-tag *(SP ice-option-tag)
 * ice-option-tag = 1*ice-char
 * ice-lite       = "ice-lite"
 * ice-pacing-att = "ice-pacing:" pacing-value             pacing-value = 1*10DIGIT
 * ice-char       = ALPHA / DIGIT / "+" / "/"
 * ```
 *
 * `a=candidate` lines go through the one candidate codec ({@link parseCandidate},
 * {@link formatCandidate}). Formatting checks what icekit sends (an `IcekitError` for a value the
 * grammar cannot carry; RFC 8839 §5.4: a ufrag "MUST NOT be longer than 32 characters when
 * sending"); parsing accepts what the grammar allows ("MUST accept up to 256 characters when
 * receiving") and throws {@link StunDecodeError} `BAD_TEXT` for anything else.
 *
 * @example
 * ```ts
 * iceSessionAttributes({ ufrag: agent.localUfrag, pwd: agent.localPwd, pacing: agent.localPacing });
 * // ["a=ice-ufrag:…", "a=ice-pwd:…", "a=ice-options:trickle ice2", "a=ice-pacing:50"]
 * const d = parseIceAttributes(sdp.split("\r\n"));
 * agent.setRemoteCredentials(d.ufrag!, d.pwd!, { lite: d.lite, ...(d.pacing !== undefined ? { pacing: d.pacing } : {}) });
 * ```
 *
 * @module
 */
import { IcekitError, StunDecodeError } from "../errors";
import type { IceCandidate } from "./candidate";
import { formatCandidate, parseCandidate } from "./candidate";

/**
 * The ICE options an icekit agent supports and signals: `trickle` (RFC 8838 §3: "a user agent
 * can provide an indication [...] that it supports Trickle ICE by communicating an ICE option of
 * 'trickle'") and `ice2` (RFC 8445 §10: "An agent compliant to this specification MUST inform the
 * peer about the compliance using the 'ice2' option"; RFC 8839 §4.2.1.5).
 *
 * @example
 * ```ts
 * formatIceOptions(ICE_OPTIONS) // "a=ice-options:trickle ice2"
 * ```
 */
export const ICE_OPTIONS: readonly string[] = ["trickle", "ice2"];

/**
 * RFC 8839 §5.5: "If absent in an offer or answer, the default value of the attribute is 50 ms".
 *
 * @example
 * ```ts
 * const theirs = parseIceAttributes(lines).pacing ?? DEFAULT_ICE_PACING;
 * ```
 */
export const DEFAULT_ICE_PACING = 50;

/**
 * One ICE attribute, as {@link parseIceAttribute} reads it.
 *
 * @example
 * ```ts
 * const a: IceAttribute | undefined = parseIceAttribute("a=ice-lite"); // { kind: "ice-lite" }
 * ```
 */
export type IceAttribute =
  | { readonly kind: "ice-ufrag"; readonly ufrag: string }
  | { readonly kind: "ice-pwd"; readonly pwd: string }
  | { readonly kind: "ice-options"; readonly options: readonly string[] }
  | { readonly kind: "ice-lite" }
  | { readonly kind: "ice-pacing"; readonly pacing: number }
  | { readonly kind: "end-of-candidates" }
  | { readonly kind: "candidate"; readonly candidate: IceCandidate };

/**
 * What a set of ICE attributes says, as {@link parseIceAttributes} gathers it.
 *
 * @example
 * ```ts
 * const d: IceDescription = parseIceAttributes(["a=ice-ufrag:8hhY", "a=ice-pwd:asd88fgpdd777uzjYhagZg"]);
 * d.options.includes("ice2") // false: an RFC 5245 peer (RFC 8839 §4.2.1.5)
 * ```
 */
export interface IceDescription {
  readonly ufrag: string | undefined;
  readonly pwd: string | undefined;
  /** The ICE options, in order, without repeats. */
  readonly options: readonly string[];
  /** `a=ice-lite` was present. */
  readonly lite: boolean;
  /** `a=ice-pacing`, if present (absent means {@link DEFAULT_ICE_PACING}). */
  readonly pacing: number | undefined;
  readonly candidates: readonly IceCandidate[];
  readonly endOfCandidates: boolean;
}

/**
 * What {@link iceSessionAttributes} writes.
 *
 * @example
 * ```ts
 * const p: IceSessionParams = { ufrag: agent.localUfrag, pwd: agent.localPwd, lite: agent.lite, pacing: agent.localPacing };
 * ```
 */
export interface IceSessionParams {
  readonly ufrag: string;
  readonly pwd: string;
  /** ICE options; default {@link ICE_OPTIONS}. */
  readonly options?: readonly string[];
  /** A lite agent: `a=ice-lite`, and no `a=ice-pacing` (RFC 8839 §4.3.1 "MUST NOT include"). */
  readonly lite?: boolean;
  /** Ta to propose, ms (`IceAgent.localPacing`); omitted when undefined. */
  readonly pacing?: number | undefined;
}

const ICE_CHARS = /^[A-Za-z0-9+/]+$/;
const DIGITS = /^[0-9]{1,10}$/;

function bad(message: string, offset?: number): StunDecodeError {
  return new StunDecodeError("BAD_TEXT", `ICE attribute: ${message}`, offset);
}

function misuse(message: string): IcekitError {
  return new IcekitError("INVALID_ARGUMENT", message);
}

/**
 * `a=ice-ufrag:<ufrag>` (RFC 8839 §5.4).
 *
 * @param ufrag - 4-32 ice-chars (32: the limit "when sending")
 * @throws {@link IcekitError} `INVALID_ARGUMENT` otherwise
 * @example
 * ```ts
 * formatIceUfrag("8hhY") // "a=ice-ufrag:8hhY"
 * ```
 */
export function formatIceUfrag(ufrag: string): string {
  if (typeof ufrag !== "string" || ufrag.length < 4 || ufrag.length > 32 || !ICE_CHARS.test(ufrag)) {
    throw misuse(`ice-ufrag ${JSON.stringify(ufrag)}: pass 4-32 characters of A-Z a-z 0-9 + / (RFC 8839 §5.4)`);
  }
  return `a=ice-ufrag:${ufrag}`;
}

/**
 * `a=ice-pwd:<password>` (RFC 8839 §5.4).
 *
 * @param pwd - 22-256 ice-chars
 * @throws {@link IcekitError} `INVALID_ARGUMENT` otherwise
 * @example
 * ```ts
 * formatIcePwd("asd88fgpdd777uzjYhagZg") // "a=ice-pwd:asd88fgpdd777uzjYhagZg"
 * ```
 */
export function formatIcePwd(pwd: string): string {
  if (typeof pwd !== "string" || pwd.length < 22 || pwd.length > 256 || !ICE_CHARS.test(pwd)) {
    throw misuse(`ice-pwd of ${typeof pwd === "string" ? pwd.length : typeof pwd} characters: pass 22-256 characters of A-Z a-z 0-9 + / (RFC 8839 §5.4)`);
  }
  return `a=ice-pwd:${pwd}`;
}

/**
 * `a=ice-options:<tag> <tag>…` (RFC 8839 §5.6).
 *
 * @param options - ICE option tags, each 1+ ice-chars; default {@link ICE_OPTIONS}
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for no tag or a tag outside the grammar
 * @example
 * ```ts
 * formatIceOptions() // "a=ice-options:trickle ice2"
 * ```
 */
export function formatIceOptions(options: readonly string[] = ICE_OPTIONS): string {
  if (!Array.isArray(options) || options.length === 0) throw misuse("ice-options: pass at least one option tag, e.g. ['trickle', 'ice2']");
  for (const o of options) {
    if (typeof o !== "string" || !ICE_CHARS.test(o)) throw misuse(`ice-option-tag ${JSON.stringify(o)}: pass 1 or more characters of A-Z a-z 0-9 + / (RFC 8839 §5.6)`);
  }
  return `a=ice-options:${options.join(" ")}`;
}

/**
 * `a=ice-pacing:<ms>` (RFC 8839 §5.5).
 *
 * @param pacing - Ta in ms: an integer, at most 10 digits
 * @throws {@link IcekitError} `INVALID_ARGUMENT` otherwise
 * @example
 * ```ts
 * formatIcePacing(50) // "a=ice-pacing:50"
 * ```
 */
export function formatIcePacing(pacing: number): string {
  if (typeof pacing !== "number" || !Number.isInteger(pacing) || pacing < 0 || pacing > 9_999_999_999) {
    throw misuse(`ice-pacing ${String(pacing)}: pass a whole number of ms, up to 10 digits (RFC 8839 §5.5)`);
  }
  return `a=ice-pacing:${pacing}`;
}

/**
 * `a=ice-lite` (RFC 8839 §5.3): "An ICE-lite implementation MUST include" it, a full one "MUST NOT".
 *
 * @example
 * ```ts
 * formatIceLite() // "a=ice-lite"
 * ```
 */
export function formatIceLite(): string {
  return "a=ice-lite";
}

/**
 * `a=end-of-candidates` (RFC 8840 §8.2, the SDP form of RFC 8838's end-of-candidates indication).
 *
 * @example
 * ```ts
 * formatEndOfCandidates() // "a=end-of-candidates"
 * ```
 */
export function formatEndOfCandidates(): string {
  return "a=end-of-candidates";
}

/**
 * `a=candidate:…` through the candidate codec ({@link formatCandidate}).
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` when a field cannot be written in the grammar
 * @example
 * ```ts
 * formatCandidateAttribute(parseCandidate("candidate:1 1 UDP 2130706431 203.0.113.141 8998 typ host"))
 * // "a=candidate:1 1 udp 2130706431 203.0.113.141 8998 typ host"
 * ```
 */
export function formatCandidateAttribute(candidate: IceCandidate): string {
  return `a=${formatCandidate(candidate)}`;
}

/**
 * The session-level ICE attributes of an offer or answer (RFC 8839 §4.3.1, §4.3.2): ufrag,
 * pwd, ice-options (default `trickle ice2`), then `ice-lite` for a lite agent or `ice-pacing`
 * for a full one that proposes a Ta.
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for a value outside the grammar
 * @example
 * ```ts
 * iceSessionAttributes({ ufrag: "8hhY", pwd: "asd88fgpdd777uzjYhagZg", pacing: 50 })
 * // ["a=ice-ufrag:8hhY", "a=ice-pwd:asd88fgpdd777uzjYhagZg", "a=ice-options:trickle ice2", "a=ice-pacing:50"]
 * ```
 */
export function iceSessionAttributes(p: IceSessionParams): string[] {
  const lines = [formatIceUfrag(p.ufrag), formatIcePwd(p.pwd), formatIceOptions(p.options ?? ICE_OPTIONS)];
  if (p.lite === true) lines.push(formatIceLite());
  else if (p.pacing !== undefined) lines.push(formatIcePacing(p.pacing));
  return lines;
}

/**
 * Parses one SDP line if it is an ICE attribute: `a=ice-ufrag`, `a=ice-pwd`, `a=ice-options`,
 * `a=ice-lite`, `a=ice-pacing`, `a=end-of-candidates` or `a=candidate`, with or without `a=`.
 *
 * @param line - one line; surrounding white space and a trailing CR LF are ignored
 * @returns the attribute, or undefined for any other line (another attribute, `m=`, …)
 * @throws {@link StunDecodeError} `BAD_TEXT` when an ICE attribute breaks its grammar
 * @example
 * ```ts
 * parseIceAttribute("a=ice-options:ice2 rtp+ecn") // { kind: "ice-options", options: ["ice2", "rtp+ecn"] }
 * parseIceAttribute("a=rtpmap:0 PCMU/8000")       // undefined
 * ```
 */
export function parseIceAttribute(line: string): IceAttribute | undefined {
  if (typeof line !== "string") throw bad(`expected a string, got ${line === null ? "null" : typeof line}`);
  if (line.length > 4096) throw bad(`line of ${line.length} characters is too long`);
  const text = line.trim();
  const base = (line.length - line.trimStart().length) + (text.startsWith("a=") ? 2 : 0);
  const attr = text.startsWith("a=") ? text.slice(2) : text;
  const colon = attr.indexOf(":");
  const name = colon < 0 ? attr : attr.slice(0, colon);
  const value = colon < 0 ? undefined : attr.slice(colon + 1);
  const at = base + name.length + 1;
  const need = (): string => {
    if (value === undefined || value === "") throw bad(`${name} has no value`, at);
    return value;
  };
  switch (name) {
    case "ice-ufrag": {
      const v = need();
      if (v.length < 4 || v.length > 256 || !ICE_CHARS.test(v)) throw bad(`ice-ufrag '${v.slice(0, 40)}' must be 4-256 of A-Z a-z 0-9 + /`, at);
      return { kind: "ice-ufrag", ufrag: v };
    }
    case "ice-pwd": {
      const v = need();
      if (v.length < 22 || v.length > 256 || !ICE_CHARS.test(v)) throw bad(`ice-pwd of ${v.length} characters must be 22-256 of A-Z a-z 0-9 + /`, at);
      return { kind: "ice-pwd", pwd: v };
    }
    case "ice-options": {
      const v = need();
      const tags = v.split(" ");
      let offset = at;
      for (const t of tags) {
        if (!ICE_CHARS.test(t)) throw bad(`ice-option-tag '${t.slice(0, 40)}' must be 1 or more of A-Z a-z 0-9 + / separated by single spaces`, offset);
        offset += t.length + 1;
      }
      return { kind: "ice-options", options: tags };
    }
    case "ice-pacing": {
      const v = need();
      if (!DIGITS.test(v)) throw bad(`ice-pacing '${v.slice(0, 40)}' must be 1 to 10 digits`, at);
      return { kind: "ice-pacing", pacing: Number(v) };
    }
    case "ice-lite":
    case "end-of-candidates":
      if (value !== undefined) throw bad(`${name} is a flag and takes no value`, at - 1);
      return { kind: name };
    case "candidate":
      return { kind: "candidate", candidate: parseCandidate(text) };
    default:
      return undefined;
  }
}

/**
 * Gathers the ICE attributes of a list of SDP lines (a session or one media section; media-level
 * values come after session-level ones and win, RFC 8839 §5.4). Other lines are skipped.
 *
 * @throws {@link StunDecodeError} `BAD_TEXT` when an ICE attribute breaks its grammar
 * @example
 * ```ts
 * const d = parseIceAttributes(["a=ice-ufrag:8hhY", "a=ice-pwd:asd88fgpdd777uzjYhagZg", "a=ice-lite"]);
 * d.lite // true
 * ```
 */
export function parseIceAttributes(lines: readonly string[]): IceDescription {
  let ufrag: string | undefined;
  let pwd: string | undefined;
  const options: string[] = [];
  let lite = false;
  let pacing: number | undefined;
  const candidates: IceCandidate[] = [];
  let endOfCandidates = false;
  for (const line of lines) {
    const a = parseIceAttribute(line);
    if (a === undefined) continue;
    switch (a.kind) {
      case "ice-ufrag":
        ufrag = a.ufrag;
        break;
      case "ice-pwd":
        pwd = a.pwd;
        break;
      case "ice-options":
        for (const o of a.options) if (!options.includes(o)) options.push(o);
        break;
      case "ice-lite":
        lite = true;
        break;
      case "ice-pacing":
        pacing = a.pacing;
        break;
      case "end-of-candidates":
        endOfCandidates = true;
        break;
      case "candidate":
        candidates.push(a.candidate);
        break;
    }
  }
  return { ufrag, pwd, options, lite, pacing, candidates, endOfCandidates };
}
