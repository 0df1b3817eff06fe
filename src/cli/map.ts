/**
 * `icekit map`: ask the gateway for an inbound port with PCP (RFC 6887), NAT-PMP (RFC 6886) or
 * UPnP IGD (by default whichever it offers, in that order), print what it granted, and exit. The
 * mapping is not renewed after exit: the gateway keeps it for the granted lifetime (run again to
 * renew, or `--delete` to remove it).
 *
 * The gateway defaults to the IPv4 default route's gateway ({@link defaultGateway}: Linux's
 * `/proc/net/route`; elsewhere pass `--gateway`).
 *
 * @module
 */
import { formatTransportAddress, ipFamily } from "../bytes/ip";
import type { PortMappingProtocol } from "../nat/port-mapping";
import type { PortMapperMethod } from "../node/port-mapping";
import { defaultGateway } from "../node/default-gateway";
import { mapPort, unmapPort } from "../node/port-mapping";
import { parseArgs } from "./args";
import { CliError, toJsonLine } from "./output";
import type { CliIo } from "./output";

const USAGE =
  "usage: icekit map [--protocol udp|tcp] [--internal-port P] [--external-port P] [--lifetime S] [--method pcp|natpmp|upnp] [--gateway IP] [--local IP] [--delete] [--json]";

function port(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > 65535) throw new CliError("USAGE", `--${name} ${text}: pass a port from ${min} to 65535`);
  return n;
}

/** Runs `icekit map`. Returns the exit status. */
export async function mapCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { values: ["protocol", "internal-port", "external-port", "lifetime", "method", "gateway", "local"], flags: ["delete"] });
  if (args.flags.has("help")) {
    io.stdout(USAGE);
    return 0;
  }
  if (args.positionals.length !== 0) throw new CliError("USAGE", USAGE);
  const protocol = (args.values.get("protocol") ?? "udp") as PortMappingProtocol;
  if (protocol !== "udp" && protocol !== "tcp") throw new CliError("USAGE", `--protocol ${protocol}: pass udp or tcp`);
  const method = args.values.get("method") as PortMapperMethod | undefined;
  if (method !== undefined && method !== "pcp" && method !== "natpmp" && method !== "upnp") throw new CliError("USAGE", `--method ${method}: pass pcp, natpmp or upnp (default: whichever the gateway offers, in that order)`);
  const internalPort = args.values.has("internal-port") ? port("internal-port", args.values.get("internal-port")!, 1) : undefined;
  const externalPort = args.values.has("external-port") ? port("external-port", args.values.get("external-port")!, 0) : undefined;
  let lifetime: number | undefined;
  if (args.values.has("lifetime")) {
    const t = args.values.get("lifetime")!;
    lifetime = Number(t);
    if (!/^\d+$/.test(t) || lifetime < 1 || lifetime > 0xffffffff) throw new CliError("USAGE", `--lifetime ${t}: pass a number of seconds from 1 to 4294967295`);
  }
  const gateway = args.values.get("gateway") ?? defaultGateway();
  if (gateway === undefined) throw new CliError("NO_GATEWAY", "no IPv4 default gateway found in /proc/net/route; pass --gateway IP");
  if (ipFamily(gateway) === undefined) throw new CliError("USAGE", `--gateway ${gateway}: pass an IP address`);
  const local = args.values.get("local");
  if (local !== undefined && ipFamily(local) === undefined) throw new CliError("USAGE", `--local ${local}: pass an IP address`);
  const json = args.flags.has("json");
  const common = { gateway, protocol, ...(method ? { method } : {}), ...(local ? { clientAddress: local } : {}) };

  if (args.flags.has("delete")) {
    if (internalPort === undefined && !(method === "upnp" && externalPort !== undefined)) throw new CliError("USAGE", "--delete needs --internal-port (with --method upnp, --external-port)");
    // UPnP names a mapping by its external port; PCP and NAT-PMP by the internal one.
    const r = await unmapPort({ ...common, internalPort: internalPort ?? externalPort!, ...(externalPort !== undefined ? { externalPort } : {}) });
    const deleted = method === "upnp" ? { protocol, externalPort: externalPort ?? internalPort } : { protocol, internalPort };
    if (json) io.stdout(toJsonLine({ method: r.method, deleted }));
    else io.stdout(`deleted  ${protocol} port ${method === "upnp" ? deleted.externalPort : internalPort} (${r.method})`);
    return 0;
  }
  // Without --internal-port, ask for the external port (or any) as the internal port too.
  const m = await mapPort({ ...common, internalPort: internalPort ?? (externalPort !== undefined && externalPort > 0 ? externalPort : randomPort()), ...(externalPort !== undefined ? { externalPort } : {}), ...(lifetime !== undefined ? { lifetime } : {}) });
  m.detach();
  if (json) {
    io.stdout(toJsonLine({ method: m.method, protocol: m.protocol, external: m.external, internal: m.internal, lifetime: m.lifetime }));
  } else {
    io.stdout(`method    ${METHOD_NAMES[m.method]} via ${gateway}`);
    io.stdout(`external  ${formatTransportAddress(m.external)} (${m.protocol})`);
    io.stdout(`internal  ${formatTransportAddress(m.internal)}`);
    io.stdout(`lifetime  ${m.lifetime} s (not renewed after exit; --delete removes it)`);
  }
  return 0;
}

const METHOD_NAMES = { pcp: "PCP", natpmp: "NAT-PMP", upnp: "UPnP IGD" } as const;

/** A port from the dynamic range (RFC 6335), for a mapping without `--internal-port`. */
function randomPort(): number {
  return 49152 + Math.floor(Math.random() * 16384);
}
