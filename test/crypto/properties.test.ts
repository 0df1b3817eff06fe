/**
 * Property tests: icekit's pure hashes, HMAC and CRC-32 agree with `node:crypto` and
 * `node:zlib` on random keys and messages, fed whole, in random pieces, from ranges of larger
 * buffers, and through one reused key.
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import * as zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32, createHmacKey, hmac, Md5, md5, Sha1, sha1, Sha256, sha256 } from "../../src/crypto/index";
import type { HashState, HmacAlgorithm } from "../../src/crypto/index";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

type HashName = "sha1" | "sha256" | "md5";
const HASHES: Record<HashName, { oneShot: (d: Uint8Array) => Uint8Array; create: () => HashState }> = {
  sha1: { oneShot: sha1, create: () => new Sha1() },
  sha256: { oneShot: sha256, create: () => new Sha256() },
  md5: { oneShot: md5, create: () => new Md5() },
};

const nodeHash = (name: HashName, data: Uint8Array): string => createHash(name).update(data).digest("hex");
const nodeHmac = (alg: HmacAlgorithm, key: Uint8Array, data: Uint8Array): string =>
  createHmac(alg, key).update(data).digest("hex");

const message = fc.uint8Array({ maxLength: 300 });
const key = fc.uint8Array({ maxLength: 200 });
const hashName = fc.constantFrom<HashName>("sha1", "sha256", "md5");
const hmacAlgorithm = fc.constantFrom<HmacAlgorithm>("sha1", "sha256");

/**
 * A message placed inside a larger buffer, with random cut points: feeding
 * `buffer[cuts[i]..cuts[i+1])` in order hashes exactly the message.
 */
const embedded = fc
  .record({
    prefix: fc.uint8Array({ maxLength: 70 }),
    data: message,
    suffix: fc.uint8Array({ maxLength: 70 }),
    cuts: fc.array(fc.nat(), { maxLength: 8 }),
  })
  .map(({ prefix, data, suffix, cuts }) => {
    const buffer = new Uint8Array(prefix.length + data.length + suffix.length);
    buffer.set(prefix, 0);
    buffer.set(data, prefix.length);
    buffer.set(suffix, prefix.length + data.length);
    const start = prefix.length;
    const end = start + data.length;
    const points = [start, ...cuts.map((c) => start + (c % (data.length + 1))).sort((a, b) => a - b), end];
    return { buffer, data, points };
  });

