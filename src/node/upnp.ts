/**
 * UPnP IGD port mapping on Node: SSDP discovery on a UDP socket, SOAP over `node:http`, and
 * {@link mapPortUpnp}, which keeps a mapping renewed like {@link mapPort} does for PCP and
 * NAT-PMP.
 *
 * ```ts
 * import { discoverIgd, mapPortUpnp } from "icekit/node";
 * const gateway = await discoverIgd();                   // SSDP M-SEARCH, description, WAN service
 * const m = await mapPortUpnp({ gateway, protocol: "udp", internalPort: 5000 });
 * console.log(`reach me at ${m.external.address}:${m.external.port}`);
 * await m.close();                                       // DeletePortMapping
 * ```
 *
 * Safety, because every answer comes from the network:
 * - SSDP answers are parsed with limits and dropped (counted) when malformed; an answer whose
 *   LOCATION names another host than the one that sent it is dropped too (see
 *   {@link checkSsdpLocation}: a spoofed answer must not steer HTTP requests elsewhere), and so
 *   are answers from hosts other than `gateway` when one is given;
 * - control URLs must stay on the description's host ({@link parseDeviceDescription});
 * - every HTTP exchange has a deadline, and a body size cap enforced while reading: the
 *   connection is cut as soon as the cap is passed (or a Content-Length says it would be);
 * - XML is read by {@link parseXml}: no DOCTYPE, no entity expansion, depth and count caps.
 *
 * The renewal timer keeps the Node event loop alive until `close()` or `detach()`, as with
 * {@link mapPort}.
 *
 * @module
 */
import dgram from "node:dgram";
import { awaitEvent } from "./await-event";
import type { EventPick } from "./await-event";
import http from "node:http";
import type { TransportAddress } from "../bytes/ip";
import { canonicalIp, ipFamily } from "../bytes/ip";
import { IcekitError } from "../errors";
import { SSDP_MULTICAST_ADDRESS, SSDP_PORT, SsdpSearchTarget, checkSsdpLocation, encodeSsdpSearch, parseSsdpResponse } from "../nat/ssdp";
import { parseDeviceDescription, selectWanConnectionService } from "../nat/upnp-description";
import type { UpnpDeviceDescription, WanConnectionService } from "../nat/upnp-description";
import { UpnpError, UpnpErrorCodes, isUpnpError } from "../nat/upnp-error";
import { UpnpMappingClient } from "../nat/upnp-mapping";
import type { UpnpMappingEvent } from "../nat/upnp-mapping";
import {
  encodeDeletePortMapping,
  encodeGetExternalIpAddress,
  encodeGetSpecificPortMappingEntry,
  parseDeletePortMappingResponse,
  parseGetExternalIpAddressResponse,
  parseGetSpecificPortMappingEntryResponse,
} from "../nat/upnp";
import type { SoapRequest, UpnpPortMappingEntry, UpnpProtocol } from "../nat/upnp";
import { monotonicNow } from "./clock";
import type { PortMapping } from "./port-mapping";

/**
 * A gateway found by {@link discoverIgd}: where to send SOAP actions, and from where.
 *
 * @example
 * ```ts
 * const gw: UpnpGateway = await discoverIgd();
 * console.log(gw.address, gw.serviceType);
 * ```
 */
export interface UpnpGateway {
  /** The device description URL (the SSDP LOCATION). */
  readonly location: string;
  /** The gateway's IP address (the LOCATION's host, which answered the search). */
  readonly address: string;
  /** This host's address toward the gateway: the default NewInternalClient. */
  readonly localAddress: string;
  /** The WAN connection service's absolute control URL. */
  readonly controlUrl: string;
  /** `urn:schemas-upnp-org:service:WANIPConnection:2` (or `:1`, or `WANPPPConnection:1`). */
  readonly serviceType: string;
  /** The service version: 2 offers AddAnyPortMapping. */
  readonly version: number;
  /** The chosen service in full. */
  readonly service: WanConnectionService;
  /** The parsed device description (friendly name, model, every service). */
  readonly description: UpnpDeviceDescription;
}

