/**
 * The peers of bench/ice.ts's mux comparison, in their own process so that the parent's heap and
 * CPU count only the agents on the mux. Over IPC it gets `{type:"peers", agents:[{ufrag,pwd,
 * candidates}]}`, creates one controlling `createIceAgent` per entry on 127.0.0.1 (a socket each,
 * as N separate clients would have), answers `{type:"params", agents:[{ufrag,pwd,candidates}]}`,
 * then `{type:"connected", count}` once every agent has a selected pair (or at `timeoutMs`), and
 * closes everything on `{type:"close"}`.
 *
 * @module
 */
import { createIceAgent, type NodeIceAgent } from "../src/node/ice";

interface Params {
  ufrag: string;
  pwd: string;
  candidates: string[];
}

const agents: NodeIceAgent[] = [];
const send = (m: unknown): void => void process.send!(m);

process.on("message", (raw) => {
  const m = raw as { type: string; agents?: Params[]; timeoutMs?: number };
  if (m.type === "close") {
    for (const a of agents) a.close();
    process.disconnect();
    return;
  }
  if (m.type !== "peers" || m.agents === undefined) return;
  void (async () => {
    const out: Params[] = [];
    let connected = 0;
    let reported = false;
    const report = (): void => {
      if (reported) return;
      reported = true;
      send({ type: "connected", count: connected });
    };
    for (const remote of m.agents!) {
      const candidates: string[] = [];
      let done = false;
      const a = await createIceAgent({
        role: "controlling",
        hosts: ["127.0.0.1"],
        onEvent: (e) => {
          if (e.type === "local-candidate") candidates.push(e.line);
          if (e.type === "selected-pair" && !done) {
            done = true;
            if (++connected === m.agents!.length) report();
          }
        },
      });
      agents.push(a);
      a.startGathering();
      a.setRemoteCredentials(remote.ufrag, remote.pwd);
      for (const c of remote.candidates) a.addRemoteCandidate(c);
      a.endOfRemoteCandidates();
      out.push({ ufrag: a.localUfrag, pwd: a.localPwd, candidates });
    }
    send({ type: "params", agents: out });
    setTimeout(report, m.timeoutMs ?? 60_000).unref();
  })();
});
