/**
 * `mapPort()`: ask the home gateway for an inbound port, on real sockets, with whichever of PCP
 * (RFC 6887), NAT-PMP (RFC 6886) and UPnP IGD it speaks, and keep the mapping renewed until
 * `close()` (which deletes it) or `detach()` (which stops renewing and leaves it to expire at the
 * gateway after its lifetime).
 *
 * With `method: "auto"` (the default) it first asks which protocols the gateway offers, without
 * mapping anything ({@link probeGateway}: a PCP ANNOUNCE and a NAT-PMP external-address request,
 * while an SSDP search for an IGD runs beside them), then tries PCP, then NAT-PMP, then UPnP, in
 * that order (the order of RFC 6887 Appendix A, and Tailscale's), moving on when one refuses.
 * The result says which one worked. Asking first costs at most 1.75 s against a gateway that
 * speaks neither PCP nor NAT-PMP, where a PCP request alone would retransmit for 21 s.
 *
 * @example
 * ```ts
 * import { mapPort } from "icekit/node";
 * const m = await mapPort({ gateway: "192.168.1.1", protocol: "udp", internalPort: 5000 });
 * console.log(`reach me at ${m.external.address}:${m.external.port} (${m.method})`);
 * // ... later
 * await m.close();
 * ```
 *
 * The open socket and the renewal timer keep the process alive until `close()` or `detach()`.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { ipFamily } from "../bytes/ip";
import { TransactionError } from "../errors";
import { PortMappingClient } from "../nat/port-mapping";
import type { PortMappingClientOptions, PortMappingEvent, PortMappingMethod, PortMappingProtocol } from "../nat/port-mapping";
import type { UpnpMappingEvent } from "../nat/upnp-mapping";
import { isUpnpError } from "../nat/upnp-error";
import { awaitEvent } from "./await-event";
import type { EventPick } from "./await-event";
import { monotonicNow } from "./clock";
import { NodeDriver } from "./driver";
import { probeGateway } from "./gateway-probe";
import { bindUdp, routeLocalAddress, udpLocal } from "./udp";
import { discoverIgd, mapPortUpnp, unmapPortUpnp } from "./upnp";
import type { UpnpGateway } from "./upnp";

/**
 * The protocol a {@link mapPort} mapping was made with.
 *
 * @example
 * ```ts
 * const m = await mapPort({ gateway: "192.168.1.1", protocol: "udp", internalPort: 5000 });
 * const label: PortMapperMethod = m.method; // → "pcp", "natpmp" or "upnp"
 * ```
 */
export type PortMapperMethod = PortMappingMethod | "upnp";

/**
 * What {@link MapPortOptions.onEvent} receives: the PCP/NAT-PMP engine's events, or the UPnP
 * lease engine's with `method: "upnp"` added.
 *
 * @example
 * ```ts
 * const onEvent = (e: PortMapperEvent) => {
 *   if (e.type === "lost") console.log(`mapping lost (${e.method}): ${e.reason}`);
 * };
 * ```
 */
export type PortMapperEvent = PortMappingEvent | (UpnpMappingEvent & { readonly method: "upnp" });

/** Engine tuning that {@link mapPort} passes through to the PCP/NAT-PMP engine. */
type Tuning = Omit<PortMappingClientOptions, "gateway" | "clientAddress" | "method" | "local">;

/**
 * Options for {@link mapPort}.
 *
 * @example
 * ```ts
 * const o: MapPortOptions = { gateway: "192.168.1.1", protocol: "udp", internalPort: 5000, lifetime: 7200, method: "auto" };
 * ```
 */
