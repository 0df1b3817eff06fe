/**
 * The measuring loop every icekit benchmark shares.
 *
 * A comparison times icekit and one or more peers on the same work and reports each side's
 * **median** ops/s over several rounds:
 *
 * 1. **Warm-up.** Each side runs untimed until its speed stops rising (within bounds), so every
 *    side is measured in optimized code; the warm-up also sizes a batch (how many calls take
 *    about 1 ms), so that reading the clock costs nothing measurable.
 * 2. **Interleaved rounds.** Rounds go icekit, peer 1, peer 2, icekit, peer 1, ... so that machine
 *    noise (another process, frequency scaling, a GC of someone else's garbage) hits every side
 *    alike instead of one side's whole run.
 * 3. **A clean heap per comparison, not per round.** With `--expose-gc` (which `npm run bench`
 *    passes) a full GC runs before each comparison's warm-up, so garbage of the previous
 *    comparison is not collected on this one's clock. Not before every round: a forced full GC
 *    shrinks V8's young generation, and the next ~100 ms of an allocating side then run 2-3x
 *    slower while it grows back (measured on werift-ice's parseMessage), which would penalize
 *    exactly the peers that allocate. Within a comparison each side pays for its own scavenges;
 *    a scavenge costs in proportion to live objects, not garbage, so one side's garbage barely
 *    charges the other.
 * 4. **A sink.** Callers fold what each call produces into {@link consume}; the value is
 *    observable from outside, so V8 cannot prove the work dead and drop it.
 * 5. **A busy check.** Ops/s are wall-clock. When the process got less than 85% of a core during
 *    the timed rounds (another process was running), a `warning:` line says so on stderr.
 *
 * `BENCH_VERBOSE=1` prints each side's warm-up time, batch size and every round's ops/s on stderr.
 *
 * Quote the medians and ratios of one run (`bench/README.md`); never turn them into a timed
 * threshold in a test.
 *
 * @module
 */

/** One comparison, one JSON line of `npm run bench` (DESIGN.md "Benchmarks"). */
export interface BenchResult {
  bench: string;
  unit: "ops/s";
  /** icekit's median ops/s. */
  icekit: number;
  /** The library icekit is compared with. */
  peer: string;
  /** The peer's median ops/s. */
  peerValue: number;
  /** icekit / peer: above 1 means icekit is faster. */
  ratio: number;
}

/** What `bench/run.ts` passes to a suite besides `quick`. */
export interface SuiteOptions {
  /** Runs only the comparisons whose name it accepts; all when absent. */
  readonly filter?: (bench: string) => boolean;
  /** Called with each result as soon as it is measured (the suite still returns them all). */
  readonly onResult?: (result: BenchResult) => void;
}

/** How long to measure. */
export interface TimingOptions {
  /** Measured rounds per side (the median of these is reported). */
  readonly rounds: number;
  /** Milliseconds per round. */
  readonly roundMs: number;
  /** Least and most milliseconds of untimed warm-up per side (see {@link warmUp}), in slices of `sliceMs`. */
  readonly warmupMinMs: number;
  readonly warmupMaxMs: number;
  readonly sliceMs: number;
}

/** `npm run bench`: 7 rounds of 300 ms per side, after 0.5-3 s of warm-up per side. */
export const FULL: TimingOptions = { rounds: 7, roundMs: 300, warmupMinMs: 500, warmupMaxMs: 3000, sliceMs: 50 };
/**
 * `npm run bench -- --quick`: 5 rounds of 40 ms per side, after 100-250 ms of warm-up: about a
 * second per comparison of three sides. A peer still cold after 250 ms (in the first comparison
 * that calls it) is measured low, which flatters icekit; quote the full run.
 */
export const QUICK: TimingOptions = { rounds: 5, roundMs: 40, warmupMinMs: 100, warmupMaxMs: 250, sliceMs: 20 };

/** A timed side: a name and one operation. */
export interface Side {
  readonly name: string;
  readonly run: () => void;
}

let sinkValue = 0;

/** Folds a result into the sink, so the call that produced it cannot be optimized away. */
export function consume(x: number): void {
  sinkValue = (sinkValue + x) | 0;
}

/** The sink's current value; printing or checking it keeps every {@link consume} alive. */
export function sink(): number {
  return sinkValue;
}

