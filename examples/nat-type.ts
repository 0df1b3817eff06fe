/**
 * RFC 5780 NAT behaviour discovery: mapping, filtering and the classic NAT name. Discovery needs
 * a server with two IP addresses. On Linux all of 127.0.0.0/8 is loopback, so icekit's STUN
 * server listens on 127.0.0.1 and 127.0.0.2 (ports 3478 and 3479) and no network is needed.
 *
 * Run: npm install && npx tsx examples/nat-type.ts
 */
import { discoverNat, formatTransportAddress, startStunServer } from "icekit/node";

// The four RFC 5780 sockets: 127.0.0.1 and 127.0.0.2, each on ports 3478 and 3479.
const server = await startStunServer({
  listen: { address: "127.0.0.1", port: 3478 },
  alt: { address: "127.0.0.2", port: 3479 },
  tcp: false,
});

const report = await discoverNat({ server: "stun:127.0.0.1:3478" }); // or "stun:stun.example.org"
console.log(`nat type  ${report.natType}`); // "open": nothing translates on loopback
console.log(`mapping   ${report.mapping}`);
console.log(`filtering ${report.filtering}`);
console.log(`mapped    ${report.mapped && formatTransportAddress(report.mapped)}`);
console.log(`tests     ${report.tests.length}, RFC 5780 supported: ${report.rfc5780Supported}`);
await server.close();
