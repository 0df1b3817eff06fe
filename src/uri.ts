/**
 * ICE server URIs: `stun:` and `stuns:` (RFC 7064), `turn:` and `turns:` (RFC 7065), and the
 * browser's `RTCIceServer` dictionary (W3C webrtc-pc) that carries them with credentials.
 *
 * ```ts
 * parseIceServerUri("turn:turn.example.org?transport=tcp")
 * // { scheme: "turn", host: "turn.example.org", hostType: "name", port: 3478,
 * //   explicitPort: false, transport: "tcp", secure: false }
 * parseIceServers({ urls: ["stun:stun.example.org", "turns:turn.example.org"], username: "u", credential: "p" })
 * ```
 *
 * The grammar is small and opaque, and RFC 7064 §3.1 says not to read it with a generic
 * hierarchical URI parser, so this module has its own:
 *
 * ```
 * stunURI = ("stun" / "stuns") ":" host [ ":" port ]                          ; RFC 7064 §3.1
 * turnURI = ("turn" / "turns") ":" host [ ":" port ] [ "?transport=" transport ]  ; RFC 7065 §3.1
 * ```
 *
 * Where the RFCs leave room, icekit decides as follows (each is a deliberate, tested choice):
 * - Scheme, `?transport=` and its value are case-insensitive (RFC 3986 §3.1; RFC 5234 §2.3 makes
 *   ABNF literals case-insensitive). Host names are lower-cased, IP addresses put in canonical
 *   form (RFC 5952 for IPv6), so equal servers compare equal as text.
 * - Leading and trailing ASCII whitespace is trimmed, as the WHATWG URL parser that browsers use
 *   for `RTCIceServer.urls` does; whitespace or control characters inside are refused.
 * - Host names follow RFC 1123 §2.1: labels of letters, digits and inner hyphens, 1-63 characters
 *   each, 253 in all; one trailing dot (a fully qualified name) is accepted and dropped. A name
 *   whose last label is all digits is refused, since it is a mistyped IPv4 address (RFC 1123 §2.1:
 *   "at least the highest-level component label will be alphabetic").
 * - Percent-encoded unreserved characters in a host (`%61` for `a`) are decoded, as RFC 3986
 *   §6.2.2.2 normalization says they are equivalent; any other percent-encoded byte is refused.
 * - Internationalized names are refused with the A-label (punycode) form to pass instead, since
 *   DNS and TLS certificates hold A-labels and icekit carries no IDNA tables.
 * - IPv6 addresses must be in brackets (RFC 3986 §3.2.2); zone identifiers and IPvFuture are refused.
 * - `stun://host`, `user@host`, paths, fragments and empty ports (`stun:host:`) are refused: none
 *   is in the RFC 7064/7065 grammar, and each is more likely a mistake than a meaning.
 * - A `stuns:` URI naming an IP address is refused: RFC 8489 §8.1 says it "MUST be rejected",
 *   because TLS cannot then authenticate the server by name.
 * - `?transport=` takes only `udp` or `tcp`, only on `turn:`/`turns:`. `turns:…?transport=udp` asks
 *   for DTLS (RFC 7350), which icekit does not implement, so it is refused rather than downgraded.
 *
 * @module
 */
import { formatIPv4, formatIPv6, parseIPv4Into, parseIPv6Into } from "./bytes/ip";
import type { TransportProtocol } from "./engine";
import { IcekitError } from "./errors";

/**
 * The four URI schemes of an ICE server: RFC 7064 §3.1 (STUN) and RFC 7065 §3.1 (TURN).
 *
 * @example
 * ```ts
 * const scheme: IceServerScheme = parseIceServerUri("turns:turn.example.org").scheme; // → "turns"
 * defaultIceServerPort(scheme) // → 5349
 * ```
 */
export type IceServerScheme = "stun" | "stuns" | "turn" | "turns";

/**
 * A parsed ICE server URI, in canonical form: {@link formatIceServerUri} turns it back into text
 * and two URIs that name the same server with the same options parse to deep-equal objects.
 *
 * @example
 * ```ts
 * const uri: IceServerUri = parseIceServerUri("turn:192.0.2.10:3478?transport=tcp");
 * // → { scheme: "turn", host: "192.0.2.10", hostType: "ipv4", port: 3478,
 * //     explicitPort: true, transport: "tcp", secure: false }
 * formatIceServerUri(uri) // → "turn:192.0.2.10:3478?transport=tcp"
 * ```
 */
