/**
 * `icekit nat <server>`: RFC 5780 NAT behaviour discovery; prints the mapping and filtering
 * behaviours, the classic NAT name, and the external address.
 *
 * @module
 */
import { formatTransportAddress } from "../bytes/ip";
import type { TransportAddress } from "../bytes/ip";
import type { NatReport } from "../nat/discovery";
import { discoverNat } from "../node/nat";
import { parseArgs } from "./args";
import { CliError, toJsonLine } from "./output";
import type { CliIo } from "./output";
import { parseHostPort } from "./options";

const USAGE = "usage: icekit nat <server> [--local HOST[:PORT]] [--hairpin] [--json]";

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
  const args = parseArgs(argv, { values: ["local"], flags: ["hairpin"] });
  if (args.flags.has("help")) {
    io.stdout(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) throw new CliError("USAGE", USAGE);
  const local = args.values.has("local") ? parseHostPort(args.values.get("local")!, 0) : undefined;
  const json = args.flags.has("json");
  const report = await discoverNat({
    server: args.positionals[0]!,
    ...(local ? { localAddress: local.address, localPort: local.port } : {}),
    testHairpinning: args.flags.has("hairpin"),
    onProgress: (t) => {
      if (!json) io.stderr(`  ${t.name.padEnd(17)} ${t.result}${t.from ? ` from ${formatTransportAddress(t.from)}` : ""}`);
    },
  });
  if (json) {
    io.stdout(toJsonLine(natReportJson(report)));
    return 0;
  }
  io.stdout(`NAT type      ${report.natType}`);
  io.stdout(`mapping       ${report.mapping ?? "unknown"}`);
  io.stdout(`filtering     ${report.filtering ?? "unknown"}`);
  io.stdout(`local         ${fmt(report.local)}`);
  io.stdout(`external      ${fmt(report.mapped)}${report.behindNat && report.portPreserved ? " (port preserved)" : ""}`);
  if (report.hairpinning !== undefined) io.stdout(`hairpinning   ${report.hairpinning ? "yes" : "no"}`);
  if (!report.rfc5780Supported && report.mapped) {
    io.stdout("note          the server has no usable OTHER-ADDRESS (RFC 5780): behaviours are partly unknown");
  }
  return 0;
}
