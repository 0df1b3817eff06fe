/**
 * Child processes for bench/turn-relay.ts: icekit's TURN server (the built CLI), coturn's
 * `turnserver`, node-turn, and coturn's `turnutils_peer` echo peer, all on loopback. Every start
 * returns a handle whose `stop()` ends that child (SIGTERM, then SIGKILL after 3 s); the bench
 * stops each one in a `finally`, and {@link stopAll} ends whatever is left on exit.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stunBinding } from "../src/node/index";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = join(ROOT, "dist", "cli", "main.js");

/** A running child with its kept output. */
export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

const live = new Set<Proc>();

/** Stops every child still running (the bench calls it in `finally` and on exit). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}
process.once("exit", () => {
  for (const p of live) p.child.kill("SIGKILL");
});

function launch(name: string, cmd: string, args: readonly string[], port: number, cleanup?: () => void): Proc {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.once("error", (e) => (out += `\nspawn error: ${e.message}`));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const proc: Proc = {
    name,
    child,
    port,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(t);
      }
      live.delete(proc);
      cleanup?.();
    },
  };
  live.add(proc);
  return proc;
}

/** A UDP port free on 127.0.0.1 right now. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

async function waitStun(proc: Proc, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited: ${proc.output()}`);
    try {
      await stunBinding(`stun:127.0.0.1:${proc.port}`, { stun: { rc: 1, rm: 1, rto: { initialRto: 200 } } });
      return;
    } catch {
      if (Date.now() > deadline) {
        await proc.stop();
        throw new Error(`${proc.name} did not answer on 127.0.0.1:${proc.port}: ${proc.output()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * icekit's TURN server from the built CLI (`npx tsup` first), in its own process so it does not
 * share an event loop with the load generator. `cpuProfDir` adds `--cpu-prof`: the profile is
 * written when the child exits on SIGTERM.
 */
export async function startIcekit(options: { cpuProfDir?: string } = {}): Promise<Proc> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsup\` (npm run build) before the turn-relay bench`);
  const port = await freeUdpPort();
  const node = [...(options.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`] : []), CLI];
  const args = [
    ...node, "turn-server", "--listen", `127.0.0.1:${port}`, "--realm", "example.org", "--user", "user:pass",
    "--relay-ip", "127.0.0.1", "--ports", "50000-50999", "--allow-peer", "127.0.0.0/8", "--legacy-channels", "--quiet", "--json",
  ];
  const p = launch("icekit", process.execPath, args, port);
  await waitStun(p);
  return p;
}

/** coturn as INTEROP.md says works on loopback (empty config file, foreground, loopback peers). */
export async function startCoturn(): Promise<Proc> {
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), "icekit-bench-coturn-"));
  const conf = join(dir, "empty.conf");
  writeFileSync(conf, "");
  const args = [
    "-c", conf, "-n", "--log-file=stdout", "--simple-log", "--no-cli", "--no-tls", "--no-dtls",
    "--listening-ip=127.0.0.1", `--listening-port=${port}`, "--relay-ip=127.0.0.1", "--min-port=49152", "--max-port=49900",
    "--lt-cred-mech", "--user=user:pass", "--realm=example.org", "--fingerprint", "--allow-loopback-peers",
    `--userdb=${join(dir, "turndb")}`,
  ];
  const p = launch("coturn", "turnserver", args, port, () => rmSync(dir, { recursive: true, force: true }));
  await waitStun(p);
  return p;
}

/** node-turn 0.0.6 (a devDependency) in its own Node process, long-term credentials. */
export async function startNodeTurn(): Promise<Proc> {
  const port = await freeUdpPort();
  const script = `
    const Turn = require("node-turn");
    const server = new Turn({ listeningPort: ${port}, listeningIps: ["127.0.0.1"], relayIps: ["127.0.0.1"],
      minPort: 51000, maxPort: 51999, authMech: "long-term", credentials: { user: "pass" }, realm: "example.org",
      debugLevel: "FATAL" });
    server.start();
    process.on("SIGTERM", () => { server.stop(); process.exit(0); });`;
  const p = launch("node-turn", process.execPath, ["-e", script], port);
  await waitStun(p);
  return p;
}

/** coturn's UDP echo peer (it also echoes on port + 1). */
export async function startEchoPeer(): Promise<Proc> {
  // turnutils_peer takes port and port + 1; find a pair that looks free.
  for (let i = 0; i < 20; i++) {
    const port = await freeUdpPort();
    if (port % 2 !== 0 || port >= 65534) continue;
    const p = launch("turnutils_peer", "turnutils_peer", ["-L", "127.0.0.1", "-p", String(port)], port);
    await new Promise((r) => setTimeout(r, 200));
    if (p.child.exitCode === null) return p;
    await p.stop();
  }
  throw new Error("could not start turnutils_peer");
}

/** Runs `cmd` to completion (killed after `timeoutMs`); resolves with its output. */
export function runToEnd(cmd: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; out: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: performance.now() - t0 });
    });
  });
}
