/**
 * A TURN allocation (RFC 8656): a relayed address on icekit's TURN server, a permission for a
 * peer, and a datagram to that peer through the relay and back. Everything is on loopback.
 *
 * Run: npm install && npx tsx examples/turn-allocation.ts
 */
import { createSocket } from "node:dgram";
import { connectTurn, formatTransportAddress, startTurnServer } from "icekit/node";

// icekit's TURN server on loopback. It refuses to relay to internal addresses (loopback,
// private ranges) unless allowPeer opens them: here the peer is on this machine.
const server = await startTurnServer({
  listen: { address: "127.0.0.1", port: 0 },
  realm: "example.org",
  users: { alice: "s3cret" },
  allowPeer: ["127.0.0.0/8"],
});
// The peer: a plain UDP socket that echoes what it gets.
const echo = createSocket("udp4").on("message", (msg, from) => echo.send(msg, from.port, from.address));
await new Promise<void>((resolve) => echo.bind(0, "127.0.0.1", resolve));
const peer = `127.0.0.1:${echo.address().port}`;

const turn = await connectTurn(`turn:${formatTransportAddress(server.address)}`, { username: "alice", password: "s3cret" });
console.log(`relayed ${formatTransportAddress(turn.relayed)}, lifetime ${turn.lifetime} s`);
await turn.createPermission(peer); // RFC 8656 §9: the relay drops what a peer without one sends
turn.send(peer, new TextEncoder().encode("hello through the relay"));
for await (const { peer: from, data } of turn) {
  console.log(`echo "${new TextDecoder().decode(data)}" from ${formatTransportAddress(from)}`);
  break;
}
await turn.close();
echo.close();
await server.close();
