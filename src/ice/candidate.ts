/**
 * ICE candidates and their SDP text form, the "candidate" attribute of RFC 8839 §5.1.
 *
 * ```
 * candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP priority SP
 *                       connection-address SP port SP cand-type [SP rel-addr] [SP rel-port]
 *                       *(SP cand-extension)
 * ```
 *
 * {@link parseCandidate} reads a line with or without `a=` and `candidate:`; {@link formatCandidate}
 * writes the attribute value without `a=`, the form WebRTC's `RTCIceCandidate.candidate` and
 * the CLI use. The extensions icekit knows (`tcptype` of RFC 6544, `generation` and `ufrag` of
 * WebRTC and RFC 8838 §9) get fields; every other name/value pair is kept, in order, in
 * `extensions`, so a line survives a round trip (RFC 8839: "An implementation MUST ignore any
 * name/value pairs it doesn't understand" — ignore, not drop).
 *
 * @example
 * ```ts
 * const c = parseCandidate("a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998");
 * c.type        // "srflx"
 * c.relatedPort // 8998
 * formatCandidate(c) // "candidate:2 1 udp 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998"
 * ```
 *
 * @module
 */
import { canonicalIp, ipFamily } from "../bytes/ip";
import { IcekitError, StunDecodeError } from "../errors";
import type { CandidateType } from "./priority";

export type { CandidateType } from "./priority";
export { candidatePriority, pairPriority } from "./priority";

/**
 * TCP candidate types of RFC 6544 §4.5.
 *
 * @example
 * ```ts
 * const c = parseCandidate("candidate:1 1 tcp 1518280447 192.0.2.7 9 typ host tcptype active");
 * const tcpType: TcpType | undefined = c.tcpType; // → "active": it connects out, so port 9 is a placeholder
 * ```
 */
export type TcpType = "active" | "passive" | "so";

/**
 * One ICE candidate (RFC 8445 §5.3), as signaled.
 *
 * @example
 * ```ts
 * const host: IceCandidate = {
 *   foundation: "1", component: 1, transport: "udp", priority: candidatePriority("host", 65535, 1),
 *   address: "192.168.1.2", port: 50000, type: "host",
 * };
 * formatCandidate(host); // → "candidate:1 1 udp 2130706431 192.168.1.2 50000 typ host"
 * ```
 */
export interface IceCandidate {
  /** 1-32 ice-chars; equal for candidates of one type, base IP, server and transport (§5.1.1.3). */
  readonly foundation: string;
  /** Component ID, 1-256 (1 = RTP or the only component). */
  readonly component: number;
  /** Transport protocol. */
  readonly transport: "udp" | "tcp";
  /** 32-bit priority (§5.1.2). */
  readonly priority: number;
  /** IP address in canonical form, or an mDNS `.local` name (RFC 8839 allows FQDNs in the grammar). */
  readonly address: string;
  /** Port, 0-65535. */
  readonly port: number;
  /** Candidate type. */
  readonly type: CandidateType;
  /** `raddr`: the base (srflx, prflx) or the mapped address (relay). */
  readonly relatedAddress?: string;
  /** `rport`. */
  readonly relatedPort?: number;
  /** `tcptype` (RFC 6544 §4.5). */
  readonly tcpType?: TcpType;
  /** `generation` (WebRTC): which ICE generation the candidate belongs to. */
  readonly generation?: number;
  /** `ufrag` (RFC 8838 §9): the username fragment of the ICE session it belongs to. */
  readonly ufrag?: string;
  /** Every other extension name/value pair, in the order they appeared. */
  readonly extensions?: readonly (readonly [string, string])[];
}

/** ice-char (RFC 8839 §5.1): ALPHA / DIGIT / "+" / "/". */
const ICE_CHARS = /^[A-Za-z0-9+/]+$/;
/** token (RFC 3261 §25.1), the grammar of transport and extension names. */
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
/** VCHAR (RFC 5234): visible ASCII. */
const VCHARS = /^[\x21-\x7e]*$/;
/** An FQDN-ish connection address: letters, digits, hyphens and dots (RFC 4566 FQDN). */
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?$/;
const TYPES: readonly string[] = ["host", "srflx", "prflx", "relay"];

function bad(message: string, offset?: number): StunDecodeError {
  return new StunDecodeError("BAD_TEXT", `candidate: ${message}`, offset);
}

/**
 * A host name as RFC 4566 allows in connection-address: letter-digit-hyphen labels, at most 253
 * characters, and not all digits in the last label (that is a mistyped IPv4 address, RFC 3696 §2).
 */
function isHostName(text: string): boolean {
  return text.length <= 253 && HOSTNAME.test(text) && !/(^|\.)[0-9]+\.?$/.test(text);
}

/**
 * True when `address` is an mDNS name (RFC 6762 `.local`), which WebRTC uses to hide host IPs.
 *
 * @example
 * ```ts
 * isMdnsName("1f4712db-ea17-4bcf-a596-105139dfd8bf.local"); // → true: a browser hiding its host IP
 * isMdnsName("192.168.1.2");                                // → false
 * ```
 */
