/**
 * `icekit ice (--controlling | --controlled) ...`: one ICE agent on real sockets, signaled by
 * line-delimited JSON on stdin/stdout, so that another program (a test, a peer's driver, a shell
 * pipe through a relay) can connect two agents and check the path with pings.
 *
 * Output on stdout, one JSON object per line, in this order:
 * `{"type":"params","ufrag","pwd"}` first; each local candidate as it is gathered
 * `{"type":"candidate","candidate":"candidate:…"}` (RFC 8839 attribute value without `a=`);
 * `{"type":"end-of-candidates"}`; `{"type":"state","state"}` on every change;
 * `{"type":"selected","local":"candidate:…","remote":"candidate:…"}` once a pair is selected
 * (a lite controlling agent that chose among several pairs of a lite peer follows it with
 * `{"type":"candidate-update","candidates":["candidate:…"]}`, RFC 8445 §8.2's updated list);
 * with `--ping N` on the controlling side, `{"type":"done","sent":N,"echoed":M,"rttMs":<median>}`.
 * Logs go to stderr.
 *
 * Input on stdin: the peer's `params`, `candidate` and `end-of-candidates` messages, in any order
 * and at any time (Trickle ICE, RFC 8838); candidates that arrive before the peer's `params` wait
 * for them. Unknown types, malformed JSON and malformed candidates are logged and ignored. A
 * `candidate` message with an empty candidate is taken as end-of-candidates (as WebRTC signals it).
 *
 * When it exits:
 * - controlling with `--ping N`: it sends `ping-0` … `ping-<N-1>` over the selected pair one at a
 *   time (resending one that is not echoed within 250 ms), prints `done` and exits 0 once all N
 *   came back; at the timeout it prints `done` with what came back and exits 1;
 * - controlled: it echoes every datagram it receives. With `--ping N` it exits 0 once it has
 *   echoed N distinct pings and then stdin ends or 1 s passes without another (room for the
 *   controlling side's resends);
 * - otherwise (either role, no `--ping` on the controlling side): it exits 0 when stdin has
 *   ended and a pair is selected;
 * - always: 1 when ICE fails, or when `--timeout` (default 10000 ms) passes first.
 *
 * The `params` line also carries optional fields (peers that do not know them ignore them, and
 * they are read from the peer when present, defaults when absent): `"options":["trickle","ice2"]`
 * (the ICE options, RFC 8839 §5.6: RFC 8445 §10 requires `ice2`, RFC 8838 §3 signals Trickle
 * ICE with `trickle`), `"pacingMs":50` (the agent's Ta, `a=ice-pacing`, RFC 8839 §5.5; the agents
 * use the higher of the two, RFC 8445 §14.2; absent for a lite agent) and `"lite":true` with
 * `--lite` (`a=ice-lite`).
 *
 * `--lite` runs an ICE lite agent (RFC 8445 §2.5: host candidates only, answers checks). Facing
 * a full peer it is controlled (§6.1.1); with `--controlling` facing a lite peer (whose params say
 * `"lite":true`) both select the pair without checks (§6.1.1 "Both lite", §8.2). `--host` addresses
 * are used even when they are loopback ones (the application named them: RFC 8445 §5.1.1.1's
 * exclusions apply to enumerated interfaces). `--no-host` keeps host candidates out of the signaling (checks may
 * still leave from the host sockets, so the peer can learn them as peer-reflexive): with
 * `--turn` it leaves only relayed candidates to signal.
 *
 * `--port-mapping` asks the gateway (`--gateway IP`, default the default route's) for a UDP port
 * mapping with PCP, NAT-PMP or UPnP IGD for each private IPv4 host socket, and signals each
 * mapped address as a server-reflexive candidate (raddr/rport: the host socket).
 *
 * @module
 */
