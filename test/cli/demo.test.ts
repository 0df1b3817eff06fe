/**
 * `icekit demo` end to end, as `npm run demo` runs it: real STUN and TURN servers and two ICE
 * agents on loopback, then the simulated NAT matrix.
 */
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/cli";
import type { CliIo } from "../../src/cli/output";

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), readStdin: async () => new Uint8Array() };
  const code = await main(argv, io);
  return { code, out, err };
}

describe("icekit demo", async () => {
  const r = await run(["demo"]);
  const text = r.out.join("\n");

  it("starts STUN and TURN on loopback and connects two agents with host and relay candidates", () => {
    expect(text).toMatch(/STUN server {2}udp 127\.0\.0\.1:\d+/);
    expect(text).toMatch(/TURN server {2}udp 127\.0\.0\.1:\d+/);
    expect(text).toMatch(/alice {2}host {3}127\.0\.0\.1:\d+ +2130706431/);
    expect(text).toMatch(/bob {4}relay {2}127\.0\.0\.1:\d+ +\d+ +127\.0\.0\.1:\d+/);
    expect(text).toMatch(/alice {2}state completed/);
    expect(text).toMatch(/alice {2}selected host 127\.0\.0\.1:\d+ -> host 127\.0\.0\.1:\d+/);
    expect(text).toMatch(/5 datagrams echoed by bob over the selected pair; median round trip [\d.]+ ms/);
  });

  it("prints the seeds' 4×4 matrix and the full matrix's counts", () => {
    expect(r.out).toContainEqual(expect.stringMatching(/^ +3 port-restricted-cone +D {2}D {2}D {2}R/));
    expect(r.out).toContainEqual(expect.stringMatching(/^ +4 symmetric +D {2}D {2}R {2}R/));
    expect(text).toMatch(/16 cells: 13 direct, 3 relay, 0 not connected/);
    expect(text).toMatch(/the full matrix \(icekit sim matrix\).*100 cells/);
  });

  it("exits 0: every expected outcome held", () => {
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(text).toMatch(/All expected outcomes held/);
  });

  it("--json prints one object per step, ending with the result", async () => {
    const j = await run(["demo", "--json"]);
    const lines = j.out.map((l) => JSON.parse(l) as { step: string; ok?: boolean });
    expect(lines.map((l) => l.step)).toEqual(expect.arrayContaining(["servers", "candidate", "selected", "rtt", "cell", "result"]));
    expect(lines.filter((l) => l.step === "cell")).toHaveLength(100);
    expect(lines.at(-1)!.step).toBe("result");
    expect(j.code).toBe(lines.at(-1)!.ok ? 0 : 1);
  });
});

describe("icekit sim matrix", () => {
  it("--json prints one line per cell with the contract's fields", async () => {
    const r = await run(["sim", "matrix", "--json", "--nat", "symmetric", "--nat", "full-cone"]);
    expect(r.code).toBe(0);
    expect(r.out.map((l) => JSON.parse(l))).toEqual([
      { a: "symmetric", b: "symmetric", connected: true, path: "relay", pair: expect.stringMatching(/relay/), ms: expect.any(Number), expected: "relay" },
      { a: "symmetric", b: "full-cone", connected: true, path: "direct", pair: "prflx-srflx", ms: expect.any(Number), expected: "direct" },
      { a: "full-cone", b: "symmetric", connected: true, path: "direct", pair: "srflx-prflx", ms: expect.any(Number), expected: "direct" },
      { a: "full-cone", b: "full-cone", connected: true, path: "direct", pair: "srflx-srflx", ms: expect.any(Number), expected: "direct" },
    ]);
  });

  it("prints a grid with a legend, and refuses an unknown NAT name", async () => {
    const r = await run(["sim", "matrix", "--nat", "restricted-cone", "--nat", "symmetric"]);
    expect(r.code).toBe(0);
    expect(r.out).toContainEqual(expect.stringMatching(/^ 2 symmetric +D {2}R/));
    expect(r.out.join("\n")).toMatch(/D direct .* R through the TURN relay/);
    const bad = await run(["sim", "matrix", "--nat", "cgnat"]);
    expect(bad.code).toBe(1);
    expect(bad.err.join("")).toMatch(/--nat cgnat: pass one of/);
  });
});
