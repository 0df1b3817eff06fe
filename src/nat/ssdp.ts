/**
 * SSDP search (UPnP Device Architecture 1.1 §1.3): the M-SEARCH request a control point sends to
 * find Internet Gateway Devices, and the unicast `HTTP/1.1 200 OK` responses devices send back.
 *
 * A search goes to 239.255.255.250:1900 over UDP (or, unicast, to a known gateway's port 1900),
 * and names a search target (ST): an IGD device type (`InternetGatewayDevice:1` / `:2`) or a
 * WAN connection service type. Each matching device answers with a LOCATION: the http:// URL of
 * its device description.
 *
 * The response parser is strict and bounded: a size cap, a header-count cap and a line-length
 * cap, all checked while reading; anything that is not a well-formed 200 response with LOCATION
 * and ST throws {@link UpnpError} `SSDP_MALFORMED`, and nothing else escapes.
 *
 * LOCATION is not trusted. Any host on the LAN (or any host at all, if the socket is reachable)
 * can answer an M-SEARCH, and a LOCATION pointing at another host would make the client send
 * HTTP requests wherever the answer says: a request-forgery (SSRF) lever, and a way to hand the
 * client a fake gateway. {@link checkSsdpLocation} therefore requires `http://`, an IP-literal
 * host, and that host to be the address the response came from; the Node discovery applies it
 * to every response and drops those that fail.
 *
 * ```ts
 * socket.send(encodeSsdpSearch({ searchTarget: SsdpSearchTarget.InternetGatewayDeviceV2 }), SSDP_PORT, SSDP_MULTICAST_ADDRESS);
 * socket.on("message", (data, rinfo) => {
 *   const res = parseSsdpResponse(data);
 *   const location = checkSsdpLocation(res.location, rinfo.address);
 * });
 * ```
 *
 * @module
 */
import { canonicalIp } from "../bytes/ip";
import { IcekitError } from "../errors";
import { UpnpError } from "./upnp-error";
import { unmapV4, urlHostIp } from "./url-host";

/**
 * The SSDP IPv4 multicast group (UDA 1.1 §1.1.2).
 *
 * @example
 * ```ts
 * socket.send(encodeSsdpSearch({ searchTarget: "ssdp:all" }), SSDP_PORT, SSDP_MULTICAST_ADDRESS);
 * ```
 */
export const SSDP_MULTICAST_ADDRESS = "239.255.255.250";
/**
 * The SSDP port (UDA 1.1 §1.1.2).
 *
 * @example
 * ```ts
 * socket.send(search, SSDP_PORT, "192.168.1.1"); // unicast M-SEARCH
 * ```
 */
export const SSDP_PORT = 1900;

/**
 * Search targets for finding a gateway (UDA 1.1 §1.3.2 ST; IGD:1 and IGD:2 device templates).
 *
 * @example
 * ```ts
 * encodeSsdpSearch({ searchTarget: SsdpSearchTarget.WanIpConnectionV1 });
 * ```
 */
export const SsdpSearchTarget = {
  InternetGatewayDeviceV1: "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
  InternetGatewayDeviceV2: "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
  WanIpConnectionV1: "urn:schemas-upnp-org:service:WANIPConnection:1",
  WanIpConnectionV2: "urn:schemas-upnp-org:service:WANIPConnection:2",
  WanPppConnectionV1: "urn:schemas-upnp-org:service:WANPPPConnection:1",
} as const;

/**
 * What {@link encodeSsdpSearch} takes.
 *
 * @example
 * ```ts
 * const o: SsdpSearchOptions = { searchTarget: SsdpSearchTarget.InternetGatewayDeviceV2, mx: 2 };
 * ```
 */
export interface SsdpSearchOptions {
  /** ST: a device or service type, `ssdp:all` or `upnp:rootdevice`. */
  readonly searchTarget: string;
  /**
   * MX: seconds over which devices spread their answers, 1 to 5 (UDA 1.1 §1.3.2). Default 2.
   * Omitted from unicast searches, where UDA 1.1 does not use it.
   */
  readonly mx?: number;
  /** HOST: default `239.255.255.250:1900`; a unicast search names the device's address and port. */
  readonly host?: string;
  /** USER-AGENT (UDA 1.1 `OS/version UPnP/1.1 product/version`); omitted when undefined. */
  readonly userAgent?: string;
}

/**
 * A parsed SSDP search response (UDA 1.1 §1.3.3).
 *
 * @example
 * ```ts
 * const r: SsdpResponse = parseSsdpResponse(datagram);
 * r.headers.get("server");
 * ```
 */
