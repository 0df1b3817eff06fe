/**
 * Both agents lite (RFC 8445 §6.1.1 "Both lite", §6.2, §8.2): the initiating agent controls, no
 * connectivity checks are ever sent, and each agent pairs the exchanged candidates itself.
 */
import { describe, expect, it } from "vitest";
import { pairType, scenario, sendText } from "./harness";

const lite = (role: "controlling" | "controlled") => ({ agent: { lite: true, role }, lite: true }) as const;

describe("lite-lite sessions (RFC 8445 §6.1.1, §8.2)", () => {
  it("both select the same host pair without a single check, complete, and exchange data", () => {
    const s = scenario({ seed: 12, a: lite("controlling"), b: lite("controlled") });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect([s.a.agent.state, s.b.agent.state]).toEqual(["completed", "completed"]);
    expect([s.a.agent.role, s.b.agent.role]).toEqual(["controlling", "controlled"]);
    const pa = s.a.agent.selectedPair()!;
    const pb = s.b.agent.selectedPair()!;
    expect(pairType(s.a.agent)).toBe("host-host");
    expect([pa.local.address, pa.local.port]).toEqual([pb.remote.address, pb.remote.port]);
    expect([pa.remote.address, pa.remote.port]).toEqual([pb.local.address, pb.local.port]);
    // "no connectivity checks are ever sent"
    for (const p of [s.a, s.b]) expect(p.agent.stats().pairs.every((x) => x.requestsSent === 0 && x.requestsReceived === 0)).toBe(true);
    // One pair for the component: nothing to reconcile.
    expect(s.a.agent.candidateUpdateRequired).toBe(false);
    expect(sendText(s.net, s.a, "from a")).toBe(true);
    expect(sendText(s.net, s.b, "from b")).toBe(true);
    s.net.run({ duration: 200 });
    expect(s.b.received).toEqual(["from a"]);
    expect(s.a.received).toEqual(["from b"]);
  });

  it("with an IPv4 and an IPv6 address each, both pick the same pair; the controlling one must re-signal (§8.2)", () => {
    const s = scenario({
      seed: 13,
      a: { ...lite("controlling"), extraAddresses: ["2001:db8::1"] },
      b: { ...lite("controlled"), extraAddresses: ["2001:db8::2"] },
    });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    const pa = s.a.agent.selectedPair()!;
    const pb = s.b.agent.selectedPair()!;
    expect(pa.local.address).toBe(pb.remote.address);
    expect(pa.remote.address).toBe(pb.local.address);
    expect(s.a.agent.candidateUpdateRequired).toBe(true);
    expect(s.b.agent.candidateUpdateRequired).toBe(false);
    expect(sendText(s.net, s.a, "dual")).toBe(true);
    s.net.run({ duration: 200 });
    expect(s.b.received).toEqual(["dual"]);
  });

  it("waits for the peer's end-of-candidates before it selects (the exchange is not over before)", () => {
    const s = scenario({ seed: 14, endOfCandidates: false, a: lite("controlling"), b: lite("controlled") });
    s.start();
    s.net.run({ duration: 2000 });
    expect(s.a.agent.selectedPair()).toBeUndefined();
    expect(s.a.agent.state).toBe("new");
    s.a.agent.endOfRemoteCandidates(s.net.now);
    s.a.att.drive();
    expect(s.a.agent.state).toBe("completed");
  });

  it("fails when the candidates share no address family", () => {
    const s = scenario({ seed: 15, a: lite("controlling"), b: { ...lite("controlled"), rewrite: (line) => line.replace(/203\.0\.113\.2/, "2001:db8::9") } });
    s.start();
    s.runUntilSettled();
    expect(s.a.agent.state).toBe("failed");
  });
});