import readline from "node:readline";
import { formatCandidate, parseCandidate } from "../ice/candidate";
import { ICE_OPTIONS } from "../ice/sdp-attributes";
import type { IceAgentEvent } from "../ice/agent";
import { monotonicNow } from "../node/clock";
import { createIceAgent } from "../node/ice";
import type { NodeIceAgent } from "../node/ice";
import { ipFamily } from "../bytes/ip";
import { parseArgs } from "./args";
import { CliError, toJsonLine } from "./output";
import type { CliIo } from "./output";
import { parseMs } from "./options";

const USAGE = `usage: icekit ice (--controlling | --controlled) [--stun HOST:PORT] [--turn HOST:PORT --turn-user U --turn-pass P]
                  [--ping N] [--timeout MS] [--lite] [--no-host] [--host IP ...] [--port-mapping [--gateway IP]]
  Signaling is line-delimited JSON: stdout carries params, candidates, end-of-candidates, state,
  selected and done; stdin takes the peer's params, candidates and end-of-candidates.`;

/** How long an unanswered ping waits before it is sent again, ms. */
const PING_RESEND_MS = 250;
/** How long the controlled side lingers after the last expected ping, for resends, ms. */
const ECHO_LINGER_MS = 1000;

/**
 * Where the peer's signaling comes from: calls `onLine` for each line and `onEnd` once at the
 * end of input, and returns a function that stops reading.
 */
export type LineSource = (onLine: (line: string) => void, onEnd: () => void) => () => void;

/** Lines of the process's standard input. */
export const processStdinLines: LineSource = (onLine, onEnd) => {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on("line", onLine);
  rl.once("close", onEnd);
  return () => {
    rl.off("line", onLine);
    rl.off("close", onEnd);
    rl.close();
    process.stdin.destroy();
  };
};

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const m = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return Math.round(m * 100) / 100;
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new CliError("USAGE", `--${name} ${text}: pass a positive integer`);
  return n;
}

