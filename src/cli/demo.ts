/**
 * `icekit demo`: NAT traversal end to end on nothing but this machine.
 *
 * 1. icekit's own STUN and TURN servers on loopback (127.0.0.1, kernel-chosen ports);
 * 2. two ICE agents on real UDP sockets that gather candidates, trickle them to each other over
 *    an in-process signaling channel, check, select a pair and exchange datagrams;
 * 3. the simulator's NAT matrix (`icekit sim matrix`), compared with what RFC 4787 predicts.
 *
 * Exits 0 only if the agents connected, every datagram came back, and every matrix cell held.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { formatTransportAddress } from "../bytes/ip";
import type { IceAgentEvent } from "../ice/agent";
import type { IceCandidate } from "../ice/candidate";
import { createIceAgent } from "../node/ice";
import type { NodeIceAgent } from "../node/ice";
import { startStunServer } from "../node/stun-server";
import type { NodeStunServer } from "../node/stun-server";
import { startTurnServer } from "../node/turn-server";
import type { NodeTurnServer } from "../node/turn-server";
import { monotonicNow } from "../node/clock";
import { SEED_BEHAVIORS, runNatMatrix } from "../sim/matrix";
import type { MatrixCell } from "../sim/matrix";
import { parseArgs } from "./args";
import { toJsonLine } from "./output";
import type { CliIo } from "./output";
import { cellJson, formatMatrix, progress, summaryLine } from "./sim";

const PINGS = 5;
const TIMEOUT_MS = 10_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** `host  127.0.0.1:40001  2130706431  raddr -`, the seed article's candidate table row. */
function candidateRow(c: IceCandidate): string {
  const related = c.relatedAddress === undefined ? "-" : `${c.relatedAddress}:${c.relatedPort}`;
  return `${c.type.padEnd(6)} ${`${c.address}:${c.port}`.padEnd(22)} ${String(c.priority).padStart(10)}   ${related}`;
}

const label = (c: IceCandidate) => `${c.type} ${c.address}:${c.port}`;