export interface MapPortOptions extends Tuning {
  /** The gateway's IP address (usually the default router). */
  readonly gateway: string;
  readonly protocol: PortMappingProtocol;
  /** The local port the application listens on. */
  readonly internalPort: number;
  /** Preferred external port (default: any; the gateway may give another). */
  readonly externalPort?: number;
  /** Requested lifetime in seconds (default 7200, RFC 6886 §3.3's recommendation). */
  readonly lifetime?: number;
  /**
   * `"auto"` (default: ask the gateway what it speaks, then PCP, NAT-PMP, UPnP IGD in that
   * order), or one of `"pcp"`, `"natpmp"`, `"upnp"`.
   */
  readonly method?: "auto" | PortMapperMethod;
  /**
   * This host's address on the gateway's link: the requests' source, the PCP client address and
   * UPnP's NewInternalClient. Default: the address the kernel routes to the gateway from.
   */
  readonly clientAddress?: string;
  /** Called with every later event: renewals (`mapped` with `renewal: true`), `lost`, `failed`. */
  readonly onEvent?: (event: PortMapperEvent) => void;
  /** Cancels the request; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * A granted mapping, kept renewed until {@link close} or {@link detach}.
 *
 * @example
 * ```ts
 * const m: PortMapping = await mapPort({ gateway: "192.168.1.1", protocol: "udp", internalPort: 5000 });
 * m.external; // → { family: "IPv4", address: "203.0.113.7", port: 5000 }
 * await m.close();
 * ```
 */
export interface PortMapping {
  readonly method: PortMapperMethod;
  readonly protocol: PortMappingProtocol;
  /** Where the Internet reaches the mapping. */
  readonly external: TransportAddress;
  /** The client address and internal port the gateway forwards to. */
  readonly internal: TransportAddress;
  /** Granted lifetime in seconds, as first granted. */
  readonly lifetime: number;
  /** Deletes the mapping at the gateway (lifetime 0) and closes the socket. Rejects if the gateway refused or did not answer. */
  close(): Promise<void>;
  /** Stops renewing and closes the socket; the gateway keeps the mapping until its lifetime ends. */
  detach(): void;
}

/**
 * Options for {@link unmapPort}. UPnP keys a mapping by its external port: give `externalPort`
 * with `method: "upnp"` (default: the internal port).
 *
 * @example
 * ```ts
 * const o: UnmapPortOptions = { gateway: "192.168.1.1", protocol: "udp", internalPort: 5000, method: "natpmp" };
 * ```
 */
export type UnmapPortOptions = Omit<MapPortOptions, "lifetime" | "onEvent">;

/**
 * PCP retransmits without limit by default (RFC 6887 §8.1.1, MRC 0); a one-shot request gives
 * up after this many sends instead (3 + 6 + 12 + 24 s ≈ 45 s with the default IRT).
 */
const DEFAULT_PCP_SENDS = 4;

interface Session {
  readonly engine: PortMappingClient;
  readonly driver: NodeDriver<PortMappingEvent>;
  readonly clientAddress: string;
  /** Set while a promise waits for an event; others go to `onEvent`. */
  waiter: ((e: PortMappingEvent) => boolean) | undefined;
}

async function open(options: UnmapPortOptions & { readonly method: "auto" | PortMappingMethod }, onEvent: ((e: PortMappingEvent) => void) | undefined): Promise<Session> {
  const gateway = { family: ipFamily(options.gateway) ?? "IPv4", address: options.gateway, port: 5351 } as const;
  const clientAddress = options.clientAddress ?? (await routeLocalAddress(gateway));
  const socket = await bindUdp(clientAddress, 0, options.signal);
  const { gateway: _g, protocol: _p, internalPort: _i, externalPort: _e, method, clientAddress: _c, signal: _s, ...tuning } = options;
  let engine: PortMappingClient;
  try {
    engine = new PortMappingClient({
      ...tuning,
      pcpMaxTransmissions: tuning.pcpMaxTransmissions ?? DEFAULT_PCP_SENDS,
      gateway: options.gateway,
      clientAddress,
      method,
      local: udpLocal(socket),
    });
  } catch (e) {
    socket.close();
    throw e;
  }
  const session: Session = {
    engine,
    clientAddress,
    waiter: undefined,
    driver: new NodeDriver<PortMappingEvent>(engine, {
      onEvent: (e) => {
        if (session.waiter?.(e)) return;
        onEvent?.(e);
      },
    }),
  };
  session.driver.addUdpSocket(socket);
  return session;
}

/** Waits for the event `pick` accepts (returning a value) or rejects; honours `signal`. */
function waitFor<T>(session: Session, start: () => void, pick: (e: PortMappingEvent) => EventPick<T>, signal?: AbortSignal): Promise<T> {
  return awaitEvent(
    (w) => (session.waiter = w),
    () => {
      start();
      session.driver.pump();
    },
    pick,
    signal,
  );
}

function failure(e: Extract<PortMappingEvent, { type: "failed" }>, gateway: string): TransactionError {
  const what = e.operation === "unmap" ? "delete the mapping" : e.operation === "map" ? "map the port" : "learn the external address";
  const why = e.code === undefined ? "no answer" : `${e.reason} (result code ${e.code})`;
  return new TransactionError(e.code === undefined ? "timeout" : "error-response", `${e.method === "pcp" ? "PCP" : "NAT-PMP"} gateway ${gateway} did not ${what}: ${why}`, e.code);
}

/**
 * Maps `internalPort` at the gateway and resolves once it is granted. The mapping is renewed
 * in the background until `close()` or `detach()`.
 *
 * @throws {@link TransactionError} `timeout` when the gateway does not answer, `error-response`
 *   (with the PCP/NAT-PMP result code or the UPnP error code as `errorCode`) when it refuses; in
 *   auto mode the message lists what each protocol said
 * @throws {@link IcekitError} for bad arguments or a socket that cannot be bound
 *
 * @example
 * ```ts
 * const m = await mapPort({ gateway: "192.168.1.1", protocol: "tcp", internalPort: 8080, lifetime: 3600 });
 * console.log(m.method, m.external); // → "upnp" { family: "IPv4", address: "203.0.113.7", port: 8080 }
 * ```
 */
export async function mapPort(options: MapPortOptions): Promise<PortMapping> {
  const method = options.method ?? "auto";
  if (method === "upnp") return mapWithUpnp(options, undefined);
  if (method === "pcp" || method === "natpmp") return mapWithClient(options, method);
  return mapAuto(options);
}

/** Auto mode: probe, then PCP, NAT-PMP, UPnP in order, each only if the gateway offers it. */
async function mapAuto(options: MapPortOptions): Promise<PortMapping> {
  const family = ipFamily(options.gateway) ?? "IPv4";
  const clientAddress = options.clientAddress ?? (await routeLocalAddress({ family, address: options.gateway, port: 5351 }));
  const withClient = { ...options, clientAddress };
  // The SSDP search runs beside the PCP/NAT-PMP probe and is cancelled once it is not needed.
  const search = new AbortController();
  const onAbort = () => search.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const igd: Promise<UpnpGateway | Error> = discoverIgd({ gateway: options.gateway, localAddress: clientAddress, timeoutMs: UPNP_SEARCH_MS, signal: search.signal }).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  const failures: string[] = [];
  let lastCode: number | undefined;
  try {
    const offered = await probeGateway({ gateway: options.gateway, clientAddress, upnp: false, ...(options.signal ? { signal: options.signal } : {}) });
    for (const m of ["pcp", "natpmp"] as const) {
      if (!offered[m]) continue;
      try {
        return await mapWithClient(withClient, m);
      } catch (e) {
        if (!(e instanceof TransactionError)) throw e;
        failures.push(e.message);
        lastCode = e.errorCode ?? lastCode;
      }
    }
    if (!offered.pcp) failures.push("no PCP server answered");
    if (!offered.natpmp) failures.push("no NAT-PMP server answered");
    const gw = await igd;
    if (gw instanceof Error) {
      if (options.signal?.aborted) throw options.signal.reason ?? gw;
      failures.push(`no UPnP IGD: ${gw.message}`);
    } else {
      try {
        return await mapWithUpnp(withClient, gw);
      } catch (e) {
        if (!(e instanceof TransactionError)) throw e;
        failures.push(e.message);
        lastCode = e.errorCode ?? lastCode;
      }
    }
    throw new TransactionError(lastCode === undefined ? "timeout" : "error-response", `no port mapping at gateway ${options.gateway}: ${failures.join("; ")}`, lastCode);
  } finally {
    search.abort();
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** How long auto mode waits for an IGD to answer SSDP, ms. */
const UPNP_SEARCH_MS = 3000;

/** A UPnP failure as the {@link TransactionError} the other methods throw. */
function upnpFailure(e: unknown, gateway: string, what: string): unknown {
  if (!isUpnpError(e)) return e;
  const code = e.code === "TIMEOUT" ? "timeout" : e.code === "SOAP_FAULT" || e.code === "HTTP_STATUS" ? "error-response" : "transport";
  return new TransactionError(code, `UPnP IGD gateway ${gateway} did not ${what}: ${e.message}`, e.errorCode);
}

/** Maps with UPnP IGD, on `gateway` or one found by SSDP. */
async function mapWithUpnp(options: MapPortOptions, gateway: UpnpGateway | undefined): Promise<PortMapping> {
  const { onEvent } = options;
  try {
    const m = await mapPortUpnp({
      ...(gateway ? { gateway } : { discover: { gateway: options.gateway, ...(options.clientAddress !== undefined ? { localAddress: options.clientAddress } : {}), ...(options.signal ? { signal: options.signal } : {}) } }),
      protocol: options.protocol,
      internalPort: options.internalPort,
      ...(options.externalPort !== undefined && options.externalPort > 0 ? { externalPort: options.externalPort } : {}),
      ...(options.lifetime !== undefined ? { lifetime: options.lifetime } : {}),
      ...(options.clientAddress !== undefined ? { internalClient: options.clientAddress } : {}),
      ...(onEvent ? { onEvent: (e: UpnpMappingEvent) => onEvent({ ...e, method: "upnp" }) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return {
      method: "upnp",
      protocol: m.protocol,
      external: m.external,
      internal: m.internal,
      lifetime: m.lifetime,
      detach: () => m.detach(),
      close: async () => {
        try {
          await m.close();
        } catch (e) {
          throw upnpFailure(e, options.gateway, "delete the mapping");
        }
      },
    };
  } catch (e) {
    throw upnpFailure(e, options.gateway, "map the port");
  }
}

/** Maps with PCP or NAT-PMP only (the {@link PortMappingClient} engine). */
async function mapWithClient(options: MapPortOptions, method: PortMappingMethod): Promise<PortMapping> {
  const { onEvent, externalPort, lifetime, ...rest } = options;
  const session = await open({ ...rest, method }, onEvent);
  const { engine, driver } = session;
  const request = { protocol: options.protocol, internalPort: options.internalPort, lifetime: lifetime ?? 7200, ...(externalPort !== undefined ? { externalPort } : {}) };
  let mapped: Extract<PortMappingEvent, { type: "mapped" }>;
  try {
    mapped = await waitFor(
      session,
      () => engine.map(monotonicNow(), request),
      (e) => {
        if (e.type === "mapped" && e.protocol === options.protocol && e.internalPort === options.internalPort) return { ok: e };
        if (e.type === "failed" && e.operation !== "unmap") return { err: failure(e, options.gateway) };
        return undefined;
      },
      options.signal,
    );
  } catch (e) {
    driver.close();
    throw e;
  }
  let closed = false;
  const internal: TransportAddress = { family: ipFamily(session.clientAddress) ?? "IPv4", address: session.clientAddress, port: options.internalPort };
  return {
    method: mapped.method,
    protocol: mapped.protocol,
    external: mapped.external,
    internal,
    lifetime: mapped.lifetime,
    detach: () => {
      closed = true;
      driver.close();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        await waitFor(
          session,
          () => engine.unmap(monotonicNow(), { protocol: options.protocol, internalPort: options.internalPort }),
          (e) => {
            if (e.type === "unmapped" && e.internalPort === options.internalPort && e.protocol === options.protocol) return { ok: undefined };
            if (e.type === "failed" && e.operation === "unmap") return { err: failure(e, options.gateway) };
            return undefined;
          },
        );
      } finally {
        driver.close();
      }
    },
  };
}

/**
 * Deletes a mapping this process did not make (lifetime 0). NAT-PMP gateways delete the
 * client's mapping of that internal port; a PCP server checks the mapping's nonce (RFC 6887
 * §11.3) and refuses with NOT_AUTHORIZED a deletion from another client instance, so use
 * `method: "natpmp"` for mappings made elsewhere, or `close()` on the {@link PortMapping}.
 * `method: "upnp"` deletes the IGD's mapping of `externalPort` (DeletePortMapping); `"auto"`
 * here means PCP falling back to NAT-PMP.
 *
 * @throws {@link TransactionError} as {@link mapPort}
 *
 * @example
 * ```ts
 * await unmapPort({ gateway: "192.168.1.1", protocol: "udp", internalPort: 5000, method: "natpmp" }); // → { method: "natpmp" }
 * await unmapPort({ gateway: "192.168.1.1", protocol: "tcp", internalPort: 8080, externalPort: 8080, method: "upnp" });
 * ```
 */
export async function unmapPort(options: UnmapPortOptions): Promise<{ method: PortMapperMethod }> {
  if (options.method === "upnp") {
    try {
      const gw = await discoverIgd({ gateway: options.gateway, ...(options.clientAddress !== undefined ? { localAddress: options.clientAddress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      await unmapPortUpnp(gw, { protocol: options.protocol, externalPort: options.externalPort ?? options.internalPort }, options.signal ? { signal: options.signal } : {});
      return { method: "upnp" };
    } catch (e) {
      throw upnpFailure(e, options.gateway, "delete the mapping");
    }
  }
  const session = await open({ ...options, method: options.method ?? "auto" }, undefined);
  try {
    return await waitFor(
      session,
      () => session.engine.unmap(monotonicNow(), { protocol: options.protocol, internalPort: options.internalPort }),
      (e) => {
        if (e.type === "unmapped") return { ok: { method: e.method } };
        if (e.type === "failed" && e.operation === "unmap") return { err: failure(e, options.gateway) };
        return undefined;
      },
      options.signal,
    );
  } finally {
    session.driver.close();
  }
}