/** Runs `icekit ice`. Returns the exit status. */
export async function iceCommand(argv: readonly string[], io: CliIo, input: LineSource = processStdinLines): Promise<number> {
  const args = parseArgs(argv, {
    values: ["stun", "turn", "turn-user", "turn-pass", "ping", "timeout", "host", "gateway"],
    repeated: ["host"],
    flags: ["controlling", "controlled", "lite", "no-host", "port-mapping"],
  });
  if (args.flags.has("help")) {
    io.stdout(USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw new CliError("USAGE", `unexpected argument '${args.positionals[0]}'\n${USAGE}`);
  const controlling = args.flags.has("controlling");
  if (controlling === args.flags.has("controlled")) throw new CliError("USAGE", `pass exactly one of --controlling and --controlled\n${USAGE}`);
  const turn = args.values.get("turn");
  const turnUser = args.values.get("turn-user");
  const turnPass = args.values.get("turn-pass");
  if (turn !== undefined && (turnUser === undefined || turnPass === undefined)) throw new CliError("USAGE", "--turn needs --turn-user U and --turn-pass P");
  if (turn === undefined && (turnUser !== undefined || turnPass !== undefined)) throw new CliError("USAGE", "--turn-user and --turn-pass go with --turn HOST:PORT");
  const gateway = args.values.get("gateway");
  if (gateway !== undefined && (!args.flags.has("port-mapping") || ipFamily(gateway) === undefined)) throw new CliError("USAGE", `--gateway ${gateway}: pass an IP address, with --port-mapping`);
  const pings = args.values.has("ping") ? positiveInt("ping", args.values.get("ping")!) : 0;
  const timeoutMs = args.values.has("timeout") ? parseMs("timeout", args.values.get("timeout")!) : 10_000;
  const hosts = args.lists.get("host");
  for (const h of hosts ?? []) {
    if (ipFamily(h) === undefined) throw new CliError("USAGE", `--host ${h}: pass a local IP address, e.g. --host 127.0.0.1`);
  }
  const noHost = args.flags.has("no-host");
  const stun = args.values.get("stun");

  const print = (msg: unknown) => io.stdout(toJsonLine(msg));
  const log = (text: string) => io.stderr(`icekit ice: ${text}`);

  let agent: NodeIceAgent | undefined;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    let done = false;
    finish = (code) => {
      if (done) return;
      done = true;
      resolve(code);
    };
  });

  // Ping state (controlling) and echo state (controlled).
  let pingIndex = -1;
  let pingSentAt = 0;
  let pingTimer: NodeJS.Timeout | undefined;
  const rtts: number[] = [];
  const echoed = new Set<number>();
  let lingerTimer: NodeJS.Timeout | undefined;
  let stdinEnded = false;
  let selected = false;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  const printDone = () => print({ type: "done", sent: pings, echoed: rtts.length, rttMs: median(rtts) });
  const sendPing = () => {
    if (agent === undefined) return;
    pingSentAt = monotonicNow();
    agent.send(encoder.encode(`ping-${pingIndex}`));
    clearTimeout(pingTimer);
    pingTimer = setTimeout(sendPing, PING_RESEND_MS);
  };
  const maybeFinishQuietly = () => {
    if (!stdinEnded || !selected) return;
    if (controlling && pings > 0) return;
    if (!controlling && pings > 0 && echoed.size < pings) return;
    finish(0);
  };

  const onEvent = (e: IceAgentEvent) => {
    switch (e.type) {
      case "local-candidate":
        if (noHost && e.candidate.type === "host") return;
        print({ type: "candidate", candidate: e.line.startsWith("candidate:") ? e.line : `candidate:${e.line}` });
        return;
      case "gathering":
        if (e.state === "complete") print({ type: "end-of-candidates" });
        return;
      case "state":
        if (e.state !== "new") print({ type: "state", state: e.state });
        if (e.state === "failed") {
          log("ICE failed");
          finish(1);
        }
        return;
      case "selected-pair":
        print({ type: "selected", local: formatCandidate(e.local), remote: formatCandidate(e.remote) });
        // Lite-lite with a choice among several pairs: RFC 8445 §8.2's updated candidate list,
        // the selected local candidate alone (peers that do not know the type ignore it).
        if (agent?.agent.candidateUpdateRequired) print({ type: "candidate-update", candidates: [formatCandidate(e.local)] });
        if (!selected) {
          selected = true;
          if (controlling && pings > 0) {
            pingIndex = 0;
            sendPing();
          }
          maybeFinishQuietly();
        }
        return;
      case "data": {
        if (controlling) {
          if (pings === 0 || pingIndex < 0 || pingIndex >= pings) return;
          if (decoder.decode(e.data) !== `ping-${pingIndex}`) return;
          rtts.push(monotonicNow() - pingSentAt);
          pingIndex++;
          if (pingIndex === pings) {
            clearTimeout(pingTimer);
            printDone();
            finish(0);
          } else sendPing();
          return;
        }
        agent?.send(e.data, e.component);
        const m = /^ping-(\d+)$/.exec(decoder.decode(e.data));
        if (m !== null) echoed.add(Number(m[1]));
        if (pings > 0 && echoed.size >= pings) {
          clearTimeout(lingerTimer);
          lingerTimer = setTimeout(() => finish(0), ECHO_LINGER_MS);
          maybeFinishQuietly();
        }
        return;
      }
      default:
        return;
    }
  };

  agent = await createIceAgent({
    role: controlling ? "controlling" : "controlled",
    ...(hosts !== undefined ? { hosts } : {}),
    ...(stun !== undefined ? { stunServers: [stun] } : {}),
    ...(turn !== undefined ? { turnServers: [{ url: turn, username: turnUser!, password: turnPass! }] } : {}),
    ...(args.flags.has("lite") ? { lite: true } : {}),
    ...(args.flags.has("port-mapping") ? { portMapping: gateway !== undefined ? { gateway } : true } : {}),
    onEvent,
  });
  const a = agent;

  // The peer's signaling: candidates and end-of-candidates wait for its params.
  let remoteParams = false;
  const pending: (() => void)[] = [];
  const whenParams = (fn: () => void) => {
    if (remoteParams) fn();
    else pending.push(fn);
  };
  const onLine = (raw: string) => {
    const line = raw.trim();
    if (line === "") return;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      log(`ignoring a line that is not JSON: ${line.slice(0, 120)}`);
      return;
    }
    if (typeof msg !== "object" || msg === null || typeof (msg as { type?: unknown }).type !== "string") {
      log(`ignoring a message without a type: ${line.slice(0, 120)}`);
      return;
    }
    const m = msg as { type: string; ufrag?: unknown; pwd?: unknown; candidate?: unknown; options?: unknown; pacingMs?: unknown; lite?: unknown };
    try {
      switch (m.type) {
        case "params":
          if (typeof m.ufrag !== "string" || typeof m.pwd !== "string" || m.ufrag === "" || m.pwd === "") {
            log(`ignoring params without a ufrag and pwd: ${line.slice(0, 120)}`);
            return;
          }
          {
            // Optional fields: a malformed one is ignored as an absent one would be.
            const pacing = typeof m.pacingMs === "number" && Number.isInteger(m.pacingMs) && m.pacingMs >= 0 && m.pacingMs <= 9_999_999_999 ? m.pacingMs : undefined;
            const options = Array.isArray(m.options) ? m.options.filter((o): o is string => typeof o === "string") : [];
            if (!options.includes("ice2")) log("the peer does not signal the ice2 option: it may be an RFC 5245 agent (RFC 8839 §4.2.1.5)");
            a.setRemoteCredentials(m.ufrag, m.pwd, { lite: m.lite === true, ...(pacing !== undefined ? { pacing } : {}) });
          }
          if (!remoteParams) {
            remoteParams = true;
            for (const fn of pending.splice(0)) fn();
          }
          return;
        case "candidate": {
          if (typeof m.candidate !== "string") {
            log(`ignoring a candidate message without a candidate string: ${line.slice(0, 120)}`);
            return;
          }
          if (m.candidate.trim() === "") {
            whenParams(() => a.endOfRemoteCandidates());
            return;
          }
          const c = parseCandidate(m.candidate);
          whenParams(() => {
            try {
              a.addRemoteCandidate(c);
            } catch (e) {
              log(`ignoring candidate '${m.candidate as string}': ${(e as Error).message}`);
            }
          });
          return;
        }
        case "end-of-candidates":
          whenParams(() => a.endOfRemoteCandidates());
          return;
        default:
          return; // Unknown types are for someone else (the contract says ignore them).
      }
    } catch (e) {
      log(`ignoring ${m.type} message: ${(e as Error).message}`);
    }
  };
  const onEnd = () => {
    stdinEnded = true;
    if (!controlling && pings > 0 && echoed.size >= pings) finish(0);
    maybeFinishQuietly();
  };

  const timeout = setTimeout(() => {
    if (controlling && pings > 0 && pingIndex >= 0) printDone();
    log(`timed out after ${timeoutMs} ms (state ${a.state}${selected ? ", pair selected" : ""}${controlling && pings > 0 ? `, ${rtts.length}/${pings} pings echoed` : ""})`);
    finish(1);
  }, timeoutMs);

  const pacingMs = a.agent.localPacing;
  print({
    type: "params",
    ufrag: a.localUfrag,
    pwd: a.localPwd,
    options: ICE_OPTIONS,
    ...(pacingMs !== undefined ? { pacingMs } : {}),
    ...(a.agent.lite ? { lite: true } : {}),
  });
  const stopInput = input(onLine, onEnd);
  a.startGathering();

  const code = await finished;
  clearTimeout(timeout);
  clearTimeout(pingTimer);
  clearTimeout(lingerTimer);
  stopInput();
  a.close();
  return code;
}