export interface IceServerUri {
  /** The scheme, lower case. */
  readonly scheme: IceServerScheme;
  /** A host name (lower case, no trailing dot) or an IP address in canonical text, never bracketed. */
  readonly host: string;
  /** What {@link host} is: an IP address to contact directly, or a name to resolve. */
  readonly hostType: "ipv4" | "ipv6" | "name";
  /** The port: the one in the URI, or the default (3478; 5349 for `stuns:`/`turns:`; RFC 8489 §8.1, RFC 8656 §4.1). */
  readonly port: number;
  /**
   * True when the URI named the port. A client resolves a name with DNS SRV only when it did not
   * (RFC 8489 §8.1; RFC 5928 §3): see {@link srvServiceName}.
   */
  readonly explicitPort: boolean;
  /**
   * How to reach the server: `udp` for `stun:` and `turn:`, `tcp` for `turn:…?transport=tcp`,
   * `tls` (TLS over TCP) for `stuns:` and `turns:` (RFC 7064 §3.2, RFC 7065 §3.2).
   */
  readonly transport: TransportProtocol;
  /** True for `stuns:` and `turns:`: the `<secure>` flag of RFC 7065 §3.1. */
  readonly secure: boolean;
}

const SCHEMES: readonly IceServerScheme[] = ["stun", "stuns", "turn", "turns"];

/** RFC 8489 §8.1 and RFC 8656 §4.1: 3478 for UDP and TCP. */
const PLAIN_PORT = 3478;
/** RFC 8489 §8.1 and RFC 8656 §4.1: 5349 for TLS (and DTLS). */
const SECURE_PORT = 5349;

/** RFC 1123 §2.1 and RFC 1035 §2.3.4: 253 characters of name without the trailing dot. */
const MAX_NAME_LENGTH = 253;
/** RFC 1035 §2.3.4: 63 octets per label. */
const MAX_LABEL_LENGTH = 63;

/** Longest URI quoted back in an error message; the rest is cut off with an ellipsis. */
const MAX_QUOTED = 120;

/**
 * The port a URI of `scheme` means when it names none: 3478 for `stun:` and `turn:`, 5349 for
 * `stuns:` and `turns:` (RFC 8489 §8.1, RFC 7064 §3.2, RFC 7065 §3.2, RFC 8656 §4.1).
 *
 * @param scheme - one of the four ICE server schemes
 * @returns 3478 or 5349
 * @example
 * ```ts
 * defaultIceServerPort("stun")  // → 3478
 * defaultIceServerPort("turns") // → 5349
 * ```
 */
export function defaultIceServerPort(scheme: IceServerScheme): number {
  return scheme === "stuns" || scheme === "turns" ? SECURE_PORT : PLAIN_PORT;
}

/** What a valid URI of `scheme` looks like, for the end of every error message. */
function expected(scheme: IceServerScheme | undefined): string {
  switch (scheme) {
    case "stun":
      return "a STUN URI looks like stun:host[:port] (RFC 7064), e.g. stun:stun.example.org:3478";
    case "stuns":
      return "a STUNS URI looks like stuns:host[:port] (RFC 7064), e.g. stuns:stun.example.org:5349";
    case "turn":
      return "a TURN URI looks like turn:host[:port][?transport=udp|tcp] (RFC 7065), e.g. turn:turn.example.org:3478?transport=tcp";
    case "turns":
      return "a TURNS URI looks like turns:host[:port][?transport=tcp] (RFC 7065), e.g. turns:turn.example.org:5349";
    case undefined:
      return "an ICE server URI looks like stun:host[:port] (RFC 7064) or turn:host[:port][?transport=udp|tcp] (RFC 7065), e.g. stun:stun.example.org";
  }
}

/** `s` made safe to quote in a message: control characters escaped, long input cut short. */
function quote(s: string): string {
  const cut = s.length > MAX_QUOTED ? `${s.slice(0, MAX_QUOTED)}…` : s;
  return `'${JSON.stringify(cut).slice(1, -1)}'`;
}

