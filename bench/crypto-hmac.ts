/**
 * icekit's pure HMAC and CRC-32 beside `node:crypto` and `node:zlib` on STUN-sized input.
 *
 * A STUN agent signs and checks thousands of ~100-byte messages per second under one key, so
 * the comparison is a cached {@link createHmacKey} writing into a preallocated buffer against
 * what a Node user would write instead: `createHmac(alg, key).update(msg).digest()` per message.
 * CRC-32 (the FINGERPRINT attribute) is compared with `zlib.crc32`. A 1200-byte HMAC shows how
 * the gap narrows as messages grow and native throughput takes over from per-call overhead.
 *
 * Run alone with `npx tsx bench/crypto-hmac.ts [--quick]`; prints one JSON line per comparison.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { pathToFileURL } from "node:url";
import * as zlib from "node:zlib";
import { crc32 } from "../src/crypto/crc32";
import { createHmacKey } from "../src/crypto/hmac";
import type { HmacAlgorithm } from "../src/crypto/types";
import type { BenchResult } from "./harness";

/** Keeps results alive so the JIT cannot drop the work being measured. */
let sink = 0;

/** Ops per second of `op`, over one round of about `ms` milliseconds. */
function round(op: () => void, ms: number): number {
  let batch = 64;
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < batch; i++) op();
    ops += batch;
    t = performance.now();
    if (batch < 8192) batch *= 2;
  }
  return (ops * 1000) / (t - t0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median ops/s of both sides, rounds interleaved so drift (thermal, GC) hits both alike. */
function compare(
  bench: string,
  peer: string,
  ours: () => void,
  theirs: () => void,
  quick: boolean,
): BenchResult {
  const rounds = quick ? 3 : 7;
  const ms = quick ? 150 : 500;
  // Warm-up, so both sides run optimized code before the first measured round.
  round(ours, ms / 2);
  round(theirs, ms / 2);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(round(ours, ms));
    b.push(round(theirs, ms));
  }
  const icekit = Math.round(median(a));
  const peerValue = Math.round(median(b));
  return { bench, unit: "ops/s", icekit, peer, peerValue, ratio: Number((icekit / peerValue).toFixed(3)) };
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function hmacBench(algorithm: HmacAlgorithm, size: number, quick: boolean): BenchResult {
  const key = bytes(16, 7); // a short-term ICE password is 22+ chars; 16 bytes is typical
  const msg = bytes(size, 3);
  const mac = createHmacKey(algorithm, key);
  const out = new Uint8Array(mac.outputLength);
  return compare(
    `hmac-${algorithm}-${size}B`,
    "node:crypto",
    () => {
      mac.compute(msg, 0, msg.length, out, 0);
      sink ^= out[0]!;
    },
    () => {
      sink ^= createHmac(algorithm, key).update(msg).digest()[0]!;
    },
    quick,
  );
}

function crcBench(size: number, quick: boolean): BenchResult {
  const msg = bytes(size, 5);
  const zcrc = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
  if (zcrc === undefined) throw new Error("zlib.crc32 needs Node >= 20.15");
  return compare(
    `crc32-${size}B`,
    "node:zlib",
    () => {
      sink ^= crc32(msg);
    },
    () => {
      sink ^= zcrc(msg);
    },
    quick,
  );
}

/**
 * Runs the comparisons.
 *
 * @param quick - about a second per comparison instead of about eight
 * @returns one result per comparison
 */
export async function run(quick: boolean): Promise<BenchResult[]> {
  const results = [
    hmacBench("sha1", 100, quick),
    hmacBench("sha256", 100, quick),
    crcBench(100, quick),
    // A full-size TURN datagram: where a native hash's throughput starts to matter.
    hmacBench("sha1", 1200, quick),
  ];
  if (sink === 0.5) console.log(sink); // never true; makes `sink` observable
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await run(process.argv.includes("--quick"));
  for (const r of results) console.log(JSON.stringify(r));
}
