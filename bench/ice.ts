/**
 * ICE benchmarks (DESIGN.md "Benchmarks"), one JSON line each:
 *
 * - `ice-connect-rtts`: round trips from "both sides have each other's credentials and
 *   candidates" to both agents `connected`, two agents on 127.0.0.1 whose every datagram crosses
 *   a user-space relay that holds it {@link ONE_WAY_MS} ms (bench/delay-relay.ts; one round trip
 *   is 2 × that). icekit's `createIceAgent` against werift-ice's `Connection` (this process) and
 *   aioice's `Connection` (a Python child, bench/aioice-connect.py) through the same relay: each
 *   side is told the other's candidates rewritten to relay ports. The relay stands in for netem,
 *   which this kernel lacks (`tc qdisc ... netem` answers "Specified qdisc kind is unknown" and
 *   there is no module to load). Lower is better: `ratio` is peer/icekit.
 * - `ice-connect-rtts-sim`: the same measure on the simulator, two agents behind
 *   port-restricted cone NATs with host and server-reflexive candidates, in virtual time (no
 *   peer: no other implementation runs on the simulator).
 * - `ice-mux-agents`: N controlled agents on one `createIceMux` port, connected to N controlling
 *   agents in a child process (so this process's heap and CPU count only the mux side); icekit's
 *   value is how many connected. The time to connect them all and heapUsed per connected agent
 *   go to stderr.
 * - `ice-idle-cpu-per-1000`: this process's CPU (user + system, ms per s) while those agents sit
 *   connected and idle (consent freshness only), scaled to 1000 agents, measured once the first
 *   consent round is over ({@link IDLE_SKIP_MS}). stderr adds the datagrams per second, the CPU
 *   per datagram, and the floor: the same datagrams with no ICE (bench/udp-floor-child.ts).
 *   `muxAgents(quick, n, idleMs)` is exported for one-off runs at other sizes.
 *
 * @module
 */
import { fork, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Candidate, Connection } from "werift-ice";
import { IcePacer } from "../src/ice/pacer";
import { createIceAgent, type NodeIceAgent } from "../src/node/ice";
import { createIceMux, type MuxedIceAgent } from "../src/node/ice-mux";
import { portRestrictedCone } from "../src/sim/index";
import { scenario, sendText } from "../test/ice/harness";
import { DelayRelay } from "./delay-relay";
import { runFloorSide } from "./udp-floor-child";
import { median } from "./harness";

/** A line of this suite: a lower-is-better cost, or a count with no peer. */
export interface IceBenchResult {
  bench: string;
  unit: "round trips" | "agents" | "ms CPU per s" | "virtual ms";
  icekit: number;
  peer: string;
  peerValue: number | null;
  /** peer/icekit (above 1: icekit better); null without a peer. */
  ratio: number | null;
}

/** One-way delay added to every datagram on the real sockets, ms. */
const ONE_WAY_MS = 25;
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const round2 = (x: number): number => Math.round(x * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `p`, or a rejection after `ms`; the timer is cleared either way so nothing is left pending. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} in ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Simulator

/** One run on the simulator: virtual ms to both connected, and the measured RTT of the path. */
function simRun(seed: number, linkDelay: number): { ms: number; rtt: number } {
  const cone = { kind: "nat", behavior: portRestrictedCone() } as const;
  const s = scenario({ seed, link: { delay: linkDelay }, a: { placement: cone }, b: { placement: cone } });
  s.pauseSignaling(true);
  s.a.agent.startGathering(s.net.now);
  s.b.agent.startGathering(s.net.now);
  s.a.att.drive();
  s.b.att.drive();
  const gathered = (p: typeof s.a) => p.events.some((e) => e.type === "gathering" && e.state === "complete");
  if (!s.net.runUntil(() => gathered(s.a) && gathered(s.b), { timeout: 30_000 })) throw new Error("sim: gathering did not complete");
  // Both sides get everything at the same instant t0.
  const t0 = s.net.now;
  for (const [to, from] of [[s.a, s.b], [s.b, s.a]] as const) {
    to.agent.setRemoteCredentials(from.agent.localUfrag, from.agent.localPwd);
    for (const e of from.events) if (e.type === "local-candidate") to.agent.addRemoteCandidate(s.net.now, e.line);
    to.agent.endOfRemoteCandidates(s.net.now);
  }
  s.a.att.drive();
  s.b.att.drive();
  const up = (st: string) => st === "connected" || st === "completed";
  if (!s.net.runUntil(() => up(s.a.agent.state) && up(s.b.agent.state), { timeout: 30_000 })) throw new Error(`sim: not connected (${s.a.agent.state}/${s.b.agent.state})`);
  const ms = s.net.now - t0;
  // The path's round trip: a datagram there and one back over the selected pair.
  const t1 = s.net.now;
  sendText(s.net, s.a, "ping");
  s.net.runUntil(() => s.b.received.includes("ping"), { timeout: 10_000 });
  sendText(s.net, s.b, "pong");
  s.net.runUntil(() => s.a.received.includes("pong"), { timeout: 10_000 });
  return { ms, rtt: s.net.now - t1 };
}

