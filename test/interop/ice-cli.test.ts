import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCandidate } from "../../src/ice/candidate";
import { startCoturn, type Coturn } from "./helpers/coturn";
import { describeRun, forwardSignaling, icekitIce, runIcePair, startIcePeer } from "./helpers/ice-peers";
import { runCli } from "./helpers/icekit-cli";

const LOOPBACK = ["--host", "127.0.0.1"];

// Two `icekit ice` processes on loopback, signaled through the test exactly as the CLI contract
// says other programs drive it (DESIGN.md, "The CLI contract").
describe("icekit ice ↔ icekit ice", () => {
  it("connects and round-trips 100 pings; the output follows the contract", async () => {
    const r = await runIcePair(icekitIce(["--controlling", ...LOOPBACK, "--ping", "100"]), icekitIce(["--controlled", ...LOOPBACK]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ type: "done", sent: 100, echoed: 100 });
    expect(typeof r.done?.rttMs).toBe("number");
    for (const side of [r.controlling, r.controlled]) {
      expect(side.junk).toEqual([]);
      const m = side.messages;
      expect(m[0]).toMatchObject({ type: "params" });
      expect(m[0]!.ufrag).toMatch(/^[A-Za-z0-9+/]{4,256}$/);
      expect(m[0]!.pwd).toMatch(/^[A-Za-z0-9+/]{22,256}$/);
      // Optional fields: ICE options (RFC 8445 §10 ice2, RFC 8838 trickle) and Ta (ice-pacing).
      expect(m[0]).toMatchObject({ options: ["trickle", "ice2"], pacingMs: 50 });
      expect(m[0]!.lite).toBeUndefined();
      const candidates = m.filter((x) => x.type === "candidate");
      expect(candidates.length).toBeGreaterThan(0);
      for (const c of candidates) {
        expect(c.candidate).toMatch(/^candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/);
        expect(parseCandidate(c.candidate as string).address).toBe("127.0.0.1");
      }
      const eoc = m.findIndex((x) => x.type === "end-of-candidates");
      expect(eoc).toBeGreaterThan(m.lastIndexOf(candidates[candidates.length - 1]!));
      const states = m.filter((x) => x.type === "state").map((x) => x.state);
      expect(states).toContain("checking");
      expect(states.some((s) => s === "connected" || s === "completed")).toBe(true);
      const selected = m.find((x) => x.type === "selected");
      expect(selected?.local).toMatch(/^candidate:/);
      expect(selected?.remote).toMatch(/^candidate:/);
    }
  });

  it("a full controlling agent connects to an --lite controlled one", async () => {
    const r = await runIcePair(icekitIce(["--controlling", ...LOOPBACK, "--ping", "20"]), icekitIce(["--controlled", "--lite", ...LOOPBACK]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 20, echoed: 20 });
  });

  it("two --lite agents select a pair without checks and round-trip pings (RFC 8445 §6.1.1 both lite)", async () => {
    const r = await runIcePair(icekitIce(["--controlling", "--lite", ...LOOPBACK, "--ping", "20"]), icekitIce(["--controlled", "--lite", ...LOOPBACK]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 20, echoed: 20 });
    for (const side of [r.controlling, r.controlled]) {
      expect(side.messages[0]).toMatchObject({ type: "params", lite: true, options: ["trickle", "ice2"] });
      expect(side.messages[0]!.pacingMs).toBeUndefined(); // RFC 8839 §4.3.1: a lite agent MUST NOT
      expect(side.messages.find((x) => x.type === "selected")).toBeDefined();
    }
  });

  it("two --lite agents with two addresses each agree on one of the four pairs; the controlling one sends the updated list (RFC 8445 §8.2)", async () => {
    const two = ["--host", "127.0.0.1", "--host", "127.0.0.2"];
    const r = await runIcePair(icekitIce(["--controlling", "--lite", ...two, "--ping", "10"]), icekitIce(["--controlled", "--lite", ...two]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 10, echoed: 10 });
    const sel = (side: typeof r.controlling) => side.messages.find((x) => x.type === "selected")!;
    // Both sides picked the same pair (each side's local is the other's remote).
    const at = (line: unknown) => {
      const c = parseCandidate(line as string);
      return `${c.address}:${c.port}`;
    };
    expect(at(sel(r.controlling).local)).toBe(at(sel(r.controlled).remote));
    expect(at(sel(r.controlling).remote)).toBe(at(sel(r.controlled).local));
    expect(r.controlling.messages.find((x) => x.type === "candidate-update")).toEqual({ type: "candidate-update", candidates: [sel(r.controlling).local] });
    expect(r.controlled.messages.some((x) => x.type === "candidate-update")).toBe(false);
  });

  it("an --lite --controlling agent facing a full peer turns controlled and still connects", async () => {
    const r = await runIcePair(icekitIce(["--controlling", "--lite", ...LOOPBACK, "--ping", "10"]), icekitIce(["--controlled", ...LOOPBACK]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 10, echoed: 10 });
  });

  it("the controlled side with --ping N exits 0 by itself once it has echoed N pings", async () => {
    const controlled = startIcePeer(icekitIce(["--controlled", ...LOOPBACK, "--ping", "20"]));
    const controlling = startIcePeer(icekitIce(["--controlling", ...LOOPBACK, "--ping", "20"]));
    forwardSignaling(controlling, controlled);
    forwardSignaling(controlled, controlling);
    const [a, b] = await Promise.all([controlling.exited, controlled.exited]);
    const why = `${controlling.output()}\n---\n${controlled.output()}`;
    expect(a, why).toBe(0);
    expect(b, why).toBe(0);
  });

  it("ignores garbage, unknown types and malformed candidates on stdin, and still connects", async () => {
    const controlled = startIcePeer(icekitIce(["--controlled", ...LOOPBACK]));
    const controlling = startIcePeer(icekitIce(["--controlling", ...LOOPBACK, "--ping", "5"]));
    const garbage = [
      "this is not JSON",
      "{",
      "null",
      "[1,2,3]",
      "42",
      "{}",
      '{"type":42}',
      '{"type":"offer","sdp":"v=0"}',
      '{"type":"params"}',
      '{"type":"params","ufrag":7,"pwd":null}',
      '{"type":"candidate"}',
      '{"type":"candidate","candidate":17}',
      '{"type":"candidate","candidate":"candidate:garbage"}',
      '{"type":"candidate","candidate":"candidate:1 1 udp 2130706431 999.1.1.1 5000 typ host"}',
      '{"type":"candidate","candidate":"candidate:1 1 sctp 2130706431 127.0.0.1 5000 typ host"}',
      "\u0000\u0001\u0002",
    ];
    for (const g of garbage) {
      controlled.write(g);
      controlling.write(g);
    }
    forwardSignaling(controlling, controlled);
    forwardSignaling(controlled, controlling);
    const a = await controlling.exited;
    controlled.endInput();
    const b = await controlled.exited;
    const why = `${controlling.output()}\n---\n${controlled.output()}`;
    expect(a, why).toBe(0);
    expect(b, why).toBe(0);
    expect(controlling.messages.find((m) => m.type === "done")).toMatchObject({ sent: 5, echoed: 5 });
    // It said why it ignored them (on stderr, never stdout).
    expect(controlling.output()).toMatch(/not JSON/);
    expect(controlling.junk).toEqual([]);
  });

  it("accepts the peer's candidates before its params (any order)", async () => {
    const controlled = startIcePeer(icekitIce(["--controlled", ...LOOPBACK]));
    const controlling = startIcePeer(icekitIce(["--controlling", ...LOOPBACK, "--ping", "3"]));
    // Controlling → controlled: params held back until end-of-candidates went through.
    let held: Record<string, unknown> | undefined;
    controlling.onMessage((m) => {
      if (m.type === "params") held = m;
      else if (m.type === "candidate") controlled.write(JSON.stringify(m));
      else if (m.type === "end-of-candidates") {
        controlled.write(JSON.stringify(m));
        controlled.write(JSON.stringify(held));
      }
    });
    forwardSignaling(controlled, controlling);
    const a = await controlling.exited;
    controlled.endInput();
    const b = await controlled.exited;
    const why = `${controlling.output()}\n---\n${controlled.output()}`;
    expect(a, why).toBe(0);
    expect(b, why).toBe(0);
  });

  it("exits 1 when --timeout passes with no peer", async () => {
    const p = startIcePeer(icekitIce(["--controlling", ...LOOPBACK, "--timeout", "500"]));
    const code = await p.exited;
    expect(code, p.output()).toBe(1);
    expect(p.messages[0]).toMatchObject({ type: "params" });
    expect(p.messages.some((m) => m.type === "end-of-candidates")).toBe(true);
    expect(p.output()).toMatch(/timed out/);
  });

  it("rejects a missing role, a bad --host and --turn without credentials with exit 1", async () => {
    for (const args of [["ice", ...LOOPBACK], ["ice", "--controlling", "--controlled"], ["ice", "--controlling", "--host", "not-an-ip"], ["ice", "--controlling", "--turn", "127.0.0.1:3478"], ["ice", "--controlling", "--ping", "0"]]) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toMatch(/^icekit: /);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });
});

