/**
 * `icekit turn-server --realm R (--user U:P ... | --secret S)`: a TURN server (RFC 8656) on real
 * sockets until SIGINT or SIGTERM. Relaying to loopback, private, link-local, multicast and
 * other internal addresses is refused (403) unless `--allow-peer CIDR` opens them.
 *
 * @module
 */
import { formatTransportAddress } from "../bytes/ip";
import { startTurnServer } from "../node/turn-server";
import { parseArgs } from "./args";
import { CliError, toJsonLine } from "./output";
import type { CliIo } from "./output";
import { parseHostPort } from "./options";
import type { StopSignal } from "./stun-server";
import { processStop } from "./stun-server";

const USAGE =
  "usage: icekit turn-server [--listen HOST:PORT] --realm R (--user U:P ... | --secret S) [--relay-ip IP] [--ports LO-HI] [--allow-peer CIDR ...] [--legacy-channels] [--quiet] [--json]";

/** Runs `icekit turn-server` until `stop` resolves. Returns the exit status. */
export async function turnServerCommand(argv: readonly string[], io: CliIo, stop: StopSignal = processStop): Promise<number> {
  const args = parseArgs(argv, {
    values: ["listen", "realm", "user", "secret", "relay-ip", "ports", "allow-peer", "software"],
    repeated: ["user", "allow-peer", "relay-ip"],
    flags: ["quiet", "legacy-channels"],
  });
  if (args.flags.has("help")) {
    io.stdout(USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw new CliError("USAGE", USAGE);
  const realm = args.values.get("realm");
  if (realm === undefined) throw new CliError("USAGE", `--realm is required; ${USAGE}`);
  const users: Record<string, string> = {};
  for (const u of args.lists.get("user") ?? []) {
    const i = u.indexOf(":");
    if (i <= 0) throw new CliError("USAGE", `--user ${u}: pass USER:PASSWORD`);
    users[u.slice(0, i)] = u.slice(i + 1);
  }
  const secret = args.values.get("secret");
  if (Object.keys(users).length === 0 && secret === undefined) {
    throw new CliError("MISSING_CREDENTIAL", "a TURN server never relays without authentication: pass --user U:P (repeatable) or --secret S");
  }
  let ports: [number, number] | undefined;
  const portsText = args.values.get("ports");
  if (portsText !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(portsText);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m ? Number(m[2]) : NaN;
    if (!m || lo < 1 || hi > 65535 || lo > hi) throw new CliError("USAGE", `--ports ${portsText}: pass LO-HI, e.g. 49152-65535`);
    ports = [lo, hi];
  }
  const json = args.flags.has("json");
  const quiet = args.flags.has("quiet");
  const relayIps = args.lists.get("relay-ip");
  const server = await startTurnServer({
    listen: parseHostPort(args.values.get("listen") ?? "0.0.0.0:3478", 3478),
    realm,
    ...(Object.keys(users).length > 0 ? { users } : {}),
    ...(secret !== undefined ? { secret } : {}),
    ...(relayIps ? { relayIp: relayIps } : {}),
    ...(ports ? { ports } : {}),
    ...(args.lists.has("allow-peer") ? { allowPeer: args.lists.get("allow-peer")! } : {}),
    software: args.values.get("software") ?? "icekit",
    // RFC 5766 clients (coturn's turnutils_uclient among them) pick channels up to 0x7FFF.
    ...(args.flags.has("legacy-channels") ? { channelNumbers: "rfc5766" as const } : {}),
    onEvent: (e) => {
      if (quiet || (e.type !== "allocation" && e.type !== "allocation-end")) return;
      if (json) io.stdout(toJsonLine(e));
      else if (e.type === "allocation") io.stdout(`allocation ${e.id} for ${e.user}: relayed ${e.relayed.map(formatTransportAddress).join(", ")}`);
      else io.stdout(`allocation ${e.id} ended`);
    },
  });
  if (json) io.stdout(toJsonLine({ type: "listening", udp: server.address, tcp: server.tcp ?? null, relayIps: server.relayIps }));
  else io.stdout(`TURN server on udp ${formatTransportAddress(server.address)}${server.tcp ? `, tcp ${formatTransportAddress(server.tcp)}` : ""}; relaying from ${server.relayIps.join(", ")}`);
  await stop();
  const stats = server.stats();
  await server.close();
  if (json) io.stdout(toJsonLine({ type: "stopped", stats }));
  else io.stdout("stopped");
  return 0;
}