// ---------------------------------------------------------------------------------------------
// Real sockets through the delay relay

async function icekitRealRun(relay: DelayRelay): Promise<number> {
  const connectedAt: number[] = [];
  const make = (role: "controlling" | "controlled") => {
    let gathered!: () => void;
    const done = new Promise<void>((r) => (gathered = r));
    let up!: () => void;
    const connected = new Promise<void>((r) => (up = r));
    const candidates: string[] = [];
    const agent = createIceAgent({
      role,
      hosts: ["127.0.0.1"],
      // Two hosts in the real world: each its own pacer, not this process's shared one (RFC 8445 §14.2 is per implementation instance).
      agent: { pacer: new IcePacer() },
      onEvent: (e) => {
        if (e.type === "local-candidate") candidates.push(e.line);
        if (e.type === "gathering" && e.state === "complete") gathered();
        if (e.type === "state" && (e.state === "connected" || e.state === "completed")) {
          connectedAt.push(performance.now());
          up();
        }
      },
    });
    return { agent, done, connected, candidates };
  };
  const A = make("controlling");
  const B = make("controlled");
  const a = await A.agent;
  const b = await B.agent;
  try {
    a.startGathering();
    b.startGathering();
    await Promise.all([A.done, B.done]);
    // Relay ports are bound before the clock starts.
    const toA = await Promise.all(B.candidates.map((c) => relay.rewrite(c)));
    const toB = await Promise.all(A.candidates.map((c) => relay.rewrite(c)));
    const t0 = performance.now();
    const give = (to: NodeIceAgent, from: NodeIceAgent, lines: string[]) => {
      to.setRemoteCredentials(from.localUfrag, from.localPwd);
      for (const c of lines) to.addRemoteCandidate(c);
      to.endOfRemoteCandidates();
    };
    give(a, b, toA);
    give(b, a, toB);
    await within(Promise.all([A.connected, B.connected]), 20_000, "icekit: not connected");
    return Math.max(...connectedAt) - t0;
  } finally {
    a.close();
    b.close();
  }
}

async function weriftRealRun(relay: DelayRelay): Promise<number> {
  const opts = { useIpv6: false, additionalHostAddresses: ["127.0.0.1"] };
  const a = new Connection(true, opts);
  const b = new Connection(false, opts);
  // No STUN server: werift's default is a public one (INTEROP.md).
  delete (a as { stunServer?: unknown }).stunServer;
  delete (b as { stunServer?: unknown }).stunServer;
  try {
    await Promise.all([a.gatherCandidates(), b.gatherCandidates()]);
    const rewritten = async (c: Connection) => Promise.all(c.localCandidates.map(async (x) => Candidate.fromSdp(await relay.rewrite(x.toSdp()))));
    const toA = await rewritten(b);
    const toB = await rewritten(a);
    const t0 = performance.now();
    for (const [to, from, lines] of [[a, b, toA], [b, a, toB]] as const) {
      to.setRemoteParams({ iceLite: false, usernameFragment: from.localUsername, password: from.localPassword });
      for (const c of lines) await to.addRemoteCandidate(c);
      await to.addRemoteCandidate(undefined);
    }
    const times: number[] = [];
    await within(Promise.all([a.connect().then(() => times.push(performance.now())), b.connect().then(() => times.push(performance.now()))]), 20_000, "werift-ice: not connected");
    return Math.max(...times) - t0;
  } finally {
    await Promise.allSettled([a.close(), b.close()]);
  }
}

