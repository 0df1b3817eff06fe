import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoturn, type Coturn } from "./helpers/coturn";
import { aioicePeer, describeRun, icekitIce, runIcePair } from "./helpers/ice-peers";

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

const LOOPBACK = ["--host", "127.0.0.1"];

describe.skipIf(!hasAioice() && process.env.CI !== "true")("icekit ice ↔ aioice", () => {
  it("icekit controlling, aioice controlled: 50 pings echoed", async () => {
    const r = await runIcePair(icekitIce(["--controlling", ...LOOPBACK, "--ping", "50"]), aioicePeer(["--controlled", ...LOOPBACK]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 50, echoed: 50 });
    expect(r.controlling.messages.find((m) => m.type === "selected")?.remote).toMatch(/ 127\.0\.0\.1 /);
  });

  it("aioice controlling, icekit controlled: icekit echoes 50 pings", async () => {
    const r = await runIcePair(aioicePeer(["--controlling", ...LOOPBACK, "--ping", "50"]), icekitIce(["--controlled", ...LOOPBACK]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 50, echoed: 50 });
    expect(r.controlled.messages.find((m) => m.type === "selected")?.remote).toMatch(/ 127\.0\.0\.1 /);
  });

  it("aioice controlling, icekit --lite controlled: the full peer drives checks and nomination", async () => {
    const r = await runIcePair(aioicePeer(["--controlling", ...LOOPBACK, "--ping", "20"]), icekitIce(["--controlled", "--lite", ...LOOPBACK]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 20, echoed: 20 });
  });

  describe("through coturn", () => {
    let coturn: Coturn;
    beforeAll(async () => {
      coturn = await startCoturn();
    });
    afterAll(async () => {
      await coturn?.stop();
    });

    it("both sides relayed-only (--no-host): icekit and aioice connect through coturn, both roles", async () => {
      const turn = ["--turn", `127.0.0.1:${coturn.port}`, "--turn-user", "user", "--turn-pass", "pass", "--no-host", ...LOOPBACK];
      for (const icekitControls of [true, false]) {
        const icekit = icekitIce([icekitControls ? "--controlling" : "--controlled", ...turn, ...(icekitControls ? ["--ping", "10"] : [])]);
        const aioice = aioicePeer([icekitControls ? "--controlled" : "--controlling", ...turn, ...(icekitControls ? [] : ["--ping", "10"])]);
        const r = icekitControls ? await runIcePair(icekit, aioice) : await runIcePair(aioice, icekit);
        expect(r.controllingCode, describeRun(r)).toBe(0);
        expect(r.controlledCode, describeRun(r)).toBe(0);
        expect(r.done).toMatchObject({ sent: 10, echoed: 10 });
        for (const side of [r.controlling, r.controlled]) {
          const candidates = side.messages.filter((m) => m.type === "candidate");
          expect(candidates.length, describeRun(r)).toBeGreaterThan(0);
          for (const m of candidates) expect(m.candidate).toMatch(/ typ relay /);
        }
        // No host address was signaled either way, so the path goes through a relay: icekit's
        // own, or the peer's (the peer may still check from its host base: then icekit sees a
        // peer-reflexive remote behind its relayed local candidate).
        const selected = (icekitControls ? r.controlling : r.controlled).messages.find((m) => m.type === "selected");
        expect(`${selected?.local} | ${selected?.remote}`, describeRun(r)).toMatch(/ typ relay /);
      }
    });
  });
});
