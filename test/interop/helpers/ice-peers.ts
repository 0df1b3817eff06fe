import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { CLI } from "./icekit-cli";

/**
 * One ICE agent process that speaks `icekit ice`'s line-JSON signaling on stdin/stdout: the
 * icekit CLI itself, or a driver for another implementation (test/interop/drivers).
 */
export interface IcePeerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Every JSON object printed on stdout, in order. */
  readonly messages: Record<string, unknown>[];
  /** Lines on stdout that were not JSON (there should be none). */
  readonly junk: string[];
  /** Everything printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** Writes one line to its stdin (no-op once stdin is closed). */
  write(line: string): void;
  /** Closes its stdin. */
  endInput(): void;
  /** Resolves with the exit status. */
  readonly exited: Promise<number | null>;
  /** Calls `fn` with each message printed from now on (and replays those printed so far). */
  onMessage(fn: (m: Record<string, unknown>) => void): void;
  kill(): void;
}

/** What launches a peer: the command and its arguments (role and options included). */
export interface PeerCommand {
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
}

/** `icekit ice <args>` from the built CLI. */
export function icekitIce(args: readonly string[]): PeerCommand {
  return { name: `icekit ${args.join(" ")}`, cmd: process.execPath, args: [CLI, "ice", ...args] };
}

/** The aioice driver, on Debian's /usr/bin/python3 (where python3-aioice lives). */
export function aioicePeer(args: readonly string[]): PeerCommand {
  return { name: `aioice ${args.join(" ")}`, cmd: "/usr/bin/python3", args: ["test/interop/drivers/aioice_peer.py", ...args] };
}

/** The werift-ice driver, run through tsx. */
export function weriftPeer(args: readonly string[]): PeerCommand {
  return { name: `werift-ice ${args.join(" ")}`, cmd: process.execPath, args: ["--import", "tsx", "test/interop/drivers/werift-peer.ts", ...args] };
}

/** The pion/ice driver binary built by {@link buildPionPeer}. */
export function pionPeer(binary: string, args: readonly string[]): PeerCommand {
  return { name: `pion/ice ${args.join(" ")}`, cmd: binary, args: [...args] };
}

/**
 * Builds test/interop/drivers/pion-peer offline against Debian's pion sources (INTEROP.md:
 * GOPATH mode, no module proxy). Returns the binary's path, or undefined when Go or pion/ice is
 * not installed.
 */
export function buildPionPeer(): string | undefined {
  if (!existsSync("/usr/share/gocode/src/github.com/pion/ice/v2")) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "icekit-pion-"));
  const out = join(dir, "pion-peer");
  try {
    execFileSync("go", ["build", "-o", out, "./test/interop/drivers/pion-peer"], {
      env: { ...process.env, GOPATH: `${dir}:/usr/share/gocode`, GO111MODULE: "off", GOPROXY: "off", GOFLAGS: "" },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 300_000,
    });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === "ENOENT") return undefined;
    throw new Error(`building the pion driver failed:\n${err.stderr?.toString() ?? String(e)}`);
  }
  return out;
}

/** Starts a peer process. A hard kill after `killAfterMs` keeps a hung peer from hanging the test. */
export function startIcePeer(command: PeerCommand, killAfterMs = 60_000): IcePeerProcess {
  const child = spawn(command.cmd, command.args as string[], { stdio: ["pipe", "pipe", "pipe"] });
  const messages: Record<string, unknown>[] = [];
  const junk: string[] = [];
  const listeners: ((m: Record<string, unknown>) => void)[] = [];
  let out = "";
  let inputOpen = true;
  child.stdin!.on("error", () => {
    inputOpen = false;
  });
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    out += line + "\n";
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch {
      junk.push(line);
      return;
    }
    if (typeof m !== "object" || m === null) {
      junk.push(line);
      return;
    }
    messages.push(m as Record<string, unknown>);
    for (const fn of listeners) fn(m as Record<string, unknown>);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      clearTimeout(timer);
      inputOpen = false;
      // Let the last stdout lines be read before reporting the exit.
      child.stdout!.once("end", () => resolve(code));
      if (child.stdout!.readableEnded) resolve(code);
    });
  });
  return {
    name: command.name,
    child,
    messages,
    junk,
    output: () => out,
    write: (line) => {
      if (inputOpen && child.stdin!.writable) child.stdin!.write(line + "\n");
    },
    endInput: () => {
      if (inputOpen) child.stdin!.end();
      inputOpen = false;
    },
    exited,
    onMessage: (fn) => {
      for (const m of messages) fn(m);
      listeners.push(fn);
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

const SIGNALING = new Set(["params", "candidate", "end-of-candidates"]);

/** Forwards `from`'s signaling messages (params, candidate, end-of-candidates) to `to`'s stdin. */
export function forwardSignaling(from: IcePeerProcess, to: IcePeerProcess, filter: (m: Record<string, unknown>) => boolean = () => true): void {
  from.onMessage((m) => {
    if (typeof m.type === "string" && SIGNALING.has(m.type) && filter(m)) to.write(JSON.stringify(m));
  });
}

/** The outcome of one wired run. */
export interface IceRun {
  readonly controlling: IcePeerProcess;
  readonly controlled: IcePeerProcess;
  readonly controllingCode: number | null;
  readonly controlledCode: number | null;
  /** The controlling side's `done` message, if it printed one. */
  readonly done: Record<string, unknown> | undefined;
}

/**
 * Starts two peers, wires their signaling both ways, waits for the controlling one to exit, then
 * closes the controlled one's stdin (its cue to exit 0 when connected) and waits for it.
 */
export async function runIcePair(controllingCmd: PeerCommand, controlledCmd: PeerCommand): Promise<IceRun> {
  const controlled = startIcePeer(controlledCmd);
  const controlling = startIcePeer(controllingCmd);
  try {
    forwardSignaling(controlling, controlled);
    forwardSignaling(controlled, controlling);
    const controllingCode = await controlling.exited;
    controlled.endInput();
    const controlledCode = await controlled.exited;
    const done = controlling.messages.find((m) => m.type === "done");
    return { controlling, controlled, controllingCode, controlledCode, done };
  } finally {
    controlling.kill();
    controlled.kill();
  }
}

/** A readable account of both sides, for assertion messages. */
export function describeRun(r: IceRun): string {
  return `--- ${r.controlling.name} (exit ${r.controllingCode})\n${r.controlling.output()}\n--- ${r.controlled.name} (exit ${r.controlledCode})\n${r.controlled.output()}`;
}

/** The same peer, run inside a network namespace (`ip netns exec`, which execs in place). */
export function inNamespace(ns: string, command: PeerCommand): PeerCommand {
  return { name: `${command.name} (in ${ns})`, cmd: "ip", args: ["netns", "exec", ns, command.cmd, ...command.args] };
}
