/**
 * UPnP device descriptions (UPnP Device Architecture 1.1 §2.3): find the gateway's WAN
 * connection service and its control URL.
 *
 * An Internet Gateway Device nests its services two levels down:
 *
 * ```
 * root device  urn:schemas-upnp-org:device:InternetGatewayDevice:1|2
 *   deviceList/device  WANDevice:1|2
 *     deviceList/device  WANConnectionDevice:1|2
 *       serviceList/service  WANIPConnection:1|2 or WANPPPConnection:1   ← controlURL
 * ```
 *
 * but real devices vary (several WANDevices, a WANConnectionDevice with both an IP and a PPP
 * service, extra vendor devices), so {@link parseDeviceDescription} walks every device at any
 * depth and collects every service. {@link selectWanConnectionService} then prefers
 * WANIPConnection:2 (it has AddAnyPortMapping), then WANIPConnection:1, then WANPPPConnection:1.
 *
 * Relative URLs resolve against `URLBase` when the description has one (UDA 1.0; deprecated in
 * 1.1) and otherwise against the URL the description was fetched from (UDA 1.1 §2.3). Resolved
 * URLs must be `http://` on the same host as that URL; a description that points its control
 * URL at another host is refused for the service (the SSRF reasoning of
 * {@link checkSsdpLocation}).
 *
 * ```ts
 * const description = parseDeviceDescription(body, "http://192.168.1.1:5000/rootDesc.xml");
 * const wan = selectWanConnectionService(description);
 * if (wan) console.log(wan.serviceType, wan.controlUrl);
 * ```
 *
 * @module
 */
import { parseXml, xmlChild, xmlChildText, xmlChildren } from "./xml";
import type { XmlElement, XmlParseOptions } from "./xml";
import { isXmlError } from "./xml-error";
import { urlHostIp } from "./url-host";
import { UpnpError } from "./upnp-error";

/**
 * Service types a port-mapping client can use, in order of preference.
 *
 * @example
 * ```ts
 * description.services.some((s) => s.serviceType === WanConnectionServiceType.WanIpConnectionV2);
 * ```
 */
export const WanConnectionServiceType = {
  WanIpConnectionV2: "urn:schemas-upnp-org:service:WANIPConnection:2",
  WanIpConnectionV1: "urn:schemas-upnp-org:service:WANIPConnection:1",
  WanPppConnectionV1: "urn:schemas-upnp-org:service:WANPPPConnection:1",
} as const;

/**
 * One `<service>` of a description, URLs resolved.
 *
 * @example
 * ```ts
 * for (const s of parseDeviceDescription(xml, location).services) console.log(s.serviceType, s.controlUrl);
 * ```
 */
export interface UpnpServiceDescription {
  /** `urn:schemas-upnp-org:service:WANIPConnection:2` and the like. */
  readonly serviceType: string;
  readonly serviceId: string | undefined;
  /** Absolute control URL: where SOAP actions are POSTed. */
  readonly controlUrl: string;
  /** Absolute event subscription URL, if the description has a usable one. */
  readonly eventSubUrl: string | undefined;
  /** Absolute service description (SCPD) URL, if the description has a usable one. */
  readonly scpdUrl: string | undefined;
  /** The `deviceType` of the device that holds the service. */
  readonly deviceType: string | undefined;
}

/**
 * What {@link parseDeviceDescription} returns.
 *
 * @example
 * ```ts
 * const d: UpnpDeviceDescription = parseDeviceDescription(xml, location);
 * console.log(d.friendlyName, d.services.length);
 * ```
 */
export interface UpnpDeviceDescription {
  /** The base relative URLs were resolved against. */
  readonly baseUrl: string;
  /** The root device's type (`urn:schemas-upnp-org:device:InternetGatewayDevice:2`). */
  readonly deviceType: string | undefined;
  readonly friendlyName: string | undefined;
  readonly manufacturer: string | undefined;
  readonly modelName: string | undefined;
  /** UDN (`uuid:...`). */
  readonly udn: string | undefined;
  /** Every service of every device, in document order, depth first. */
  readonly services: readonly UpnpServiceDescription[];
  /** Services dropped: no control URL, not http://, or on another host. */
  readonly servicesRefused: number;
}

/**
 * A WAN connection service picked by {@link selectWanConnectionService}.
 *
 * @example
 * ```ts
 * const wan = selectWanConnectionService(d);
 * if (wan?.version === 2) useAddAnyPortMapping();
 * ```
 */
export interface WanConnectionService extends UpnpServiceDescription {
  /** `WANIPConnection` or `WANPPPConnection`. */
  readonly kind: "WANIPConnection" | "WANPPPConnection";
  /** The service version (1 or 2); 2 has AddAnyPortMapping. */
  readonly version: number;
}

/**
 * Parses a device description and flattens its services, URLs resolved and checked.
 *
 * @param body - the description document (bytes or text)
 * @param location - the URL it was fetched from (the SSDP LOCATION)
 * @param options - XML limits for the document
 * @throws {@link UpnpError} `DESCRIPTION_MALFORMED` (with the {@link XmlError} as `cause`) when
 *   the document is not XML or has no `<root><device>`
 *
 * @example
 * ```ts
 * const d = parseDeviceDescription(xml, "http://10.0.0.1:5000/rootDesc.xml");
 * d.services.map((s) => s.serviceType);
 * ```
 */
