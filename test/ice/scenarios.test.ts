/**
 * Two agents on the simulator: impaired links, role conflicts, lite agents, trickle timing,
 * restarts, consent loss, data, several components, IPv6, mDNS, TURN.
 */
import { describe, expect, it } from "vitest";
import { portRestrictedCone, restrictedCone, symmetric } from "../../src/sim/index";
import { pairType, scenario, sendText } from "./harness";

const cone = { kind: "nat", behavior: portRestrictedCone() } as const;

describe("impaired networks", () => {
  it("connects across 30% loss on one side's link, for every seed tried", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const s = scenario({ seed, a: { placement: cone, link: { delay: 10, loss: 0.3 } }, b: { placement: { kind: "nat", behavior: restrictedCone() } } });
      s.start();
      s.runUntilSettled(120_000);
      expect([seed, s.a.agent.state, s.b.agent.state]).toEqual([seed, "completed", "completed"]);
      expect(pairType(s.a.agent)).toBe("srflx-srflx");
    }
  });

  it("connects with jitter, reordering and duplication, and delivers data", () => {
    const link = { delay: 30, jitter: 25, reorder: 0.2, duplicate: 0.3 };
    const s = scenario({ seed: 11, a: { placement: cone, link }, b: { placement: cone, link } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(s.a.agent.state).toBe("completed");
    expect(sendText(s.net, s.a, "over a rough link")).toBe(true);
    s.net.run({ duration: 500 });
    expect(s.b.received).toContain("over a rough link");
  });
});

