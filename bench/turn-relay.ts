/**
 * TURN relay throughput on loopback: icekit's TURN server (the built CLI, in a child process)
 * beside coturn's `turnserver` and node-turn 0.0.6, plus icekit's heap per idle allocation.
 * bench/README.md ("turn-relay") has the method; this file prints nothing on stdout itself.
 *
 * 1. `turn-relay-uclient`: coturn's `turnutils_uclient -m 8 -n N -z 0 -l 120 -c` (ChannelData)
 *    against icekit and coturn, echoed by `turnutils_peer`. Packets/s = echoes delivered per
 *    second of steady traffic, read from uclient's per-second progress lines (the first and last,
 *    partial, seconds left out). uclient is killed once its counters stop moving, instead of
 *    waiting out its ~10 s grace for lost packets; loss = sent - received at that point.
 * 2. `turn-relay-icekit-client`: our load generator on icekit's client (connectTurn), 4
 *    allocations, a window of 32 packets of 120 bytes in flight each, same echo peer, against
 *    icekit, coturn (ChannelData: bindChannel) and node-turn (Send/Data indications: node-turn
 *    has no ChannelData path, so no channel is bound there; icekit runs that way too for the
 *    node-turn line).
 * 3. `turn-heap-per-allocation`: bench/turn-heap-child.ts, in its own process.
 *
 * Needs `dist/` (`npx tsup`), coturn's tools on PATH and node-turn installed.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { connectTurn } from "../src/node/index";
import type { TurnConnection } from "../src/node/index";
import { median } from "./harness";
import type { Proc } from "./turn-procs";
import { ROOT, startCoturn, startEchoPeer, startIcekit, startNodeTurn, stopAll } from "./turn-procs";

/** One line of this suite: like BenchResult, with packets/s or bytes, and possibly no peer. */
export interface TurnBenchResult {
  bench: string;
  unit: "packets/s" | "bytes";
  icekit: number;
  peer: string;
  peerValue: number | null;
  /** icekit/peer for packets/s, peer/icekit for bytes (above 1: icekit better); null without a peer. */
  ratio: number | null;
}

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const ratio = (a: number, b: number): number => Number((a / b).toFixed(3));
const pct = (lost: number, sent: number): string => (sent > 0 ? `${((100 * lost) / sent).toFixed(2)}%` : "n/a");

// ---------------------------------------------------------------------------------------------
// 1. turnutils_uclient

interface UclientRun {
  readonly rate: number;
  readonly sent: number;
  readonly received: number;
}

const PROGRESS = /^(\d+): : start_mclient: msz=\d+, tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/;

/** One uclient run against `server`; kills uclient once its counters stall. */
function uclient(serverPort: number, peerPort: number, n: number, clients: number): Promise<UclientRun> {
  return new Promise((resolve, reject) => {
    const args = ["-u", "user", "-w", "pass", "-e", "127.0.0.1", "-r", String(peerPort), "-m", String(clients), "-n", String(n), "-z", "0", "-l", "120", "-c", "-p", String(serverPort), "127.0.0.1"];
    const child = spawn("turnutils_uclient", args, { stdio: ["ignore", "pipe", "pipe"] });
    const points: { s: number; sent: number; recv: number }[] = [];
    let out = "";
    let lastChange = performance.now();
    let buf = "";
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.length > 100_000) out = out.slice(-50_000);
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const m = PROGRESS.exec(line);
        if (!m) continue;
        const p = { s: Number(m[1]), sent: Number(m[2]), recv: Number(m[3]) };
        const prev = points[points.length - 1];
        if (!prev || prev.recv !== p.recv || prev.sent !== p.sent) lastChange = performance.now();
        points.push(p);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", reject);
    const total = n * clients;
    const watch = setInterval(() => {
      const last = points[points.length - 1];
      const stalled = performance.now() - lastChange > 1500;
      if (last && last.sent >= total && stalled) child.kill("SIGKILL");
      else if (last && last.recv > 0 && stalled) child.kill("SIGKILL");
    }, 100);
    const deadline = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("exit", () => {
      clearInterval(watch);
      clearTimeout(deadline);
      const final = points[points.length - 1];
      if (!final || final.recv === 0) return reject(new Error(`uclient relayed nothing:\n${out.slice(-2000)}`));
      // Steady traffic: from the first line with echoes to the last line before the count
      // reached its final value (both partial seconds at the ends are left out).
      const a = points.findIndex((p) => p.recv > 0);
      const end = points.findIndex((p) => p.recv === final.recv);
      const prev = points[end - 1]!;
      const first = points[a]!;
      const rate = prev.s > first.s ? (prev.recv - first.recv) / (prev.s - first.s) : final.recv / Math.max(1, points[end]!.s - first.s + 1);
      resolve({ rate, sent: final.sent, received: final.recv });
    });
  });
}