describe("icekit ice through coturn", () => {
  let coturn: Coturn;
  beforeAll(async () => {
    coturn = await startCoturn();
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  it("with --no-host on both sides, connects through TURN relayed candidates", async () => {
    const turn = ["--turn", `127.0.0.1:${coturn.port}`, "--turn-user", "user", "--turn-pass", "pass", "--no-host", ...LOOPBACK];
    const r = await runIcePair(icekitIce(["--controlling", ...turn, "--ping", "20"]), icekitIce(["--controlled", ...turn]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 20, echoed: 20 });
    for (const side of [r.controlling, r.controlled]) {
      const candidates = side.messages.filter((m) => m.type === "candidate").map((m) => m.candidate as string);
      expect(candidates.length).toBeGreaterThan(0);
      for (const c of candidates) expect(c).toMatch(/ typ relay raddr /);
    }
    const selected = r.controlling.messages.find((m) => m.type === "selected");
    expect(`${selected?.local} ${selected?.remote}`).toMatch(/typ relay/);
  });

  it("with --stun, gathers and still connects (a loopback srflx equals its host and may be pruned)", async () => {
    const stun = ["--stun", `127.0.0.1:${coturn.port}`, ...LOOPBACK];
    const r = await runIcePair(icekitIce(["--controlling", ...stun, "--ping", "5"]), icekitIce(["--controlled", ...stun]));
    expect(r.controllingCode, describeRun(r)).toBe(0);
    expect(r.controlledCode, describeRun(r)).toBe(0);
    expect(r.done).toMatchObject({ sent: 5, echoed: 5 });
  });
});
