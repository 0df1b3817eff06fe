/**
 * A small command-line parser: positionals, `--flag`, `--opt value`, `--opt=value`, repeated
 * options collected in order. Zero dependencies, and strict: an unknown option is an error that
 * names the options the command takes.
 *
 * @module
 */
import { CliError } from "./output";

/** What a command accepts. */
export interface ArgSpec {
  /** Options that take a value. */
  readonly values?: readonly string[];
  /** Options that may repeat (a subset of {@link values}). */
  readonly repeated?: readonly string[];
  /** Options without a value. */
  readonly flags?: readonly string[];
}

/** Parsed arguments. */
export interface ParsedArgs {
  readonly positionals: string[];
  /** Last value of each non-repeated option. */
  readonly values: Map<string, string>;
  /** All values of each repeated option. */
  readonly lists: Map<string, string[]>;
  readonly flags: Set<string>;
}

/**
 * Parses `argv` (without the command name) against `spec`. `--json` is always accepted.
 *
 * @throws {@link CliError} for unknown options or a missing value.
 */
export function parseArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const values = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  const takesValue = new Set(spec.values ?? []);
  const repeated = new Set(spec.repeated ?? []);
  const isFlag = new Set([...(spec.flags ?? []), "json", "help"]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (isFlag.has(name)) {
      if (eq >= 0) throw new CliError("USAGE", `--${name} takes no value`);
      flags.add(name);
      continue;
    }
    if (!takesValue.has(name)) {
      const known = [...takesValue, ...isFlag].map((o) => `--${o}`).join(", ");
      throw new CliError("USAGE", `unknown option --${name}; this command takes ${known}`);
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) throw new CliError("USAGE", `--${name} needs a value`);
    if (repeated.has(name)) {
      const l = lists.get(name) ?? [];
      l.push(value);
      lists.set(name, l);
    } else values.set(name, value);
  }
  return { positionals, values, lists, flags };
}
