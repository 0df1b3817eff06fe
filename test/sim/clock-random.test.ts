import { describe, expect, it } from "vitest";
import { Fnv64, Prng, Scheduler } from "../../src/sim/index";

describe("Scheduler", () => {
  it("runs events in time order and breaks ties by scheduling order", () => {
    const s = new Scheduler();
    const rng = new Prng(9);
    const scheduled: { time: number; seq: number }[] = [];
    const ran: { time: number; seq: number }[] = [];
    for (let seq = 0; seq < 2000; seq++) {
      const time = rng.int(0, 50); // many ties
      scheduled.push({ time, seq });
      s.at(time, () => ran.push({ time: s.now, seq }));
    }
    while (s.step());
    const expected = [...scheduled].sort((a, b) => a.time - b.time || a.seq - b.seq);
    expect(ran).toEqual(expected);
  });

  it("skips cancelled events and never moves the clock back", () => {
    const s = new Scheduler();
    const ran: string[] = [];
    s.at(10, () => ran.push("a"));
    const t = s.at(5, () => ran.push("cancelled"));
    s.at(10, () => {
      ran.push("b");
      s.at(3, () => ran.push(`late@${s.now}`)); // in the past: runs now, after what is due
    });
    t.cancel();
    while (s.step());
    expect(ran).toEqual(["a", "b", "late@10"]);
    expect(s.now).toBe(10);
  });
});

describe("Prng", () => {
  it("replays the same stream for the same seed and differs across seeds", () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(xs);
  });

  it("forks from the seed, independent of how much of the parent was drawn", () => {
    const a = new Prng(7);
    const f1 = a.fork("alice").nextU32();
    for (let i = 0; i < 100; i++) a.nextU32();
    expect(a.fork("alice").nextU32()).toBe(f1);
    expect(a.fork("bob").nextU32()).not.toBe(f1);
  });

  it("spreads floats over [0, 1) and ints over their inclusive range", () => {
    const r = new Prng(1);
    const counts = [0, 0, 0, 0];
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < 4000; i++) {
      const f = r.next();
      lo = Math.min(lo, f);
      hi = Math.max(hi, f);
      counts[r.int(0, 3)]!++;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });

  it("fills odd-sized buffers deterministically", () => {
    const x = new Uint8Array(7);
    const y = new Uint8Array(7);
    new Prng(5).fill(x);
    new Prng(5).fill(y);
    expect(x).toEqual(y);
    expect(x.some((v) => v !== 0)).toBe(true);
  });

  it("refuses seeds that are not integers", () => {
    expect(() => new Prng(1.5)).toThrow(/seed/);
  });
});

describe("Fnv64", () => {
  it("matches the published FNV-1a 64 values", () => {
    expect(new Fnv64().hex()).toBe("cbf29ce484222325");
    expect(new Fnv64().update("a").hex()).toBe("af63dc4c8601ec8c");
    expect(new Fnv64().update("foo").update("bar").hex()).toBe("85944171f73967e8");
  });
});