/** Below this share of one core during the timed rounds, the machine is too busy to trust. */
const BUSY_SHARE = 0.85;

const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

/** Runs `op` in batches of `batch` for at least `ms`; returns ops per second. */
function round(op: () => void, batch: number, ms: number): number {
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    for (let i = 0; i < batch; i++) op();
    ops += batch;
    t = performance.now();
  } while (t - t0 < ms);
  return (ops * 1000) / (t - t0);
}

/**
 * Runs `op` untimed until its speed stops rising (V8 has tiered it up), at least `minMs` and at
 * most `maxMs`; returns a batch size that takes about 1 ms, and the warm-up's length. "Stops rising": the mean speed of the
 * last three slices is within 3% of the three before. Peers built on many small closures (`stun`)
 * need over a second of calls to reach full speed, icekit's monomorphic code far less, so a fixed
 * short warm-up would time some peers half-cold.
 */
function warmUp(op: () => void, minMs: number, maxMs: number, sliceMs: number): { batch: number; ms: number } {
  let batch = 1;
  const rates: number[] = [];
  const mean3 = (end: number): number => (rates[end - 1]! + rates[end - 2]! + rates[end - 3]!) / 3;
  const t0 = performance.now();
  for (;;) {
    let ops = 0;
    const s = performance.now();
    let t = s;
    do {
      for (let i = 0; i < batch; i++) op();
      ops += batch;
      const dt = performance.now() - t;
      t += dt;
      // ~1 ms per batch, growing at most 16x per step so one noisy sample cannot ask for a huge one.
      batch = Math.max(1, Math.min(batch * 16, 1 << 20, Math.round(dt > 0 ? batch / dt : batch * 16)));
    } while (t - s < sliceMs);
    rates.push(ops / (t - s));
    const n = rates.length;
    const elapsed = t - t0;
    if (elapsed >= maxMs || (elapsed >= minMs && n >= 6 && mean3(n) <= 1.03 * mean3(n - 3))) return { batch, ms: elapsed };
  }
}

/** The median of `xs` (not modified). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Rounds a ratio for printing: three decimals is finer than the noise. */
function ratioOf(a: number, b: number): number {
  return Number((a / b).toFixed(3));
}

/**
 * Times icekit against each peer on one workload, rounds interleaved, and returns one result per
 * peer. icekit's median is shared by the lines of one comparison.
 *
 * @param bench - the workload's name, e.g. `"stun-decode-verify"`
 * @param icekit - icekit's operation
 * @param peers - the peers' operations
 * @param timing - {@link FULL} or {@link QUICK}
 */
export function compare(bench: string, icekit: () => void, peers: readonly Side[], timing: TimingOptions): BenchResult[] {
  const sides: Side[] = [{ name: "icekit", run: icekit }, ...peers];
  gc?.();
  const warm = sides.map((s) => warmUp(s.run, timing.warmupMinMs, timing.warmupMaxMs, timing.sliceMs));
  const samples: number[][] = sides.map(() => []);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let r = 0; r < timing.rounds; r++) {
    for (let s = 0; s < sides.length; s++) samples[s]!.push(round(sides[s]!.run, warm[s]!.batch, timing.roundMs));
  }
  // Wall-clock ops/s assume the process had a core to itself; say so when it did not.
  const cpu = process.cpuUsage(cpu0);
  const share = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0);
  if (share < BUSY_SHARE) {
    process.stderr.write(`warning: ${bench}: the process ran only ${Math.round(share * 100)}% of the time while timed; another process is using the CPU, so these medians are low and noisy\n`);
  }
  if (process.env.BENCH_VERBOSE) {
    sides.forEach((side, i) => {
      const xs = samples[i]!.map((x) => Math.round(x)).join(" ");
      process.stderr.write(`  ${bench} ${side.name}: warm-up ${Math.round(warm[i]!.ms)} ms, batch ${warm[i]!.batch}, rounds ${xs}\n`);
    });
  }
  const medians = samples.map((xs) => Math.round(median(xs)));
  const ours = medians[0]!;
  return peers.map((p, i) => ({
    bench,
    unit: "ops/s",
    icekit: ours,
    peer: p.name,
    peerValue: medians[i + 1]!,
    ratio: ratioOf(ours, medians[i + 1]!),
  }));
}
