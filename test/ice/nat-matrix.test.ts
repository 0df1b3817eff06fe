/**
 * Every pair of the seeds' NAT types (and a public host), on both sides, without TURN: which
 * connect directly, and with which candidate types in the selected pair.
 *
 * Each side's local candidate is what the peer sees: its host address when public, its
 * server-reflexive address behind a cone NAT (endpoint-independent mapping), a peer-reflexive
 * one behind a symmetric NAT (a new mapping towards the peer). A symmetric NAT facing a port
 * restricted cone or another symmetric NAT cannot be traversed without a relay.
 */
import { describe, expect, it } from "vitest";
import { fullCone, portRestrictedCone, restrictedCone, symmetric } from "../../src/sim/index";
import type { Placement } from "./harness";
import { pairType, scenario } from "./harness";

const PLACES: Record<string, Placement> = {
  public: { kind: "public" },
  fullCone: { kind: "nat", behavior: fullCone() },
  restrictedCone: { kind: "nat", behavior: restrictedCone() },
  portRestrictedCone: { kind: "nat", behavior: portRestrictedCone() },
  symmetric: { kind: "nat", behavior: symmetric() },
};

/** The local candidate type a side ends up with. */
function seenAs(place: string): string {
  return place === "public" ? "host" : place === "symmetric" ? "prflx" : "srflx";
}

function connects(a: string, b: string): boolean {
  const hard = (x: string, y: string) => x === "symmetric" && (y === "symmetric" || y === "portRestrictedCone");
  return !hard(a, b) && !hard(b, a);
}

describe("NAT traversal matrix without TURN", () => {
  for (const a of Object.keys(PLACES)) {
    for (const b of Object.keys(PLACES)) {
      const ok = connects(a, b);
      const expected = ok ? `${seenAs(a)}-${seenAs(b)}` : undefined;
      it(`${a} ↔ ${b}: ${ok ? expected : "fails"}`, () => {
        const s = scenario({ seed: 7, a: { placement: PLACES[a]! }, b: { placement: PLACES[b]! } });
        s.start();
        s.net.runUntil(() => (s.a.agent.state === "completed" && s.b.agent.state === "completed") || (s.a.agent.state === "failed" && s.b.agent.state === "failed"), {
          timeout: 120_000,
        });
        if (ok) {
          expect([s.a.agent.state, s.b.agent.state]).toEqual(["completed", "completed"]);
          expect(pairType(s.a.agent)).toBe(expected);
          expect(pairType(s.b.agent)).toBe(`${seenAs(b)}-${seenAs(a)}`);
          // Both ends agree on the 5-tuple: A's local is B's remote and vice versa.
          const pa = s.a.agent.selectedPair()!;
          const pb = s.b.agent.selectedPair()!;
          expect([pa.local.address, pa.local.port]).toEqual([pb.remote.address, pb.remote.port]);
          expect([pa.remote.address, pa.remote.port]).toEqual([pb.local.address, pb.local.port]);
        } else {
          expect([s.a.agent.state, s.b.agent.state]).toEqual(["failed", "failed"]);
          expect(s.a.agent.selectedPair()).toBeUndefined();
          expect(s.a.states).not.toContain("connected");
        }
      });
    }
  }

  it("two hosts on one LAN connect host-host, though both have server-reflexive candidates", () => {
    const s = scenario({ seed: 3, a: { placement: { kind: "shared-lan" } }, b: { placement: { kind: "shared-lan" } } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(s.a.candidates.map((c) => c.type)).toEqual(["host", "srflx"]);
    expect(pairType(s.a.agent)).toBe("host-host");
    expect(pairType(s.b.agent)).toBe("host-host");
    expect(s.a.agent.selectedPair()!.remote.address).toBe("192.168.1.3");
  });

  for (const [a, b] of [
    ["symmetric", "portRestrictedCone"],
    ["portRestrictedCone", "symmetric"],
    ["symmetric", "symmetric"],
  ] as const) {
    it(`${a} ↔ ${b} connects through TURN, one relayed candidate on the path`, () => {
      const s = scenario({ seed: 7, turn: true, a: { placement: PLACES[a]! }, b: { placement: PLACES[b]! } });
      s.start();
      expect(s.runUntilSettled(120_000)).toBe(true);
      expect([s.a.agent.state, s.b.agent.state]).toEqual(["completed", "completed"]);
      const types = [pairType(s.a.agent)!, pairType(s.b.agent)!];
      // Exactly one side's local candidate is relayed; the other reaches the relay directly.
      expect(types.filter((t) => t.startsWith("relay-"))).toHaveLength(1);
    });
  }
});