async function uclientSuite(quick: boolean, peerPort: number): Promise<TurnBenchResult> {
  const runs = quick ? 1 : 3;
  const n = quick ? 4000 : 8000;
  // 8, not 12: icekit's CLI keeps the default quota of 16 allocations per user, and each uclient
  // client holds two (EVEN-PORT + its RESERVATION-TOKEN).
  const clients = 8;
  const by: Record<"icekit" | "coturn", UclientRun[]> = { icekit: [], coturn: [] };
  for (let r = 0; r < runs; r++) {
    for (const name of ["icekit", "coturn"] as const) {
      // A fresh server per run: a killed uclient leaves its allocations (and relay ports) held.
      const server = name === "icekit" ? await startIcekit() : await startCoturn();
      try {
        by[name].push(await uclient(server.port, peerPort, n, clients));
      } finally {
        await server.stop();
      }
    }
  }
  const med = (xs: UclientRun[]): number => Math.round(median(xs.map((x) => x.rate)));
  const loss = (xs: UclientRun[]): string => xs.map((x) => `${x.sent - x.received}/${x.sent} (${pct(x.sent - x.received, x.sent)})`).join(", ");
  log(`  turn-relay-uclient: uclient -m ${clients} -n ${n} -z 0 -l 120 -c, ${runs} run(s) each; lost (sent - echoed): icekit ${loss(by.icekit)}; coturn ${loss(by.coturn)}`);
  const icekit = med(by.icekit);
  const coturn = med(by.coturn);
  return { bench: "turn-relay-uclient", unit: "packets/s", icekit, peer: "coturn", peerValue: coturn, ratio: ratio(icekit, coturn) };
}

// ---------------------------------------------------------------------------------------------
// 2. Our load generator on icekit's client

interface BlastRun {
  readonly rate: number;
  readonly sent: number;
  readonly received: number;
}

/**
 * `clients` allocations on `serverPort`, each keeping `window` 120-byte packets in flight to the
 * echo peer (ChannelData when `channel`, else Send indications); echoes counted for `ms` after
 * `warmMs`. A stalled window (no echo for 20 ms: packets lost) is refilled.
 */
async function blast(serverPort: number, peerPort: number, channel: boolean, ms: number, warmMs: number, clients = 4, window = 32): Promise<BlastRun> {
  const peer = `127.0.0.1:${peerPort}`;
  const conns: TurnConnection[] = [];
  try {
    for (let i = 0; i < clients; i++) {
      const c = await connectTurn(`turn:127.0.0.1:${serverPort}`, { username: "user", password: "pass", stun: { rto: { initialRto: 200 } } });
      conns.push(c);
      if (channel) await c.bindChannel(peer);
      else await c.createPermission(peer);
    }
    const payload = new Uint8Array(120).fill(7);
    let counting = false;
    let sent = 0;
    let received = 0;
    let running = true;
    const inflight = new Array<number>(clients).fill(0);
    const rx = new Array<number>(clients).fill(0);
    const seen = new Array<number>(clients).fill(0);
    const fill = (i: number): void => {
      const c = conns[i]!;
      while (running && inflight[i]! < window) {
        inflight[i]!++;
        c.send(peer, payload);
        if (counting) sent++;
      }
    };
    conns.forEach((c, i) =>
      c.onData(() => {
        rx[i]!++;
        if (counting) received++;
        if (inflight[i]! > 0) inflight[i]!--;
        fill(i);
      }),
    );
    const refill = setInterval(() => {
      for (let i = 0; i < clients; i++) {
        if (rx[i] === seen[i]) {
          inflight[i] = 0;
          fill(i);
        }
        seen[i] = rx[i]!;
      }
    }, 20);
    for (let i = 0; i < clients; i++) fill(i);
    await new Promise((r) => setTimeout(r, warmMs));
    counting = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    const rate = (received * 1000) / (performance.now() - t0);
    const receivedAtEnd = received;
    running = false;
    clearInterval(refill);
    // Echoes of the last packets still on their way count toward loss accounting, not the rate.
    await new Promise((r) => setTimeout(r, 200));
    counting = false;
    void receivedAtEnd;
    return { rate, sent, received };
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  }
}