/** Runs `icekit demo`. Returns the exit status. */
export async function demoCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { values: ["seed"] });
  const json = args.flags.has("json");
  const seed = Number(args.values.get("seed") ?? "1");
  const say = (text: string) => {
    if (!json) io.stdout(text);
  };
  const emit = (value: Record<string, unknown>) => {
    if (json) io.stdout(toJsonLine(value));
  };
  const problems: string[] = [];
  let done = false; // after the loopback run: the agents' closing events are not news

  // 1. Servers.
  let stun: NodeStunServer | undefined;
  let turn: NodeTurnServer | undefined;
  const agents: NodeIceAgent[] = [];
  try {
    stun = await startStunServer({ listen: { address: "127.0.0.1", port: 0 }, tcp: false });
    turn = await startTurnServer({
      listen: { address: "127.0.0.1", port: 0 },
      tcp: false,
      realm: "icekit.demo",
      users: { demo: "demo-password" },
      relayIp: "127.0.0.1",
      // Loopback peers are internal addresses, refused by default; this relay serves this machine only.
      allowPeer: ["127.0.0.0/8"],
    });
    const stunAddr = stun.udp[0]!;
    say("1. icekit's STUN and TURN servers on loopback");
    say(`   STUN server  udp ${formatTransportAddress(stunAddr)}`);
    say(`   TURN server  udp ${formatTransportAddress(turn.address)}  (realm icekit.demo, user demo, relaying from ${turn.relayIps.join(", ")})`);
    emit({ step: "servers", stun: stunAddr, turn: turn.address });

    // 2. Two agents on real sockets, signaled in-process.
    say("");
    say("2. Two ICE agents (alice controlling, bob controlled) on 127.0.0.1, trickling candidates to each other");
    say(`   ${"agent".padEnd(6)} ${"type".padEnd(6)} ${"address".padEnd(22)} ${"priority".padStart(10)}   related`);
    const names = ["alice", "bob"] as const;
    const echoed = new Map<string, number>();
    const sentAt = new Map<string, number>();
    const byName: Partial<Record<(typeof names)[number], NodeIceAgent>> = {};
    let failure: ((e: Error) => void) | undefined;
    let sawSrflx = false;
    const signal = (to: () => NodeIceAgent, fn: (a: NodeIceAgent) => void) => {
      // The signaling channel: delivered on a later turn of the event loop, as a socket would.
      setImmediate(() => {
        try {
          fn(to());
        } catch (e) {
          failure?.(e as Error);
        }
      });
    };
    const onEvent = (me: (typeof names)[number]) => (e: IceAgentEvent) => {
      const peer = () => byName[me === "alice" ? "bob" : "alice"]!;
      if (done) return;
      if (e.type === "local-candidate") {
        if (e.candidate.type === "srflx") sawSrflx = true;
        say(`   ${me.padEnd(6)} ${candidateRow(e.candidate)}`);
        emit({ step: "candidate", agent: me, type: e.candidate.type, address: e.candidate.address, port: e.candidate.port, priority: e.candidate.priority, line: e.line });
        signal(peer, (p) => p.addRemoteCandidate(e.line));
      } else if (e.type === "gathering" && e.state === "complete") {
        say(`   ${me.padEnd(6)} end-of-candidates`);
        emit({ step: "end-of-candidates", agent: me });
        signal(peer, (p) => p.endOfRemoteCandidates());
      } else if (e.type === "state") {
        say(`   ${me.padEnd(6)} state ${e.state}`);
        emit({ step: "state", agent: me, state: e.state });
      } else if (e.type === "selected-pair") {
        say(`   ${me.padEnd(6)} selected ${label(e.local)} -> ${label(e.remote)}`);
        emit({ step: "selected", agent: me, local: e.local, remote: e.remote });
      } else if (e.type === "data") {
        const text = dec.decode(e.data);
        if (me === "bob") byName.bob!.send(e.data);
        else if (sentAt.has(text) && !echoed.has(text)) echoed.set(text, monotonicNow() - sentAt.get(text)!);
      }
    };
    const turnServers = [{ url: formatTransportAddress(turn.address), username: "demo", password: "demo-password" }];
    for (const name of names) {
      const agent = await createIceAgent({
        role: name === "alice" ? "controlling" : "controlled",
        hosts: ["127.0.0.1"],
        stunServers: [formatTransportAddress(stunAddr)],
        turnServers,
        onEvent: onEvent(name),
      });
      byName[name] = agent;
      agents.push(agent);
    }
    const alice = byName.alice!;
    const bob = byName.bob!;
    const started = monotonicNow();
    signal(() => bob, (b) => b.setRemoteCredentials(alice.localUfrag, alice.localPwd));
    signal(() => alice, (a) => a.setRemoteCredentials(bob.localUfrag, bob.localPwd));
    alice.startGathering();
    bob.startGathering();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      failure = reject;
      timer = setTimeout(() => reject(new Error(`no connection within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    });
    try {
      const [pa] = await Promise.race([Promise.all([alice.selected(), bob.selected()]), deadline]);
      const connectMs = Math.round(monotonicNow() - started);
      say(`   connected in ${connectMs} ms: ${label(pa.local)} <-> ${label(pa.remote)}`);
      // The checks alice made (RFC 8445 §6.1.4: every pair of local and remote candidates).
      say("   alice's checks:");
      for (const p of alice.agent.stats().pairs) {
        say(`     ${label(p.local).padEnd(26)} -> ${label(p.remote).padEnd(26)} ${p.state}${p.selected ? " (selected)" : ""}`);
      }
      if (!sawSrflx) {
        say("   (no srflx row: on loopback the STUN server sees each agent at its own host address, so that");
        say("   server-reflexive candidate is redundant with the host one and not signaled, RFC 8445 §5.1.3;");
        say("   the simulator below puts real NAT behaviours in between)");
      }
      emit({ step: "connected", connectMs, local: pa.local, remote: pa.remote });
      // Round trips: alice sends ping-i (again every 50 ms until it comes back), bob echoes.
      await Promise.race([
        new Promise<void>((resolve) => {
          let i = 0;
          const tick = () => {
            const waiting = [...sentAt.keys()].filter((k) => !echoed.has(k));
            if (waiting.length === 0 && i === PINGS) return resolve();
            if (waiting.length === 0) {
              const text = `ping-${++i}`;
              sentAt.set(text, monotonicNow());
              alice.send(enc.encode(text));
            } else {
              for (const text of waiting) alice.send(enc.encode(text));
            }
            setTimeout(tick, waiting.length === 0 ? 0 : 50);
          };
          tick();
        }),
        deadline,
      ]);
      const rtts = [...echoed.values()].sort((x, y) => x - y);
      const median = rtts[Math.floor(rtts.length / 2)]!;
      say(`   ${PINGS} datagrams echoed by bob over the selected pair; median round trip ${median.toFixed(2)} ms`);
      emit({ step: "rtt", sent: PINGS, echoed: rtts.length, rttMs: median });
    } catch (e) {
      problems.push(`the agents on loopback: ${(e as Error).message}`);
      say(`   FAILED: ${(e as Error).message}`);
      emit({ step: "ice-failed", message: (e as Error).message });
    } finally {
      clearTimeout(timer);
    }
  } finally {
    done = true;
    for (const a of agents) a.close();
    await turn?.close();
    await stun?.close();
  }

  // 3. The matrix.
  say("");
  say("3. The NAT matrix on the simulator: two agents behind every pair of NAT behaviours, STUN and TURN on the internet");
  const t0 = monotonicNow();
  const cells = runNatMatrix({
    seed,
    onCell: (c, i, total) => {
      if (json) io.stdout(toJsonLine({ step: "cell", ...cellJson(c) }));
      else progress(`   simulating ${i + 1}/${total}: ${c.a} ↔ ${c.b}`);
    },
  });
  progress(undefined);
  const wallMs = Math.round(monotonicNow() - t0);
  const seedCells: MatrixCell[] = cells.filter((c) => SEED_BEHAVIORS.includes(c.a) && SEED_BEHAVIORS.includes(c.b));
  for (const line of formatMatrix(seedCells)) say(`   ${line}`);
  say(`   the full matrix (icekit sim matrix), ${wallMs} ms of wall time: ${summaryLine(cells)}`);
  for (const c of cells) {
    if (!c.ok) problems.push(`${c.a} ↔ ${c.b}: expected ${c.expected}, got ${c.connected ? `${c.path} (${c.pair})` : "no connection"}`);
  }
  emit({ step: "result", ok: problems.length === 0, problems });
  say("");
  if (problems.length === 0) {
    say("All expected outcomes held. Next: icekit sim matrix, icekit ice --help, icekit nat <stun server>");
    return 0;
  }
  for (const p of problems) io.stderr(`icekit demo: ${p}`);
  say(`${problems.length} expected outcome(s) did not hold (listed on stderr).`);
  return 1;
}
