/**
 * `discoverNat()`: RFC 5780 NAT behaviour discovery on real sockets — what pystun's
 * `get_ip_info()` answers (NAT type, external IP, external port) and more (mapping and
 * filtering behaviours, port preservation, hairpinning).
 *
 * @example
 * ```ts
 * import { discoverNat } from "icekit/node";
 * const report = await discoverNat({ server: "stun:stun.example.org" });
 * console.log(report.natType, report.mapped); // "port-restricted-cone" { address, port, ... }
 * ```
 *
 * @module
 */
import { NatDiscovery } from "../nat/discovery";
import type { NatDiscoveryEvent, NatDiscoveryOptions, NatReport } from "../nat/discovery";
import { monotonicNow } from "./clock";
import { parseServer, resolveServer } from "./dns";
import { NodeDriver } from "./driver";
import { bindUdp, routeLocalAddress, udpLocal } from "./udp";

/**
 * Options for {@link discoverNat}.
 *
 * @example
 * ```ts
 * const options: DiscoverNatOptions = {
 *   server: "stun:stun.example.org",                      // must support RFC 5780 (two IPs)
 *   onProgress: (test) => console.log(test.name, test.result), // → "mapping-II" "response", ...
 *   signal: AbortSignal.timeout(60_000),
 * };
 * const report = await discoverNat(options);
 * ```
 */
export interface DiscoverNatOptions extends Omit<NatDiscoveryOptions, "server" | "local" | "hairpinLocal"> {
  /** The server: `stun:host[:port]` or `host[:port]`. It must support RFC 5780 (two IPs) for the behaviours. */
  readonly server: string;
  /** Local IP to bind; default: the address the kernel routes to the server from. */
  readonly localAddress?: string;
  /** Local port; default any. */
  readonly localPort?: number;
  /** Called as each test finishes. */
  readonly onProgress?: (test: Extract<NatDiscoveryEvent, { type: "progress" }>["test"]) => void;
  /** Cancels discovery; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Runs RFC 5780 discovery against `server` from one local UDP socket (TCP only for the
 * UDP-blocked probe) and resolves with the report.
 *
 * @throws {@link IcekitError} when the server does not resolve or the socket cannot be bound
 *
 * @example
 * ```ts
 * const report = await discoverNat({ server: "stun:stun.example.org:3478" });
 * report.natType;   // → "port-restricted-cone"
 * report.mapping;   // → "endpoint-independent"
 * report.filtering; // → "address-and-port-dependent"
 * ```
 */
export async function discoverNat(options: DiscoverNatOptions): Promise<NatReport> {
  const uri = parseServer(options.server);
  const resolved = await resolveServer(uri, { ...(options.signal ? { signal: options.signal } : {}), family: "IPv4" }).catch(() =>
    resolveServer(uri, options.signal ? { signal: options.signal } : {}),
  );
  const server = resolved.addresses[0]!;
  const localAddress = options.localAddress ?? (await routeLocalAddress(server));
  const socket = await bindUdp(localAddress, options.localPort ?? 0, options.signal);
  const local = udpLocal(socket);
  const { server: _s, localAddress: _a, localPort: _p, onProgress, signal, ...engineOptions } = options;
  const engine = new NatDiscovery({ ...engineOptions, server, local });
  return new Promise<NatReport>((resolve, reject) => {
    let driver: NodeDriver<NatDiscoveryEvent> | undefined;
    const finish = (err: unknown, report?: NatReport) => {
      driver?.close();
      signal?.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve(report!);
    };
    const onAbort = () => finish(signal?.reason ?? new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    driver = new NodeDriver<NatDiscoveryEvent>(engine, {
      onEvent: (e) => {
        if (e.type === "progress") onProgress?.(e.test);
        else finish(undefined, e.report);
      },
    });
    driver.addUdpSocket(socket);
    engine.start(monotonicNow());
    driver.pump();
  });
}
