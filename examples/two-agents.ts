/**
 * Two ICE agents (RFC 8445) on real UDP sockets on loopback. The "signaling channel" is a
 * function call: each agent trickles its candidates to the other as it gathers them (RFC 8838);
 * they check, select a pair, and one sends the other a datagram over it.
 *
 * Run: npm install && npx tsx examples/two-agents.ts
 */
import { createIceAgent, type IceAgentEvent, type NodeIceAgent } from "icekit/node";

let alice: NodeIceAgent, bob: NodeIceAgent;
let deliver: (text: string) => void;
const received = new Promise<string>((resolve) => (deliver = resolve));
// Signaling: what one agent gathers reaches the other (a real app uses its own channel).
const signalTo = (peer: () => NodeIceAgent) => (e: IceAgentEvent) => {
  if (e.type === "local-candidate") setImmediate(() => peer().addRemoteCandidate(e.line));
  if (e.type === "gathering" && e.state === "complete") setImmediate(() => peer().endOfRemoteCandidates());
  if (e.type === "data") deliver(new TextDecoder().decode(e.data));
};
// By default agents gather on every interface but loopback (RFC 8445 §5.1.1.1); naming it opts in.
const onLoopback = { hosts: ["127.0.0.1"] };
alice = await createIceAgent({ role: "controlling", ...onLoopback, onEvent: signalTo(() => bob) });
bob = await createIceAgent({ role: "controlled", ...onLoopback, onEvent: signalTo(() => alice) });
alice.setRemoteCredentials(bob.localUfrag, bob.localPwd);
bob.setRemoteCredentials(alice.localUfrag, alice.localPwd);
alice.startGathering();
bob.startGathering();

const [{ local, remote }] = await Promise.all([alice.selected(), bob.selected()]);
console.log(`selected ${local.type} ${local.address}:${local.port} -> ${remote.type} ${remote.address}:${remote.port}`);
alice.send(new TextEncoder().encode("hello bob"));
console.log(`bob received "${await received}"`);
alice.close();
bob.close();