describe("roles", () => {
  it("repairs a conflict when both start controlling: one switches (§7.3.1.1, §7.2.5.1)", () => {
    const s = scenario({ seed: 5, a: { agent: { role: "controlling" } }, b: { agent: { role: "controlling" } } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(new Set([s.a.agent.role, s.b.agent.role])).toEqual(new Set(["controlling", "controlled"]));
    const switched = [s.a, s.b].filter((p) => p.events.some((e) => e.type === "role"));
    expect(switched).toHaveLength(1);
    expect(s.a.agent.stats().roleConflictsSent + s.b.agent.stats().roleConflictsSent + s.a.agent.stats().roleSwitches + s.b.agent.stats().roleSwitches).toBeGreaterThan(0);
    expect(s.a.agent.selectedPair()).toBeDefined();
  });

  it("repairs a conflict when both start controlled", () => {
    const s = scenario({ seed: 6, a: { placement: cone, agent: { role: "controlled" } }, b: { placement: cone, agent: { role: "controlled" } } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(new Set([s.a.agent.role, s.b.agent.role])).toEqual(new Set(["controlling", "controlled"]));
    expect([s.a.agent.state, s.b.agent.state]).toEqual(["completed", "completed"]);
  });

  it("the agent with the larger tiebreaker ends controlling", () => {
    const s = scenario({ seed: 8, a: { agent: { role: "controlling", tiebreaker: 5n } }, b: { agent: { role: "controlling", tiebreaker: 0xfffffffffffffff0n } } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(s.b.agent.role).toBe("controlling");
    expect(s.a.agent.role).toBe("controlled");
  });
});

describe("ICE lite (RFC 8445 §2.5, §8.2)", () => {
  it("a lite server answers, accepts the nomination and completes; it never sends a check", () => {
    const s = scenario({ seed: 4, a: { placement: cone }, b: { agent: { lite: true, role: "controlled" }, lite: true } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect([s.a.agent.state, s.b.agent.state]).toEqual(["completed", "completed"]);
    expect(pairType(s.a.agent)).toBe("srflx-host");
    expect(pairType(s.b.agent)).toBe("host-srflx");
    expect(s.b.candidates.map((c) => c.type)).toEqual(["host"]);
    expect(s.b.agent.stats().pairs.every((p) => p.requestsSent === 0)).toBe(true);
    expect(sendText(s.net, s.b, "from lite")).toBe(true);
    s.net.run({ duration: 200 });
    expect(s.a.received).toEqual(["from lite"]);
  });

  it("a full agent told its peer is lite takes the controlling role (§6.1.1)", () => {
    const s = scenario({ seed: 4, a: { agent: { role: "controlled" } }, b: { agent: { lite: true, role: "controlled" }, lite: true } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(s.a.agent.role).toBe("controlling");
    expect(s.a.events.find((e) => e.type === "role")).toEqual({ type: "role", role: "controlling" });
    expect(s.b.agent.state).toBe("completed");
  });

  it("a lite agent that starts controlling turns controlled when its peer is full (§6.1.1)", () => {
    const s = scenario({ seed: 4, a: { agent: { role: "controlled" } }, b: { agent: { lite: true, role: "controlling" }, lite: true } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect([s.a.agent.role, s.b.agent.role]).toEqual(["controlling", "controlled"]);
    expect([s.a.agent.state, s.b.agent.state]).toEqual(["completed", "completed"]);
    expect(s.b.agent.stats().pairs.every((p) => p.requestsSent === 0)).toBe(true);
  });
});

describe("Trickle ICE (RFC 8838)", () => {
  it("connects when candidates arrive two seconds before the credentials", () => {
    const s = scenario({ seed: 9, credentialDelay: 2000, a: { placement: cone }, b: { placement: cone } });
    s.start();
    s.net.run({ duration: 1500 });
    expect(s.b.agent.stats().remoteCandidates).toBeGreaterThan(0);
    expect(s.a.agent.state).not.toBe("completed");
    expect(s.runUntilSettled()).toBe(true);
    expect(pairType(s.a.agent)).toBe("srflx-srflx");
  });

  it("answers checks that come before the answer, then processes them (§7.3)", () => {
    // A learns B's candidates and credentials at once; B learns A's only after 3 s.
    const s = scenario({ seed: 10, signalDelay: 20, a: { placement: { kind: "public" } }, b: { placement: cone } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(pairType(s.a.agent)).toBe("host-srflx");
  });

  it("a symmetric pair fails only after end-of-candidates (RFC 8838 §8)", () => {
    const sym = { kind: "nat", behavior: symmetric() } as const;
    const s = scenario({ seed: 12, endOfCandidates: false, a: { placement: sym }, b: { placement: sym } });
    s.start();
    s.net.run({ duration: 120_000 });
    // Every check has long timed out, but more candidates may come: still checking.
    expect(s.a.agent.state).toBe("checking");
    expect(s.a.agent.stats().pairs.every((p) => p.state === "failed")).toBe(true);
    s.a.agent.endOfRemoteCandidates(s.net.now);
    s.a.att.drive();
    s.net.run({ duration: 10 });
    expect(s.a.agent.state).toBe("failed");
    expect(s.a.states).toEqual(["checking", "failed"]);
  });

  it("ignores candidates after end-of-candidates and those of another session (§14, §9)", () => {
    const s = scenario({ seed: 13 });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    const before = s.a.agent.stats();
    s.a.agent.addRemoteCandidate(s.net.now, "candidate:9 1 udp 100 203.0.113.77 9999 typ host");
    expect(s.a.agent.stats().remoteCandidates).toBe(before.remoteCandidates);
    expect(s.a.agent.stats().droppedRemoteCandidates).toBe(before.droppedRemoteCandidates + 1);
  });
});

describe("data, keepalives and consent (RFC 8445 §11, §12; RFC 7675)", () => {
  it("sends both ways from the pair's base, and counts it per pair", () => {
    const s = scenario({ seed: 14, a: { placement: cone }, b: { placement: cone } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(sendText(s.net, s.a, "ping")).toBe(true);
    s.net.run({ duration: 200 });
    expect(sendText(s.net, s.b, "pong")).toBe(true);
    s.net.run({ duration: 200 });
    expect(s.b.received).toEqual(["ping"]);
    expect(s.a.received).toEqual(["pong"]);
    const sel = s.a.agent.stats().pairs.find((p) => p.selected)!;
    expect(sel).toMatchObject({ packetsSent: 1, packetsReceived: 1, bytesSent: 4, nominated: true, valid: true });
    expect(sel.currentRoundTripTimeMs).toBeGreaterThan(0);
  });

  it("keeps consent with checks every 4-6 s and needs no keepalive indications meanwhile", () => {
    const s = scenario({ seed: 15, a: { placement: cone }, b: { placement: cone } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    s.net.run({ duration: 60_000 });
    const sel = s.a.agent.stats().pairs.find((p) => p.selected)!;
    expect(sel.consentRequestsSent).toBeGreaterThanOrEqual(10);
    expect(sel.consentRequestsSent).toBeLessThanOrEqual(16);
    expect(s.a.agent.state).toBe("completed");
    expect(s.a.agent.stats().keepalivesSent).toBe(0);
  });

  it("sends keepalive indications every 15 s when consent checks are off", () => {
    const s = scenario({ seed: 15, a: { agent: { consentInterval: false } }, b: { agent: { consentInterval: false } } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    s.net.run({ duration: 61_000 });
    expect(s.a.agent.stats().keepalivesSent).toBe(4);
    expect(s.b.agent.stats().indicationsReceived).toBe(4);
  });

  it("goes disconnected, then failed 30 s after the last consent response, when the peer vanishes", () => {
    const s = scenario({ seed: 16, a: { placement: cone }, b: { placement: cone } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    const cut = s.net.now;
    s.b.host.link.configure({ loss: 1 });
    let disconnectedAt = 0;
    s.net.runUntil(() => {
      if (s.a.agent.state === "disconnected" && disconnectedAt === 0) disconnectedAt = s.net.now;
      return s.a.agent.state === "failed";
    }, { timeout: 60_000 });
    expect(s.a.states.slice(-2)).toEqual(["disconnected", "failed"]);
    // Consent was last refreshed at most 6 s before the cut; it expires 30 s after that.
    expect(disconnectedAt - cut).toBeGreaterThanOrEqual(4000);
    expect(disconnectedAt - cut).toBeLessThanOrEqual(10_000);
    expect(s.net.now - cut).toBeGreaterThanOrEqual(24_000);
    expect(s.net.now - cut).toBeLessThanOrEqual(30_000);
    expect(sendText(s.net, s.a, "too late")).toBe(false);
  });

  it("returns from disconnected when consent responses come back", () => {
    const s = scenario({ seed: 17, a: { placement: cone }, b: { placement: cone } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    s.b.host.link.configure({ loss: 1 });
    s.net.runUntil(() => s.a.agent.state === "disconnected", { timeout: 30_000 });
    s.b.host.link.configure({ loss: 0 });
    s.net.runUntil(() => s.a.agent.state === "completed", { timeout: 10_000 });
    expect(s.a.states.slice(-2)).toEqual(["disconnected", "completed"]);
  });
});

describe("ICE restart (RFC 8445 §9)", () => {
  it("keeps data on the old pair until the new session selects, then moves on", () => {
    const s = scenario({ seed: 18, a: { placement: cone }, b: { placement: cone } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    const oldUfrag = s.a.agent.localUfrag;
    let i = 0;
    const pinger = s.net.every(100, () => {
      sendText(s.net, s.a, `m${i++}`);
    });
    s.net.run({ duration: 300 });
    const fresh = s.a.agent.restart(s.net.now);
    s.signalCredentials(s.a);
    s.a.att.drive();
    s.b.agent.restart(s.net.now);
    s.signalCredentials(s.b);
    s.b.att.drive();
    expect(fresh.ufrag).not.toBe(oldUfrag);
    expect(s.a.agent.localUfrag).toBe(fresh.ufrag);
    // Right after the restart the old pair still carries data.
    expect(s.a.agent.selectedPair()).toBeDefined();
    s.net.run({ duration: 5000 });
    pinger.cancel();
    s.net.run({ duration: 500 });
    expect(s.a.events.filter((e) => e.type === "selected-pair")).toHaveLength(2);
    expect(s.a.agent.state).toBe("completed");
    // Nothing was lost: every message sent during the restart arrived.
    expect(s.b.received).toEqual(Array.from({ length: i }, (_, k) => `m${k}`));
    // The re-signaled candidates carry the new ufrag.
    expect(s.a.candidates.filter((c) => c.ufrag === fresh.ufrag).length).toBeGreaterThan(0);
  });

  it("recovers a failed agent", () => {
    const s = scenario({ seed: 19, a: { placement: cone }, b: { placement: cone } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    s.b.host.link.configure({ loss: 1 });
    s.net.runUntil(() => s.a.agent.state === "failed", { timeout: 60_000 });
    s.b.host.link.configure({ loss: 0 });
    s.a.agent.restart(s.net.now);
    s.signalCredentials(s.a);
    s.a.att.drive();
    s.b.agent.restart(s.net.now);
    s.signalCredentials(s.b);
    s.b.att.drive();
    s.net.runUntil(() => s.a.agent.state === "completed" && s.b.agent.state === "completed", { timeout: 30_000 });
    expect(s.a.states.slice(-3)).toEqual(["checking", "connected", "completed"]);
    expect(sendText(s.net, s.a, "back")).toBe(true);
  });
});

describe("components, families, names, relays", () => {
  it("selects a pair per component (N components, §6.1.2.2)", () => {
    const s = scenario({ seed: 20, a: { placement: cone, agent: { components: 2 } }, b: { placement: cone, agent: { components: 2 } } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(s.a.agent.selectedPair(1)!.local.component).toBe(1);
    expect(s.a.agent.selectedPair(2)!.local.component).toBe(2);
    expect(s.a.agent.selectedPair(2)!.local.port).not.toBe(s.a.agent.selectedPair(1)!.local.port);
    expect(sendText(s.net, s.a, "rtcp", 2)).toBe(true);
    s.net.run({ duration: 200 });
    expect(s.b.events.find((e) => e.type === "data")).toMatchObject({ component: 2 });
  });

  it("runs with as many components as the peer offers (the smaller count)", () => {
    const s = scenario({ seed: 21, a: { agent: { components: 2 } } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(s.a.agent.selectedPair(1)).toBeDefined();
    expect(s.a.agent.selectedPair(2)).toBeUndefined();
  });

  it("prefers IPv6 on dual-stack hosts (RFC 8421) and connects over it", () => {
    const s = scenario({ seed: 22, a: { extraAddresses: ["2001:db8::1"] }, b: { extraAddresses: ["2001:db8::2"] } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    const hosts = s.a.candidates.filter((c) => c.type === "host");
    expect(hosts.map((c) => c.address)).toEqual(["2001:db8::1", "203.0.113.1"]);
    expect(hosts[0]!.priority).toBeGreaterThan(hosts[1]!.priority);
    expect(s.a.agent.selectedPair()!.remote.address).toBe("2001:db8::2");
  });

  it("resolves mDNS .local candidates with the injected resolver, waiting while it cannot", () => {
    let calls = 0;
    const names = new Map<string, string>();
    const s = scenario({
      seed: 23,
      a: {
        agent: {
          resolveMdns: (name) => {
            calls++;
            return calls < 3 ? undefined : names.get(name);
          },
        },
      },
      b: {
        rewrite: (line, c) => {
          if (c.type !== "host") return line;
          const name = "2c8b3f1e-51c2-4b8f-9b22-3a5e7f0a9d11.local";
          names.set(name, c.address);
          return line.replace(` ${c.address} `, ` ${name} `);
        },
      },
    });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    s.net.run({ duration: 3000 });
    expect(calls).toBeGreaterThanOrEqual(3);
    // The signaled host candidate replaced the peer-reflexive one the checks taught first.
    expect(pairType(s.a.agent)).toBe("host-host");
  });

  it("ignores a .local candidate that never resolves, and still connects on what the checks teach", () => {
    const s = scenario({
      seed: 24,
      a: { agent: { resolveMdns: () => undefined } },
      b: { rewrite: (line, c) => line.replace(` ${c.address} `, " 4f1d2c3b-0000-4000-8000-000000000000.local ") },
    });
    s.start();
    s.net.run({ duration: 15_000 });
    expect(s.a.agent.state).toBe("completed");
    expect(pairType(s.a.agent)).toBe("host-prflx");
    expect(s.a.agent.stats().droppedRemoteCandidates).toBe(1);
  });

  it("connects two symmetric NATs through a TURN relay, with data over a channel", () => {
    const sym = { kind: "nat", behavior: symmetric() } as const;
    const s = scenario({ seed: 25, turn: true, a: { placement: sym }, b: { placement: sym } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect([pairType(s.a.agent), pairType(s.b.agent)]).toContain("relay-prflx");
    expect(s.a.candidates.map((c) => c.type)).toContain("relay");
    sendText(s.net, s.a, "relayed 1");
    s.net.run({ duration: 500 });
    sendText(s.net, s.a, "relayed 2");
    sendText(s.net, s.b, "relayed back");
    s.net.run({ duration: 500 });
    expect(s.b.received).toEqual(["relayed 1", "relayed 2"]);
    expect(s.a.received).toEqual(["relayed back"]);
    // §12.1: the relayed side bound a channel once the pair was selected; data rode it.
    expect(s.turn!.stats().channels).toBe(1);
    expect(s.turn!.stats().toClientChannelData).toBeGreaterThan(0);
  });
});
