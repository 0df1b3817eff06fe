/**
 * `node --expose-gc --import tsx bench/turn-heap-child.ts N`: the heap an idle allocation costs
 * icekit's TURN server engine. N clients with distinct 5-tuples run the full long-term-credential
 * Allocate exchange (401 with a nonce, then the signed request) against one {@link TurnServer}
 * with no sockets: each client is a {@link TurnClient} engine whose transmits are handed to the
 * server and back, and `relay-open` is answered with `handleRelayBound`. The clients are dropped
 * once allocated, so only the server's state remains. Prints one JSON line on stdout:
 * `{"allocations":N,"heapDelta":..,"bytesPerAllocation":..}`.
 *
 * @module
 */
import type { TransportAddress } from "../src/bytes/ip";
import { transportAddress } from "../src/bytes/ip";
import { TurnClient } from "../src/turn/client";
import { TurnServer } from "../src/turn/server";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");
const n = Number(process.argv[2] ?? 10_000);

const serverAddr = transportAddress("127.0.0.1", 3478);
const server = new TurnServer({
  realm: "example.org",
  users: { user: "pass" },
  relayAddresses: ["127.0.0.1"],
  maxAllocations: n + 1000,
  userQuota: n + 1000,
});

let now = 1000;
let next = 0;

function pumpServer(): void {
  for (let e; (e = server.pollEvent()); ) if (e.type === "relay-open") server.handleRelayBound(now, e.relayed);
}

function allocateOne(): void {
  const i = next++;
  const remote: TransportAddress = transportAddress(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 40000 + (i % 20000));
  const client = new TurnClient({ server: serverAddr, transport: "udp", username: "user", password: "pass" });
  client.allocate(now);
  for (let round = 0; round < 10 && client.state !== "allocated"; round++) {
    for (let t; (t = client.pollTransmit()); ) {
      server.handleReceive(now, { local: serverAddr, remote, transport: "udp", data: t.data });
      pumpServer();
    }
    for (let t; (t = server.pollTransmit()); ) client.handleReceive(now, { local: remote, remote: serverAddr, transport: "udp", data: t.data });
    for (let e; (e = client.pollEvent()); );
  }
  if (client.state !== "allocated") throw new Error(`client ${i} ended ${client.state}`);
  now += 0.01;
}

// Warm-up: code compiled and the tables' first growth paid before the baseline.
for (let i = 0; i < 200; i++) allocateOne();
gc();
gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < n; i++) allocateOne();
gc();
gc();
const after = process.memoryUsage().heapUsed;
const active = server.stats().allocations;
if (active !== n + 200) throw new Error(`expected ${n + 200} allocations, server holds ${active}`);
console.log(JSON.stringify({ allocations: n, heapDelta: after - before, bytesPerAllocation: Math.round((after - before) / n) }));