async function clientSuite(quick: boolean, peerPort: number, profileDir: string | undefined): Promise<TurnBenchResult[]> {
  const runs = quick ? 1 : 3;
  const ms = quick ? 1500 : 3000;
  const warm = quick ? 300 : 700;
  type Key = "icekit-ch" | "coturn" | "icekit-send" | "node-turn";
  const by: Record<Key, BlastRun[]> = { "icekit-ch": [], coturn: [], "icekit-send": [], "node-turn": [] };
  const starters: Record<"icekit" | "coturn" | "node-turn", () => Promise<Proc>> = {
    icekit: () => startIcekit(profileDir ? { cpuProfDir: profileDir } : {}),
    coturn: startCoturn,
    "node-turn": startNodeTurn,
  };
  const servers: Partial<Record<"icekit" | "coturn" | "node-turn", Proc>> = {};
  try {
    for (const k of ["icekit", "coturn", "node-turn"] as const) servers[k] = await starters[k]();
    for (let r = 0; r < runs; r++) {
      by["icekit-ch"].push(await blast(servers.icekit!.port, peerPort, true, ms, warm));
      by.coturn.push(await blast(servers.coturn!.port, peerPort, true, ms, warm));
      by["icekit-send"].push(await blast(servers.icekit!.port, peerPort, false, ms, warm));
      by["node-turn"].push(await blast(servers["node-turn"]!.port, peerPort, false, ms, warm));
    }
  } finally {
    for (const p of Object.values(servers)) await p.stop();
  }
  const med = (xs: BlastRun[]): number => Math.round(median(xs.map((x) => x.rate)));
  const loss = (xs: BlastRun[]): string => xs.map((x) => pct(Math.max(0, x.sent - x.received), x.sent)).join(" ");
  log(`  turn-relay-icekit-client: 4 allocations x window 32 x 120 B, ${runs} run(s) of ${ms} ms; loss: icekit ChannelData ${loss(by["icekit-ch"])}, coturn ${loss(by.coturn)}, icekit Send ${loss(by["icekit-send"])}, node-turn ${loss(by["node-turn"])}`);
  log(`  turn-relay-icekit-client: the coturn line is ChannelData both sides; the node-turn line is Send/Data indications both sides (node-turn relays no ChannelData)`);
  const ch = med(by["icekit-ch"]);
  const co = med(by.coturn);
  const sd = med(by["icekit-send"]);
  const nt = med(by["node-turn"]);
  return [
    { bench: "turn-relay-icekit-client", unit: "packets/s", icekit: ch, peer: "coturn", peerValue: co, ratio: ratio(ch, co) },
    { bench: "turn-relay-icekit-client", unit: "packets/s", icekit: sd, peer: "node-turn", peerValue: nt, ratio: ratio(sd, nt) },
  ];
}

// ---------------------------------------------------------------------------------------------
// 3. Heap per allocation

async function heapSuite(quick: boolean): Promise<TurnBenchResult> {
  const n = quick ? 2000 : 10_000;
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", join(ROOT, "bench", "turn-heap-child.ts"), String(n)], { stdio: ["ignore", "pipe", "inherit"], cwd: ROOT });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const m = /"bytesPerAllocation":(\d+(?:\.\d+)?)/.exec(out);
  if (code !== 0 || !m) throw new Error(`turn-heap-child failed (${code}): ${out}`);
  log(`  turn-heap-per-allocation: ${n} allocations through the TurnServer engine (no sockets); ${out.trim()}; no peer measured (coturn would need ${n} real allocations)`);
  return { bench: "turn-heap-per-allocation", unit: "bytes", icekit: Math.round(Number(m[1])), peer: "none", peerValue: null, ratio: null };
}

// ---------------------------------------------------------------------------------------------

/**
 * Runs the three comparisons. `BENCH_TURN_CPU_PROF=DIR` runs the icekit server of the
 * load-generator comparison with `--cpu-prof` into DIR.
 */
export async function run(quick: boolean): Promise<TurnBenchResult[]> {
  const results: TurnBenchResult[] = [];
  const peer = await startEchoPeer();
  try {
    results.push(await uclientSuite(quick, peer.port));
    results.push(...(await clientSuite(quick, peer.port, process.env.BENCH_TURN_CPU_PROF)));
  } finally {
    await peer.stop();
    await stopAll();
  }
  results.push(await heapSuite(quick));
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const rs = await run(process.argv.includes("--quick"));
  for (const r of rs) console.log(JSON.stringify(r));
}
