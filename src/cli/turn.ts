/**
 * `icekit turn <server>`: allocates a relayed address (RFC 8656 §7) and prints it with the
 * server-reflexive address and the lifetime; with `--peer`, sends one datagram through the relay
 * to a UDP echo peer and prints whether it came back and how long it took.
 *
 * @module
 */
import { formatTransportAddress } from "../bytes/ip";
import type { TransportProtocol } from "../engine";
import { connectTurn } from "../node/turn-client";
import { monotonicNow } from "../node/clock";
import { turnRestCredentials } from "../turn/rest-credentials";
import { parseArgs } from "./args";
import { CliError, toJsonLine } from "./output";
import type { CliIo } from "./output";
import { parseHostPort, parseMs, parseTransport } from "./options";

const USAGE =
  "usage: icekit turn <server> (--user U --pass P | --secret S [--user U]) [--transport udp|tcp|tls] [--peer HOST:PORT] [--timeout MS] [--json]";

/** Runs `icekit turn`. Returns the exit status. */
export async function turnCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { values: ["user", "pass", "secret", "transport", "peer", "timeout"] });
  if (args.flags.has("help")) {
    io.stdout(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) throw new CliError("USAGE", USAGE);
  const json = args.flags.has("json");
  const secret = args.values.get("secret");
  let username = args.values.get("user");
  let password = args.values.get("pass");
  if (secret !== undefined) {
    // coturn's REST API scheme (--use-auth-secret): expiry:user, base64(HMAC-SHA1(secret, username)).
    const creds = turnRestCredentials(secret, username ?? "icekit", 3600, Math.floor(Date.now() / 1000));
    username = creds.username;
    password = creds.password;
  } else if (username === undefined || password === undefined) {
    throw new CliError("MISSING_CREDENTIAL", "TURN needs credentials: pass --user U --pass P, or --secret S for a REST shared secret");
  }
  const transport: TransportProtocol | undefined = args.values.has("transport") ? parseTransport(args.values.get("transport")!) : undefined;
  const peer = args.values.has("peer") ? parseHostPort(args.values.get("peer")!) : undefined;
  const timeoutMs = args.values.has("timeout") ? parseMs("timeout", args.values.get("timeout")!) : 5000;

  const turn = await connectTurn(args.positionals[0]!, { username, password: password!, ...(transport ? { transport } : {}) });
  try {
    const info = { relayed: turn.relayed, mapped: turn.mapped ?? null, lifetime: turn.lifetime };
    if (json) io.stdout(toJsonLine(info));
    else {
      io.stdout(`relayed   ${formatTransportAddress(turn.relayed)}`);
      io.stdout(`mapped    ${turn.mapped ? formatTransportAddress(turn.mapped) : "unknown"}`);
      io.stdout(`lifetime  ${turn.lifetime} s`);
    }
    if (peer === undefined) return 0;
    await turn.createPermission(peer);
    const payload = new TextEncoder().encode(`icekit-echo-${Math.random().toString(36).slice(2)}`);
    const expected = new TextDecoder().decode(payload);
    const echoed = new Promise<number | undefined>((resolve) => {
      const t0 = monotonicNow();
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      turn.onData((data, from) => {
        if (from.address === peer.address && from.port === peer.port && new TextDecoder().decode(data) === expected) {
          clearTimeout(timer);
          resolve(monotonicNow() - t0);
        }
      });
      turn.send(peer, payload);
    });
    const rtt = await echoed;
    const rttMs = rtt === undefined ? null : Math.round(rtt * 100) / 100;
    if (json) io.stdout(toJsonLine({ echo: rtt !== undefined, rttMs }));
    else io.stdout(rtt === undefined ? `echo      none from ${formatTransportAddress(peer)} within ${timeoutMs} ms` : `echo      from ${formatTransportAddress(peer)} in ${rttMs} ms`);
    return rtt === undefined ? 1 : 0;
  } finally {
    await turn.close();
  }
}
