import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoturn, type Coturn } from "./helpers/coturn";
import { buildPionPeer, describeRun, icekitIce, pionPeer, runIcePair } from "./helpers/ice-peers";

// pion/ice v2 (Debian golang-github-pion-ice.v2-dev, built offline in GOPATH mode) through
// test/interop/drivers/pion-peer, which speaks the `icekit ice` line-JSON signaling.
const LOOPBACK = ["--host", "127.0.0.1"];
const binary = buildPionPeer();

describe.skipIf(binary === undefined && process.env.CI !== "true")("icekit ice ↔ pion/ice", () => {
  afterAll(() => {
    if (binary !== undefined) rmSync(dirname(binary), { recursive: true, force: true });
  });
  const pion = (args: string[]) => {
    if (binary === undefined) throw new Error("no pion driver: .ci/run installs golang-go and golang-github-pion-ice.v2-dev");
    return pionPeer(binary, args);
  };

  it("icekit controlling, pion controlled: 50 pings echoed", async () => {
    const r = await runIcePair(icekitIce(["--controlling", ...LOOPBACK, "--ping", "50"]), pion(["--controlled", ...LOOPBACK]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 50, echoed: 50 });
    expect(r.controlling.messages.find((m) => m.type === "selected")?.remote).toMatch(/ 127\.0\.0\.1 /);
  });

  it("pion controlling, icekit controlled: icekit echoes 50 pings", async () => {
    const r = await runIcePair(pion(["--controlling", ...LOOPBACK, "--ping", "50"]), icekitIce(["--controlled", ...LOOPBACK]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 50, echoed: 50 });
    expect(r.controlled.messages.find((m) => m.type === "selected")?.remote).toMatch(/ 127\.0\.0\.1 /);
  });

  it("pion controlling, icekit --lite controlled: the full peer drives checks and nomination", async () => {
    const r = await runIcePair(pion(["--controlling", ...LOOPBACK, "--ping", "20"]), icekitIce(["--controlled", "--lite", ...LOOPBACK]));
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

    it("both sides relayed-only (--no-host): icekit and pion connect through coturn, both roles", async () => {
      const turn = ["--turn", `127.0.0.1:${coturn.port}`, "--turn-user", "user", "--turn-pass", "pass", "--no-host", ...LOOPBACK];
      for (const icekitControls of [true, false]) {
        const icekit = icekitIce([icekitControls ? "--controlling" : "--controlled", ...turn, ...(icekitControls ? ["--ping", "10"] : [])]);
        const other = pion([icekitControls ? "--controlled" : "--controlling", ...turn, ...(icekitControls ? [] : ["--ping", "10"])]);
        const r = icekitControls ? await runIcePair(icekit, other) : await runIcePair(other, icekit);
        expect(r.controllingCode, describeRun(r)).toBe(0);
        expect(r.controlledCode, describeRun(r)).toBe(0);
        expect(r.done).toMatchObject({ sent: 10, echoed: 10 });
        for (const side of [r.controlling, r.controlled]) {
          const candidates = side.messages.filter((m) => m.type === "candidate");
          expect(candidates.length, describeRun(r)).toBeGreaterThan(0);
          for (const m of candidates) expect(m.candidate).toMatch(/ typ relay /);
        }
        const selected = (icekitControls ? r.controlling : r.controlled).messages.find((m) => m.type === "selected");
        expect(`${selected?.local} | ${selected?.remote}`, describeRun(r)).toMatch(/ typ relay /);
      }
    });
  });
});
