/**
 * 1000 seeded runs of a lossy, jittery scenario: both peers behind port-restricted cones, 5%
 * loss (each way) and ±5 ms jitter on each host link, so that a check's round trip crosses four
 * lossy hops and fails 19% of the time. Every run connects.
 *
 * Why not more loss: RFC 8489 gives a transaction 7 sends. At 10% per hop a round trip fails 34%
 * of the time, and a transaction (the server-reflexive Binding, a check, the nomination) fails
 * with probability 0.34^7 ≈ 6e-4: over 1000 runs one or two fail as the RFCs say they must.
 */
import { describe, expect, it } from "vitest";
import { portRestrictedCone } from "../../src/sim/index";
import { scenario } from "./harness";

const RUNS = 1000;

describe("seeded lossy runs", () => {
  it(`all ${RUNS} connect`, () => {
    const failed: number[] = [];
    let virtual = 0;
    const t0 = performance.now();
    for (let seed = 1; seed <= RUNS; seed++) {
      const link = { delay: 15, jitter: 5, loss: 0.05 };
      const s = scenario({ seed, a: { placement: { kind: "nat", behavior: portRestrictedCone() }, link }, b: { placement: { kind: "nat", behavior: portRestrictedCone() }, link } });
      s.start();
      s.runUntilSettled(120_000);
      if (s.a.agent.state !== "completed" || s.b.agent.state !== "completed") failed.push(seed);
      virtual += s.net.now;
    }
    console.log(`${RUNS} runs: ${(performance.now() - t0).toFixed(0)} ms wall, mean ${(virtual / RUNS).toFixed(0)} ms virtual to connect`);
    expect(failed).toEqual([]);
  });
});
