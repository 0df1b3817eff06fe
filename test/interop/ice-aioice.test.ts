import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { describe } from "vitest";
import { iceInteropCases } from "./helpers/ice-peer-suite";
import { aioicePeer } from "./helpers/ice-peers";

// aioice (Debian python3-aioice) through test/interop/drivers/aioice_peer.py, which speaks the
// `icekit ice` line-JSON signaling; the test wires the two processes like two icekit ones.
function hasAioice(): boolean {
  if (!existsSync("/usr/bin/python3")) return false;
  try {
    execFileSync("/usr/bin/python3", ["-c", "import aioice"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasAioice() && process.env.CI !== "true")("icekit ice ↔ aioice", () => {
  iceInteropCases("aioice", aioicePeer);
});
