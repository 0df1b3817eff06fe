/**
 * Two ICE agents behind simulated NATs, in virtual time: Alice behind a port-restricted cone
 * NAT, Bob behind a symmetric one. No direct path exists between those two (the symmetric NAT
 * gives each destination a new port), so the agents connect through the TURN relay; change
 * `symmetric()` to `fullCone()` and they connect directly. The same seed replays the same run.
 *
 * Run: npm install && npx tsx examples/simulated-ice.ts
 */
import { IceAgent, Network, StunServer, TurnServer, attachTurnServer, portRestrictedCone, symmetric } from "icekit/sim";
import type { Attached, Host, IceAgentEvent } from "icekit/sim";

const net = new Network({ seed: 7, link: { delay: 20 } });
const [stun, turn] = [net.server("192.0.2.10"), net.server("192.0.2.20")];
net.attach(stun, new StunServer({ random: stun.random }), { port: 3478 });
const relay = new TurnServer({ realm: "example.org", users: { u: "p" }, relayAddresses: [turn.address], random: turn.random });
attachTurnServer(net, turn, relay);
const stunServer = { family: "IPv4", address: stun.address, port: 3478 } as const;
const turnServer = { address: { ...stunServer, address: turn.address }, username: "u", password: "p" };

// An ICE agent on a simulated host; what it gathers reaches the peer 50 ms later (signaling).
function agentOn(host: Host, role: "controlling" | "controlled", peer: () => Attached<IceAgent>): Attached<IceAgent> {
  const later = (fn: (to: IceAgent) => void) => net.after(50, () => { fn(peer().engine); peer().drive(); });
  const onEvent = (e: IceAgentEvent) => {
    if (e.type === "local-candidate") later((to) => to.addRemoteCandidate(net.now, e.line));
    if (e.type === "gathering" && e.state === "complete") later((to) => to.endOfRemoteCandidates(net.now));
  };
  const agent = new IceAgent({ role, random: host.random, stunServers: [stunServer], turnServers: [turnServer] });
  const att = net.attach(host, agent, { onEvent });
  agent.addLocalSocket(net.now, att.local); // the socket attach bound: a host candidate's base
  return att;
}
const alice = agentOn(net.nat(portRestrictedCone()).host("192.168.1.2"), "controlling", () => bob);
const bob = agentOn(net.nat(symmetric()).host("10.0.0.2"), "controlled", () => alice);
alice.engine.setRemoteCredentials(bob.engine.localUfrag, bob.engine.localPwd);
bob.engine.setRemoteCredentials(alice.engine.localUfrag, alice.engine.localPwd);
for (const a of [alice, bob]) { a.engine.startGathering(net.now); a.drive(); }

net.runUntil(() => alice.engine.state === "completed" && bob.engine.state === "completed", { timeout: 30_000 });
const { local, remote } = alice.engine.selectedPair()!;
console.log(`alice ${alice.engine.state} after ${net.now} ms of virtual time`);
console.log(`selected ${local.type} ${local.address}:${local.port} -> ${remote.type} ${remote.address}:${remote.port}`);