export interface SsdpResponse {
  /** LOCATION: the device description's URL, as sent (check it with {@link checkSsdpLocation}). */
  readonly location: string;
  /** ST: the search target this answers. */
  readonly searchTarget: string;
  /** USN: the unique service name (`uuid:...::urn:...`), if present. */
  readonly usn: string | undefined;
  /** CACHE-CONTROL `max-age`, seconds, if present and valid. */
  readonly maxAge: number | undefined;
  /** SERVER, if present. */
  readonly server: string | undefined;
  /** Every header, names lower-cased; a repeated header keeps its first value. */
  readonly headers: ReadonlyMap<string, string>;
}

/**
 * Limits for {@link parseSsdpResponse}.
 *
 * @example
 * ```ts
 * parseSsdpResponse(datagram, { maxBytes: 2048, maxHeaders: 16 });
 * ```
 */
export interface SsdpParseOptions {
  /** Largest datagram accepted, bytes. Default 4096 (real answers are under 600). */
  readonly maxBytes?: number;
  /** Most header lines. Default 32. */
  readonly maxHeaders?: number;
  /** Longest line, bytes. Default 1024. */
  readonly maxLineLength?: number;
}

/**
 * Encodes an M-SEARCH request (UDA 1.1 §1.3.2).
 *
 * @throws {@link IcekitError} for an MX outside 1-5, or header values with CR, LF or non-ASCII
 *
 * @example
 * ```ts
 * const bytes = encodeSsdpSearch({ searchTarget: SsdpSearchTarget.InternetGatewayDeviceV1, mx: 2 });
 * socket.send(bytes, SSDP_PORT, SSDP_MULTICAST_ADDRESS);
 * ```
 */
export function encodeSsdpSearch(options: SsdpSearchOptions): Uint8Array {
  const host = options.host ?? `${SSDP_MULTICAST_ADDRESS}:${SSDP_PORT}`;
  const multicast = host === `${SSDP_MULTICAST_ADDRESS}:${SSDP_PORT}`;
  const mx = options.mx ?? 2;
  if (!Number.isInteger(mx) || mx < 1 || mx > 5) throw new IcekitError("INVALID_ARGUMENT", `mx ${mx}: pass an integer from 1 to 5 (UDA 1.1 §1.3.2)`);
  const lines = ["M-SEARCH * HTTP/1.1", `HOST: ${headerValue("host", host)}`, 'MAN: "ssdp:discover"'];
  // UDA 1.1 §1.3.2: MX is required in multicast searches. Unicast searches are answered at once,
  // but some stacks (miniupnpd among them) still read MX, so it is sent there too when given.
  if (multicast || options.mx !== undefined) lines.push(`MX: ${mx}`);
  lines.push(`ST: ${headerValue("searchTarget", options.searchTarget)}`);
  if (options.userAgent !== undefined) lines.push(`USER-AGENT: ${headerValue("userAgent", options.userAgent)}`);
  const text = lines.join("\r\n") + "\r\n\r\n";
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function headerValue(name: string, v: string): string {
  if (v.length === 0) throw new IcekitError("INVALID_ARGUMENT", `${name} is empty`);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new IcekitError("INVALID_ARGUMENT", `${name} '${v}' holds a control or non-ASCII character; pass printable ASCII`);
  }
  return v;
}

/**
 * Parses an SSDP search response: `HTTP/1.1 200 OK`, then headers (names case-insensitive),
 * then an empty line. LOCATION and ST are required; a response with two LOCATIONs is refused as
 * ambiguous. Bare LF line ends are accepted (devices send them); the end of the datagram may
 * stand in for the empty line.
 *
 * @param data - one datagram
 * @param options - size limits
 * @throws {@link UpnpError} `SSDP_MALFORMED` for anything else, including breaking a limit
 *
 * @example
 * ```ts
 * const res = parseSsdpResponse(datagram);
 * res.location;   // "http://192.168.1.1:5000/rootDesc.xml"
 * res.maxAge;     // 120
 * ```
 */