export function isMdnsName(address: string): boolean {
  return /\.local\.?$/i.test(address) && isHostName(address);
}

function parseDecimal(text: string, what: string, max: number, digits: number, at: number): number {
  if (!/^[0-9]+$/.test(text) || text.length > digits) throw bad(`${what} '${text}' is not a number of 1-${digits} digits`, at);
  const n = Number(text);
  if (n > max) throw bad(`${what} ${n} is above ${max}`, at);
  return n;
}

function parseAddress(text: string, what: string, at: number): string {
  if (text.includes(":") || ipFamily(text) !== undefined) {
    // RFC 8839 §5.1: "the presence of a colon indicates IPv6".
    if (ipFamily(text) === undefined) throw bad(`${what} '${text}' is not an IP address`, at);
    return canonicalIp(text);
  }
  if (!isHostName(text)) throw bad(`${what} '${text}' is neither an IP address nor a host name`, at);
  return text;
}

/**
 * Parses a candidate line (RFC 8839 §5.1): `a=candidate:…`, `candidate:…` or the bare value.
 * Transport and type are case-insensitive; IP addresses come out in canonical form; host names
 * (mDNS `.local` ones in particular) are kept as text for the agent to resolve or ignore.
 *
 * @param line - one candidate attribute; surrounding white space and a trailing CR LF are ignored
 * @returns the candidate
 * @throws {@link StunDecodeError} `BAD_TEXT`, with the character offset, when the line does not
 *   follow the grammar or names a transport other than UDP/TCP or an unknown candidate type
 *
 * @example
 * ```ts
 * const c = parseCandidate("a=candidate:1 1 UDP 2130706431 192.0.2.3 45664 typ host generation 0 network-id 1\r\n");
 * c.transport;  // → "udp"
 * c.generation; // → 0
 * c.extensions; // → [["network-id", "1"]], kept so that formatCandidate writes it back
 * ```
 */
export function parseCandidate(line: string): IceCandidate {
  if (typeof line !== "string") throw bad(`expected a string, got ${line === null ? "null" : typeof line}`);
  if (line.length > 4096) throw bad(`line of ${line.length} characters is too long`);
  let text = line.trim();
  let base = line.length - line.trimStart().length;
  if (/^a=/i.test(text)) {
    text = text.slice(2);
    base += 2;
  }
  if (/^candidate:/i.test(text)) {
    text = text.slice(10);
    base += 10;
  }
  // Split on runs of white space, remembering where each field starts for error offsets.
  const fields: { text: string; at: number }[] = [];
  for (const m of text.matchAll(/[^ \t]+/g)) fields.push({ text: m[0], at: base + m.index });
  const field = (i: number, what: string): { text: string; at: number } => {
    const f = fields[i];
    if (f === undefined) throw bad(`missing ${what} (field ${i + 1})`, base + text.length);
    return f;
  };

  const f = field(0, "foundation");
  if (f.text.length > 32 || !ICE_CHARS.test(f.text)) throw bad(`foundation '${f.text}' must be 1-32 of A-Z a-z 0-9 + /`, f.at);
  const c = field(1, "component-id");
  const component = parseDecimal(c.text, "component-id", 256, 3, c.at);
  if (component < 1) throw bad("component-id 0 is not 1-256", c.at);
  const t = field(2, "transport");
  if (!TOKEN.test(t.text)) throw bad(`transport '${t.text}' is not a token`, t.at);
  const transport = t.text.toLowerCase();
  if (transport !== "udp" && transport !== "tcp") throw bad(`transport '${t.text}' is not supported (UDP or TCP)`, t.at);
  const p = field(3, "priority");
  // RFC 8839 says 1 to 2^31-1; icekit accepts any 32-bit value, what PRIORITY can carry.
  const priority = parseDecimal(p.text, "priority", 0xffffffff, 10, p.at);
  const a = field(4, "connection-address");
  const address = parseAddress(a.text, "connection-address", a.at);
  const po = field(5, "port");
  const port = parseDecimal(po.text, "port", 65535, 5, po.at);
  const typ = field(6, "'typ'");
  if (typ.text !== "typ") throw bad(`expected 'typ', found '${typ.text}'`, typ.at);
  const ty = field(7, "candidate type");
  const type = ty.text.toLowerCase();
  if (!TYPES.includes(type)) throw bad(`candidate type '${ty.text}' is not host, srflx, prflx or relay`, ty.at);

  const out: {
    -readonly [K in keyof IceCandidate]: IceCandidate[K];
  } = { foundation: f.text, component, transport, priority, address, port, type: type as CandidateType };
  const extensions: [string, string][] = [];
  for (let i = 8; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1];
    if (value === undefined) throw bad(`extension '${name.text}' has no value`, name.at);
    if (!TOKEN.test(name.text)) throw bad(`extension name '${name.text}' is not a token`, name.at);
    if (!VCHARS.test(value.text)) throw bad(`extension '${name.text}' value is not visible ASCII`, value.at);
    switch (name.text) {
      case "raddr":
        if (out.relatedAddress !== undefined) throw bad("raddr appears twice", name.at);
        out.relatedAddress = parseAddress(value.text, "raddr", value.at);
        break;
      case "rport":
        if (out.relatedPort !== undefined) throw bad("rport appears twice", name.at);
        out.relatedPort = parseDecimal(value.text, "rport", 65535, 5, value.at);
        break;
      case "tcptype":
        if (value.text !== "active" && value.text !== "passive" && value.text !== "so") throw bad(`tcptype '${value.text}' is not active, passive or so`, value.at);
        out.tcpType = value.text;
        break;
      case "generation":
        out.generation = parseDecimal(value.text, "generation", 0xffffffff, 10, value.at);
        break;
      case "ufrag":
        if (value.text.length > 256 || !ICE_CHARS.test(value.text)) throw bad(`ufrag '${value.text}' must be 1-256 ice-chars`, value.at);
        out.ufrag = value.text;
        break;
      default:
        extensions.push([name.text, value.text]);
    }
  }
  if (extensions.length > 0) out.extensions = extensions;
  return out;
}

