/**
 * UPnP IGD control: the SOAP actions of WANIPConnection:1/:2 and WANPPPConnection:1 that a
 * port-mapping client needs, as pure "request description in, response out" functions.
 *
 * Each `encode…` returns a {@link SoapRequest}: method, URL (split into host, port and path for
 * an HTTP client), headers (`Content-Type: text/xml; charset="utf-8"`, `SOAPAction`,
 * `Content-Length`) and the envelope (UDA 1.1 §3.2.1), argument values XML-escaped and in the
 * order the service description declares them (several gateways read them positionally). Each
 * `parse…Response` takes the HTTP status and body and returns the out arguments, or throws
 * {@link UpnpError}: `SOAP_FAULT` with the UPnP `errorCode` when the body is a fault (UDA 1.1
 * §3.2.2: HTTP 500 with `<s:Fault><detail><UPnPError>`), `HTTP_STATUS` for another failure
 * status, `SOAP_MALFORMED` for a 200 that does not carry the response element.
 *
 * The actions (WANIPConnection:2 Service, §2.4; WANIPConnection:1 and WANPPPConnection:1 have
 * the same arguments for all but AddAnyPortMapping, which is IGDv2 only):
 * - GetExternalIPAddress → NewExternalIPAddress
 * - AddPortMapping (NewRemoteHost, NewExternalPort, NewProtocol, NewInternalPort,
 *   NewInternalClient, NewEnabled, NewPortMappingDescription, NewLeaseDuration)
 * - AddAnyPortMapping (same) → NewReservedPort: the gateway picks the port when the asked one is
 *   taken
 * - DeletePortMapping (NewRemoteHost, NewExternalPort, NewProtocol)
 * - GetSpecificPortMappingEntry (NewRemoteHost, NewExternalPort, NewProtocol) → NewInternalPort,
 *   NewInternalClient, NewEnabled, NewPortMappingDescription, NewLeaseDuration
 * - GetStatusInfo → NewConnectionStatus, NewLastConnectionError, NewUptime
 *
 * ```ts
 * const req = encodeAddPortMapping(service, { externalPort: 5000, protocol: "udp", internalPort: 5000, internalClient: "192.168.1.20", leaseDuration: 3600 });
 * const res = await fetchSomehow(req);          // POST req.path to req.host:req.port
 * parseAddPortMappingResponse(res.status, res.body); // throws UpnpError 718 on conflict
 * ```
 *
 * @module
 */
import { ipFamily } from "../bytes/ip";
import { IcekitError } from "../errors";
import { urlHostIp } from "./url-host";
import { UpnpError } from "./upnp-error";
import { parseXml, xmlChild, xmlChildText, xmlDescendant, xmlEscape } from "./xml";
import type { XmlElement, XmlParseOptions } from "./xml";
import { isXmlError } from "./xml-error";

/**
 * Transport of a UPnP port mapping (sent as `UDP` / `TCP`).
 *
 * @example
 * ```ts
 * const p: UpnpProtocol = "udp"; // sent as NewProtocol "UDP"
 * ```
 */
export type UpnpProtocol = "udp" | "tcp";

/**
 * The service a request is addressed to: its type and absolute control URL.
 *
 * @example
 * ```ts
 * const service: UpnpServiceEndpoint = { serviceType: "urn:schemas-upnp-org:service:WANIPConnection:1", controlUrl: "http://192.168.1.1:5000/ctl/IPConn" };
 * ```
 */
export interface UpnpServiceEndpoint {
  readonly serviceType: string;
  readonly controlUrl: string;
}

/**
 * Everything an HTTP client needs to send one SOAP action.
 *
 * @example
 * ```ts
 * const req: SoapRequest = encodeGetExternalIpAddress(service);
 * http.request({ host: req.host, port: req.port, path: req.path, method: req.method, headers: req.headers }).end(req.body);
 * ```
 */
