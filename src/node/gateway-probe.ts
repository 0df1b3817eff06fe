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
 * // → { gateway: "192.168.1.1", pcp: true, natpmp: true, upnp: true, externalAddress: "203.0.113.7" }
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

/** Options for {@link probeGateway}. */
export interface ProbeGatewayOptions {
  /** The gateway's IP address (usually the default router). */
  readonly gateway: string;
  /** This host's address on the gateway's link. Default: the address the kernel routes to the gateway from. */
  readonly clientAddress?: string;
  /** Sends of each PCP/NAT-PMP request before giving up (default 3: done after 1.75 s of silence). */
  readonly transmissions?: number;
  /** Cancels the probe; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** What {@link probeGateway} found. */
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
}

/**
 * Probes the gateway for PCP and NAT-PMP. Resolves after both answered, or after the last
 * retransmission went unanswered (1.75 s by default).
 *
 * @throws {@link IcekitError} for a gateway that is not an IP address or a socket that cannot be bound
 */
export async function probeGateway(options: ProbeGatewayOptions): Promise<GatewayReport> {
  const family = ipFamily(options.gateway) ?? "IPv4";
  const clientAddress = options.clientAddress ?? (await routeLocalAddress({ family, address: options.gateway, port: 5351 }));
  const socket = await bindUdp(clientAddress, 0, options.signal);
  let probe: GatewayProbe;
  try {
    probe = new GatewayProbe({ gateway: options.gateway, clientAddress, local: udpLocal(socket), ...(options.transmissions !== undefined ? { transmissions: options.transmissions } : {}) });
  } catch (e) {
    socket.close();
    throw e;
  }
  const result = await new Promise<GatewayProbeResult>((resolve, reject) => {
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
  return { gateway: options.gateway, clientAddress, pcp: result.pcp, natpmp: result.natpmp, externalAddress: result.externalAddress };
}
