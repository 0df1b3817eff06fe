/**
 * Peer-reflexive churn (RFC 8445 §7.3.1.3, §7.3.1.5): a peer behind an address-and-port-dependent
 * mapping NAT shows a new source per destination, which fills the remote-candidate table. The
 * check that nominates must still be recorded by the controlled agent, or not be answered.
 */
import { describe, expect, it } from "vitest";
import type { TransportAddress } from "../../src/bytes/ip";
import { natBehavior } from "../../src/sim/index";
import { runNatMatrix } from "../../src/sim/matrix";
import { MessageClass } from "../../src/stun/constants";
import { LOCAL, PEER_PWD, PEER_UFRAG, agentUnderTest, check, decoded, from, requests, successFor } from "./fake-peer";
import { pairType, scenario } from "./harness";

const src = (i: number): TransportAddress => ({ family: "IPv4", address: "198.51.100.7", port: 10_000 + i });

describe("a full remote-candidate table (RFC 8445 §7.3.1.3)", () => {
  it("a nominating check evicts the oldest unused peer-reflexive candidate and is recorded", () => {
    const { agent, drain, transmits } = agentUnderTest();
    agent.setRemoteCredentials(PEER_UFRAG, PEER_PWD);
    for (let i = 0; i < 100; i++) agent.handleReceive(i, from(src(i), check()));
    drain();
    expect(agent.stats().remoteCandidates).toBe(100);
    // An ordinary check from one more source is answered, but learns nothing (no churn).
    agent.handleReceive(100, from(src(100), check()));
    drain();
    expect(agent.stats()).toMatchObject({ remoteCandidates: 100, droppedRemoteCandidates: 1 });
    transmits.length = 0;

    agent.handleReceive(101, from(src(101), check({ useCandidate: true })));
    drain();
    // The flood's triggered checks go first; run Ta until the nominated pair's check leaves.
    let now = 101;
    while (!requests(transmits).some((t) => t.remote.port === src(101).port) && now < 60_000) {
      now = Math.max(now, agent.pollTimeout() ?? now + 50);
      agent.handleTimeout(now);
      drain();
    }
    const answer = transmits.find((t) => t.remote.port === src(101).port && t.data[0] === 0x01);
    expect(answer && decoded(answer).msg.messageClass).toBe(MessageClass.SuccessResponse);
    const s = agent.stats();
    expect(s.remoteCandidates).toBe(100);
    expect(s.droppedNominations).toBe(0);
    // The oldest peer-reflexive candidate went, with its pair.
    expect(s.pairs.some((p) => p.remote.port === src(0).port)).toBe(false);
    // The triggered check for the nominated pair succeeds: the controlled agent selects it.
    const triggered = requests(transmits).find((t) => t.remote.port === src(101).port)!;
    expect(triggered).toBeDefined();
    agent.handleReceive(now + 10, from(src(101), successFor(triggered.data, LOCAL)));
    drain();
    expect(agent.selectedPair()).toMatchObject({ remote: { type: "prflx", port: src(101).port } });
    expect(agent.state).toBe("completed");
  });

  it("leaves a nomination it cannot record unanswered, so the controlling agent retransmits", () => {
    const { agent, drain, transmits } = agentUnderTest({ maxRemoteCandidates: 1 });
    agent.setRemoteCredentials(PEER_UFRAG, PEER_PWD);
    // A signaled candidate is never evicted.
    agent.addRemoteCandidate(0, "candidate:1 1 udp 2130706431 198.51.100.9 7000 typ host");
    drain();
    transmits.length = 0;
    agent.handleReceive(1, from(src(1), check({ useCandidate: true })));
    drain();
    expect(transmits.filter((t) => t.remote.port === src(1).port)).toEqual([]);
    expect(agent.stats()).toMatchObject({ remoteCandidates: 1, droppedNominations: 1 });
    // A check without USE-CANDIDATE is still answered (§7.3.1.2).
    agent.handleReceive(2, from(src(1), check()));
    drain();
    expect(transmits.filter((t) => t.remote.port === src(1).port).map((t) => decoded(t).msg.messageClass)).toEqual([MessageClass.SuccessResponse]);
  });
});