/** One character named for a message: `'_'`, or `U+0020` when it would not print. */
function showChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp > 0x20 && cp < 0x7f) return `'${ch}'`;
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** ASCII-only lower-casing, so that no non-ASCII letter folds into a scheme or a host name. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) | 0x20));
}

/** HTML's "ASCII whitespace": what the WHATWG URL parser strips from both ends. */
function isAsciiWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

function trimAsciiWhitespace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isAsciiWhitespace(s.charCodeAt(a))) a++;
  while (b > a && isAsciiWhitespace(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e
  );
}

function isLetterOrDigit(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x57;
  return -1;
}

/** Why `ch` cannot be in a host name, with a hint when the character suggests a known mistake. */
function badHostChar(ch: string): string {
  const hint =
    ch === "/"
      ? " (a STUN or TURN URI has no path)"
      : ch === ";"
        ? " (parameters such as ;transport= are not part of these URIs; TURN takes ?transport=)"
        : ch === "[" || ch === "]"
          ? " (brackets go around a whole IPv6 address: stun:[2001:db8::1])"
          : isAsciiWhitespace(ch.charCodeAt(0))
            ? " (remove the whitespace)"
            : "";
  return `the host contains ${showChar(ch)}, which a host name cannot${hint}; host names are letters, digits, hyphens and dots (RFC 1123 §2.1)`;
}

/**
 * The A-label form of an internationalized name, when the platform's WHATWG `URL` (present in
 * browsers, Node, Deno and Bun) can compute one that icekit would accept; only used for a hint.
 */
function aLabelOf(host: string): string | undefined {
  for (const ch of host) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x80 && !isLetterOrDigit(c) && c !== 0x2d && c !== 0x2e) return undefined;
  }
  try {
    const Url = (globalThis as { URL?: typeof URL }).URL;
    if (Url === undefined) return undefined;
    const h = new Url(`http://${host}/`).hostname;
    return checkName(h.endsWith(".") ? h.slice(0, -1) : h) === undefined ? asciiLower(h) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks an ASCII host name (no trailing dot) against RFC 1123 §2.1.
 *
 * @returns undefined when valid, else what is wrong with it
 */
function checkName(name: string): string | undefined {
  if (name.length === 0) return "the host is empty";
  if (name.length > MAX_NAME_LENGTH) {
    return `the host name is ${name.length} characters long, longer than the ${MAX_NAME_LENGTH} DNS allows (RFC 1035 §2.3.4)`;
  }
  let start = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      const len = i - start;
      if (len === 0) return "the host name has an empty label ('..' or a leading '.')";
      if (len > MAX_LABEL_LENGTH) {
        return `the host name has a label of ${len} characters, longer than the ${MAX_LABEL_LENGTH} DNS allows (RFC 1035 §2.3.4)`;
      }
      if (name.charCodeAt(start) === 0x2d || name.charCodeAt(i - 1) === 0x2d) {
        return `the label '${name.slice(start, i)}' starts or ends with '-', which host names cannot (RFC 1123 §2.1)`;
      }
      start = i + 1;
    } else if (!isLetterOrDigit(c) && c !== 0x2d) {
      return badHostChar(String.fromCharCode(c));
    }
  }
  const last = name.slice(name.lastIndexOf(".") + 1);
  if (/^[0-9]+$/.test(last)) {
    return `'${name}' is not a valid IPv4 address (four decimal numbers 0-255 without leading zeros), and a host name cannot end in an all-digit label (RFC 1123 §2.1)`;
  }
  return undefined;
}

/** The result of reading the host part: the canonical host, or why it is not one. */
type HostResult = { host: string; hostType: IceServerUri["hostType"] } | { problem: string };

