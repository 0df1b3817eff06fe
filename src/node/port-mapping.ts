/**
 * `mapPort()`: ask the home gateway for an inbound port with PCP (RFC 6887) or NAT-PMP
 * (RFC 6886), on a real UDP socket. It runs {@link PortMappingClient} on a {@link NodeDriver}
 * and keeps the mapping renewed until `close()` (which deletes it) or `detach()` (which stops
 * renewing and leaves it to expire at the gateway after its lifetime).
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
import { monotonicNow } from "./clock";
import { NodeDriver } from "./driver";
import { bindUdp, routeLocalAddress, udpLocal } from "./udp";

/** Engine tuning that {@link mapPort} passes through. */
type Tuning = Omit<PortMappingClientOptions, "gateway" | "clientAddress" | "method" | "local">;

/** Options for {@link mapPort}. */
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
  /** `"auto"` (PCP, falling back to NAT-PMP; default), `"pcp"` or `"natpmp"`. */
  readonly method?: "auto" | PortMappingMethod;
  /**
   * This host's address on the gateway's link: the requests' source, and the PCP client
   * address. Default: the address the kernel routes to the gateway from.
   */
  readonly clientAddress?: string;
  /** Called with every later event: renewals (`mapped` with `renewal: true`), `lost`, `failed`. */
  readonly onEvent?: (event: PortMappingEvent) => void;
  /** Cancels the request; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** A granted mapping, kept renewed until {@link close} or {@link detach}. */
export interface PortMapping {
  readonly method: PortMappingMethod;
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

/** Options for {@link unmapPort}. */
export type UnmapPortOptions = Omit<MapPortOptions, "externalPort" | "lifetime" | "onEvent">;

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

async function open(options: UnmapPortOptions, onEvent: ((e: PortMappingEvent) => void) | undefined): Promise<Session> {
  const gateway = { family: ipFamily(options.gateway) ?? "IPv4", address: options.gateway, port: 5351 } as const;
  const clientAddress = options.clientAddress ?? (await routeLocalAddress(gateway));
  const socket = await bindUdp(clientAddress, 0, options.signal);
  const { gateway: _g, protocol: _p, internalPort: _i, method, clientAddress: _c, signal: _s, ...tuning } = options;
  let engine: PortMappingClient;
  try {
    engine = new PortMappingClient({
      ...tuning,
      pcpMaxTransmissions: tuning.pcpMaxTransmissions ?? DEFAULT_PCP_SENDS,
      gateway: options.gateway,
      clientAddress,
      method: method ?? "auto",
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
function waitFor<T>(session: Session, start: () => void, pick: (e: PortMappingEvent) => { ok: T } | { err: Error } | undefined, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      session.waiter = undefined;
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      done();
      reject(signal?.reason ?? new Error("aborted"));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    session.waiter = (e) => {
      const r = pick(e);
      if (r === undefined) return false;
      done();
      if ("ok" in r) resolve(r.ok);
      else reject(r.err);
      return true;
    };
    start();
    session.driver.pump();
  });
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
 *   (with the PCP/NAT-PMP result code as `errorCode`) when it refuses
 * @throws {@link IcekitError} for bad arguments or a socket that cannot be bound
 */
export async function mapPort(options: MapPortOptions): Promise<PortMapping> {
  const { onEvent, externalPort, lifetime, ...rest } = options;
  const session = await open(rest, onEvent);
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
 *
 * @throws {@link TransactionError} as {@link mapPort}
 */
export async function unmapPort(options: UnmapPortOptions): Promise<{ method: PortMappingMethod }> {
  const session = await open(options, undefined);
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
