/**
 * Turning a STUN/TURN server URI into transport addresses (RFC 8489 §8, RFC 8656 §3.1 and
 * RFC 7064/7065): an IP literal as is; a name with an explicit port by A/AAAA lookup; a name
 * without a port by the SRV records (`_stun._udp`, `_stuns._tcp`, `_turn._udp`, ...) first,
 * falling back to A/AAAA on the default port when there are none.
 *
 * @module
 */
import { promises as dns } from "node:dns";
import type { TransportAddress } from "../bytes/ip";
import { IcekitError } from "../errors";
import type { IceServerUri } from "../uri";
import { parseIceServerUri, srvServiceName } from "../uri";
import { fromNode } from "./address";

/**
 * A resolved server: where to send, and how.
 *
 * @example
 * ```ts
 * const { uri, addresses }: ResolvedServer = await resolveServer("turn:turn.example.org");
 * // → uri.port 3478; addresses [{ family: "IPv4", address: "203.0.113.1", port: 3478 }, ...]
 * ```
 */
export interface ResolvedServer {
  readonly uri: IceServerUri;
  /** Candidates in the order to try them (SRV priority/weight order, then IPv4 before IPv6). */
  readonly addresses: readonly TransportAddress[];
}

/**
 * Options for {@link resolveServer}.
 *
 * @example
 * ```ts
 * const options: ResolveOptions = { family: "IPv4", signal: AbortSignal.timeout(2000) };
 * const { addresses } = await resolveServer("stun:stun.example.org", options); // A records only
 * ```
 */
export interface ResolveOptions {
  /** Restrict to one family, e.g. to match the local socket. */
  readonly family?: "IPv4" | "IPv6";
  /** Cancels the lookup. */
  readonly signal?: AbortSignal;
}

/**
 * Accepts `stun:host:port`, `turn:host?transport=tcp`, or a bare `host[:port]` / `[v6]:port`
 * (taken as `stun:`), and parses it.
 *
 * @throws {@link IcekitError} `INVALID_URI` with what a valid one looks like
 *
 * @example
 * ```ts
 * parseServer("192.0.2.1:3478");      // → { scheme: "stun", host: "192.0.2.1", port: 3478, transport: "udp", ... }
 * parseServer("turn.example.org", "turn").port;   // → 3478
 * parseServer("turns:turn.example.org").transport; // → "tls" (port 5349)
 * ```
 */
export function parseServer(server: string, defaultScheme: "stun" | "turn" = "stun"): IceServerUri {
  const withScheme = /^(stuns?|turns?):/i.test(server) ? server : `${defaultScheme}:${server}`;
  return parseIceServerUri(withScheme);
}

async function lookupHost(host: string, port: number, family: "IPv4" | "IPv6" | undefined): Promise<TransportAddress[]> {
  const records = await dns.lookup(host, { all: true, verbatim: false, ...(family ? { family: family === "IPv4" ? 4 : 6 } : {}) });
  return records.map((r) => fromNode(r.address, port));
}

/**
 * Resolves a server to transport addresses.
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` when the name does not resolve
 *
 * @example
 * ```ts
 * const { addresses } = await resolveServer("stun:stun.example.org"); // SRV _stun._udp first, then A/AAAA
 * addresses[0]; // → { family: "IPv4", address: "203.0.113.1", port: 3478 }
 * ```
 */
export async function resolveServer(server: string | IceServerUri, options: ResolveOptions = {}): Promise<ResolvedServer> {
  const uri = typeof server === "string" ? parseServer(server) : server;
  options.signal?.throwIfAborted();
  if (uri.hostType !== "name") {
    const a = fromNode(uri.host, uri.port);
    if (options.family && a.family !== options.family) {
      throw new IcekitError("INVALID_ARGUMENT", `${uri.host} is ${a.family}; the local socket is ${options.family}`);
    }
    return { uri, addresses: [a] };
  }
  const out: TransportAddress[] = [];
  const service = srvServiceName(uri);
  if (service !== undefined) {
    // RFC 8489 §8: SRV first when no port was given.
    let srv: { name: string; port: number; priority: number; weight: number }[] = [];
    try {
      srv = await dns.resolveSrv(`${service}.${uri.host}`);
    } catch {
      srv = [];
    }
    srv.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
    for (const r of srv) {
      try {
        out.push(...(await lookupHost(r.name, r.port, options.family)));
      } catch {
        // A target that does not resolve is skipped; the next one may.
      }
    }
  }
  if (out.length === 0) {
    try {
      out.push(...(await lookupHost(uri.host, uri.port, options.family)));
    } catch (e) {
      throw new IcekitError("INVALID_ARGUMENT", `cannot resolve ${uri.host}: ${(e as { code?: string }).code ?? (e as Error).message}`);
    }
  }
  options.signal?.throwIfAborted();
  if (out.length === 0) throw new IcekitError("INVALID_ARGUMENT", `cannot resolve ${uri.host}: no ${options.family ?? "IP"} address`);
  return { uri, addresses: out };
}
