/**
 * Test your own code through NATs without root, namespaces or real time: build a virtual
 * network, run unchanged sans-IO engines on its hosts, and read what happened to each packet.
 *
 * Alice sits behind a port-restricted cone NAT, Bob behind a symmetric one. Each asks a STUN
 * server for its public address; then Alice tries to reach Bob at the address the server saw,
 * and the trace shows why a symmetric NAT defeats that (ICE would fall back to a relay).
 *
 * Run: npm run build && npx tsx examples/simulated-nat.ts
 */
import { Network, StunClient, StunServer, XorMappedAddress, formatTransportAddress, portRestrictedCone, symmetric } from "icekit/sim";

// Same seed, same run: every random choice (ports, loss, jitter, transaction ids) replays.
const net = new Network({ seed: 42, link: { delay: 10, jitter: 2 } });

// The same STUN server engine `icekit stun-server` runs on real sockets.
const stun = net.server("192.0.2.10", { name: "stun" });
net.attach(stun, new StunServer({ random: stun.random }), { port: 3478 });

const alice = net.nat(portRestrictedCone(), { name: "home" }).host("192.168.1.2", { name: "alice" });
const bob = net.nat(symmetric(), { name: "office" }).host("10.0.0.2", { name: "bob" });

// The engines take the host's seeded random stream instead of crypto.getRandomValues.
const a = net.attach(alice, new StunClient({ random: alice.random }), { port: 5000 });
const b = net.attach(bob, new StunClient({ random: bob.random }), { port: 6000 });

const server = { family: "IPv4", address: "192.0.2.10", port: 3478 } as const;
a.engine.request(net.now, { remote: server });
b.engine.request(net.now, { remote: server });
net.runUntil(() => a.events.length > 0 && b.events.length > 0, { timeout: 10_000 });

const mapped = (events: typeof a.events) => {
  const e = events[0];
  return e?.type === "success" ? e.response.get(XorMappedAddress) : undefined;
};
const aliceMapped = mapped(a.events);
const bobMapped = mapped(b.events);
console.log(`alice is seen as ${aliceMapped && formatTransportAddress(aliceMapped)}`);
console.log(`bob is seen as   ${bobMapped && formatTransportAddress(bobMapped)}`);

// Alice writes to Bob's server-reflexive address from a plain socket. Bob's symmetric NAT only
// lets in what comes from the one endpoint his mapping was made for.
if (bobMapped) {
  alice.bind(5001).send({ remote: bobMapped, data: new TextEncoder().encode("hello bob") });
  net.run({ duration: 1_000 });
}

console.log("\n" + net.formatTrace());
console.log("\nstats:", JSON.stringify(net.stats()));
console.log("trace hash:", net.traceHash(), `at ${net.now} ms of virtual time`);