export function parseDeviceDescription(body: Uint8Array | string, location: string, options?: XmlParseOptions): UpnpDeviceDescription {
  let root: XmlElement;
  try {
    root = parseXml(body, options);
  } catch (e) {
    if (isXmlError(e)) throw new UpnpError("DESCRIPTION_MALFORMED", `device description at ${location}: ${e.message}`, undefined, undefined, { cause: e });
    throw e;
  }
  if (root.localName !== "root") throw new UpnpError("DESCRIPTION_MALFORMED", `device description at ${location}: the root element is <${root.name}>, not <root>`);
  const device = xmlChild(root, "device");
  if (device === undefined) throw new UpnpError("DESCRIPTION_MALFORMED", `device description at ${location}: no <device> in <root>`);
  let locationUrl: URL;
  try {
    locationUrl = new URL(location);
  } catch {
    throw new UpnpError("FOREIGN_LOCATION", `description location '${location}' is not an absolute URL`);
  }
  // UDA 1.0 URLBase wins when present and usable; UDA 1.1 drops it in favour of the location.
  let base = locationUrl;
  const urlBase = xmlChildText(root, "URLBase");
  if (urlBase) {
    const u = parseUrl(urlBase, undefined);
    if (u !== undefined && sameHost(u, locationUrl)) base = u;
  }
  const services: UpnpServiceDescription[] = [];
  let refused = 0;
  // Depth-first, document order, with an explicit stack (the XML depth cap bounds it anyway).
  const stack: XmlElement[] = [device];
  while (stack.length > 0) {
    const d = stack.pop()!;
    const deviceType = xmlChildText(d, "deviceType");
    const serviceList = xmlChild(d, "serviceList");
    for (const s of serviceList ? xmlChildren(serviceList, "service") : []) {
      const serviceType = xmlChildText(s, "serviceType");
      const control = resolve(xmlChildText(s, "controlURL"), base, locationUrl);
      if (!serviceType || control === undefined) {
        refused++;
        continue;
      }
      services.push({
        serviceType,
        serviceId: xmlChildText(s, "serviceId") || undefined,
        controlUrl: control,
        eventSubUrl: resolve(xmlChildText(s, "eventSubURL"), base, locationUrl),
        scpdUrl: resolve(xmlChildText(s, "SCPDURL"), base, locationUrl),
        deviceType: deviceType || undefined,
      });
    }
    const deviceList = xmlChild(d, "deviceList");
    if (deviceList) {
      const subs = xmlChildren(deviceList, "device");
      for (let i = subs.length - 1; i >= 0; i--) stack.push(subs[i]!);
    }
  }
  return {
    baseUrl: base.href,
    deviceType: xmlChildText(device, "deviceType") || undefined,
    friendlyName: xmlChildText(device, "friendlyName") || undefined,
    manufacturer: xmlChildText(device, "manufacturer") || undefined,
    modelName: xmlChildText(device, "modelName") || undefined,
    udn: xmlChildText(device, "UDN") || undefined,
    services,
    servicesRefused: refused,
  };
}

/**
 * Picks the WAN connection service to map ports with: WANIPConnection:2, else :1, else
 * WANPPPConnection:1 (the first of each kind in document order). A WANIPConnection with a
 * version above 2 is used as version 2. Undefined when there is none.
 *
 * @example
 * ```ts
 * const wan = selectWanConnectionService(parseDeviceDescription(xml, location));
 * if (!wan) throw new Error("not an IGD");
 * ```
 */
export function selectWanConnectionService(description: UpnpDeviceDescription): WanConnectionService | undefined {
  let best: WanConnectionService | undefined;
  let bestRank = Infinity;
  for (const s of description.services) {
    const t = parseServiceType(s.serviceType);
    if (t === undefined) continue;
    const rank = t.kind === "WANIPConnection" ? (t.version >= 2 ? 0 : 1) : 2;
    if (rank < bestRank) {
      best = { ...s, kind: t.kind, version: t.kind === "WANIPConnection" ? Math.min(t.version, 2) : 1 };
      bestRank = rank;
    }
  }
  return best;
}

/**
 * Splits `urn:schemas-upnp-org:service:WANIPConnection:2` into kind and version; undefined for
 * any other service type.
 *
 * @example
 * ```ts
 * parseServiceType("urn:schemas-upnp-org:service:WANPPPConnection:1"); // { kind: "WANPPPConnection", version: 1 }
 * ```
 */
export function parseServiceType(serviceType: string): { kind: "WANIPConnection" | "WANPPPConnection"; version: number } | undefined {
  const prefix = "urn:schemas-upnp-org:service:";
  if (!serviceType.startsWith(prefix)) return undefined;
  const rest = serviceType.slice(prefix.length);
  const colon = rest.lastIndexOf(":");
  if (colon < 0) return undefined;
  const kind = rest.slice(0, colon);
  const v = rest.slice(colon + 1);
  if (kind !== "WANIPConnection" && kind !== "WANPPPConnection") return undefined;
  if (v.length === 0 || v.length > 3) return undefined;
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) < 0x30 || v.charCodeAt(i) > 0x39) return undefined;
  const version = Number(v);
  return version >= 1 ? { kind, version } : undefined;
}

function parseUrl(text: string, base: URL | undefined): URL | undefined {
  try {
    const u = new URL(text, base);
    return u.protocol === "http:" && u.username === "" && u.password === "" ? u : undefined;
  } catch {
    return undefined;
  }
}

function sameHost(a: URL, b: URL): boolean {
  const ha = urlHostIp(a) ?? a.hostname;
  const hb = urlHostIp(b) ?? b.hostname;
  return ha === hb;
}

/** Resolves a service URL; undefined when empty, unparseable, not http:// or on another host. */
function resolve(text: string | undefined, base: URL, location: URL): string | undefined {
  if (!text) return undefined;
  const u = parseUrl(text, base);
  if (u === undefined || !sameHost(u, location)) return undefined;
  return u.href;
}
