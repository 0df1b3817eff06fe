/**
 * Port-mapped candidates (PCP, NAT-PMP, UPnP IGD): server-reflexive candidates the application
 * learns from its gateway, added with IceAgent.addPortMappedCandidate. On the simulator, the
 * mapping is a static port forward on the NAT (Nat.forward).
 */
import { describe, expect, it } from "vitest";
import { fullCone, symmetric } from "../../src/sim/index";
import type { TransportAddress } from "../../src/sim/index";
import { candidatePriority } from "../../src/ice/priority";
import { pairType, scenario, sendText } from "./harness";

const apdm = { kind: "nat", behavior: symmetric() } as const;
const A_LOCAL: TransportAddress = { family: "IPv4", address: "192.168.1.2", port: 5000 };

describe("port-mapped candidates", () => {
  it("two agents behind symmetric NATs connect directly when one has a port mapping, with a relay on offer", () => {
    const s = scenario({ seed: 21, turn: true, a: { placement: apdm }, b: { placement: apdm } });
    const external = s.a.nat!.forward(A_LOCAL);
    s.a.agent.expectPortMapping(s.net.now);
    s.start();
    // The gateway answers the mapping request a little later: the candidate trickles.
    s.net.after(30, () => {
      expect(s.a.agent.addPortMappedCandidate(s.net.now, A_LOCAL, external, { gateway: s.a.nat!.addresses[0]! })).toBe(true);
      s.a.att.drive();
    });
    expect(s.runUntilSettled()).toBe(true);
    expect([s.a.agent.state, s.b.agent.state]).toEqual(["completed", "completed"]);
    const pa = s.a.agent.selectedPair()!;
    const pb = s.b.agent.selectedPair()!;
    expect(pa.local.type).not.toBe("relay");
    expect(pa.remote.type).not.toBe("relay");
    expect(pb.local.type).not.toBe("relay");
    expect([pa.local.type, pa.local.address, pa.local.port]).toEqual(["srflx", external.address, external.port]);
    expect([pb.remote.address, pb.remote.port]).toEqual([external.address, external.port]);
    // The port-mapped candidate was signaled as srflx with raddr/rport = the base.
    const mapped = s.a.candidates.find((c) => c.address === external.address && c.port === external.port)!;
    expect([mapped.type, mapped.relatedAddress, mapped.relatedPort]).toEqual(["srflx", A_LOCAL.address, A_LOCAL.port]);
    expect(sendText(s.net, s.b, "through the mapping")).toBe(true);
    s.net.run({ duration: 300 });
    expect(s.a.received).toEqual(["through the mapping"]);
  });

  it("without the mapping the same two agents only get through the relay (the test can fail)", () => {
    const s = scenario({ seed: 21, turn: true, a: { placement: apdm }, b: { placement: apdm } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(pairType(s.a.agent)).toMatch(/relay/);
  });

  it("outranks the STUN-learned srflx of its base with srflx's type preference (§5.1.2.1)", () => {
    const s = scenario({ seed: 22, a: { placement: apdm }, b: {} });
    s.start();
    s.runUntilSettled();
    const stunSrflx = s.a.candidates.find((c) => c.type === "srflx")!;
    expect(stunSrflx.priority).toBe(candidatePriority("srflx", 65534, 1));
    expect(s.a.agent.addPortMappedCandidate(s.net.now, A_LOCAL, { family: "IPv4", address: s.a.nat!.addresses[0]!, port: 40000 })).toBe(true);
    // After end-of-candidates it is kept for the next restart (RFC 8838 §13) …
    expect(s.a.agent.localCandidates().some((c) => c.port === 40000)).toBe(false);
    const { ufrag } = s.a.agent.restart(s.net.now);
    expect(ufrag).toBeDefined();
    const again = s.a.agent.localCandidates().find((c) => c.port === 40000)!;
    // … and then signaled with the top local preference of its base, same type preference.
    expect(again.type).toBe("srflx");
    expect(again.priority).toBe(candidatePriority("srflx", 65535, 1));
    expect(again.priority).toBeGreaterThan(stunSrflx.priority);
    expect(again.priority).toBeLessThan(candidatePriority("prflx", 0, 1));
  });

  it("is not signaled twice when it equals a STUN-learned candidate, in either order (§5.1.3)", () => {
    // The forward also carries the agent's outbound packets, so STUN sees the mapped endpoint.
    const s = scenario({ seed: 23, a: { placement: { kind: "nat", behavior: fullCone() } } });
    const external = s.a.nat!.forward(A_LOCAL);
    s.a.agent.expectPortMapping(s.net.now);
    s.start();
    s.a.agent.addPortMappedCandidate(s.net.now, A_LOCAL, external);
    s.a.att.drive();
    s.runUntilSettled();
    const srflx = s.a.candidates.filter((c) => c.type === "srflx");
    expect(srflx).toHaveLength(1);
    expect([srflx[0]!.port, srflx[0]!.priority]).toEqual([external.port, candidatePriority("srflx", 65535, 1)]);

    const t = scenario({ seed: 23, a: { placement: { kind: "nat", behavior: fullCone() } } });
    const ext2 = t.a.nat!.forward(A_LOCAL);
    t.start();
    t.runUntilSettled();
    expect(t.a.candidates.filter((c) => c.type === "srflx")).toHaveLength(1);
    expect(t.a.agent.addPortMappedCandidate(t.net.now, A_LOCAL, ext2)).toBe(false);
  });

  it("holds end-of-candidates until the mapping is answered, and lets go when it fails", () => {
    const s = scenario({ seed: 24, stun: false });
    s.a.agent.expectPortMapping(s.net.now);
    s.start();
    s.net.run({ duration: 1000 });
    expect(s.a.agent.gatheringState).toBe("gathering");
    s.a.agent.portMappingFailed(s.net.now);
    expect(s.a.agent.gatheringState).toBe("complete");
  });

  it("refuses a base that is not one of the agent's sockets", () => {
    const s = scenario({ seed: 25 });
    s.start();
    expect(() => s.a.agent.addPortMappedCandidate(s.net.now, { family: "IPv4", address: "192.0.2.99", port: 1 }, { family: "IPv4", address: "198.51.100.1", port: 2 })).toThrow(/addLocalSocket/);
  });
});
