import { spawn } from "node:child_process";
import { start, type Started } from "./process";

/** The built CLI, as users run it. */
export const CLI = "dist/cli/main.js";

/** A running `icekit stun-server --json`, started (optionally inside a namespace) and ready. */
export interface CliServer {
  readonly process: Started;
  readonly udp: { address: string; port: number }[];
  stop(): Promise<void>;
}

/** Starts `icekit stun-server --json <args>` and waits for its "listening" line. */
export async function startCliStunServer(args: string[], netns?: string): Promise<CliServer> {
  const argv = [CLI, "stun-server", "--json", "--quiet", ...args];
  const proc = netns ? start("ip", ["netns", "exec", netns, process.execPath, ...argv]) : start(process.execPath, argv);
  const listening = await new Promise<{ udp: { address: string; port: number }[] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stun-server did not start:\n${proc.output()}`)), 10_000);
    const onData = () => {
      for (const line of proc.output().split("\n")) {
        if (line.startsWith('{"type":"listening"')) {
          clearTimeout(timer);
          proc.child.stdout?.off("data", onData);
          resolve(JSON.parse(line));
          return;
        }
      }
    };
    proc.child.stdout?.on("data", onData);
    proc.child.once("exit", () => reject(new Error(`stun-server exited:\n${proc.output()}`)));
  });
  return { process: proc, udp: listening.udp, stop: () => proc.stop() };
}

/** Runs the CLI to completion (optionally in a namespace) and returns status and output. */
export function runCli(args: string[], netns?: string, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, argv] = netns ? ["ip", ["netns", "exec", netns, process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv as string[], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
