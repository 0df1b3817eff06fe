/**
 * `icekit sim matrix [--json] [--seed N] [--loss P] [--nat NAME ...]`: the NAT traversal matrix
 * on the simulator (see `src/sim/matrix.ts`). Without `--json`, a grid (rows: the controlling
 * agent's NAT, columns: the controlled agent's) and the range of connection times; with it, one
 * line per cell `{"a","b","connected","path","pair","ms","expected"}`.
 *
 * @module
 */
import { isIcekitError } from "../errors";
import { MATRIX_BEHAVIORS, runNatMatrix } from "../sim/matrix";
import type { MatrixCell } from "../sim/matrix";
import { parseArgs } from "./args";
import { CliError, toJsonLine } from "./output";
import type { CliIo } from "./output";

/** One grid letter: D direct, R relay, x not connected; `!` when RFC 4787 predicted otherwise. */
export function cellMark(c: MatrixCell): string {
  return (c.connected ? (c.path === "relay" ? "R" : "D") : "x") + (c.ok ? " " : "!");
}

/** The grid, legend and time range as text lines. */
export function formatMatrix(cells: readonly MatrixCell[]): string[] {
  const names = [...new Set(cells.map((c) => c.a))];
  const width = Math.max(...names.map((n) => n.length)) + 4;
  const lines: string[] = [];
  lines.push(`${"".padEnd(width)}${names.map((_, i) => String(i + 1).padEnd(3)).join("")}   (columns: controlled agent's NAT)`);
  names.forEach((a, i) => {
    const row = names.map((b) => {
      const c = cells.find((x) => x.a === a && x.b === b);
      return c === undefined ? "   " : `${cellMark(c)} `;
    });
    lines.push(`${`${String(i + 1).padStart(2)} ${a}`.padEnd(width)}${row.join("")}`);
  });
  lines.push("D direct (host/srflx/prflx)   R through the TURN relay   x no connection   ! not what RFC 4787 predicts");
  lines.push(summaryLine(cells));
  return lines;
}

/** "100 cells: 61 direct, 37 relay, 2 not connected; connected in 310-2070 ms (median 1360), virtual time". */
export function summaryLine(cells: readonly MatrixCell[]): string {
  const direct = cells.filter((c) => c.connected && c.path === "direct").length;
  const relay = cells.filter((c) => c.connected && c.path === "relay").length;
  const times = cells.flatMap((c) => (c.ms === undefined ? [] : [c.ms])).sort((x, y) => x - y);
  const range = times.length === 0 ? "" : `; connected in ${times[0]}-${times[times.length - 1]} ms (median ${times[Math.floor(times.length / 2)]}) of virtual time`;
  const wrong = cells.filter((c) => !c.ok).length;
  return `${cells.length} cells: ${direct} direct, ${relay} relay, ${cells.length - direct - relay} not connected${range}; ${wrong === 0 ? "all as expected" : `${wrong} not as expected`}`;
}

/** A cell as the CLI contract's JSON object. */
export function cellJson(c: MatrixCell): Record<string, unknown> {
  return { a: c.a, b: c.b, connected: c.connected, path: c.path ?? null, pair: c.pair ?? null, ms: c.ms ?? null, expected: c.expected };
}

/** A progress line on a terminal's stderr (rewritten in place); nothing when stderr is not a TTY. */
export function progress(text: string | undefined): void {
  const err = typeof process !== "undefined" ? process.stderr : undefined;
  if (err?.isTTY !== true) return;
  err.write(text === undefined ? "\r\x1b[K" : `\r\x1b[K${text}`);
}

/** Runs `icekit sim <subcommand>`. Returns the exit status. */
export async function simCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { values: ["seed", "loss", "nat"], repeated: ["nat"] });
  const [sub, ...extra] = args.positionals;
  if (sub !== "matrix" || extra.length > 0) throw new CliError("USAGE", "usage: icekit sim matrix [--json] [--seed N] [--loss P] [--nat NAME ...]");
  const json = args.flags.has("json");
  const seedText = args.values.get("seed") ?? "1";
  const seed = Number(seedText);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new CliError("USAGE", `--seed ${seedText}: pass an integer from 0 to 4294967295`);
  const lossText = args.values.get("loss") ?? "0";
  const loss = Number(lossText);
  if (!(loss >= 0 && loss < 1)) throw new CliError("USAGE", `--loss ${lossText}: pass a probability from 0 to below 1, e.g. 0.05`);
  const nats = args.lists.get("nat");
  for (const n of nats ?? []) {
    if (!MATRIX_BEHAVIORS.some((b) => b.name === n)) throw new CliError("USAGE", `--nat ${n}: pass one of ${MATRIX_BEHAVIORS.map((b) => b.name).join(", ")}`);
  }
  let cells: MatrixCell[];
  try {
    cells = runNatMatrix({
      seed,
      loss,
      ...(nats ? { behaviors: nats } : {}),
      onCell: (c, i, total) => {
        if (json) io.stdout(toJsonLine(cellJson(c)));
        else progress(`matrix ${i + 1}/${total}: ${c.a} ↔ ${c.b}`);
      },
    });
  } catch (e) {
    if (isIcekitError(e)) throw new CliError("USAGE", e.message);
    throw e;
  } finally {
    if (!json) progress(undefined);
  }
  if (!json) {
    io.stdout(`NAT traversal matrix (simulated, seed ${seed}, loss ${loss}): rows = controlling agent's NAT; STUN and TURN servers on the internet`);
    for (const line of formatMatrix(cells)) io.stdout(line);
  }
  return 0;
}
