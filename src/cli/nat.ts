/**
 * `icekit nat <server>`: RFC 5780 NAT behaviour discovery; prints the mapping and filtering
 * behaviours, the classic NAT name, and the external address; and, asked of the default gateway
 * at the same time, which port-mapping protocols it offers (PCP, NAT-PMP, UPnP IGD: a mapped
 * port makes any NAT reachable). `--gateway IP` names the gateway, `--no-port-mapping` skips it.
 *
 * @module
 */
import { formatTransportAddress, ipFamily } from "../bytes/ip";
import type { TransportAddress } from "../bytes/ip";
import type { NatReport } from "../nat/discovery";
import { discoverNat } from "../node/nat";
import { probeGateway } from "../node/gateway-probe";
import type { GatewayReport } from "../node/gateway-probe";
import { defaultGateway } from "../node/default-gateway";
import { parseArgs } from "./args";
import { CliError, toJsonLine } from "./output";
import type { CliIo } from "./output";
import { parseHostPort } from "./options";

const USAGE = "usage: icekit nat <server> [--local HOST[:PORT]] [--hairpin] [--gateway IP | --no-port-mapping] [--json]";

/**
 * The port-mapping part of the JSON: `null` when not asked (no gateway, `--no-port-mapping`).
 *
 * @example
 * ```ts
 * portMappingJson(undefined); // → null
 * ```
 */
export function portMappingJson(g: GatewayReport | undefined): Record<string, unknown> | null {
  if (g === undefined) return null;
  return { gateway: g.gateway, pcp: g.pcp, natpmp: g.natpmp, upnp: g.upnp, externalAddress: g.externalAddress ?? null, upnpLocation: g.upnpLocation ?? null };
}

/** The report as the CLI's JSON prints it: unknown fields are `null`, not missing. */
export function natReportJson(r: NatReport): Record<string, unknown> {
  return {
    natType: r.natType,
    mapping: r.mapping ?? null,
    filtering: r.filtering ?? null,
    local: r.local ?? null,
    mapped: r.mapped ?? null,
    behindNat: r.behindNat ?? null,
    portPreserved: r.portPreserved ?? null,
    hairpinning: r.hairpinning ?? null,
    rfc5780Supported: r.rfc5780Supported,
    otherAddress: r.otherAddress ?? null,
    tests: r.tests,
  };
}

const fmt = (a: TransportAddress | undefined) => (a ? formatTransportAddress(a) : "unknown");

/** Runs `icekit nat`. Returns the exit status. */
export async function natCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { values: ["local", "gateway"], flags: ["hairpin", "no-port-mapping"] });
  if (args.flags.has("help")) {
    io.stdout(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) throw new CliError("USAGE", USAGE);
  const local = args.values.has("local") ? parseHostPort(args.values.get("local")!, 0) : undefined;
  const json = args.flags.has("json");
  const gateway = args.flags.has("no-port-mapping") ? undefined : (args.values.get("gateway") ?? defaultGateway());
  if (gateway !== undefined && ipFamily(gateway) === undefined) throw new CliError("USAGE", `--gateway ${gateway}: pass an IP address`);
  // Asked beside the discovery, so it adds nothing to its time; a failure only leaves it out.
  const portMapping = gateway === undefined ? Promise.resolve(undefined) : probeGateway({ gateway }).catch(() => undefined);
  const report = await discoverNat({
    server: args.positionals[0]!,
    ...(local ? { localAddress: local.address, localPort: local.port } : {}),
    testHairpinning: args.flags.has("hairpin"),
    onProgress: (t) => {
      if (!json) io.stderr(`  ${t.name.padEnd(17)} ${t.result}${t.from ? ` from ${formatTransportAddress(t.from)}` : ""}`);
    },
  });
  const gw = await portMapping;
  if (json) {
    io.stdout(toJsonLine({ ...natReportJson(report), portMapping: portMappingJson(gw) }));
    return 0;
  }
  io.stdout(`NAT type      ${report.natType}`);
  io.stdout(`mapping       ${report.mapping ?? "unknown"}`);
  io.stdout(`filtering     ${report.filtering ?? "unknown"}`);
  io.stdout(`local         ${fmt(report.local)}`);
  io.stdout(`external      ${fmt(report.mapped)}${report.behindNat && report.portPreserved ? " (port preserved)" : ""}`);
  if (report.hairpinning !== undefined) io.stdout(`hairpinning   ${report.hairpinning ? "yes" : "no"}`);
  if (gw !== undefined) {
    const offered = [gw.pcp && "PCP", gw.natpmp && "NAT-PMP", gw.upnp && "UPnP IGD"].filter(Boolean);
    io.stdout(`port mapping  ${offered.length > 0 ? `${offered.join(", ")} at ${gw.gateway} (icekit map opens a port)` : `none offered by ${gw.gateway}`}`);
  }
  if (!report.rfc5780Supported && report.mapped) {
    io.stdout("note          the server has no usable OTHER-ADDRESS (RFC 5780): behaviours are partly unknown");
  }
  return 0;
}