export interface SoapRequest {
  readonly method: "POST";
  /** The absolute control URL. */
  readonly url: string;
  /** The URL's host: an IP literal without brackets, or a name. */
  readonly host: string;
  readonly port: number;
  /** Path and query. */
  readonly path: string;
  /** Request headers; `Host` is left to the HTTP client. */
  readonly headers: Readonly<Record<string, string>>;
  /** The SOAP envelope, UTF-8 text. */
  readonly body: string;
  readonly serviceType: string;
  /** The action name (`AddPortMapping`). */
  readonly action: string;
}

/**
 * Arguments of AddPortMapping and AddAnyPortMapping.
 *
 * @example
 * ```ts
 * const args: AddPortMappingArgs = { externalPort: 5000, protocol: "udp", internalPort: 5000, internalClient: "192.168.1.20", leaseDuration: 3600 };
 * ```
 */
export interface AddPortMappingArgs {
  /** NewRemoteHost: "" (default) for any remote host. */
  readonly remoteHost?: string;
  /** NewExternalPort, 1-65535 (0 is the wildcard many gateways refuse with 716). */
  readonly externalPort: number;
  readonly protocol: UpnpProtocol;
  /** NewInternalPort, 1-65535. */
  readonly internalPort: number;
  /** NewInternalClient: the LAN address to forward to (with secure mode, the caller's own). */
  readonly internalClient: string;
  /** NewEnabled, default true. */
  readonly enabled?: boolean;
  /** NewPortMappingDescription, default "icekit". */
  readonly description?: string;
  /** NewLeaseDuration in seconds; 0 asks for a static mapping (IGDv2: 604800). */
  readonly leaseDuration: number;
}

/**
 * Arguments that name a mapping: DeletePortMapping and GetSpecificPortMappingEntry.
 *
 * @example
 * ```ts
 * encodeDeletePortMapping(service, { externalPort: 5000, protocol: "udp" });
 * ```
 */
export interface PortMappingKey {
  /** NewRemoteHost: "" (default) for the wildcard mapping. */
  readonly remoteHost?: string;
  readonly externalPort: number;
  readonly protocol: UpnpProtocol;
}

/**
 * The out arguments of GetSpecificPortMappingEntry.
 *
 * @example
 * ```ts
 * const e: UpnpPortMappingEntry = parseGetSpecificPortMappingEntryResponse(200, body);
 * if (e.internalClient !== myAddress) console.log("someone else holds it");
 * ```
 */
export interface UpnpPortMappingEntry {
  readonly internalPort: number;
  readonly internalClient: string;
  readonly enabled: boolean;
  readonly description: string;
  /** Seconds left (miniupnpd) or as granted; 0 for a static mapping. */
  readonly leaseDuration: number;
}

/**
 * The out arguments of GetStatusInfo.
 *
 * @example
 * ```ts
 * if (parseGetStatusInfoResponse(200, body).connectionStatus !== "Connected") console.log("WAN down");
 * ```
 */
export interface UpnpStatusInfo {
  /** `Connected`, `Disconnected`, `Connecting`, `Unconfigured`, ... */
  readonly connectionStatus: string;
  readonly lastConnectionError: string | undefined;
  /** Seconds the connection has been up. */
  readonly uptime: number | undefined;
}

/**
 * Largest NewLeaseDuration WANIPConnection:2 keeps (§2.3.16: longer leases are cut to a week).
 *
 * @example
 * ```ts
 * const granted = Math.min(asked, UPNP_MAX_LEASE_V2);
 * ```
 */
export const UPNP_MAX_LEASE_V2 = 604800;

const SOAP_ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/";

/**
 * Builds any SOAP action request (UDA 1.1 §3.2.1). The action-specific `encode…` functions
 * call this; use it directly for actions they do not cover.
 *
 * @param service - service type and control URL
 * @param action - action name, e.g. `"GetStatusInfo"`
 * @param args - in arguments, name and value, in the service description's order
 * @throws {@link IcekitError} for a control URL that is not absolute http://, an action or
 *   argument name that is not an XML name, or a value XML cannot carry
 *
 * @example
 * ```ts
 * const req = encodeSoapRequest(service, "GetStatusInfo", []);
 * req.headers.SOAPAction; // '"urn:schemas-upnp-org:service:WANIPConnection:1#GetStatusInfo"'
 * ```
 */