/**
 * Options for {@link discoverIgd}.
 *
 * @example
 * ```ts
 * await discoverIgd({ gateway: "192.168.1.1", localAddress: "192.168.1.20", timeoutMs: 2000 });
 * ```
 */
export interface DiscoverIgdOptions {
  /** Skip SSDP and read this device description URL (http://, IP host). */
  readonly location?: string;
  /**
   * The gateway's IP: M-SEARCH is also sent to it by unicast (port 1900), and answers from other
   * hosts are ignored. Useful where multicast does not reach, e.g. between network namespaces.
   */
  readonly gateway?: string;
  /** Local address to bind the SSDP socket (and the HTTP connections) to. Default: any. */
  readonly localAddress?: string;
  /** Send the search to 239.255.255.250:1900 (default true). */
  readonly multicast?: boolean;
  /** Search targets, default IGD:2, IGD:1, WANIPConnection:1, WANPPPConnection:1. */
  readonly searchTargets?: readonly string[];
  /** How long to wait for a usable gateway, ms (default 3000). */
  readonly timeoutMs?: number;
  /** Deadline of each HTTP exchange, ms (default 5000). */
  readonly httpTimeoutMs?: number;
  /** Largest description accepted, bytes (default 256 KiB). */
  readonly maxDescriptionBytes?: number;
  readonly signal?: AbortSignal;
}

/**
 * Options for the single-action helpers ({@link getExternalAddressUpnp} and friends).
 *
 * @example
 * ```ts
 * await getExternalAddressUpnp(gw, { timeoutMs: 2000 });
 * ```
 */
export interface UpnpCallOptions {
  /** Deadline of the HTTP exchange, ms (default 5000). */
  readonly timeoutMs?: number;
  /** Largest response body accepted, bytes (default 64 KiB). */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
}

/**
 * Options for {@link mapPortUpnp}.
 *
 * @example
 * ```ts
 * await mapPortUpnp({ gateway: gw, protocol: "tcp", internalPort: 8080, lifetime: 3600, onEvent: (e) => console.log(e) });
 * ```
 */
export interface MapPortUpnpOptions {
  /** The gateway from {@link discoverIgd}; without it, discovery runs with `discover`. */
  readonly gateway?: UpnpGateway;
  /** Discovery options when `gateway` is not given. */
  readonly discover?: DiscoverIgdOptions;
  readonly protocol: UpnpProtocol;
  /** The local port the application listens on. */
  readonly internalPort: number;
  /** Preferred external port (default: the internal port; the gateway or a conflict may change it). */
  readonly externalPort?: number;
  /** Lease in seconds (default 7200). */
  readonly lifetime?: number;
  /** NewPortMappingDescription (default "icekit"). */
  readonly description?: string;
  /** NewInternalClient (default: `gateway.localAddress`). */
  readonly internalClient?: string;
  /** Add attempts that may meet 718 ConflictInMappingEntry (default 4). */
  readonly maxPortAttempts?: number;
  /** Use AddAnyPortMapping (default: on WANIPConnection:2). */
  readonly useAddAnyPortMapping?: boolean;
  /** Deadline of each HTTP exchange, ms (default 5000). */
  readonly httpTimeoutMs?: number;
  /** Called with every later event: renewals, `lost`, failed renewals. */
  readonly onEvent?: (event: UpnpMappingEvent) => void;
  readonly signal?: AbortSignal;
}

/**
 * A mapping made with UPnP: the {@link PortMapping} shape with `method: "upnp"`.
 *
 * @example
 * ```ts
 * const m: UpnpPortMapping = await mapPortUpnp({ protocol: "udp", internalPort: 5000 });
 * if (m.permanent) process.on("exit", () => void m.close());
 * ```
 */
export interface UpnpPortMapping extends Omit<PortMapping, "method"> {
  readonly method: "upnp";
  /** The gateway it was made at. */
  readonly gateway: UpnpGateway;
  /**
   * True when the gateway keeps only permanent mappings (it answered 725
   * OnlyPermanentLeasesSupported): `lifetime` is 0 and the mapping stays until `close()`
   * deletes it; `detach()` leaves it at the gateway for good.
   */
  readonly permanent: boolean;
}

