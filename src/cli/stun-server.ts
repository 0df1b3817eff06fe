/**
 * `icekit stun-server [--listen HOST:PORT] [--alt HOST:PORT]`: a STUN server on real sockets,
 * running until SIGINT or SIGTERM. With `--alt` it serves RFC 5780 behaviour discovery.
 *
 * @module
 */
import { formatTransportAddress } from "../bytes/ip";
import { startStunServer } from "../node/stun-server";
import { parseArgs } from "./args";
import { CliError, toJsonLine } from "./output";
import type { CliIo } from "./output";
import { parseHostPort } from "./options";

const USAGE = "usage: icekit stun-server [--listen HOST:PORT] [--alt HOST:PORT] [--software TEXT] [--quiet] [--json]";

/** Resolves when the process is asked to stop. Tests pass their own. */
export type StopSignal = () => Promise<void>;

/** Resolves on the process's first SIGINT or SIGTERM. */
export const processStop: StopSignal = () =>
  new Promise((resolve) => {
    const done = () => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });

/** Runs `icekit stun-server` until `stop` resolves. Returns the exit status. */
export async function stunServerCommand(argv: readonly string[], io: CliIo, stop: StopSignal = processStop): Promise<number> {
  const args = parseArgs(argv, { values: ["listen", "alt", "software"], flags: ["quiet"] });
  if (args.flags.has("help")) {
    io.stdout(USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw new CliError("USAGE", USAGE);
  const json = args.flags.has("json");
  const quiet = args.flags.has("quiet");
  const listen = parseHostPort(args.values.get("listen") ?? "0.0.0.0:3478", 3478);
  const alt = args.values.has("alt") ? parseHostPort(args.values.get("alt")!, listen.port + 1) : undefined;
  const server = await startStunServer({
    listen,
    ...(alt ? { alt } : {}),
    software: args.values.get("software") ?? "icekit",
    onEvent: (e) => {
      if (quiet) return;
      if (json) io.stdout(toJsonLine(e));
      else if (e.type === "binding") io.stdout(`binding ${e.transport} from ${formatTransportAddress(e.remote)} → answered from ${formatTransportAddress(e.responseLocal)}`);
      else io.stdout(`error ${e.code} to ${formatTransportAddress(e.remote)}: ${e.detail}`);
    },
  });
  if (json) io.stdout(toJsonLine({ type: "listening", udp: server.udp, tcp: server.tcp ?? null }));
  else {
    io.stdout(`listening on udp ${server.udp.map(formatTransportAddress).join(", ")}${server.tcp ? `; tcp ${formatTransportAddress(server.tcp)}` : ""}`);
    if (alt) io.stdout("RFC 5780 behaviour discovery: on (OTHER-ADDRESS, RESPONSE-ORIGIN, CHANGE-REQUEST)");
  }
  await stop();
  const stats = server.stats();
  await server.close();
  if (json) io.stdout(toJsonLine({ type: "stopped", stats }));
  else io.stdout(`stopped after ${stats.requests} requests`);
  return 0;
}