describe("a peer that answers every check from a new port (RFC 8445 §7.2.5.2.1)", () => {
  it("is followed for two links of the chase, then its next port is answered but not learned", () => {
    const { agent, drain, transmits } = agentUnderTest();
    agent.setRemoteCredentials(PEER_UFRAG, PEER_PWD);
    agent.addRemoteCandidate(0, `candidate:1 1 udp 1694498815 ${src(0).address} ${src(0).port} typ srflx raddr 10.0.0.2 rport 5000`);
    drain();
    let now = 0;
    const checkTo = (k: number) => {
      const sent = () => requests(transmits).find((t) => t.remote.port === src(k).port);
      while (sent() === undefined && now < 10_000) {
        now = Math.max(now + 1, agent.pollTimeout() ?? now + 50);
        agent.handleTimeout(now);
        drain();
      }
      return sent();
    };
    // Behind address-and-port-dependent mappings on both sides: the peer answers our check to
    // src(k) from src(k + 1), then its triggered check comes from there too.
    for (let k = 0; k < 3; k++) {
      const req = checkTo(k);
      expect(req, `a check to link ${k}`).toBeDefined();
      transmits.length = 0;
      agent.handleReceive(++now, from(src(k + 1), successFor(req!.data, { family: "IPv4", address: "192.0.2.1", port: 20_000 + k })));
      agent.handleReceive(++now, from(src(k + 1), check()));
      drain();
      // Answered either way (§7.3.1.2).
      const answer = transmits.find((t) => t.remote.port === src(k + 1).port && t.data[0] === 0x01);
      expect(answer && decoded(answer).msg.messageClass).toBe(MessageClass.SuccessResponse);
    }
    const s = agent.stats();
    expect(s.nonSymmetricResponses).toBe(3);
    // src(1) and src(2) were learned (an address-dependent mapping converges there); src(3) not.
    expect(s.remoteCandidates).toBe(3);
    expect(s.droppedRemoteCandidates).toBe(1);
    expect(checkTo(3)).toBeUndefined();
    // A nomination from there is still recorded and answered (§7.3.1.5).
    transmits.length = 0;
    agent.handleReceive(++now, from(src(3), check({ useCandidate: true })));
    drain();
    expect(agent.stats()).toMatchObject({ remoteCandidates: 4, droppedNominations: 0 });
    expect(transmits.filter((t) => t.remote.port === src(3).port && t.data[0] === 0x01)).toHaveLength(1);
  });

  it("APDM ↔ APDM cells connect through the relay as fast as the neighbouring relay cells", () => {
    // The chase used to saturate both triggered-check queues (§6.1.4.2 serves them first) until
    // the remote-candidate cap ended it: ~6.6 s of virtual time where the reverse cell took 2.1 s.
    const cells = runNatMatrix({ behaviors: ["APDM/EIF", "APDM/ADF", "symmetric"] });
    const apdmEif = cells.filter((c) => c.a.startsWith("APDM/") && c.b === "APDM/EIF");
    expect(apdmEif).toHaveLength(2);
    for (const c of cells) expect(c).toMatchObject({ connected: true, path: "relay", ok: true });
    // Virtual ms, deterministic: the other cells take 1.6-2.1 s (1 s of it the nomination delay).
    for (const c of cells) expect(c.ms, `${c.a} | ${c.b}`).toBeLessThan(2500);
  });
});

describe("APDM NATs with endpoint-independent filtering on both sides", () => {
  const apdm = (filtering: "endpoint-independent" | "address-dependent") => ({
    kind: "nat" as const,
    behavior: natBehavior({ mapping: "address-and-port-dependent", filtering, portAssignment: "random" }),
  });
  for (const fa of ["endpoint-independent", "address-dependent"] as const) {
    it(`APDM/${fa === "address-dependent" ? "ADF" : "EIF"} ↔ APDM/EIF: both agents complete through the relay`, () => {
      const s = scenario({ seed: 1, turn: true, a: { placement: apdm(fa) }, b: { placement: apdm("endpoint-independent") } });
      s.start();
      expect(s.runUntilSettled(60_000)).toBe(true);
      expect([s.a.agent.state, s.b.agent.state]).toEqual(["completed", "completed"]);
      expect([pairType(s.a.agent), pairType(s.b.agent)].some((t) => t!.includes("relay"))).toBe(true);
    });
  }
});
