/**
 * The `icekit` command's dispatcher: routes to one module per sub-command. Only this folder and
 * `src/node` may touch the process, sockets and clocks.
 *
 * @module
 */
import { decodeCommand } from "./decode";
import { demoCommand } from "./demo";
import { stunCommand } from "./stun";
import { natCommand } from "./nat";
import { stunServerCommand } from "./stun-server";
import { iceCommand } from "./ice";
import { turnCommand } from "./turn";
import { turnServerCommand } from "./turn-server";
import { simCommand } from "./sim";
import { mapCommand } from "./map";
import { CliError, reportError } from "./output";
import type { CliIo } from "./output";

const USAGE = `usage: icekit <command> [options]   (--json for machine-readable output)

commands:
  decode <hex | base64 | ->   decode a STUN message or TURN ChannelData frame
         [--password P | --long-term USER:REALM:PASS]
  demo                        STUN+TURN servers and two ICE agents on loopback, then the NAT matrix
  stun <server>               one Binding request: your mapped address and the RTT
         [--transport udp|tcp|tls] [--local HOST[:PORT]]
  nat <server>                RFC 5780 NAT behaviour: mapping, filtering, classic NAT type
         [--local HOST[:PORT]] [--hairpin]
  stun-server                 a STUN server (RFC 5780 with --alt) until Ctrl-C
         [--listen HOST:PORT] [--alt HOST:PORT] [--software TEXT] [--quiet]
  turn <server>               allocate a TURN relayed address; --peer echoes a datagram through it
         (--user U --pass P | --secret S) [--transport udp|tcp|tls] [--peer HOST:PORT]
  turn-server                 a TURN server until Ctrl-C (internal peers refused unless allowed)
         --realm R (--user U:P ... | --secret S) [--listen HOST:PORT] [--relay-ip IP]
         [--ports LO-HI] [--allow-peer CIDR ...] [--legacy-channels] [--quiet]
  ice (--controlling | --controlled)   one ICE agent, signaled by JSON lines on stdin/stdout
         [--stun HOST:PORT] [--turn HOST:PORT --turn-user U --turn-pass P]
         [--ping N] [--timeout MS] [--lite] [--no-host] [--host IP ...]
  map                         PCP / NAT-PMP port mapping at the gateway (default: /proc/net/route's)
         [--protocol udp|tcp] [--internal-port P] [--external-port P] [--lifetime S]
         [--method pcp|natpmp] [--gateway IP] [--local IP] [--delete]
  sim matrix                  every pair of NAT behaviours on the simulator: direct, relay or none
         [--seed N] [--loss P] [--nat NAME ...]`;

/** Runs the CLI with `argv` (without node and the script) and returns the exit status. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes("--json");
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case "decode":
        return await decodeCommand(rest, io);
      case "demo":
        return await demoCommand(rest, io);
      case "stun":
        return await stunCommand(rest, io);
      case "nat":
        return await natCommand(rest, io);
      case "stun-server":
        return await stunServerCommand(rest, io);
      case "ice":
        return await iceCommand(rest, io);
      case "turn":
        return await turnCommand(rest, io);
      case "turn-server":
        return await turnServerCommand(rest, io);
      case "sim":
        return await simCommand(rest, io);
      case "map":
        return await mapCommand(rest, io);
      case undefined:
      case "help":
      case "--help":
        io.stdout(USAGE);
        return command === undefined ? 1 : 0;
      default:
        throw new CliError("USAGE", `unknown command '${command}'; run 'icekit help' for the list`);
    }
  } catch (e) {
    return reportError(e, json, io);
  }
}

