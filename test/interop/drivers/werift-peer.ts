/**
 * A werift-ice agent that speaks `icekit ice`'s line-JSON signaling, so a test can wire it to
 * `icekit ice` exactly like a second icekit process:
 *
 *     node --import tsx test/interop/drivers/werift-peer.ts (--controlling | --controlled)
 *         [--host IP ...] [--stun HOST:PORT] [--turn HOST:PORT --turn-user U --turn-pass P]
 *         [--ping N] [--timeout MS] [--no-host]
 *
 * Same messages and exit rules as `icekit ice` (see src/cli/ice.ts). werift-ice (0.2) reaches a
 * public Google STUN server when given none and skips loopback and `veth*` interfaces
 * (INTEROP.md): here it gets no STUN server unless `--stun` names one, and with `--host` its host
 * address lookup is replaced by the given addresses.
 */
import { createRequire } from "node:module";
import readline from "node:readline";
import { Candidate, Connection } from "werift-ice";

const require = createRequire(import.meta.url);

interface Args {
  controlling: boolean;
  hosts: string[];
  stun?: string;
  turn?: string;
  turnUser?: string;
  turnPass?: string;
  ping: number;
  timeout: number;
  noHost: boolean;
}

function parse(argv: string[]): Args {
  const a: Args = { controlling: false, hosts: [], ping: 0, timeout: 10_000, noHost: false };
  let role = 0;
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === "--controlling") (a.controlling = true), role++;
    else if (k === "--controlled") (a.controlling = false), role++;
    else if (k === "--host") a.hosts.push(v());
    else if (k === "--stun") a.stun = v();
    else if (k === "--turn") a.turn = v();
    else if (k === "--turn-user") a.turnUser = v();
    else if (k === "--turn-pass") a.turnPass = v();
    else if (k === "--ping") a.ping = Number(v());
    else if (k === "--timeout") a.timeout = Number(v());
    else if (k === "--no-host") a.noHost = true;
    else throw new Error(`unknown option ${k}`);
  }
  if (role !== 1) throw new Error("pass exactly one of --controlling and --controlled");
  return a;
}

function hostPort(text: string): [string, number] {
  const i = text.lastIndexOf(":");
  return [text.slice(0, i).replace(/^\[|\]$/g, ""), Number(text.slice(i + 1))];
}

