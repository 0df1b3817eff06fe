/**
 * One STUN Binding request (RFC 8489): "at what address does the server see me?". It starts
 * icekit's own STUN server on loopback first, so it needs no network.
 *
 * Run: npm install && npx tsx examples/stun-binding.ts
 */
import { formatTransportAddress, startStunServer, stunBinding } from "icekit/node";

// icekit's STUN server on 127.0.0.1, UDP, on a port the kernel picks.
const server = await startStunServer({ listen: { address: "127.0.0.1", port: 0 }, tcp: false });
const url = `stun:${formatTransportAddress(server.udp[0]!)}`; // or "stun:stun.example.org"

const { local, mapped, rttMs } = await stunBinding(url);
console.log(`server ${url}`);
console.log(`local  ${formatTransportAddress(local)}`);
console.log(`mapped ${formatTransportAddress(mapped)}  (on loopback no NAT translates: the same as local)`);
console.log(`rtt    ${rttMs.toFixed(2)} ms`);
await server.close();