/** Reads a host that is not an IP-literal: IPv4 address or reg-name (RFC 3986 §3.2.2). */
function parseRegHost(raw: string): HostResult {
  if (raw.length === 0) return { problem: "the host is empty" };
  // RFC 3986 §6.2.2.2: percent-encoded unreserved characters are the characters themselves.
  let text = raw;
  if (raw.includes("%")) {
    text = "";
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] !== "%") {
        text += raw[i];
        continue;
      }
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) {
        return { problem: "the host has a '%' that does not start a percent-encoded byte such as %61" };
      }
      const byte = (hi << 4) | lo;
      const enc = raw.slice(i, i + 3);
      if (byte >= 0x80) {
        return {
          problem: `the host has the percent-encoded non-ASCII byte ${enc}; write an internationalized name as its A-label (punycode, 'xn--…'), which is what DNS holds`,
        };
      }
      if (!isUnreserved(byte)) {
        return { problem: `the host has the percent-encoded byte ${enc} (${showChar(String.fromCharCode(byte))}), which a host name cannot contain` };
      }
      text += String.fromCharCode(byte);
      i += 2;
    }
  }
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      const a = aLabelOf(text);
      return {
        problem: `the host ${quote(text)} is an internationalized name; pass its A-label (punycode) form${a === undefined ? ", which starts 'xn--'" : `, ${a}`}, which is what DNS and certificates hold`,
      };
    }
  }
  const v4 = new Uint8Array(4);
  if (parseIPv4Into(text, v4)) return { host: formatIPv4(v4), hostType: "ipv4" };
  // RFC 1034 §3.1: a trailing dot marks an absolute name; it means the same name here.
  const name = text.endsWith(".") && text.length > 1 ? text.slice(0, -1) : text;
  const problem = checkName(name);
  if (problem !== undefined) return { problem };
  return { host: asciiLower(name), hostType: "name" };
}

/** Reads the inside of `[…]` (RFC 3986 §3.2.2 IP-literal): only IPv6 is accepted. */
function parseIpLiteral(inner: string): HostResult {
  if (inner.length === 0) return { problem: "the brackets are empty; put an IPv6 address inside, e.g. [2001:db8::1]" };
  if (inner[0] === "v" || inner[0] === "V") return { problem: "IPvFuture addresses ([v…]) are not supported; give an IPv6 address" };
  if (inner.includes("%")) {
    return { problem: "IPv6 zone identifiers (%25eth0) are not supported; give a global or unique-local IPv6 address" };
  }
  const bytes = new Uint8Array(16);
  if (parseIPv4Into(inner, bytes)) return { problem: `brackets are only for IPv6 addresses; write the IPv4 address without them: ${inner}` };
  if (!parseIPv6Into(inner, bytes)) return { problem: `[${quote(inner).slice(1, -1)}] is not a valid IPv6 address` };
  return { host: formatIPv6(bytes), hostType: "ipv6" };
}

/** Reads a port (RFC 3986 §3.2.3 `*DIGIT`), which icekit also requires to be 1-65535. */
function parsePort(text: string): number | string {
  if (text.length === 0) return "the port after ':' is empty; give a port from 1 to 65535 or leave out the ':'";
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return `the port ${quote(text)} is not a number; give a port from 1 to 65535`;
    if (value <= 65535) value = value * 10 + (c - 0x30);
  }
  if (value === 0 || value > 65535) {
    const digits = value === 0 ? "0" : text.replace(/^0+/, "");
    return `port ${digits.length > 20 ? `${digits.slice(0, 20)}…` : digits} is out of range (1-65535)`;
  }
  return value;
}