/**
 * What {@link sendSoapRequest} resolves with.
 *
 * @example
 * ```ts
 * const { status, body } = await sendSoapRequest(encodeGetStatusInfo(gw));
 * ```
 */
export interface UpnpHttpResponse {
  readonly status: number;
  readonly body: Uint8Array;
}

const DEFAULT_HTTP_TIMEOUT = 5000;
const DEFAULT_SOAP_MAX_BYTES = 64 * 1024;
const DEFAULT_DESCRIPTION_MAX_BYTES = 256 * 1024;
/** setTimeout's longest delay; a longer wait is taken in steps (early timeouts are no-ops). */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * Finds the Internet Gateway Device: an SSDP M-SEARCH (multicast, and unicast to `gateway` when
 * given), or the given `location`; then the device description and its WAN connection service.
 * Answers are tried in arrival order; the first device with a usable service wins.
 *
 * @throws {@link UpnpError} `TIMEOUT` when no usable gateway answered in time (the message says
 *   how many answers were dropped and why), or, with `location`, the error of that description
 *   (`FOREIGN_LOCATION`, `HTTP_STATUS`, `DESCRIPTION_MALFORMED`, `NO_WAN_SERVICE`, ...)
 * @throws {@link IcekitError} for bad options or a socket that cannot be bound
 *
 * @example
 * ```ts
 * const gw = await discoverIgd({ timeoutMs: 2000 });
 * console.log(gw.address, gw.serviceType, gw.controlUrl);
 * ```
 */
export async function discoverIgd(options: DiscoverIgdOptions = {}): Promise<UpnpGateway> {
  const httpTimeout = options.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT;
  const maxBytes = options.maxDescriptionBytes ?? DEFAULT_DESCRIPTION_MAX_BYTES;
  if (options.gateway !== undefined && ipFamily(options.gateway) === undefined) throw new IcekitError("INVALID_ARGUMENT", `gateway '${options.gateway}' is not an IP address`);
  if (options.localAddress !== undefined && ipFamily(options.localAddress) === undefined) throw new IcekitError("INVALID_ARGUMENT", `localAddress '${options.localAddress}' is not an IP address`);
  if (options.location !== undefined) {
    let url: URL;
    try {
      url = new URL(options.location);
    } catch {
      throw new IcekitError("INVALID_ARGUMENT", `location '${options.location}' is not an absolute URL`);
    }
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (ipFamily(host) === undefined) throw new IcekitError("INVALID_ARGUMENT", `location '${options.location}' must name the gateway by IP address`);
    // The caller vouches for the location; with `gateway` it must agree.
    const responder = options.gateway ?? host;
    const location = checkSsdpLocation(options.location, responder);
    return describe(location, canonicalIp(host), options, httpTimeout, maxBytes);
  }
  return search(options, httpTimeout, maxBytes);
}

async function describe(location: string, address: string, options: DiscoverIgdOptions, timeoutMs: number, maxBytes: number): Promise<UpnpGateway> {
  const url = new URL(location);
  const res = await httpExchange({ host: address, port: url.port === "" ? 80 : Number(url.port), path: url.pathname + url.search, method: "GET", headers: { Connection: "close" } }, { timeoutMs, maxBytes, localAddress: options.localAddress, signal: options.signal });
  if (res.status !== 200) throw new UpnpError("HTTP_STATUS", `device description ${location}: HTTP status ${res.status}`, res.status);
  const description = parseDeviceDescription(res.body, location, { maxBytes });
  const service = selectWanConnectionService(description);
  if (!service) throw new UpnpError("NO_WAN_SERVICE", `device description ${location} lists no WANIPConnection or WANPPPConnection service (${description.services.length} services, ${description.servicesRefused} refused)`);
  const localAddress = options.localAddress ?? res.localAddress;
  if (localAddress === undefined) throw new UpnpError("TRANSPORT", `no local address toward ${address}`);
  return { location, address, localAddress, controlUrl: service.controlUrl, serviceType: service.serviceType, version: service.version, service, description };
}

