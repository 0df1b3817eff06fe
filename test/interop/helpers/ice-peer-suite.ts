import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoturn, type Coturn } from "./coturn";
import { describeRun, icekitIce, runIcePair, type PeerCommand } from "./ice-peers";

const LOOPBACK = ["--host", "127.0.0.1"];

/**
 * The interop cases every real ICE peer runs against `icekit ice` on loopback: each role, icekit
 * as a lite agent facing the full peer, and both sides relayed-only through coturn in both roles.
 * `peer` turns `icekit ice`-style arguments into the peer's driver command (the drivers under
 * test/interop/drivers speak the CLI's line-JSON signaling).
 */
export function iceInteropCases(name: string, peer: (args: string[]) => PeerCommand): void {
  it(`icekit controlling, ${name} controlled: 50 pings echoed`, async () => {
    const r = await runIcePair(icekitIce(["--controlling", ...LOOPBACK, "--ping", "50"]), peer(["--controlled", ...LOOPBACK]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 50, echoed: 50 });
    expect(r.controlling.messages.find((m) => m.type === "selected")?.remote).toMatch(/ 127\.0\.0\.1 /);
  });

  it(`${name} controlling, icekit controlled: icekit echoes 50 pings`, async () => {
    const r = await runIcePair(peer(["--controlling", ...LOOPBACK, "--ping", "50"]), icekitIce(["--controlled", ...LOOPBACK]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 50, echoed: 50 });
    expect(r.controlled.messages.find((m) => m.type === "selected")?.remote).toMatch(/ 127\.0\.0\.1 /);
  });

  it(`${name} controlling, icekit --lite controlled: the full peer drives checks and nomination`, async () => {
    const r = await runIcePair(peer(["--controlling", ...LOOPBACK, "--ping", "20"]), icekitIce(["--controlled", "--lite", ...LOOPBACK]));
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

    it(`both sides relayed-only (--no-host): icekit and ${name} connect through coturn, both roles`, async () => {
      const turn = ["--turn", `127.0.0.1:${coturn.port}`, "--turn-user", "user", "--turn-pass", "pass", "--no-host", ...LOOPBACK];
      for (const icekitControls of [true, false]) {
        const icekit = icekitIce([icekitControls ? "--controlling" : "--controlled", ...turn, ...(icekitControls ? ["--ping", "10"] : [])]);
        const other = peer([icekitControls ? "--controlled" : "--controlling", ...turn, ...(icekitControls ? [] : ["--ping", "10"])]);
        const r = icekitControls ? await runIcePair(icekit, other) : await runIcePair(other, icekit);
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
}