/** True when `stun:` + `text` would be a valid URI: the user left out the scheme. */
function looksLikeHost(text: string): boolean {
  try {
    parseIceServerUri(`stun:${text}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses a `stun:`, `stuns:`, `turn:` or `turns:` URI (RFC 7064 §3.1, RFC 7065 §3.1).
 *
 * The module comment lists the choices made where the RFCs leave room (case, whitespace,
 * percent-encoding, internationalized names, trailing dots).
 *
 * @example
 * ```ts
 * parseIceServerUri("stun:[2001:db8::1]")
 * // { scheme: "stun", host: "2001:db8::1", hostType: "ipv6", port: 3478, explicitPort: false,
 * //   transport: "udp", secure: false }
 * ```
 *
 * @param uri - the URI text, e.g. `"turns:turn.example.org:443?transport=tcp"`
 * @returns the URI in canonical form
 * @throws {@link IcekitError} `INVALID_URI` when `uri` is not a valid URI of the four schemes, or
 *   asks for something icekit does not do (DTLS, a `stuns:` IP address); the message names the
 *   problem and shows what a valid URI of that scheme looks like.
 */
export function parseIceServerUri(uri: string): IceServerUri {
  if (typeof uri !== "string") {
    throw new IcekitError("INVALID_URI", `expected the URI as a string, got ${uri === null ? "null" : typeof uri}; ${expected(undefined)}`);
  }
  let scheme: IceServerScheme | undefined;
  const fail = (problem: string): IcekitError => new IcekitError("INVALID_URI", `${quote(uri)}: ${problem}; ${expected(scheme)}`);

  const text = trimAsciiWhitespace(uri);
  if (text.length === 0) throw fail("the URI is empty");
  const colon = text.indexOf(":");
  const named = colon < 0 ? undefined : SCHEMES.find((s) => s === asciiLower(text.slice(0, colon)));
  if (named === undefined) {
    throw fail(`it does not start with stun:, stuns:, turn: or turns:${looksLikeHost(text) ? ` (did you mean stun:${text}?)` : ""}`);
  }
  scheme = named;
  const secure = scheme === "stuns" || scheme === "turns";
  const isTurn = scheme === "turn" || scheme === "turns";
  let rest = text.slice(colon + 1);

  if (rest.startsWith("//")) {
    throw fail(`there is no '//' after the scheme: these URIs have no authority part (RFC 7064 §3.1, RFC 7065 §3.1); write ${scheme}:${rest.slice(2)}`);
  }
  const hash = rest.indexOf("#");
  if (hash >= 0) throw fail("a fragment ('#…') is not part of these URIs");
  let query: string | undefined;
  const q = rest.indexOf("?");
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (rest.includes("@")) {
    throw fail(
      "user information ('user@') is not part of these URIs (RFC 7064 §3.1, RFC 7065 Appendix B); pass the username and credential separately, as RTCIceServer's username and credential",
    );
  }

  // host [ ":" port ]
  let hostResult: HostResult;
  let portText: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) throw fail("the '[' before an IPv6 address has no closing ']'");
    hostResult = parseIpLiteral(rest.slice(1, close));
    const after = rest.slice(close + 1);
    if (after.length > 0) {
      if (after[0] !== ":") throw fail(`after the ']' comes ${quote(after)}; only ':port' may follow it`);
      portText = after.slice(1);
    }
  } else {
    const first = rest.indexOf(":");
    if (first >= 0 && rest.indexOf(":", first + 1) >= 0) {
      const scratch = new Uint8Array(16);
      const last = rest.lastIndexOf(":");
      const fixes: string[] = [];
      if (parseIPv6Into(rest, scratch)) fixes.push(`${scheme}:[${rest}]`);
      if (parseIPv6Into(rest.slice(0, last), scratch)) fixes.push(`${scheme}:[${rest.slice(0, last)}]${rest.slice(last)}`);
      throw fail(
        fixes.length > 0
          ? `an IPv6 address must be in brackets (RFC 3986 §3.2.2): ${fixes.join(" or ")}`
          : "the host part has more than one ':'; an IPv6 address goes in brackets (stun:[2001:db8::1]:3478), a host name has none",
      );
    }
    if (first >= 0) {
      hostResult = parseRegHost(rest.slice(0, first));
      portText = rest.slice(first + 1);
    } else {
      hostResult = parseRegHost(rest);
    }
  }
  if ("problem" in hostResult) throw fail(hostResult.problem);

  let port = defaultIceServerPort(scheme);
  if (portText !== undefined) {
    const p = parsePort(portText);
    if (typeof p === "string") throw fail(p);
    port = p;
  }

  // RFC 8489 §8.1: "A 'stuns' URI containing an IP address MUST be rejected."
  if (scheme === "stuns" && hostResult.hostType !== "name") {
    throw fail(
      "a stuns: URI must name its server by DNS name, not IP address, so that TLS can authenticate it (RFC 8489 §8.1); use the server's name, or stun: for plain UDP to the address",
    );
  }

  let transport: TransportProtocol = secure ? "tls" : "udp";
  if (query !== undefined) {
    if (!isTurn) throw fail(`a ${scheme}: URI takes no query (RFC 7064 §3.1); ?transport= belongs to turn: and turns: URIs`);
    const eq = query.indexOf("=");
    const key = asciiLower(eq < 0 ? query : query.slice(0, eq));
    if (query.length === 0) throw fail("the '?' is followed by nothing; write ?transport=udp or ?transport=tcp, or leave out the '?'");
    if (key !== "transport") {
      throw fail(`the query ${quote(query)} is not ?transport=…, the only parameter a TURN URI takes (RFC 7065 §3.1)`);
    }
    if (eq < 0) throw fail("?transport needs a value: ?transport=udp or ?transport=tcp");
    const value = asciiLower(query.slice(eq + 1));
    if (value.includes("&") || value.includes(";")) {
      throw fail(`the query ${quote(query)} has more than one parameter; a TURN URI takes only ?transport= (RFC 7065 §3.1)`);
    }
    if (value === "tcp") {
      transport = secure ? "tls" : "tcp";
    } else if (value === "udp") {
      if (secure) {
        throw fail(
          "turns: with ?transport=udp means TURN over DTLS (RFC 7350, RFC 8656 §4.1), which icekit does not support; use turns:host for TLS over TCP or turn:host?transport=udp for plain UDP",
        );
      }
      transport = "udp";
    } else if (value.length > 0 && [...value].every((ch) => isUnreserved(ch.charCodeAt(0)))) {
      throw fail(`transport '${value}' is not one icekit supports; give transport=udp or transport=tcp`);
    } else {
      throw fail(`${quote(query)} is not ?transport=udp or ?transport=tcp`);
    }
  }

  return { scheme, host: hostResult.host, hostType: hostResult.hostType, port, explicitPort: portText !== undefined, transport, secure };
}

/** The URI text of already-checked fields, without re-checking them. */
function uriText(u: IceServerUri): string {
  const host = u.hostType === "ipv6" ? `[${u.host}]` : u.host;
  const port = u.explicitPort || u.port !== defaultIceServerPort(u.scheme) ? `:${u.port}` : "";
  const query = u.scheme === "turn" && u.transport === "tcp" ? "?transport=tcp" : "";
  return `${u.scheme}:${host}${port}${query}`;
}

/** `u.host` as {@link parseIceServerUri} would give it, if `u.host` is a host of `u.hostType` at all. */
function canonicalHost(u: IceServerUri): string | undefined {
  if (typeof u.host !== "string") return undefined;
  if (u.hostType === "name") return asciiLower(u.host.endsWith(".") ? u.host.slice(0, -1) : u.host);
  const bytes = new Uint8Array(16);
  if (u.hostType === "ipv4") return parseIPv4Into(u.host, bytes) ? formatIPv4(bytes) : undefined;
  return !u.host.includes("%") && parseIPv6Into(u.host, bytes) ? formatIPv6(bytes) : undefined;
}

/**
 * Writes an ICE server URI in canonical text: lower-case scheme and host, IPv6 in brackets,
 * the port only when the URI named it (or it is not the default), `?transport=tcp` only on
 * `turn:` with TCP (`udp` is the default for `turn:`, and `turns:` always means TLS here).
 *
 * `parseIceServerUri(formatIceServerUri(u))` deep-equals `u` for every `u` that
 * {@link parseIceServerUri} returns.
 *
 * @example
 * ```ts
 * formatIceServerUri(parseIceServerUri("TURN:Example.ORG.?Transport=TCP")) // "turn:example.org?transport=tcp"
 * ```
 *
 * @param u - a parsed URI, or one built by hand
 * @returns the URI text
 * @throws {@link IcekitError} `INVALID_URI` when the fields do not make a valid URI, or cannot be
 *   written as one (a `stun:` URI has no way to say `tcp`; `hostType` must match `host`).
 */
export function formatIceServerUri(u: IceServerUri): string {
  if (typeof u !== "object" || u === null || !SCHEMES.includes(u.scheme)) {
    throw new IcekitError("INVALID_URI", `expected an IceServerUri with a scheme of stun, stuns, turn or turns; ${expected(undefined)}`);
  }
  const text = uriText(u);
  const back = parseIceServerUri(text);
  if (back.host !== canonicalHost(u)) {
    throw new IcekitError("INVALID_URI", `host ${quote(String(u.host))} is not a ${u.hostType === "name" ? "host name" : `${u.hostType} address`} alone; ${expected(u.scheme)}`);
  }
  for (const field of ["hostType", "port", "transport", "secure"] as const) {
    if (back[field] !== u[field]) {
      throw new IcekitError(
        "INVALID_URI",
        `${field} ${String(u[field])} does not fit ${quote(text)}, which means ${field} ${String(back[field])}; ${expected(u.scheme)}`,
      );
    }
  }
  return uriText(back);
}

/**
 * The DNS SRV service and protocol labels under which to look a server up (RFC 2782), or
 * undefined when no SRV lookup applies: the host is an IP address, or the URI names a port
 * (RFC 8489 §8.1; RFC 5928 §3 for TURN, then A/AAAA only).
 *
 * The service is the scheme and the protocol is the transport the client will use (RFC 8489
 * §8.1): `_stun._udp` for `stun:` (RFC 7064 §3.2), `_stuns._tcp` for `stuns:`, `_turn._udp` or
 * `_turn._tcp` for `turn:`, `_turns._tcp` for `turns:`. Query `<labels>.<host>`, e.g.
 * `_turn._tcp.example.org`; with no SRV records, look up A and AAAA and use {@link IceServerUri.port}.
 * (RFC 5928 would first try NAPTR for a TURN URI without `?transport=`; icekit goes straight to
 * SRV with the transport it will use.)
 *
 * @param u - a parsed URI
 * @returns e.g. `"_stun._udp"`, or undefined
 * @example
 * ```ts
 * srvServiceName(parseIceServerUri("turn:example.org?transport=tcp")) // → "_turn._tcp": query _turn._tcp.example.org
 * srvServiceName(parseIceServerUri("stun:example.org:3478"))          // → undefined: the port is given
 * ```
 */
export function srvServiceName(u: IceServerUri): string | undefined {
  if (u.hostType !== "name" || u.explicitPort) return undefined;
  return `_${u.scheme}._${u.transport === "udp" ? "udp" : "tcp"}`;
}

/**
 * The browser's `RTCIceServer` dictionary (W3C webrtc-pc §4.2.4), as apps already write it.
 *
 * @example
 * ```ts
 * const server: RTCIceServerLike = {
 *   urls: ["turn:turn.example.org", "turns:turn.example.org"],
 *   username: "alice",
 *   credential: "s3cret",
 * };
 * parseIceServers(server).length // → 2
 * ```
 */
export interface RTCIceServerLike {
  /** One URI or several for the same server (e.g. its UDP, TCP and TLS forms). */
  readonly urls: string | readonly string[];
  /** The TURN username (long-term credential mechanism, RFC 8489 §9.2). */
  readonly username?: string;
  /** The TURN password. */
  readonly credential?: string;
}

/**
 * One ICE server URI with the credentials that came with it.
 *
 * @example
 * ```ts
 * const entries: IceServerEntry[] = parseIceServers({ urls: "turn:turn.example.org", username: "alice", credential: "s3cret" });
 * entries[0]?.uri.port  // → 3478
 * entries[0]?.username  // → "alice"
 * ```
 */
export interface IceServerEntry {
  /** The parsed URI. */
  readonly uri: IceServerUri;
  /** The username, when one was given (always, for `turn:`/`turns:`). */
  readonly username?: string;
  /** The password, when one was given (always, for `turn:`/`turns:`). */
  readonly credential?: string;
}

/** RFC 8489 §14.3, and webrtc-pc's InvalidAccessError for a longer TURN username. */
const MAX_USERNAME_BYTES = 509;

function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/** Reads `username`/`credential`: absent (undefined or null) or a string. */
function optionalString(server: object, key: "username" | "credential", where: string): string | undefined {
  const v: unknown = (server as Record<string, unknown>)[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new IcekitError("INVALID_ARGUMENT", `${where}.${key} must be a string, not ${typeof v}`);
  return v;
}

/**
 * Parses an `RTCIceServer` (or an array of them, as in `RTCConfiguration.iceServers`) into one
 * entry per URI, in order, checked as browsers check them (W3C webrtc-pc, "validate an ICE server"):
 *
 * - `urls` is a string or a non-empty array of strings, each a valid URI ({@link parseIceServerUri});
 * - a `turn:` or `turns:` URI needs both `username` and `credential`, as the TURN server will
 *   demand them (RFC 8656 §7.2). Browsers throw InvalidAccessError; icekit throws
 *   `MISSING_CREDENTIAL`, and also refuses empty strings, which no TURN server accepts;
 * - a TURN username may be at most 509 bytes of UTF-8 (RFC 8489 §14.3; browsers throw
 *   InvalidAccessError beyond it).
 *
 * Credentials given with a `stun:` URI are kept on its entries: a STUN server may ask for them
 * (RFC 8489 §9.2), and the caller decides whether to use them.
 *
 * @example
 * ```ts
 * parseIceServers([
 *   { urls: "stun:stun.example.org" },
 *   { urls: ["turn:turn.example.org", "turns:turn.example.org"], username: "alice", credential: "s3cret" },
 * ]) // three entries
 * ```
 *
 * @param servers - one `RTCIceServer`-shaped object or an array of them; an empty array gives no entries
 * @returns one entry per URI, in the order given
 * @throws {@link IcekitError} `INVALID_URI` for a bad or missing URI, `MISSING_CREDENTIAL` for a
 *   TURN URI without username and credential, `INVALID_ARGUMENT` for a malformed object. Messages
 *   start with where the problem is, e.g. `iceServers[1].urls[0]: …`.
 */
export function parseIceServers(servers: RTCIceServerLike | readonly RTCIceServerLike[]): IceServerEntry[] {
  const list: readonly unknown[] = Array.isArray(servers) ? servers : [servers];
  const entries: IceServerEntry[] = [];
  for (let i = 0; i < list.length; i++) {
    const server = list[i];
    const where = Array.isArray(servers) ? `iceServers[${i}]` : "iceServer";
    if (typeof server !== "object" || server === null || Array.isArray(server)) {
      throw new IcekitError(
        "INVALID_ARGUMENT",
        `${where} must be an RTCIceServer object such as { urls: "stun:stun.example.org" }, not ${server === null ? "null" : Array.isArray(server) ? "an array" : typeof server}`,
      );
    }
    const urls: unknown = (server as Record<string, unknown>)["urls"];
    let texts: readonly unknown[];
    if (typeof urls === "string") texts = [urls];
    else if (Array.isArray(urls)) texts = urls;
    else {
      throw new IcekitError(
        "INVALID_URI",
        `${where}.urls must be a URI string or an array of them, e.g. { urls: "stun:stun.example.org" }, not ${urls === null ? "null" : typeof urls}`,
      );
    }
    if (texts.length === 0) {
      throw new IcekitError("INVALID_URI", `${where}.urls is empty; give at least one URI, e.g. { urls: ["stun:stun.example.org"] }`);
    }
    const username = optionalString(server, "username", where);
    const credential = optionalString(server, "credential", where);
    for (let j = 0; j < texts.length; j++) {
      const at = typeof urls === "string" ? `${where}.urls` : `${where}.urls[${j}]`;
      let uri: IceServerUri;
      try {
        uri = parseIceServerUri(texts[j] as string);
      } catch (e) {
        if (e instanceof IcekitError) throw new IcekitError(e.code, `${at}: ${e.message}`);
        throw e;
      }
      if (uri.scheme === "turn" || uri.scheme === "turns") {
        if (!username || !credential) {
          const state = (v: string | undefined): string => (v === undefined ? "missing" : "empty");
          const problem =
            username || credential
              ? `${username ? "credential" : "username"} is ${state(username ? credential : username)}`
              : username === credential
                ? `username and credential are ${state(username)}`
                : `username is ${state(username)} and credential is ${state(credential)}`;
          throw new IcekitError(
            "MISSING_CREDENTIAL",
            `${at}: ${uriText(uri)} is a TURN server, which needs a username and credential (RFC 8656 §7.2), but ${problem}; pass username and credential with it: { urls, username, credential }`,
          );
        }
        const bytes = utf8Length(username);
        if (bytes > MAX_USERNAME_BYTES) {
          throw new IcekitError(
            "INVALID_ARGUMENT",
            `${where}.username is ${bytes} bytes of UTF-8; a TURN username must be at most ${MAX_USERNAME_BYTES} (RFC 8489 §14.3)`,
          );
        }
      }
      entries.push({
        uri,
        ...(username !== undefined ? { username } : {}),
        ...(credential !== undefined ? { credential } : {}),
      });
    }
  }
  return entries;
}