function search(options: DiscoverIgdOptions, httpTimeout: number, maxBytes: number): Promise<UpnpGateway> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const targets = options.searchTargets ?? [SsdpSearchTarget.InternetGatewayDeviceV2, SsdpSearchTarget.InternetGatewayDeviceV1, SsdpSearchTarget.WanIpConnectionV1, SsdpSearchTarget.WanPppConnectionV1];
  const multicast = options.multicast ?? true;
  const gateway = options.gateway === undefined ? undefined : canonicalIp(options.gateway);
  if (!multicast && gateway === undefined) throw new IcekitError("INVALID_ARGUMENT", "multicast: false needs a gateway to search by unicast");
  const local = options.localAddress ?? "0.0.0.0";
  const counts = { answers: 0, malformed: 0, foreign: 0, failed: 0 };
  const errors: string[] = [];
  return new Promise<UpnpGateway>((resolve, reject) => {
    const socket = dgram.createSocket({ type: ipFamily(local) === "IPv6" ? "udp6" : "udp4" });
    const seen = new Set<string>();
    const queue: { location: string; address: string }[] = [];
    let fetching = false;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (err: Error | undefined, gw?: UpnpGateway) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      options.signal?.removeEventListener("abort", onAbort);
      try {
        socket.close();
      } catch {
        // already closed
      }
      if (err) reject(err);
      else resolve(gw!);
    };
    const onAbort = () => finish(options.signal?.reason instanceof Error ? options.signal.reason : new Error("aborted"));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const next = async () => {
      if (fetching || settled) return;
      const item = queue.shift();
      if (!item) return;
      fetching = true;
      try {
        const gw = await describe(item.location, item.address, options, httpTimeout, maxBytes);
        finish(undefined, gw);
      } catch (e) {
        counts.failed++;
        errors.push(e instanceof Error ? e.message : String(e));
      } finally {
        fetching = false;
        if (deadlinePassed && queue.length === 0) finish(noGateway(counts, errors, gateway));
        else void next();
      }
    };
    socket.on("message", (data, rinfo) => {
      if (settled || deadlinePassed) return;
      counts.answers++;
      let location: string;
      try {
        const res = parseSsdpResponse(data);
        location = checkSsdpLocation(res.location, rinfo.address);
      } catch (e) {
        if (isUpnpError(e) && e.code === "FOREIGN_LOCATION") counts.foreign++;
        else counts.malformed++;
        return;
      }
      const from = canonicalIp(rinfo.address);
      if (gateway !== undefined && from !== gateway) {
        counts.foreign++;
        return;
      }
      if (seen.has(location)) return;
      seen.add(location);
      queue.push({ location, address: from });
      void next();
    });
    let bound = false;
    let deadlinePassed = false;
    socket.on("error", (e) =>
      finish(bound ? new UpnpError("TRANSPORT", `SSDP socket: ${e.message}`, undefined, undefined, { cause: e }) : new IcekitError("INVALID_ARGUMENT", `cannot bind UDP ${local}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)),
    );
    const send = () => {
      if (settled) return;
      for (const st of targets) {
        // A send error (no multicast route, say) must not end the search: the other may work.
        if (multicast) socket.send(encodeSsdpSearch({ searchTarget: st, mx: 2 }), SSDP_PORT, SSDP_MULTICAST_ADDRESS, ignore);
        if (gateway !== undefined) socket.send(encodeSsdpSearch({ searchTarget: st, mx: 1, host: `${gateway}:${SSDP_PORT}` }), SSDP_PORT, gateway, ignore);
      }
    };
    socket.bind(0, local, () => {
      bound = true;
      try {
        // UDA 1.1 §1.1.2: TTL 2 by default; the interface of the bound address, when given.
        socket.setMulticastTTL(2);
        if (options.localAddress !== undefined) socket.setMulticastInterface(options.localAddress);
      } catch {
        // Not fatal: the kernel's default route then picks the interface.
      }
      send();
      // Datagrams get lost: search once more if nothing usable came.
      timers.push(setTimeout(send, Math.min(1000, timeoutMs / 2)));
      timers.push(
        setTimeout(() => {
          deadlinePassed = true;
          if (fetching || queue.length > 0) return; // descriptions under way decide; their deadlines bound them
          finish(noGateway(counts, errors, gateway));
        }, timeoutMs),
      );
      // A backstop: descriptions queued at the deadline get one HTTP deadline more, in all.
      timers.push(setTimeout(() => finish(noGateway(counts, errors, gateway)), timeoutMs + httpTimeout));
    });
  });
}

function noGateway(counts: { answers: number; malformed: number; foreign: number; failed: number }, errors: string[], gateway: string | undefined): UpnpError {
  const detail = `${counts.answers} SSDP answers: ${counts.malformed} malformed, ${counts.foreign} from or pointing at another host, ${counts.failed} descriptions unusable${errors.length ? ` (${errors.slice(0, 3).join("; ")})` : ""}`;
  return new UpnpError("TIMEOUT", `no UPnP Internet Gateway Device answered${gateway ? ` at ${gateway}` : ""}; ${detail}`);
}

/**
 * Sends one SOAP request (from the `encode…` functions of `icekit`) over `node:http` and
 * returns the status and body, without interpreting them: pass them to the matching
 * `parse…Response`.
 *
 * @throws {@link UpnpError} `TIMEOUT`, `TRANSPORT`, or `TOO_LARGE` (the body passed `maxBytes`;
 *   the connection was cut there)
 *
 * @example
 * ```ts
 * const res = await sendSoapRequest(encodeGetStatusInfo(gw));
 * parseGetStatusInfoResponse(res.status, res.body).connectionStatus;
 * ```
 */
export async function sendSoapRequest(request: SoapRequest, options: UpnpCallOptions & { localAddress?: string } = {}): Promise<UpnpHttpResponse> {
  const res = await httpExchange(
    { host: request.host, port: request.port, path: request.path, method: request.method, headers: request.headers, body: request.body },
    { timeoutMs: options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT, maxBytes: options.maxBytes ?? DEFAULT_SOAP_MAX_BYTES, localAddress: options.localAddress, signal: options.signal },
  );
  return { status: res.status, body: res.body };
}

/**
 * GetExternalIPAddress at the gateway: its WAN address ("" when it has none).
 *
 * @throws {@link UpnpError} as {@link sendSoapRequest} and `parseGetExternalIpAddressResponse`
 *
 * @example
 * ```ts
 * const ip = await getExternalAddressUpnp(await discoverIgd());
 * ```
 */
export async function getExternalAddressUpnp(gateway: UpnpGateway, options: UpnpCallOptions = {}): Promise<string> {
  const res = await sendSoapRequest(encodeGetExternalIpAddress(gateway), { ...options, localAddress: gateway.localAddress });
  return parseGetExternalIpAddressResponse(res.status, res.body);
}

/**
 * GetSpecificPortMappingEntry: the mapping of an external port, or undefined when the gateway
 * has none (714 NoSuchEntryInArray).
 *
 * @throws {@link UpnpError} for other faults and transport failures
 *
 * @example
 * ```ts
 * const e = await getPortMappingEntryUpnp(gw, { protocol: "udp", externalPort: 5000 });
 * if (e) console.log(`${e.internalClient}:${e.internalPort}, ${e.leaseDuration} s left`);
 * ```
 */
export async function getPortMappingEntryUpnp(gateway: UpnpGateway, key: { protocol: UpnpProtocol; externalPort: number }, options: UpnpCallOptions = {}): Promise<UpnpPortMappingEntry | undefined> {
  const res = await sendSoapRequest(encodeGetSpecificPortMappingEntry(gateway, key), { ...options, localAddress: gateway.localAddress });
  try {
    return parseGetSpecificPortMappingEntryResponse(res.status, res.body);
  } catch (e) {
    if (isUpnpError(e) && e.errorCode === UpnpErrorCodes.NoSuchEntryInArray && e.code === "SOAP_FAULT") return undefined;
    throw e;
  }
}

/**
 * DeletePortMapping of an external port, whoever made it (gateways in secure mode refuse to
 * delete other clients' mappings: 606). Resolves `{ deleted: false }` when there was no such
 * mapping (714).
 *
 * @throws {@link UpnpError} for other faults and transport failures
 *
 * @example
 * ```ts
 * await unmapPortUpnp(gw, { protocol: "tcp", externalPort: 8080 });
 * ```
 */
export async function unmapPortUpnp(gateway: UpnpGateway, key: { protocol: UpnpProtocol; externalPort: number }, options: UpnpCallOptions = {}): Promise<{ deleted: boolean }> {
  const res = await sendSoapRequest(encodeDeletePortMapping(gateway, key), { ...options, localAddress: gateway.localAddress });
  try {
    parseDeletePortMappingResponse(res.status, res.body);
    return { deleted: true };
  } catch (e) {
    if (isUpnpError(e) && e.errorCode === UpnpErrorCodes.NoSuchEntryInArray && e.code === "SOAP_FAULT") return { deleted: false };
    throw e;
  }
}

/**
 * Maps `internalPort` at the gateway with UPnP IGD and resolves once it is granted; the mapping
 * is renewed at half its lease in the background until `close()` (DeletePortMapping) or
 * `detach()` (stop renewing). The lease logic ({@link UpnpMappingClient}) tries
 * AddAnyPortMapping on IGDv2, falls back to AddPortMapping, moves to another port on 718 and
 * to a permanent lease on 725.
 *
 * @throws {@link UpnpError} from discovery, `SOAP_FAULT` with the UPnP `errorCode` when the
 *   gateway refuses (606 not authorized, 718 after all attempts, ...), `TIMEOUT`/`TRANSPORT`
 * @throws {@link IcekitError} for bad arguments
 *
 * @example
 * ```ts
 * const m = await mapPortUpnp({ protocol: "tcp", internalPort: 8080, lifetime: 3600 });
 * console.log(m.external, m.lifetime, m.permanent);
 * await m.close();
 * ```
 */
export async function mapPortUpnp(options: MapPortUpnpOptions): Promise<UpnpPortMapping> {
  const gateway = options.gateway ?? (await discoverIgd({ ...options.discover, ...(options.signal && !options.discover?.signal ? { signal: options.signal } : {}) }));
  const internalClient = options.internalClient ?? gateway.localAddress;
  const engine = new UpnpMappingClient({
    service: gateway.service,
    protocol: options.protocol,
    internalPort: options.internalPort,
    internalClient,
    lifetime: options.lifetime ?? 7200,
    ...(options.externalPort !== undefined ? { externalPort: options.externalPort } : {}),
    ...(options.description !== undefined ? { description: options.description } : {}),
    ...(options.maxPortAttempts !== undefined ? { maxPortAttempts: options.maxPortAttempts } : {}),
    ...(options.useAddAnyPortMapping !== undefined ? { useAddAnyPortMapping: options.useAddAnyPortMapping } : {}),
  });
  const httpTimeout = options.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT;
  let timer: NodeJS.Timeout | undefined;
  let pumping = false;
  let again = false;
  let waiter: ((e: UpnpMappingEvent) => boolean) | undefined;
  let stopped = false;

  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (stopped) return;
    const at = engine.pollTimeout();
    if (at === undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      engine.handleTimeout(monotonicNow());
      void pump();
    }, Math.min(MAX_TIMER, Math.max(0, Math.ceil(at - monotonicNow()))));
  };
  const drain = () => {
    for (let e; (e = engine.pollEvent()); ) {
      if (waiter?.(e)) continue;
      options.onEvent?.(e);
    }
  };
  const pump = async (): Promise<void> => {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        for (let req; (req = engine.pollRequest()); ) {
          try {
            const res = await sendSoapRequest(req, { timeoutMs: httpTimeout, localAddress: gateway.localAddress });
            engine.handleResponse(monotonicNow(), res.status, res.body);
          } catch (e) {
            engine.handleError(monotonicNow(), e);
          }
          drain();
        }
        drain();
      } while (again);
    } finally {
      pumping = false;
    }
    schedule();
  };
  const waitFor = <T>(start: () => void, pick: (e: UpnpMappingEvent) => EventPick<T>, signal?: AbortSignal): Promise<T> =>
    awaitEvent(
      (w) => (waiter = w),
      () => {
        start();
        void pump();
      },
      pick,
      signal,
    );

  const stop = () => {
    stopped = true;
    engine.stop();
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  let mapped: Extract<UpnpMappingEvent, { type: "mapped" }>;
  try {
    mapped = await waitFor(
      () => engine.map(monotonicNow()),
      (e) => (e.type === "mapped" ? { ok: e } : e.type === "failed" && e.operation === "map" ? { err: e.error } : undefined),
      options.signal,
    );
  } catch (e) {
    if (engine.state === "mapping") {
      // Aborted with a request in flight: a mapping it creates is deleted (best effort) by the
      // pump still running; nothing is scheduled after that.
      stopped = true;
      engine.unmap(monotonicNow());
      void pump();
    } else stop();
    throw e;
  }
  let closed = false;
  const internal: TransportAddress = { family: ipFamily(internalClient) ?? "IPv4", address: internalClient, port: options.internalPort };
  return {
    method: "upnp",
    protocol: options.protocol,
    external: mapped.external,
    internal,
    lifetime: mapped.lifetime,
    permanent: mapped.permanent,
    gateway,
    detach: () => {
      closed = true;
      stop();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        await waitFor(
          () => engine.unmap(monotonicNow()),
          (e) => (e.type === "unmapped" ? { ok: undefined } : e.type === "failed" && e.operation === "unmap" ? { err: e.error } : undefined),
        );
      } finally {
        stop();
      }
    },
  };
}

interface Exchange {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** One HTTP/1.1 exchange with a deadline and a body cap enforced as the bytes arrive. */
function httpExchange(x: Exchange, o: { timeoutMs: number; maxBytes: number; localAddress: string | undefined; signal: AbortSignal | undefined }): Promise<{ status: number; body: Uint8Array; localAddress: string | undefined }> {
  const where = `http://${x.host.includes(":") ? `[${x.host}]` : x.host}:${x.port}${x.path}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const req = http.request({
      host: x.host,
      port: x.port,
      path: x.path,
      method: x.method,
      headers: x.headers,
      agent: false,
      ...(o.localAddress !== undefined && o.localAddress !== "0.0.0.0" && o.localAddress !== "::" ? { localAddress: o.localAddress } : {}),
    });
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      o.signal?.removeEventListener("abort", onAbort);
      req.destroy();
      reject(e);
    };
    const onAbort = () => fail(o.signal?.reason instanceof Error ? o.signal.reason : new Error("aborted"));
    const deadline = setTimeout(() => fail(new UpnpError("TIMEOUT", `${x.method} ${where}: no complete answer in ${o.timeoutMs} ms`)), o.timeoutMs);
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (e) => fail(new UpnpError("TRANSPORT", `${x.method} ${where}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, undefined, undefined, { cause: e })));
    req.on("response", (res) => {
      const local = res.socket?.localAddress;
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > o.maxBytes) {
        fail(new UpnpError("TOO_LARGE", `${x.method} ${where}: Content-Length ${declared} is over the ${o.maxBytes}-byte limit`));
        return;
      }
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > o.maxBytes) {
          fail(new UpnpError("TOO_LARGE", `${x.method} ${where}: body passed the ${o.maxBytes}-byte limit`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("error", (e) => fail(new UpnpError("TRANSPORT", `${x.method} ${where}: ${e.message}`, undefined, undefined, { cause: e })));
      res.on("aborted", () => fail(new UpnpError("TRANSPORT", `${x.method} ${where}: the connection closed mid-body`)));
      res.on("end", () => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        o.signal?.removeEventListener("abort", onAbort);
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body: new Uint8Array(body.buffer, body.byteOffset, body.length), localAddress: local === undefined ? undefined : unmapV4(local) });
      });
    });
    req.end(x.body);
  });
}

function ignore(): void {
  // Send errors are reported by the absence of answers.
}

function unmapV4(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