/** Debian's python3-aioice runs under the system Python (a pyenv `python3` first on PATH lacks it). */
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

/** bench/aioice-connect.py: two aioice agents per round, timed in Python (see that file). */
class AioicePeer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  #stderr = "";

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    child.stderr.on("data", (d: Buffer) => void (this.#stderr = (this.#stderr + d.toString()).slice(-2000)));
    this.#lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  /** Starts the child, or says why aioice cannot run here. */
  static async start(): Promise<AioicePeer | string> {
    const check = spawn(PYTHON, ["-c", "import aioice; print(aioice.__version__)"]);
    let out = "";
    check.stdout.on("data", (d: Buffer) => (out += d.toString()));
    check.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => {
      check.on("close", r);
      check.on("error", () => r(-1));
    });
    if (code !== 0) return `${PYTHON} cannot import aioice (apt-get install python3-aioice): ${out.trim().split("\n").pop() ?? ""}`;
    const script = fileURLToPath(new URL("./aioice-connect.py", import.meta.url));
    return new AioicePeer(spawn(PYTHON, [script], { stdio: ["pipe", "pipe", "pipe"] }));
  }

  async #request(m: unknown): Promise<{ type: string; [k: string]: unknown }> {
    this.#child.stdin.write(`${JSON.stringify(m)}\n`);
    const next = await within(this.#lines.next(), 30_000, "aioice: no answer");
    if (next.done === true) throw new Error(`aioice: the child exited: ${this.#stderr.trim()}`);
    return JSON.parse(next.value) as { type: string; [k: string]: unknown };
  }

  async run(relay: DelayRelay): Promise<number> {
    const c = (await this.#request({ type: "gather" })) as { type: string; a: string[]; b: string[] };
    const toA = await Promise.all(c.b.map((x) => relay.rewrite(x)));
    const toB = await Promise.all(c.a.map((x) => relay.rewrite(x)));
    const r = await this.#request({ type: "connect", a: toA, b: toB });
    if (r.type !== "result") throw new Error(`aioice: ${String(r.message)}`);
    return r.ms as number;
  }

  close(): void {
    this.#child.stdin.end(`${JSON.stringify({ type: "quit" })}\n`);
    setTimeout(() => this.#child.kill(), 2000).unref();
  }
}

async function connectRtts(quick: boolean): Promise<IceBenchResult[]> {
  const runs = quick ? 5 : 15;
  const results: IceBenchResult[] = [];

  const sim = Array.from({ length: runs }, (_, i) => simRun(i + 1, 25));
  const simMs = median(sim.map((r) => r.ms));
  const simRtt = median(sim.map((r) => r.rtt));
  log(`  ice-connect-rtts-sim: cone NATs, host+srflx, path RTT ${simRtt} virtual ms: ${simMs} virtual ms to both connected (runs: ${sim.map((r) => r.ms).join(" ")})`);
  results.push({ bench: "ice-connect-rtts-sim", unit: "round trips", icekit: round2(simMs / simRtt), peer: "none", peerValue: null, ratio: null });

  // A fresh relay per round, so no proxy outlives its agents. The first round of each side is
  // a warm-up (module loading, JIT, Python's imports), then interleaved runs.
  const round = async <T>(f: (relay: DelayRelay) => Promise<T>): Promise<T> => {
    const relay = new DelayRelay(ONE_WAY_MS);
    try {
      return await f(relay);
    } finally {
      relay.close();
    }
  };
  const aioiceOrWhy = await AioicePeer.start();
  const aioice = typeof aioiceOrWhy === "string" ? undefined : aioiceOrWhy;
  if (aioice === undefined) log(`  warning: ice-connect-rtts: aioice not measured: ${String(aioiceOrWhy)}`);
  const ours: number[] = [];
  const werift: number[] = [];
  const theirs: number[] = [];
  try {
    await round(icekitRealRun);
    await round(weriftRealRun);
    if (aioice !== undefined) await round((r) => aioice.run(r));
    for (let i = 0; i < runs; i++) {
      ours.push(await round(icekitRealRun));
      werift.push(await round(weriftRealRun));
      if (aioice !== undefined) theirs.push(await round((r) => aioice.run(r)));
    }
  } finally {
    aioice?.close();
  }
  const rtt = 2 * ONE_WAY_MS;
  const x = round2(median(ours) / rtt);
  const ms = (v: number[]) => v.map(Math.round).join(" ");
  log(`  ice-connect-rtts: loopback through a relay holding each datagram ${ONE_WAY_MS} ms: icekit ${ms(ours)} ms; werift-ice ${ms(werift)} ms${aioice ? `; aioice ${ms(theirs)} ms` : ""}`);
  const y = round2(median(werift) / rtt);
  results.push({ bench: "ice-connect-rtts", unit: "round trips", icekit: x, peer: "werift-ice", peerValue: y, ratio: round2(y / x) });
  if (aioice !== undefined) {
    const z = round2(median(theirs) / rtt);
    results.push({ bench: "ice-connect-rtts", unit: "round trips", icekit: x, peer: "aioice", peerValue: z, ratio: round2(z / x) });
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Many agents on one mux port

/**
 * When the idle window starts, after the last agent connected: past the first consent check of
 * every agent (RFC 7675 §5.1: at most 1.2 × 5 s after selection), so the window holds steady-state
 * consent traffic. (It used to start 0.5 s after and last 3 s in quick runs: no consent check fell
 * in it at all, so 100 agents read ~1-3 ms/s, the cost of doing nothing.)
 */
const IDLE_SKIP_MS = 6000;

/** CPU (ms per s of wall time) of this process while `ms` pass, and datagrams per second in. */
async function cpuOver(ms: number, received: () => number): Promise<{ cpuMsPerS: number; inPerS: number; secs: number }> {
  const r0 = received();
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await sleep(ms);
  const cpu = process.cpuUsage(cpu0);
  const secs = (performance.now() - w0) / 1000;
  return { cpuMsPerS: (cpu.user + cpu.system) / 1000 / secs, inPerS: (received() - r0) / secs, secs };
}

/**
 * The floor: the same datagrams with no ICE (bench/udp-floor-child.ts), this process against a
 * child, for `ms` after one consent period of warm-up. Printed on stderr beside icekit's figure.
 */
async function udpFloor(n: number, ms: number): Promise<{ cpuMsPerS: number; inPerS: number }> {
  const child = fork(fileURLToPath(new URL("./udp-floor-child.ts", import.meta.url)), ["--udp-floor-child"], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let childPort: number | undefined;
  const side = await runFloorSide(n, () => childPort);
  try {
    const port = new Promise<number>((resolve) => child.on("message", (m: { type: string; port: number }) => m.type === "port" && resolve(m.port)));
    child.send({ type: "start", n, port: side.port });
    childPort = await within(port, 10_000, "udp floor child");
    await sleep(5000);
    return await cpuOver(ms, side.received);
  } finally {
    side.stop();
    if (child.connected) child.send({ type: "close" });
    if (child.exitCode === null && child.signalCode === null) {
      await within(new Promise((r) => child.once("exit", r)), 3000, "floor child exit").catch(() => child.kill("SIGKILL"));
    }
  }
}

/** `ice-mux-agents` and `ice-idle-cpu-per-1000`: `n` agents on one mux port, idle for `idleMs`. */
export async function muxAgents(quick: boolean, n = quick ? 100 : 1000, idleMs = quick ? 5000 : 10_000): Promise<IceBenchResult[]> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const mux = await createIceMux({ address: "127.0.0.1" });
  const child = fork(fileURLToPath(new URL("./ice-mux-child.ts", import.meta.url)), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const agents: MuxedIceAgent[] = [];
  let floorOf: { n: number; ms: number; perDatagram: (cpuMsPerS: number, inPerS: number) => string } | undefined;
  let connected = 0;
  let allUp!: () => void;
  const upAll = new Promise<void>((r) => (allUp = r));
  try {
    const params: { ufrag: string; pwd: string; candidates: string[] }[] = [];
    for (let i = 0; i < n; i++) {
      const candidates: string[] = [];
      let up = false;
      const a = mux.createAgent({
        role: "controlled",
        onEvent: (e) => {
          if (e.type === "local-candidate") candidates.push(e.line);
          if (e.type === "state" && (e.state === "connected" || e.state === "completed") && !up) {
            up = true;
            if (++connected === n) allUp();
          }
        },
      });
      a.startGathering();
      agents.push(a);
      params.push({ ufrag: a.localUfrag, pwd: a.localPwd, candidates });
    }
    const reply = new Promise<{ ufrag: string; pwd: string; candidates: string[] }[]>((resolve) => {
      child.on("message", (m: { type: string; agents?: { ufrag: string; pwd: string; candidates: string[] }[] }) => {
        if (m.type === "params") resolve(m.agents!);
      });
    });
    const t0 = performance.now();
    child.send({ type: "peers", agents: params, timeoutMs: 60_000 });
    const remote = await reply;
    remote.forEach((p, i) => {
      const a = agents[i]!;
      a.setRemoteCredentials(p.ufrag, p.pwd);
      for (const c of p.candidates) a.addRemoteCandidate(c);
      a.endOfRemoteCandidates();
    });
    await within(upAll, 60_000, `mux: ${connected}/${n} connected`).catch((e: Error) => log(`  warning: ${e.message}`));
    const connectMs = performance.now() - t0;
    // Let the last checks and nominations settle, then measure the idle heap; then CPU once the
    // first consent round is over (IDLE_SKIP_MS).
    await sleep(500);
    gc?.();
    const heapPerAgent = (process.memoryUsage().heapUsed - heap0) / Math.max(1, connected);
    await sleep(IDLE_SKIP_MS - 500);
    const routed = (): number => {
      const st = mux.stats();
      return st.byUfrag + st.byTransaction + st.byAddress + st.dropped;
    };
    const idle = await cpuOver(idleMs, routed);
    const per1000 = round2((idle.cpuMsPerS * 1000) / Math.max(1, connected));
    const stillUp = agents.filter((a) => a.state === "connected" || a.state === "completed").length;
    const perDatagram = (cpuMsPerS: number, inPerS: number): string => (inPerS > 0 ? `${Math.round((cpuMsPerS * 1000) / inPerS)} µs CPU per datagram in (and the one sent for it)` : "no datagrams");
    log(`  ice-mux-agents: ${connected}/${n} connected in ${Math.round(connectMs)} ms on one port; heapUsed ${Math.round(heapPerAgent)} B per connected agent; mux stats ${JSON.stringify(mux.stats())}`);
    log(
      `  ice-idle-cpu-per-1000: ${round2(idle.cpuMsPerS)} ms CPU/s over ${idle.secs.toFixed(1)} s for ${connected} idle agents, ${Math.round(idle.inPerS)} datagrams/s in: ${perDatagram(idle.cpuMsPerS, idle.inPerS)} (${stillUp} still connected at the end; load average ${os.loadavg()[0]!.toFixed(2)})`,
    );
    // The same datagrams without ICE, after the agents are gone (below).
    floorOf = { n: connected, ms: idleMs, perDatagram };
    return [
      { bench: "ice-mux-agents", unit: "agents", icekit: connected, peer: "none", peerValue: null, ratio: null },
      { bench: "ice-idle-cpu-per-1000", unit: "ms CPU per s", icekit: per1000, peer: "none", peerValue: null, ratio: null },
    ];
  } finally {
    for (const a of agents) a.close();
    mux.close();
    if (child.connected) child.send({ type: "close" });
    if (child.exitCode === null && child.signalCode === null) {
      await within(new Promise((r) => child.once("exit", r)), 3000, "child exit").catch(() => child.kill("SIGKILL"));
    }
    if (floorOf !== undefined && floorOf.n > 0) {
      const of = floorOf;
      await udpFloor(of.n, of.ms).then(
        (f) =>
          log(
            `  ice-idle-cpu-per-1000: floor (the same datagrams with no ICE, plain dgram, bench/udp-floor-child.ts): ${round2(f.cpuMsPerS)} ms CPU/s for ${of.n} virtual agents, ${round2((f.cpuMsPerS * 1000) / of.n)} per 1000, ${Math.round(f.inPerS)} datagrams/s in: ${of.perDatagram(f.cpuMsPerS, f.inPerS)}`,
          ),
        (e: Error) => log(`  warning: ice-idle-cpu-per-1000: floor not measured: ${e.message}`),
      );
    }
  }
}

/** Runs the suite; `quick` uses fewer runs and 100 mux agents instead of 1000. */
export async function run(quick: boolean): Promise<IceBenchResult[]> {
  return [...(await connectRtts(quick)), ...(await muxAgents(quick))];
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await run(process.argv.includes("--quick"))) console.log(JSON.stringify(r));
}
