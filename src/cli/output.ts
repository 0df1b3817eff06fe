/**
 * How the CLI talks: JSON lines on stdout with `--json`, readable text otherwise, and errors as
 * one line (stderr, or `{"error":{code,message}}` on stdout with `--json`) and exit status 1.
 *
 * @module
 */
import { isIcekitError, isStunDecodeError, isTransactionError } from "../errors";

/** An error the CLI reports to the user as one line, never with a stack trace. */
export class CliError extends Error {
  override readonly name = "CliError";
  /** Machine-readable code, printed in `--json` mode. */
  readonly code: string;
  /**
   * @param code - machine-readable code (`USAGE`, `NOT_STUN`, ...)
   * @param message - one line for the user
   */
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Reads all of standard input. */
  readonly readStdin: () => Promise<Uint8Array>;
}

/** JSON.stringify that prints bigints as decimal strings (JSON numbers would lose precision). */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/**
 * Reports `e` the way the CLI contract says and returns the exit status (1). Errors that are not
 * the user's (bugs) still print one line, with a hint to report them.
 */
export function reportError(e: unknown, json: boolean, io: CliIo): number {
  let code = "INTERNAL";
  let message: string;
  if (e instanceof CliError || isStunDecodeError(e) || isIcekitError(e) || isTransactionError(e)) {
    code = (e as { code: string }).code;
    message = (e as Error).message;
  } else {
    message = `internal error: ${e instanceof Error ? e.message : String(e)} (please report this)`;
  }
  if (json) io.stdout(toJsonLine({ error: { code, message } }));
  else io.stderr(`icekit: ${message}`);
  return 1;
}