export function parseSsdpResponse(data: Uint8Array, options: SsdpParseOptions = {}): SsdpResponse {
  const maxBytes = options.maxBytes ?? 4096;
  const maxHeaders = options.maxHeaders ?? 32;
  const maxLine = options.maxLineLength ?? 1024;
  if (data.length > maxBytes) throw bad(`datagram of ${data.length} bytes is over the ${maxBytes}-byte limit`);
  let pos = 0;
  let lineNo = 0;
  const headers = new Map<string, string>();
  let locations = 0;
  let headerLines = 0;
  for (;;) {
    if (pos >= data.length) {
      if (lineNo === 0) throw bad("empty datagram");
      break; // no empty line: the datagram's end ends the headers
    }
    let end = pos;
    while (end < data.length && data[end] !== 0x0a) end++;
    let lineEnd = end;
    if (lineEnd > pos && data[lineEnd - 1] === 0x0d) lineEnd--;
    if (lineEnd - pos > maxLine) throw bad(`line ${lineNo + 1} is longer than ${maxLine} bytes`);
    let line = "";
    for (let k = pos; k < lineEnd; k++) {
      const c = data[k]!;
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw bad(`control character 0x${c.toString(16)} on line ${lineNo + 1}`);
      line += String.fromCharCode(c);
    }
    pos = end + 1;
    if (lineNo++ === 0) {
      statusLine(line);
      continue;
    }
    if (line.length === 0) break;
    if (++headerLines > maxHeaders) throw bad(`more than ${maxHeaders} headers`);
    const colon = line.indexOf(":");
    if (colon <= 0) throw bad(`header line '${clip(line)}' has no name`);
    const name = line.slice(0, colon).toLowerCase();
    for (let k = 0; k < name.length; k++) {
      if (!isTokenChar(name.charCodeAt(k))) throw bad(`header name '${clip(name)}' is not an HTTP token`);
    }
    const value = line.slice(colon + 1).trim();
    if (name === "location") locations++;
    if (!headers.has(name)) headers.set(name, value);
  }
  const location = headers.get("location");
  const st = headers.get("st");
  if (location === undefined || location.length === 0) throw bad("no LOCATION header");
  if (locations > 1) throw bad("more than one LOCATION header");
  if (st === undefined || st.length === 0) throw bad("no ST header");
  const usn = headers.get("usn");
  const server = headers.get("server");
  return { location, searchTarget: st, usn: usn || undefined, maxAge: maxAgeOf(headers.get("cache-control")), server: server || undefined, headers };
}

/**
 * Checks an SSDP LOCATION (or any description or control URL) against the address the answer
 * came from: it must be an absolute `http://` URL without credentials whose host is an IP
 * literal equal to `responder`. Returns the URL normalised (`new URL(...).href`).
 *
 * Why: anyone who can reach the client's socket can answer an M-SEARCH. Without this check an
 * answer from 10.0.0.1 saying `LOCATION: http://8.8.8.8/` (or `http://127.0.0.1:8080/admin`)
 * makes the client send requests to a host of the attacker's choosing (SSRF) and trust it as the
 * gateway. Host names are refused for the same reason: they may resolve anywhere.
 *
 * @param location - the URL from the response (or a description)
 * @param responder - the IP address the response came from
 * @throws {@link UpnpError} `FOREIGN_LOCATION`
 *
 * @example
 * ```ts
 * checkSsdpLocation("http://10.0.0.1:5000/rootDesc.xml", "10.0.0.1"); // ok
 * checkSsdpLocation("http://8.8.8.8/rootDesc.xml", "10.0.0.1");       // throws FOREIGN_LOCATION
 * ```
 */
export function checkSsdpLocation(location: string, responder: string): string {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new UpnpError("FOREIGN_LOCATION", `LOCATION '${clip(location)}' is not an absolute URL`);
  }
  if (url.protocol !== "http:") throw new UpnpError("FOREIGN_LOCATION", `LOCATION '${clip(location)}' is not http://`);
  if (url.username !== "" || url.password !== "") throw new UpnpError("FOREIGN_LOCATION", `LOCATION '${clip(location)}' carries credentials`);
  const host = urlHostIp(url);
  if (host === undefined) throw new UpnpError("FOREIGN_LOCATION", `LOCATION '${clip(location)}' does not name an IP address`);
  let from: string;
  try {
    from = unmapV4(canonicalIp(responder));
  } catch {
    throw new UpnpError("FOREIGN_LOCATION", `responder '${clip(responder)}' is not an IP address`);
  }
  if (host !== from) throw new UpnpError("FOREIGN_LOCATION", `LOCATION '${clip(location)}' points at ${host}, not at ${from}, which answered`);
  return url.href;
}

function statusLine(line: string): void {
  // "HTTP/1.1 200 OK"; HTTP/1.0 is seen from small stacks and means the same here.
  if (!(line.startsWith("HTTP/1.1 ") || line.startsWith("HTTP/1.0 "))) throw bad(`'${clip(line)}' is not an HTTP/1.x status line`);
  const rest = line.slice(9);
  if (!(rest.startsWith("200") && (rest.length === 3 || rest.charCodeAt(3) === 0x20))) throw bad(`status '${clip(rest)}' is not 200`);
}

function maxAgeOf(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  for (const part of v.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim().toLowerCase() !== "max-age") continue;
    const n = part.slice(eq + 1).trim();
    if (n.length === 0 || n.length > 10) return undefined;
    for (let i = 0; i < n.length; i++) if (n.charCodeAt(i) < 0x30 || n.charCodeAt(i) > 0x39) return undefined;
    return Number(n);
  }
  return undefined;
}

/** RFC 9110 §5.6.2 tchar. */
function isTokenChar(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  return "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}

function bad(message: string): UpnpError {
  return new UpnpError("SSDP_MALFORMED", `SSDP response: ${message}`);
}