export function encodeSoapRequest(service: UpnpServiceEndpoint, action: string, args: readonly (readonly [string, string])[]): SoapRequest {
  let url: URL;
  try {
    url = new URL(service.controlUrl);
  } catch {
    throw new IcekitError("INVALID_ARGUMENT", `control URL '${service.controlUrl}' is not an absolute URL`);
  }
  if (url.protocol !== "http:") throw new IcekitError("INVALID_ARGUMENT", `control URL '${service.controlUrl}' is not http://`);
  checkName("action", action);
  for (const [name] of args) checkName("argument", name);
  if (service.serviceType.length === 0 || /["\r\n#]/.test(service.serviceType)) throw new IcekitError("INVALID_ARGUMENT", `service type '${service.serviceType}' cannot go in a SOAPAction header`);
  const inner = args.map(([name, value]) => `<${name}>${xmlEscape(value)}</${name}>`).join("");
  const body =
    `<?xml version="1.0" encoding="utf-8"?>\r\n` +
    `<s:Envelope xmlns:s="${SOAP_ENVELOPE_NS}" s:encodingStyle="${SOAP_ENCODING}">` +
    `<s:Body><u:${action} xmlns:u="${xmlEscape(service.serviceType)}">${inner}</u:${action}></s:Body></s:Envelope>\r\n`;
  const host = urlHostIp(url) ?? url.hostname;
  return {
    method: "POST",
    url: url.href,
    host,
    port: url.port === "" ? 80 : Number(url.port),
    path: url.pathname + url.search,
    headers: {
      "Content-Type": 'text/xml; charset="utf-8"',
      SOAPAction: `"${service.serviceType}#${action}"`,
      "Content-Length": String(utf8Length(body)),
      Connection: "close",
    },
    body,
    serviceType: service.serviceType,
    action,
  };
}

/**
 * Reads a SOAP action response: the out arguments of `<u:{action}Response>` by name (text
 * trimmed), or a typed error.
 *
 * @param action - the action the request named
 * @param status - the HTTP status code
 * @param body - the response body
 * @param options - XML limits
 * @throws {@link UpnpError} `SOAP_FAULT` (errorCode, errorDescription from `<UPnPError>`),
 *   `HTTP_STATUS` (a non-200 status without a UPnP fault), `SOAP_MALFORMED` (a 200 without the
 *   response element, or not XML)
 *
 * @example
 * ```ts
 * const out = parseSoapResponse("GetExternalIPAddress", 200, body);
 * out.get("NewExternalIPAddress"); // "203.0.113.7"
 * ```
 */
export function parseSoapResponse(action: string, status: number, body: Uint8Array | string, options?: XmlParseOptions): ReadonlyMap<string, string> {
  let root: XmlElement | undefined;
  let xmlError: unknown;
  try {
    root = parseXml(body, options);
  } catch (e) {
    if (!isXmlError(e)) throw e;
    xmlError = e;
  }
  const fault = root ? xmlDescendant(root, "Fault") : undefined;
  if (fault) {
    const upnp = xmlDescendant(fault, "UPnPError");
    const codeText = upnp ? xmlChildText(upnp, "errorCode") : undefined;
    const code = codeText !== undefined && /^\d{1,4}$/.test(codeText) ? Number(codeText) : undefined;
    const description = upnp ? xmlChildText(upnp, "errorDescription") : xmlChildText(fault, "faultstring");
    if (code !== undefined) {
      throw new UpnpError("SOAP_FAULT", `${action} failed: UPnP error ${code}${description ? ` ${description}` : ""}`, code, description || undefined);
    }
    if (status === 200) throw new UpnpError("SOAP_MALFORMED", `${action}: a SOAP fault without a UPnP error code${description ? ` (${description})` : ""}`, undefined, description || undefined);
  }
  if (status !== 200) throw new UpnpError("HTTP_STATUS", `${action} failed: HTTP status ${status}`, status);
  if (!root) throw new UpnpError("SOAP_MALFORMED", `${action} response is not XML: ${(xmlError as Error).message}`, undefined, undefined, { cause: xmlError });
  const envelopeBody = root.localName === "Envelope" ? xmlChild(root, "Body") : undefined;
  const response = envelopeBody ? xmlChild(envelopeBody, `${action}Response`) : undefined;
  if (!response) throw new UpnpError("SOAP_MALFORMED", `${action} response has no <${action}Response> in an <Envelope><Body>`);
  const out = new Map<string, string>();
  for (const c of response.children) if (!out.has(c.localName)) out.set(c.localName, c.text.trim());
  return out;
}

/**
 * GetExternalIPAddress: the gateway's external (WAN) address.
 *
 * @example
 * ```ts
 * const req = encodeGetExternalIpAddress(service);
 * ```
 */
export function encodeGetExternalIpAddress(service: UpnpServiceEndpoint): SoapRequest {
  return encodeSoapRequest(service, "GetExternalIPAddress", []);
}

/**
 * Reads the GetExternalIPAddress response. An empty address (the gateway has none: WAN down)
 * is returned as "".
 *
 * @throws {@link UpnpError} as {@link parseSoapResponse}; `SOAP_MALFORMED` when
 *   NewExternalIPAddress is missing or neither empty nor an IP address
 *
 * @example
 * ```ts
 * const ip = parseGetExternalIpAddressResponse(200, body); // "203.0.113.7"
 * ```
 */
export function parseGetExternalIpAddressResponse(status: number, body: Uint8Array | string, options?: XmlParseOptions): string {
  const out = parseSoapResponse("GetExternalIPAddress", status, body, options);
  const ip = out.get("NewExternalIPAddress");
  if (ip === undefined) throw new UpnpError("SOAP_MALFORMED", "GetExternalIPAddress response has no NewExternalIPAddress");
  if (ip !== "" && ipFamily(ip) === undefined) throw new UpnpError("SOAP_MALFORMED", `NewExternalIPAddress '${clip(ip)}' is not an IP address`);
  return ip;
}

/**
 * AddPortMapping (all versions): create or, for the same internal client, update a mapping.
 *
 * @throws {@link IcekitError} for out-of-range ports or lease, or an internal client that is not an IP
 *
 * @example
 * ```ts
 * encodeAddPortMapping(service, { externalPort: 5000, protocol: "tcp", internalPort: 5000, internalClient: "192.168.1.20", leaseDuration: 3600 });
 * ```
 */
export function encodeAddPortMapping(service: UpnpServiceEndpoint, args: AddPortMappingArgs): SoapRequest {
  return encodeSoapRequest(service, "AddPortMapping", addArgs(args, false));
}

/**
 * Reads the AddPortMapping response (it has no out arguments).
 *
 * @throws {@link UpnpError} as {@link parseSoapResponse}: 718 ConflictInMappingEntry,
 *   725 OnlyPermanentLeasesSupported, 724 SamePortValuesRequired, 606 Action not authorized, ...
 *
 * @example
 * ```ts
 * parseAddPortMappingResponse(res.status, res.body);
 * ```
 */
export function parseAddPortMappingResponse(status: number, body: Uint8Array | string, options?: XmlParseOptions): void {
  parseSoapResponse("AddPortMapping", status, body, options);
}

/**
 * AddAnyPortMapping (WANIPConnection:2 only): like AddPortMapping, but the gateway picks another
 * external port when the one asked for is taken, and says which.
 *
 * @throws {@link IcekitError} as {@link encodeAddPortMapping}
 *
 * @example
 * ```ts
 * encodeAddAnyPortMapping(service, { externalPort: 5000, protocol: "udp", internalPort: 5000, internalClient: "192.168.1.20", leaseDuration: 3600 });
 * ```
 */
export function encodeAddAnyPortMapping(service: UpnpServiceEndpoint, args: AddPortMappingArgs): SoapRequest {
  return encodeSoapRequest(service, "AddAnyPortMapping", addArgs(args, true));
}

/**
 * Reads the AddAnyPortMapping response: NewReservedPort, the external port granted.
 *
 * @throws {@link UpnpError} as {@link parseSoapResponse}; `SOAP_MALFORMED` without a valid port
 *
 * @example
 * ```ts
 * const port = parseAddAnyPortMappingResponse(200, body); // 5001
 * ```
 */
export function parseAddAnyPortMappingResponse(status: number, body: Uint8Array | string, options?: XmlParseOptions): number {
  const out = parseSoapResponse("AddAnyPortMapping", status, body, options);
  const port = uint(out.get("NewReservedPort"), 65535);
  if (port === undefined || port === 0) throw new UpnpError("SOAP_MALFORMED", `NewReservedPort '${clip(out.get("NewReservedPort") ?? "")}' is not a port`);
  return port;
}

/**
 * DeletePortMapping: remove a mapping.
 *
 * @example
 * ```ts
 * encodeDeletePortMapping(service, { externalPort: 5000, protocol: "udp" });
 * ```
 */
export function encodeDeletePortMapping(service: UpnpServiceEndpoint, key: PortMappingKey): SoapRequest {
  return encodeSoapRequest(service, "DeletePortMapping", keyArgs(key));
}

/**
 * Reads the DeletePortMapping response.
 *
 * @throws {@link UpnpError} as {@link parseSoapResponse}; 714 NoSuchEntryInArray when there was
 *   no such mapping
 *
 * @example
 * ```ts
 * parseDeletePortMappingResponse(res.status, res.body);
 * ```
 */
export function parseDeletePortMappingResponse(status: number, body: Uint8Array | string, options?: XmlParseOptions): void {
  parseSoapResponse("DeletePortMapping", status, body, options);
}

/**
 * GetSpecificPortMappingEntry: read back one mapping.
 *
 * @example
 * ```ts
 * encodeGetSpecificPortMappingEntry(service, { externalPort: 5000, protocol: "udp" });
 * ```
 */
export function encodeGetSpecificPortMappingEntry(service: UpnpServiceEndpoint, key: PortMappingKey): SoapRequest {
  return encodeSoapRequest(service, "GetSpecificPortMappingEntry", keyArgs(key));
}

/**
 * Reads the GetSpecificPortMappingEntry response.
 *
 * @throws {@link UpnpError} as {@link parseSoapResponse} (714 when there is no such mapping);
 *   `SOAP_MALFORMED` for missing or out-of-range values
 *
 * @example
 * ```ts
 * const e = parseGetSpecificPortMappingEntryResponse(200, body);
 * e.internalClient; // "192.168.1.20"
 * ```
 */
export function parseGetSpecificPortMappingEntryResponse(status: number, body: Uint8Array | string, options?: XmlParseOptions): UpnpPortMappingEntry {
  const out = parseSoapResponse("GetSpecificPortMappingEntry", status, body, options);
  const internalPort = uint(out.get("NewInternalPort"), 65535);
  const internalClient = out.get("NewInternalClient");
  const enabled = out.get("NewEnabled");
  const lease = uint(out.get("NewLeaseDuration"), 0xffffffff);
  if (internalPort === undefined) throw new UpnpError("SOAP_MALFORMED", "GetSpecificPortMappingEntry: NewInternalPort is missing or not a port");
  if (internalClient === undefined) throw new UpnpError("SOAP_MALFORMED", "GetSpecificPortMappingEntry: no NewInternalClient");
  if (enabled !== "0" && enabled !== "1" && enabled !== "true" && enabled !== "false") throw new UpnpError("SOAP_MALFORMED", `GetSpecificPortMappingEntry: NewEnabled '${clip(enabled ?? "")}' is not a boolean`);
  return { internalPort, internalClient, enabled: enabled === "1" || enabled === "true", description: out.get("NewPortMappingDescription") ?? "", leaseDuration: lease ?? 0 };
}

/**
 * GetStatusInfo: whether the WAN connection is up.
 *
 * @example
 * ```ts
 * encodeGetStatusInfo(service);
 * ```
 */
export function encodeGetStatusInfo(service: UpnpServiceEndpoint): SoapRequest {
  return encodeSoapRequest(service, "GetStatusInfo", []);
}

/**
 * Reads the GetStatusInfo response.
 *
 * @throws {@link UpnpError} as {@link parseSoapResponse}; `SOAP_MALFORMED` without NewConnectionStatus
 *
 * @example
 * ```ts
 * parseGetStatusInfoResponse(200, body).connectionStatus; // "Connected"
 * ```
 */
export function parseGetStatusInfoResponse(status: number, body: Uint8Array | string, options?: XmlParseOptions): UpnpStatusInfo {
  const out = parseSoapResponse("GetStatusInfo", status, body, options);
  const connectionStatus = out.get("NewConnectionStatus");
  if (!connectionStatus) throw new UpnpError("SOAP_MALFORMED", "GetStatusInfo: no NewConnectionStatus");
  return { connectionStatus, lastConnectionError: out.get("NewLastConnectionError") || undefined, uptime: uint(out.get("NewUptime"), 0xffffffff) };
}

function addArgs(a: AddPortMappingArgs, any: boolean): [string, string][] {
  checkPort("externalPort", a.externalPort, 0);
  checkPort("internalPort", a.internalPort, 1);
  checkProtocol(a.protocol);
  if (ipFamily(a.internalClient) === undefined) throw new IcekitError("INVALID_ARGUMENT", `internalClient '${a.internalClient}' is not an IP address; pass this host's LAN address`);
  if (!Number.isInteger(a.leaseDuration) || a.leaseDuration < 0 || a.leaseDuration > 0xffffffff) {
    throw new IcekitError("INVALID_ARGUMENT", `leaseDuration ${a.leaseDuration}: pass whole seconds from 0 to 4294967295${any ? ` (IGDv2 keeps at most ${UPNP_MAX_LEASE_V2})` : ""}`);
  }
  return [
    ["NewRemoteHost", a.remoteHost ?? ""],
    ["NewExternalPort", String(a.externalPort)],
    ["NewProtocol", a.protocol.toUpperCase()],
    ["NewInternalPort", String(a.internalPort)],
    ["NewInternalClient", a.internalClient],
    ["NewEnabled", a.enabled === false ? "0" : "1"],
    ["NewPortMappingDescription", a.description ?? "icekit"],
    ["NewLeaseDuration", String(a.leaseDuration)],
  ];
}

function keyArgs(k: PortMappingKey): [string, string][] {
  checkPort("externalPort", k.externalPort, 0);
  checkProtocol(k.protocol);
  return [
    ["NewRemoteHost", k.remoteHost ?? ""],
    ["NewExternalPort", String(k.externalPort)],
    ["NewProtocol", k.protocol.toUpperCase()],
  ];
}

function checkPort(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 65535) throw new IcekitError("INVALID_ARGUMENT", `${name} ${v} is out of range; pass an integer from ${min} to 65535`);
}

function checkProtocol(p: string): void {
  if (p !== "udp" && p !== "tcp") throw new IcekitError("INVALID_ARGUMENT", `protocol '${p}' is not "udp" or "tcp"`);
}

function checkName(what: string, name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(name)) throw new IcekitError("INVALID_ARGUMENT", `${what} name '${name}' is not a plain XML name`);
}

/** A decimal integer from 0 to `max`, or undefined. */
function uint(text: string | undefined, max: number): number | undefined {
  if (text === undefined || text.length === 0 || text.length > 10) return undefined;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x30 || text.charCodeAt(i) > 0x39) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}
