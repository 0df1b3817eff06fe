/**
 * ICE benchmarks (DESIGN.md "Benchmarks"), one JSON line each:
 *
 * - `ice-connect-rtts`: round trips from "both sides have each other's credentials and
 *   candidates" to both agents `connected`, two agents on 127.0.0.1 with every UDP datagram held
 *   {@link ONE_WAY_MS} ms before it is sent (so one round trip is 2 × that). icekit's
 *   `createIceAgent` against werift-ice's `Connection` under the same delay. The delay is added
 *   in user space, by deferring `dgram.Socket.prototype.send`, because this kernel has no netem
 *   (`tc qdisc ... netem` answers "Specified qdisc kind is unknown" and there is no module to
 *   load); both libraries send through that method, so both pay the same delay. Lower is better:
 *   `ratio` is peer/icekit.
 * - `ice-connect-rtts-sim`: the same measure on the simulator, two agents behind
 *   port-restricted cone NATs with host and server-reflexive candidates, in virtual time (no
 *   peer: no other implementation runs on the simulator).
 * - `ice-mux-agents`: N controlled agents on one `createIceMux` port, connected to N controlling
 *   agents in a child process (so this process's heap and CPU count only the mux side); icekit's
 *   value is how many connected. The time to connect them all and heapUsed per connected agent
 *   go to stderr.
 * - `ice-idle-cpu-per-1000`: this process's CPU (user + system, ms per s) while those agents sit
 *   connected and idle (consent freshness only), scaled to 1000 agents.
 *
 * @module
 */
import { fork } from "node:child_process";
import dgram from "node:dgram";
import { fileURLToPath } from "node:url";
import { Connection } from "werift-ice";
import { createIceAgent, type NodeIceAgent } from "../src/node/ice";
import { createIceMux, type MuxedIceAgent } from "../src/node/ice-mux";
import { portRestrictedCone } from "../src/sim/index";
import { scenario, sendText } from "../test/ice/harness";
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
// Real sockets with a user-space delay

/** Defers every dgram send by `ms`; returns the function that restores the original. */
function delaySends(ms: number): () => void {
  const proto = dgram.Socket.prototype as unknown as { send: (...args: unknown[]) => void };
  const original = proto.send;
  proto.send = function (this: dgram.Socket, ...args: unknown[]) {
    setTimeout(() => {
      try {
        original.apply(this, args);
      } catch {
        // Closed meanwhile: a lost datagram, as on a wire.
      }
    }, ms);
  };
  return () => {
    proto.send = original;
  };
}

async function icekitRealRun(): Promise<number> {
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
    const t0 = performance.now();
    const give = (to: NodeIceAgent, from: NodeIceAgent, lines: string[]) => {
      to.setRemoteCredentials(from.localUfrag, from.localPwd);
      for (const c of lines) to.addRemoteCandidate(c);
      to.endOfRemoteCandidates();
    };
    give(a, b, B.candidates);
    give(b, a, A.candidates);
    await within(Promise.all([A.connected, B.connected]), 20_000, "icekit: not connected");
    return Math.max(...connectedAt) - t0;
  } finally {
    a.close();
    b.close();
  }
}

async function weriftRealRun(): Promise<number> {
  const opts = { useIpv6: false, additionalHostAddresses: ["127.0.0.1"] };
  const a = new Connection(true, opts);
  const b = new Connection(false, opts);
  // No STUN server: werift's default is a public one (INTEROP.md).
  delete (a as { stunServer?: unknown }).stunServer;
  delete (b as { stunServer?: unknown }).stunServer;
  try {
    await Promise.all([a.gatherCandidates(), b.gatherCandidates()]);
    const t0 = performance.now();
    for (const [to, from] of [[a, b], [b, a]] as const) {
      to.setRemoteParams({ iceLite: false, usernameFragment: from.localUsername, password: from.localPassword });
      for (const c of from.localCandidates) await to.addRemoteCandidate(c);
      await to.addRemoteCandidate(undefined);
    }
    const times: number[] = [];
    await within(Promise.all([a.connect().then(() => times.push(performance.now())), b.connect().then(() => times.push(performance.now()))]), 20_000, "werift-ice: not connected");
    return Math.max(...times) - t0;
  } finally {
    await Promise.allSettled([a.close(), b.close()]);
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

  // Unconnected warm-up of both (module loading, JIT), then interleaved runs under the delay.
  await icekitRealRun();
  await weriftRealRun();
  const restore = delaySends(ONE_WAY_MS);
  const ours: number[] = [];
  const theirs: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      ours.push(await icekitRealRun());
      theirs.push(await weriftRealRun());
    }
  } finally {
    restore();
  }
  const rtt = 2 * ONE_WAY_MS;
  const x = round2(median(ours) / rtt);
  const y = round2(median(theirs) / rtt);
  log(`  ice-connect-rtts: loopback, ${ONE_WAY_MS} ms added each way: icekit ${ours.map(Math.round).join(" ")} ms, werift-ice ${theirs.map(Math.round).join(" ")} ms`);
  results.push({ bench: "ice-connect-rtts", unit: "round trips", icekit: x, peer: "werift-ice", peerValue: y, ratio: round2(y / x) });
  return results;
}

// ---------------------------------------------------------------------------------------------
// Many agents on one mux port

async function muxAgents(quick: boolean): Promise<IceBenchResult[]> {
  const n = quick ? 100 : 1000;
  const idleMs = quick ? 3000 : 5000;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const mux = await createIceMux({ address: "127.0.0.1" });
  const child = fork(fileURLToPath(new URL("./ice-mux-child.ts", import.meta.url)), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const agents: MuxedIceAgent[] = [];
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
    // Let the last checks and nominations settle, then measure the idle heap and CPU.
    await sleep(500);
    gc?.();
    const heapPerAgent = (process.memoryUsage().heapUsed - heap0) / Math.max(1, connected);
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    await sleep(idleMs);
    const cpu = process.cpuUsage(cpu0);
    const secs = (performance.now() - w0) / 1000;
    const cpuMsPerS = (cpu.user + cpu.system) / 1000 / secs;
    const per1000 = round2((cpuMsPerS * 1000) / Math.max(1, connected));
    const stillUp = agents.filter((a) => a.state === "connected" || a.state === "completed").length;
    log(`  ice-mux-agents: ${connected}/${n} connected in ${Math.round(connectMs)} ms on one port; heapUsed ${Math.round(heapPerAgent)} B per connected agent; mux stats ${JSON.stringify(mux.stats())}`);
    log(`  ice-idle-cpu-per-1000: ${round2(cpuMsPerS)} ms CPU/s over ${secs.toFixed(1)} s for ${connected} idle agents (${stillUp} still connected at the end)`);
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
  }
}

/** Runs the suite; `quick` uses fewer runs and 100 mux agents instead of 1000. */
export async function run(quick: boolean): Promise<IceBenchResult[]> {
  return [...(await connectRtts(quick)), ...(await muxAgents(quick))];
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await run(process.argv.includes("--quick"))) console.log(JSON.stringify(r));
}