describe("hashes agree with node:crypto", () => {
  it("one-shot, on messages of 0..300 bytes", () => {
    fc.assert(
      fc.property(hashName, message, (name, data) => {
        expect(hex(HASHES[name].oneShot(data))).toBe(nodeHash(name, data));
      }),
      { numRuns: 500 },
    );
  });

  it("at every length from 0 to 200 bytes, across each padding boundary (55, 56, 64, 119, 120)", () => {
    const data = new Uint8Array(200).map((_, i) => (i * 167 + 13) & 0xff);
    for (const name of ["sha1", "sha256", "md5"] as const) {
      for (let n = 0; n <= 200; n++) {
        expect(hex(HASHES[name].oneShot(data.subarray(0, n))), `${name} of ${n} bytes`).toBe(
          nodeHash(name, data.subarray(0, n)),
        );
      }
    }
  });

  it("incremental, in random pieces taken from ranges of a larger buffer", () => {
    fc.assert(
      fc.property(hashName, embedded, (name, { buffer, data, points }) => {
        const h = HASHES[name].create();
        for (let i = 0; i + 1 < points.length; i++) h.update(buffer, points[i], points[i + 1]);
        const out = new Uint8Array(h.outputLength);
        h.digestInto(out);
        expect(hex(out)).toBe(nodeHash(name, data));
      }),
      { numRuns: 500 },
    );
  });

  it("after reset(), one state hashes many messages", () => {
    fc.assert(
      fc.property(hashName, fc.array(message, { maxLength: 6 }), (name, messages) => {
        const h = HASHES[name].create();
        const out = new Uint8Array(h.outputLength);
        for (const m of messages) {
          h.reset().update(m).digestInto(out);
          expect(hex(out)).toBe(nodeHash(name, m));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("copyFrom() forks a state: a common prefix, then two different endings", () => {
    fc.assert(
      fc.property(hashName, message, message, message, (name, prefix, a, b) => {
        const base = HASHES[name].create().update(prefix);
        const fork = HASHES[name].create().copyFrom(base);
        const outA = new Uint8Array(base.outputLength);
        const outB = new Uint8Array(base.outputLength);
        base.update(a).digestInto(outA);
        fork.update(b).digestInto(outB);
        expect(hex(outA)).toBe(nodeHash(name, Buffer.concat([prefix, a])));
        expect(hex(outB)).toBe(nodeHash(name, Buffer.concat([prefix, b])));
      }),
      { numRuns: 300 },
    );
  });

  it("digestInto() writes exactly outputLength bytes at the offset", () => {
    fc.assert(
      fc.property(hashName, message, fc.nat({ max: 40 }), fc.nat({ max: 40 }), (name, data, offset, slack) => {
        const h = HASHES[name].create().update(data);
        const out = new Uint8Array(offset + h.outputLength + slack).fill(0xee);
        h.digestInto(out, offset);
        expect(hex(out.subarray(offset, offset + h.outputLength))).toBe(nodeHash(name, data));
        expect(out.subarray(0, offset).every((b) => b === 0xee)).toBe(true);
        expect(out.subarray(offset + h.outputLength).every((b) => b === 0xee)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("HMAC agrees with node:crypto createHmac", () => {
  it("one-shot, on keys of 0..200 bytes and messages of 0..300 bytes", () => {
    fc.assert(
      fc.property(hmacAlgorithm, key, message, (alg, k, data) => {
        expect(hex(hmac(alg, k, data))).toBe(nodeHmac(alg, k, data));
        expect(hex(createHmacKey(alg, k).compute(data))).toBe(nodeHmac(alg, k, data));
      }),
      { numRuns: 500 },
    );
  });

  it("incremental, in random pieces taken from ranges of a larger buffer", () => {
    fc.assert(
      fc.property(hmacAlgorithm, key, embedded, (alg, k, { buffer, data, points }) => {
        const mac = createHmacKey(alg, k).init();
        for (let i = 0; i + 1 < points.length; i++) mac.update(buffer, points[i], points[i + 1]);
        const out = new Uint8Array(mac.outputLength);
        mac.digestInto(out);
        expect(hex(out)).toBe(nodeHmac(alg, k, data));
        // compute() over the same range agrees too.
        const start = points[0]!;
        const end = points[points.length - 1]!;
        expect(hex(mac.compute(buffer, start, end))).toBe(nodeHmac(alg, k, data));
      }),
      { numRuns: 500 },
    );
  });

  it("one key, reused across many messages, gives each message its own MAC", () => {
    fc.assert(
      fc.property(
        hmacAlgorithm,
        key,
        fc.array(fc.tuple(message, fc.nat({ max: 300 })), { minLength: 1, maxLength: 10 }),
        (alg, k, messages) => {
          const mac = createHmacKey(alg, k);
          const out = new Uint8Array(mac.outputLength + 8);
          for (const [m, split] of messages) {
            const cut = split % (m.length + 1);
            // In pieces, through init/update/digestInto...
            mac.init().update(m, 0, cut).update(m, cut);
            mac.digestInto(out, 8);
            expect(hex(out.subarray(8))).toBe(nodeHmac(alg, k, m));
            // ...and in one call into a caller's buffer, which compute() returns.
            expect(mac.compute(m, 0, m.length, out, 0)).toBe(out);
            expect(hex(out.subarray(0, mac.outputLength))).toBe(nodeHmac(alg, k, m));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("keeps no reference to the key bytes", () => {
    fc.assert(
      fc.property(hmacAlgorithm, key, message, (alg, k, data) => {
        const expected = nodeHmac(alg, k, data);
        const mac = createHmacKey(alg, k);
        k.fill(0x42);
        expect(hex(mac.compute(data))).toBe(expected);
      }),
      { numRuns: 100 },
    );
  });
});

describe("crc32 agrees with zlib.crc32", () => {
  it("on random ranges of random buffers", () => {
    const zcrc = (zlib as unknown as { crc32: (d: Uint8Array) => number }).crc32;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(), (data, x, y) => {
        const a = x % (data.length + 1);
        const b = y % (data.length + 1);
        const [start, end] = a <= b ? [a, b] : [b, a];
        expect(crc32(data, start, end)).toBe(zcrc(data.subarray(start, end)));
        expect(crc32(data)).toBe(zcrc(data));
      }),
      { numRuns: 1000 },
    );
  });
});
