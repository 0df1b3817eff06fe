/**
 * Parsers for option values the commands share: transports, `HOST:PORT`, durations.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { transportAddress } from "../bytes/ip";
import type { TransportProtocol } from "../engine";
import { isIcekitError } from "../errors";
import { CliError } from "./output";

/** `udp`, `tcp` or `tls`. */
export function parseTransport(text: string): TransportProtocol {
  if (text === "udp" || text === "tcp" || text === "tls") return text;
  throw new CliError("USAGE", `--transport ${text}: pass udp, tcp or tls`);
}

/**
 * `HOST:PORT`, `[V6]:PORT`, or a bare host (then `defaultPort`). Hosts must be IP addresses.
 */
export function parseHostPort(text: string, defaultPort?: number): TransportAddress {
  let host = text;
  let port: number | undefined = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1]!;
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (/^[^:]+:\d+$/.test(text)) {
    const i = text.lastIndexOf(":");
    host = text.slice(0, i);
    port = Number(text.slice(i + 1));
  } else if (/:.*:/.test(text) === false && text.includes(":")) {
    throw new CliError("USAGE", `'${text}': pass HOST:PORT, e.g. 127.0.0.1:3478 or [::1]:3478`);
  }
  if (port === undefined) throw new CliError("USAGE", `'${text}' needs a port: pass HOST:PORT, e.g. 127.0.0.1:3478`);
  try {
    return transportAddress(host, port);
  } catch (e) {
    if (isIcekitError(e)) throw new CliError("USAGE", `'${text}': ${e.message}`);
    throw e;
  }
}

/** A positive integer number of milliseconds. */
export function parseMs(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new CliError("USAGE", `--${name} ${text}: pass a positive integer number of milliseconds`);
  return n;
}
