/**
 * `icekit stun <server>`: one Binding request; prints the server, the local address, the mapped
 * (reflexive) address and the round-trip time.
 *
 * @module
 */
import { formatTransportAddress } from "../bytes/ip";
import type { TransportProtocol } from "../engine";
import { stunBinding } from "../node/stun";
import { parseArgs } from "./args";
import { CliError, toJsonLine } from "./output";
import type { CliIo } from "./output";
import { parseTransport, parseHostPort } from "./options";

const USAGE = "usage: icekit stun <server> [--transport udp|tcp|tls] [--local HOST[:PORT]] [--json]";

/** Runs `icekit stun`. Returns the exit status. */
export async function stunCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { values: ["transport", "local"] });
  if (args.flags.has("help")) {
    io.stdout(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) throw new CliError("USAGE", USAGE);
  const transport: TransportProtocol | undefined = args.values.has("transport") ? parseTransport(args.values.get("transport")!) : undefined;
  const local = args.values.has("local") ? parseHostPort(args.values.get("local")!, 0) : undefined;
  const r = await stunBinding(args.positionals[0]!, {
    ...(transport ? { transport } : {}),
    ...(local ? { localAddress: local.address, localPort: local.port } : {}),
  });
  const rttMs = Math.round(r.rttMs * 100) / 100;
  if (args.flags.has("json")) {
    io.stdout(toJsonLine({ server: r.server, local: r.local, mapped: r.mapped, rttMs, transport: r.transport }));
  } else {
    io.stdout(`server  ${formatTransportAddress(r.server)} (${r.transport})`);
    io.stdout(`local   ${formatTransportAddress(r.local)}`);
    io.stdout(`mapped  ${formatTransportAddress(r.mapped)}${r.mapped.address === r.local.address && r.mapped.port === r.local.port ? "  (same as local: no NAT on this path)" : ""}`);
    io.stdout(`rtt     ${rttMs} ms`);
  }
  return 0;
}
