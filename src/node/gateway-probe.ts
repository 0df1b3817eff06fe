/**
 * `probeGateway()`: which port-mapping protocols the home gateway offers, asked on real sockets
 * without creating a mapping. PCP and NAT-PMP are probed by {@link GatewayProbe} (an ANNOUNCE and
 * an external-address request to port 5351); UPnP IGD by an SSDP search answered from the
 * gateway's address.
 *
 * @example
 * ```ts
 * import { probeGateway } from "icekit/node";
 * const r = await probeGateway({ gateway: "192.168.1.1" });
 * // → { gateway: "192.168.1.1", clientAddress: "192.168.1.20", pcp: true, natpmp: true,
 * //     externalAddress: "203.0.113.7", upnp: true, upnpLocation: "http://192.168.1.1:5000/rootDesc.xml" }
 * ```
 *
 * @module
 */
import { ipFamily } from "../bytes/ip";
import { GatewayProbe } from "../nat/gateway-probe";
import type { GatewayProbeResult } from "../nat/gateway-probe";
import { monotonicNow } from "./clock";
import { NodeDriver } from "./driver";
import { bindUdp, routeLocalAddress, udpLocal } from "./udp";
import { discoverIgd } from "./upnp";

/**
 * Options for {@link probeGateway}.
 *
 * @example
 * ```ts
 * const o: ProbeGatewayOptions = { gateway: "192.168.1.1", upnpTimeoutMs: 1000 };
 * ```
 */
export interface ProbeGatewayOptions {
  /** The gateway's IP address (usually the default router). */
  readonly gateway: string;
  /** This host's address on the gateway's link. Default: the address the kernel routes to the gateway from. */
  readonly clientAddress?: string;
  /** Sends of each PCP/NAT-PMP request before giving up (default 3: done after 1.75 s of silence). */
  readonly transmissions?: number;
  /** Also search for a UPnP IGD (SSDP, multicast and unicast to the gateway); default true. */
  readonly upnp?: boolean;
  /** How long the SSDP search waits for the gateway's IGD, ms (default 2000). */
  readonly upnpTimeoutMs?: number;
  /** Cancels the probe; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * What {@link probeGateway} found.
 *
 * @example
 * ```ts
 * const r: GatewayReport = await probeGateway({ gateway: "192.168.1.1" });
 * const offered = (["pcp", "natpmp", "upnp"] as const).filter((p) => r[p]); // → ["pcp", "natpmp", "upnp"]
 * ```
 */
export interface GatewayReport {
  readonly gateway: string;
  /** The address the probes were sent from. */
  readonly clientAddress: string;
  /** A PCP server (RFC 6887) answered. */
  readonly pcp: boolean;
  /** A NAT-PMP server (RFC 6886) answered. */
  readonly natpmp: boolean;
  /** The external address NAT-PMP reported, if it did. */
  readonly externalAddress: string | undefined;
  /** The gateway answered SSDP with a usable IGD description (false when not searched). */
  readonly upnp: boolean;
  /** The IGD's description URL, when found. */
  readonly upnpLocation: string | undefined;
}

/**
 * Probes the gateway for PCP, NAT-PMP and UPnP IGD at once. Resolves when PCP and NAT-PMP have
 * answered or run out of retransmissions (1.75 s by default) and the SSDP search has found the
 * IGD or timed out (2 s by default).
 *
 * @throws {@link IcekitError} for a gateway that is not an IP address or a socket that cannot be bound
 *
 * @example
 * ```ts
 * const r = await probeGateway({ gateway: "192.168.1.1", upnp: false });
 * if (!r.pcp && !r.natpmp) console.log("no PCP or NAT-PMP here");
 * ```
 */
export async function probeGateway(options: ProbeGatewayOptions): Promise<GatewayReport> {
  const family = ipFamily(options.gateway) ?? "IPv4";
  const clientAddress = options.clientAddress ?? (await routeLocalAddress({ family, address: options.gateway, port: 5351 }));
  const igd =
    options.upnp === false
      ? Promise.resolve(undefined)
      : discoverIgd({ gateway: options.gateway, localAddress: clientAddress, timeoutMs: options.upnpTimeoutMs ?? 2000, ...(options.signal ? { signal: options.signal } : {}) }).catch(() => undefined);
  const natPmpAndPcp = probePcpAndNatPmp(options, clientAddress);
  const [result, gw] = await Promise.all([natPmpAndPcp, igd]);
  if (options.signal?.aborted) throw options.signal.reason ?? new Error("aborted");
  return { gateway: options.gateway, clientAddress, pcp: result.pcp, natpmp: result.natpmp, externalAddress: result.externalAddress, upnp: gw !== undefined, upnpLocation: gw?.location };
}

async function probePcpAndNatPmp(options: ProbeGatewayOptions, clientAddress: string): Promise<GatewayProbeResult> {
  const socket = await bindUdp(clientAddress, 0, options.signal);
  let probe: GatewayProbe;
  try {
    probe = new GatewayProbe({ gateway: options.gateway, clientAddress, local: udpLocal(socket), ...(options.transmissions !== undefined ? { transmissions: options.transmissions } : {}) });
  } catch (e) {
    socket.close();
    throw e;
  }
  return new Promise<GatewayProbeResult>((resolve, reject) => {
    const signal = options.signal;
    const onAbort = () => {
      driver.close();
      reject(signal?.reason ?? new Error("aborted"));
    };
    const driver = new NodeDriver<GatewayProbeResult>(probe, {
      onEvent: (e) => {
        signal?.removeEventListener("abort", onAbort);
        driver.close();
        resolve(e);
      },
    });
    driver.addUdpSocket(socket);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    probe.start(monotonicNow());
    driver.pump();
  });
}