const emit = (o: unknown) => process.stdout.write(JSON.stringify(o) + "\n");
const log = (t: string) => process.stderr.write(`werift-peer: ${t}\n`);

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  if (args.hosts.length > 0) {
    // werift reads its host addresses through this module's export at call time.
    const utils = require("werift-ice/lib/ice/src/utils") as { getHostAddresses: () => string[] };
    utils.getHostAddresses = () => [];
  }
  const conn = new Connection(args.controlling, {
    useIpv6: false,
    ...(args.hosts.length > 0 ? { additionalHostAddresses: args.hosts } : {}),
    ...(args.stun ? { stunServer: hostPort(args.stun) } : {}),
    ...(args.turn ? { turnServer: hostPort(args.turn), turnUsername: args.turnUser!, turnPassword: args.turnPass! } : {}),
    // Relayed candidates only, and checks only through the relay (werift's forceTurn).
    ...(args.noHost ? { forceTurn: true } : {}),
  });
  // No STUN server unless asked: werift's default is a public one.
  if (!args.stun) delete (conn as { stunServer?: unknown }).stunServer;

  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((r) => (finish = r));
  let connected = false;
  let stdinEnded = false;
  let remoteParams = false;
  let connecting = false;
  let gathered = false;
  const pending: (Candidate | undefined)[] = [];
  const echoed = new Set<string>();
  let linger: NodeJS.Timeout | undefined;

  emit({ type: "params", ufrag: conn.localUsername, pwd: conn.localPassword });
  conn.onIceCandidate.subscribe((c) => emit({ type: "candidate", candidate: `candidate:${c.toSdp()}` }));
  conn.stateChanged.subscribe((s) => {
    // werift reports "completed" when gathering ends; only states after connect() mean the link.
    if (connected && (s === "disconnected" || s === "failed")) emit({ type: "state", state: s });
    if (connected && s === "failed") finish(1);
  });

  const onData = (data: Buffer) => {
    if (args.controlling) return;
    void conn.send(data);
    const text = data.toString("utf8");
    if (text.startsWith("ping-")) echoed.add(text);
    if (args.ping > 0 && echoed.size >= args.ping) {
      if (stdinEnded) finish(0);
      clearTimeout(linger);
      linger = setTimeout(() => finish(0), 1000);
    }
  };
  conn.onData.subscribe(onData);

  const ping = async () => {
    const rtts: number[] = [];
    for (let i = 0; i < args.ping; i++) {
      const payload = `ping-${i}`;
      for (;;) {
        const sentAt = performance.now();
        const echo = new Promise<boolean>((resolve) => {
          const t = setTimeout(() => {
            sub.unSubscribe();
            resolve(false);
          }, 250);
          const sub = conn.onData.subscribe((d) => {
            if (d.toString("utf8") !== payload) return;
            clearTimeout(t);
            sub.unSubscribe();
            resolve(true);
          });
        });
        await conn.send(Buffer.from(payload));
        if (await echo) {
          rtts.push(performance.now() - sentAt);
          break;
        }
      }
    }
    rtts.sort((a, b) => a - b);
    const mid = rtts.length >> 1;
    const median = rtts.length % 2 ? rtts[mid]! : (rtts[mid - 1]! + rtts[mid]!) / 2;
    emit({ type: "done", sent: args.ping, echoed: rtts.length, rttMs: Math.round(median * 100) / 100 });
    finish(0);
  };

  const connect = async () => {
    if (connecting || !remoteParams || !gathered) return;
    connecting = true;
    emit({ type: "state", state: "checking" });
    try {
      await conn.connect();
    } catch (e) {
      log(`connect failed: ${(e as Error).message}`);
      emit({ type: "state", state: "failed" });
      finish(1);
      return;
    }
    connected = true;
    emit({ type: "state", state: "connected" });
    const pair = conn.nominated;
    if (pair) emit({ type: "selected", local: `candidate:${pair.localCandidate.toSdp()}`, remote: `candidate:${pair.remoteCandidate.toSdp()}` });
    if (args.controlling && args.ping > 0) await ping();
    else if (stdinEnded && args.ping === 0) finish(0);
  };

  const apply = async (c: Candidate | undefined) => {
    await conn.addRemoteCandidate(c);
  };

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on("line", (raw) => {
    const line = raw.trim();
    if (!line) return;
    let msg: { type?: unknown; ufrag?: unknown; pwd?: unknown; candidate?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      log(`ignoring a line that is not JSON: ${line.slice(0, 120)}`);
      return;
    }
    try {
      if (msg.type === "params" && typeof msg.ufrag === "string" && typeof msg.pwd === "string") {
        conn.setRemoteParams({ iceLite: false, usernameFragment: msg.ufrag, password: msg.pwd });
        remoteParams = true;
        for (const c of pending.splice(0)) void apply(c);
        void connect();
      } else if (msg.type === "candidate" && typeof msg.candidate === "string") {
        const c = Candidate.fromSdp(msg.candidate.replace(/^a=/, "").replace(/^candidate:/, ""));
        if (remoteParams) void apply(c);
        else pending.push(c);
      } else if (msg.type === "end-of-candidates") {
        if (remoteParams) void apply(undefined);
        else pending.push(undefined);
      }
    } catch (e) {
      log(`ignoring ${String(msg.type)} message: ${(e as Error).message}`);
    }
  });
  rl.once("close", () => {
    stdinEnded = true;
    if (connected && !(args.controlling && args.ping > 0)) {
      if (args.ping === 0 || echoed.size >= args.ping) finish(0);
    }
  });

  const timer = setTimeout(() => {
    log(`timed out after ${args.timeout} ms`);
    finish(1);
  }, args.timeout);

  await conn.gatherCandidates();
  emit({ type: "end-of-candidates" });
  gathered = true;
  void connect();

  const code = await finished;
  clearTimeout(timer);
  clearTimeout(linger);
  rl.close();
  await conn.close().catch(() => {});
  emit({ type: "state", state: "closed" });
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`error: ${(e as Error).message}`);
    process.exit(1);
  },
);