/**
 * Writes a candidate as the RFC 8839 §5.1 attribute value, without `a=`:
 * `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
 * [raddr <a>] [rport <p>] [tcptype <t>] [generation <g>] [ufrag <u>] [<name> <value>]…`.
 * The transport is written in lower case, as browsers do.
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` when a field cannot be written in the grammar
 *   (so that what is written always parses back to the same candidate)
 *
 * @example
 * ```ts
 * formatCandidate({
 *   foundation: "2", component: 1, transport: "udp", priority: 1694498815, address: "198.51.100.1", port: 61000,
 *   type: "srflx", relatedAddress: "192.168.1.2", relatedPort: 50000,
 * }); // → "candidate:2 1 udp 1694498815 198.51.100.1 61000 typ srflx raddr 192.168.1.2 rport 50000"
 * ```
 */
export function formatCandidate(c: IceCandidate): string {
  const fail = (what: string): never => {
    throw new IcekitError("INVALID_ARGUMENT", `formatCandidate: ${what}`);
  };
  if (typeof c !== "object" || c === null) fail("pass an IceCandidate object");
  if (typeof c.foundation !== "string" || c.foundation.length > 32 || !ICE_CHARS.test(c.foundation)) fail(`foundation '${c.foundation}' must be 1-32 ice-chars`);
  if (!Number.isInteger(c.component) || c.component < 1 || c.component > 256) fail(`component ${c.component} must be 1-256`);
  if (c.transport !== "udp" && c.transport !== "tcp") fail(`transport ${String(c.transport)} must be "udp" or "tcp"`);
  if (!Number.isInteger(c.priority) || c.priority < 0 || c.priority > 0xffffffff) fail(`priority ${c.priority} must be a 32-bit unsigned integer`);
  if (typeof c.address !== "string" || !(ipFamily(c.address) !== undefined || isHostName(c.address))) fail(`address '${c.address}' must be an IP address or a host name`);
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) fail(`port ${c.port} must be 0-65535`);
  if (!TYPES.includes(c.type)) fail(`type ${String(c.type)} must be host, srflx, prflx or relay`);
  let s = `candidate:${c.foundation} ${c.component} ${c.transport} ${c.priority} ${c.address} ${c.port} typ ${c.type}`;
  if (c.relatedAddress !== undefined) {
    if (ipFamily(c.relatedAddress) === undefined && !isHostName(c.relatedAddress)) fail(`relatedAddress '${c.relatedAddress}' must be an IP address`);
    s += ` raddr ${c.relatedAddress}`;
  }
  if (c.relatedPort !== undefined) {
    if (!Number.isInteger(c.relatedPort) || c.relatedPort < 0 || c.relatedPort > 65535) fail(`relatedPort ${c.relatedPort} must be 0-65535`);
    s += ` rport ${c.relatedPort}`;
  }
  if (c.tcpType !== undefined) s += ` tcptype ${c.tcpType}`;
  if (c.generation !== undefined) {
    if (!Number.isInteger(c.generation) || c.generation < 0 || c.generation > 0xffffffff) fail(`generation ${c.generation} must be a 32-bit unsigned integer`);
    s += ` generation ${c.generation}`;
  }
  if (c.ufrag !== undefined) {
    if (c.ufrag.length > 256 || !ICE_CHARS.test(c.ufrag)) fail(`ufrag '${c.ufrag}' must be 1-256 ice-chars`);
    s += ` ufrag ${c.ufrag}`;
  }
  for (const [name, value] of c.extensions ?? []) {
    if (!TOKEN.test(name) || ["raddr", "rport", "tcptype", "generation", "ufrag"].includes(name)) fail(`extension name '${name}' must be a token other than the known ones`);
    if (value.length === 0 || !VCHARS.test(value)) fail(`extension '${name}' value must be 1 or more visible ASCII characters`);
    s += ` ${name} ${value}`;
  }
  return s;
}
