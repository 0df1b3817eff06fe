import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stunBinding } from "../../../src/node/index";
import { freePort } from "./ports";
import { start, waitFor, type Started } from "./process";

/** A coturn `turnserver` running in the foreground on loopback. */
export interface Coturn {
  readonly port: number;
  readonly ips: readonly string[];
  readonly process: Started;
  stop(): Promise<void>;
}

/**
 * Starts coturn as INTEROP.md says works: an empty config file (Debian's turns on syslog and
 * no-rfc5780), foreground, loopback only. With two IPs it does RFC 5780 (it answers on port and
 * port + 1 of each). With `authSecret` it takes TURN REST API credentials (`--use-auth-secret
 * --static-auth-secret`) instead of the static `user:pass`.
 */
export async function startCoturn(options: { ips?: string[]; extra?: string[]; allowTls?: boolean; authSecret?: string } = {}): Promise<Coturn> {
  const ips = options.ips ?? ["127.0.0.1"];
  const port = await freePort(ips[0], true);
  const dir = mkdtempSync(join(tmpdir(), "icekit-coturn-"));
  const conf = join(dir, "empty.conf");
  writeFileSync(conf, "");
  const args = [
    "-c", conf, "-n", "--log-file=stdout", "--simple-log", "--no-cli", ...(options.allowTls ? [] : ["--no-tls"]), "--no-dtls",
    ...ips.map((ip) => `--listening-ip=${ip}`),
    `--listening-port=${port}`, `--relay-ip=${ips[0]}`, "--min-port=49152", "--max-port=49300",
    // The TURN REST API scheme replaces the static user (INTEROP.md).
    ...(options.authSecret === undefined ? ["--lt-cred-mech", "--user=user:pass"] : ["--use-auth-secret", `--static-auth-secret=${options.authSecret}`]),
    "--realm=example.org", "--fingerprint",
    "--allow-loopback-peers", `--userdb=${join(dir, "turndb")}`,
    ...(options.extra ?? []),
  ];
  const proc = start("turnserver", args);
  try {
    await waitFor(async () => {
      await stunBinding(`stun:${ips[0]}:${port}`, { stun: { rc: 1, rm: 1, rto: { initialRto: 300 } } });
      return true;
    }, 10_000, `coturn on ${ips[0]}:${port}`);
  } catch (e) {
    await proc.stop();
    throw new Error(`${(e as Error).message}\n${proc.output()}`);
  }
  return {
    port,
    ips,
    process: proc,
    stop: async () => {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
