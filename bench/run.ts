/**
 * `npm run bench [-- --quick] [filter...]`: runs the benchmark suites in order and prints one
 * JSON line per comparison on stdout (DESIGN.md "Benchmarks"); progress, warnings and a summary
 * go to stderr. See bench/README.md.
 *
 * - `--quick`: about a second per comparison instead of about eight.
 * - `filter`: runs the suites whose name contains it (`codec`, `crypto-hmac`, `hmac`), and in the
 *   codec suite also single comparisons whose name contains it (`decode-verify`). Several filters
 *   add up.
 *
 * Exits 0 after a run, 1 when a suite failed or the filters matched nothing, 2 on a bad flag.
 *
 * @module
 */
import { benchNames as codecBenches, run as codec } from "./codec";
import { run as cryptoHmac } from "./crypto-hmac";
import type { BenchResult, SuiteOptions } from "./harness";
import type { IceBenchResult } from "./ice";
import { run as ice } from "./ice";
import type { TurnBenchResult } from "./turn-relay";
import { run as turnRelay } from "./turn-relay";

/** A line of any suite: ops/s comparisons, or turn-relay's packets/s and bytes (possibly without a peer). */
type AnyResult = BenchResult | TurnBenchResult | IceBenchResult;

/** A suite of comparisons. */
interface Suite {
  readonly name: string;
  /**
   * The comparison names, when `run` can pick single ones with `options.filter`; absent when the
   * suite runs whole or not at all.
   */
  readonly benches?: () => string[];
  readonly run: (quick: boolean, options: SuiteOptions) => Promise<AnyResult[]>;
}

const SUITES: readonly Suite[] = [
  { name: "codec", benches: codecBenches, run: codec },
  // bench/crypto-hmac.ts exports run(quick) returning its results, so it runs in-process; it has
  // no filter or per-result callback, so its lines are printed when it returns.
  { name: "crypto-hmac", run: (quick) => cryptoHmac(quick) },
  // Child processes (icekit's built CLI, coturn, node-turn, turnutils_*) on loopback; needs dist/.
  { name: "turn-relay", run: (quick) => turnRelay(quick) },
  // ICE: round trips to connect (simulator, and icekit vs werift-ice on loopback with a delay),
  // agents on one mux port with a child process of peers.
  { name: "ice", run: (quick) => ice(quick) },
];

const USAGE = `usage: npm run bench [-- [--quick] [filter...]]
  --quick   about a second per comparison (default: about eight)
  filter    run suites whose name contains it (${SUITES.map((s) => s.name).join(", ")}),
            or codec comparisons whose name contains it (e.g. decode-verify)`;

function human(ops: number | null, unit: AnyResult["unit"] = "ops/s"): string {
  if (ops === null) return "n/a";
  if (unit === "bytes") return `${ops} B`;
  if (unit !== "ops/s" && unit !== "packets/s") return `${ops} ${unit}`;
  return ops >= 1e6 ? `${(ops / 1e6).toFixed(2)} M/s` : ops >= 1e3 ? `${(ops / 1e3).toFixed(1)} k/s` : `${ops.toFixed(0)}/s`;
}

/** The issue's target: icekit at least 5x each peer on decode + verify. Informational only. */
const TARGET_BENCH = "stun-decode-verify";
const TARGET_RATIO = 5;

function print(r: AnyResult): void {
  console.log(JSON.stringify(r));
  process.stderr.write(`  ${r.bench}: icekit ${human(r.icekit, r.unit)}, ${r.peer} ${human(r.peerValue, r.unit)}, ratio ${r.ratio}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = argv.filter((a) => a.startsWith("-"));
  const filters = argv.filter((a) => !a.startsWith("-"));
  if (flags.includes("--help") || flags.includes("-h")) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const unknown = flags.filter((f) => f !== "--quick");
  if (unknown.length > 0) {
    process.stderr.write(`unknown option ${unknown.join(" ")}\n${USAGE}\n`);
    return 2;
  }
  const quick = flags.includes("--quick");
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) process.stderr.write("note: run with node --expose-gc (npm run bench does) for a clean heap per comparison\n");

  const all: AnyResult[] = [];
  let failed = false;
  for (const suite of SUITES) {
    const wholeSuite = filters.length === 0 || filters.some((f) => suite.name.includes(f));
    const filter = (bench: string): boolean => filters.some((f) => bench.includes(f));
    if (!wholeSuite && !suite.benches?.().some(filter)) continue;
    const options: SuiteOptions = {
      ...(wholeSuite ? {} : { filter }),
      onResult: (r) => print(r),
    };
    process.stderr.write(`== ${suite.name}${quick ? " (quick)" : ""}\n`);
    const started = performance.now();
    try {
      const results = await suite.run(quick, options);
      if (!suite.benches) for (const r of results) print(r);
      all.push(...results);
    } catch (e) {
      failed = true;
      process.stderr.write(`error: suite ${suite.name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    }
    process.stderr.write(`== ${suite.name}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    gc?.();
  }

  if (all.length === 0 && !failed) {
    process.stderr.write(`no comparison matched ${filters.join(" ")}\n${USAGE}\n`);
    return 1;
  }
  const target = all.filter((r) => r.bench === TARGET_BENCH);
  if (target.length > 0) {
    const met = target.every((r) => (r.ratio ?? 0) >= TARGET_RATIO);
    process.stderr.write(
      `target ${TARGET_BENCH} >= ${TARGET_RATIO}x each peer: ${target.map((r) => `${r.peer} ${r.ratio}x`).join(", ")}: ${met ? "met" : "NOT met"} (this run; quote medians and ratios, never gate a test on them)\n`,
    );
  }
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
