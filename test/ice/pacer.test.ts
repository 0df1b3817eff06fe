/**
 * Global pacing (RFC 8445 §14.2): "the combination of all transactions from all agents (if a
 * given implementation runs several concurrent agents) MUST NOT be sent more often than once
 * every 5 ms". The pacer alone, then many agents sharing one on the simulator.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { IceAgent } from "../../src/ice/agent";
import { IcePacer } from "../../src/ice/pacer";
import { Network, StunServer, portRestrictedCone } from "../../src/sim/index";
import type { Attached, Host, TransportAddress } from "../../src/sim/index";
import { STUN, STUN_IP } from "./harness";
import { Recorder, minGap } from "./transaction-recorder";
import type { Sent } from "./transaction-recorder";

describe("IcePacer", () => {
  it("hands out slots one interval apart, first come first served", () => {
    const p = new IcePacer();
    expect(p.reserve(100)).toBe(100);
    expect(p.reserve(100)).toBe(105);
    expect(p.reserve(101)).toBe(110);
    expect(p.claim(100, 100)).toBe(true);
    expect(p.claim(104, 105)).toBe(false); // too early for its slot
    expect(p.claim(105, 105)).toBe(true);
    expect(p.nextFreeAt).toBe(115);
    expect(p.reserve(200)).toBe(200); // an idle pacer grants at once
  });

  it("refuses a late claim that would come within 5 ms of the last transaction", () => {
    const p = new IcePacer();
    const a = p.reserve(0); // 0
    const b = p.reserve(0); // 5
    expect(p.claim(5, b)).toBe(true);
    expect(p.claim(7, a)).toBe(false); // a was woken late: 2 ms after b went out
    expect(p.reserve(7)).toBe(10);
  });

  it("rejects intervals under the 5 ms floor", () => {
    expect(() => new IcePacer(4)).toThrow(/at least 5/);
    expect(new IcePacer(20).interval).toBe(20);
  });

  it("never grants two claims closer than the interval, whatever the order of calls (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(20)), { minLength: 1, maxLength: 200 }), (steps) => {
        const p = new IcePacer();
        const slots: (number | undefined)[] = [undefined, undefined, undefined, undefined];
        const granted: number[] = [];
        let now = 0;
        for (const [who, dt] of steps) {
          now += dt;
          const slot = (slots[who] ??= p.reserve(now));
          if (p.claim(now, slot)) {
            granted.push(now);
            slots[who] = undefined;
          } else if (now >= slot) slots[who] = p.reserve(now);
        }
        for (let i = 1; i < granted.length; i++) expect(granted[i]! - granted[i - 1]!).toBeGreaterThanOrEqual(5);
      }),
    );
  });
});


interface Party {
  agent: IceAgent;
  att: Attached<Recorder>;
}

/**
 * `pairs` pairs of agents (a behind a port-restricted NAT, b public), each with Ta 5 ms proposed
 * by both sides, all sharing `pacer` (or each its own when undefined).
 */
function crowd(pairs: number, pacer: IcePacer | undefined, seed = 3) {
  const net = new Network({ seed, link: { delay: 10 } });
  const stun = net.server(STUN_IP, { name: "stun" });
  net.attach(stun, new StunServer({ random: stun.random }), { port: 3478 });
  const log: Sent[] = [];
  const parties: [Party, Party][] = [];
  const make = (host: Host, name: string, role: "controlling" | "controlled"): Party => {
    const agent = new IceAgent({ role, random: host.fork(name), stunServers: [STUN], ta: 5, consentInterval: false, ...(pacer !== undefined ? { pacer } : {}) });
    const party: Party = { agent, att: undefined as unknown as Attached<Recorder> };
    party.att = net.attach(host, new Recorder(agent, net, log, name), {
      port: 5000,
      keepEvents: false,
      onEvent: (e) => {
        const other = parties.flat().find((p) => p !== party && p.att.host.name?.slice(1) === host.name?.slice(1));
        if (other === undefined) return;
        if (e.type === "local-candidate") {
          net.after(20, () => {
            other.agent.addRemoteCandidate(net.now, e.line);
            other.att.drive();
          });
        } else if (e.type === "gathering" && e.state === "complete") {
          net.after(20, () => {
            other.agent.endOfRemoteCandidates(net.now);
            other.att.drive();
          });
        }
      },
    });
    const local: TransportAddress = { family: "IPv4", address: host.addresses[0]!, port: 5000 };
    agent.addLocalSocket(net.now, local);
    return party;
  };
  for (let i = 0; i < pairs; i++) {
    const nat = net.nat(portRestrictedCone(), { name: `nat${i}` });
    const a = make(nat.host("192.168.1.2", { name: `a${i}` }), `a${i}`, "controlling");
    const b = make(net.host(`203.0.113.${i + 1}`, { name: `b${i}` }), `b${i}`, "controlled");
    parties.push([a, b]);
  }
  for (const [a, b] of parties) {
    a.agent.setRemoteCredentials(b.agent.localUfrag, b.agent.localPwd, { pacing: 5 });
    b.agent.setRemoteCredentials(a.agent.localUfrag, a.agent.localPwd, { pacing: 5 });
    a.agent.startGathering(net.now);
    b.agent.startGathering(net.now);
    a.att.drive();
    b.att.drive();
  }
  const all = parties.flat();
  const done = () => all.every((p) => p.agent.state === "completed");
  return { net, log, all, done };
}

describe("agents sharing one pacer (RFC 8445 §14.2)", () => {
  it("12 agents never start two transactions within 5 ms of each other, and all connect", () => {
    const pacer = new IcePacer();
    const c = crowd(6, pacer);
    expect(c.net.runUntil(c.done, { timeout: 60_000 })).toBe(true);
    // Checks (ordinary and triggered, nominations included) and gathering Binding requests.
    expect(c.log.length).toBeGreaterThan(30);
    expect(minGap(c.log)).toBeGreaterThanOrEqual(5);
    expect(pacer.granted).toBe(c.log.length);
    // Every agent got slots: none was starved.
    for (const p of c.all) expect(c.log.some((l) => l.who === (p.att.host.name ?? ""))).toBe(true);
  });

  it("without a shared pacer the same agents do start transactions closer than 5 ms (the test can fail)", () => {
    const c = crowd(6, undefined);
    expect(c.net.runUntil(c.done, { timeout: 60_000 })).toBe(true);
    expect(minGap(c.log)).toBeLessThan(5);
  });

  it("leaves consent checks on RFC 7675's own schedule, even when the shared pacer is booked for a minute and more", () => {
    const pacer = new IcePacer(20);
    const net = new Network({ seed: 9, link: { delay: 5 } });
    const log: Sent[] = [];
    const agents: { agent: IceAgent; att: Attached<Recorder> }[] = [];
    for (let i = 0; i < 2; i++) {
      const ha = net.host(`203.0.113.${10 + 2 * i}`, { name: `x${i}` });
      const hb = net.host(`203.0.113.${11 + 2 * i}`, { name: `y${i}` });
      const a = new IceAgent({ role: "controlling", random: ha.fork("a"), pacer, consentInterval: 4000, nominationDelay: 0 });
      const b = new IceAgent({ role: "controlled", random: hb.fork("b"), pacer, consentInterval: 4000 });
      const aa = net.attach(ha, new Recorder(a, net, log, `x${i}`), { port: 5000, keepEvents: false });
      const bb = net.attach(hb, new Recorder(b, net, log, `y${i}`), { port: 5000, keepEvents: false });
      a.addLocalSocket(net.now, { family: "IPv4", address: ha.addresses[0]!, port: 5000 });
      b.addLocalSocket(net.now, { family: "IPv4", address: hb.addresses[0]!, port: 5000 });
      a.setRemoteCredentials(b.localUfrag, b.localPwd);
      b.setRemoteCredentials(a.localUfrag, a.localPwd);
      a.startGathering(net.now);
      b.startGathering(net.now);
      for (const cand of a.localCandidates()) b.addRemoteCandidate(net.now, cand);
      for (const cand of b.localCandidates()) a.addRemoteCandidate(net.now, cand);
      a.endOfRemoteCandidates(net.now);
      b.endOfRemoteCandidates(net.now);
      aa.drive();
      bb.drive();
      agents.push({ agent: a, att: aa }, { agent: b, att: bb });
    }
    expect(net.runUntil(() => agents.every((x) => x.agent.state === "completed"), { timeout: 10_000 })).toBe(true);
    const before = log.length;
    // Thousands of other agents' transactions: the next free slot is 100 s away.
    for (let i = 0; i < 5000; i++) pacer.reserve(net.now);
    expect(pacer.nextFreeAt - net.now).toBeGreaterThanOrEqual(99_000);
    net.run({ duration: 60_000 });
    // RFC 7675 §5.1: every interval 0.8-1.2 × the period (4 s here, with its 4 s floor), pacer or not.
    const consent = log.slice(before);
    for (const who of ["x0", "y0", "x1", "y1"]) {
      const at = consent.filter((e) => e.who === who).map((e) => e.at);
      expect(at.length, who).toBeGreaterThanOrEqual(10);
      for (let i = 1; i < at.length; i++) {
        expect(at[i]! - at[i - 1]!, who).toBeGreaterThanOrEqual(4000);
        expect(at[i]! - at[i - 1]!, who).toBeLessThanOrEqual(4800);
      }
    }
    expect(agents.every((x) => x.agent.state === "completed")).toBe(true);
  });
});

describe("Ta negotiation (RFC 8445 §14.2, RFC 8839 §5.5)", () => {
  it("uses the higher of the two proposals; an absent one counts as 50 ms; signals its own", () => {
    const a = new IceAgent({ role: "controlling", ta: 20 });
    expect(a.localPacing).toBe(20);
    expect(a.ta).toBe(20);
    a.setRemoteCredentials("abcd", "abcdefghijklmnopqrstuv", { pacing: 5 });
    expect(a.ta).toBe(20);
    const b = new IceAgent({ role: "controlling", ta: 20 });
    b.setRemoteCredentials("abcd", "abcdefghijklmnopqrstuv", { pacing: 80 });
    expect(b.ta).toBe(80);
    const c = new IceAgent({ role: "controlling", ta: 20 });
    c.setRemoteCredentials("abcd", "abcdefghijklmnopqrstuv");
    expect(c.ta).toBe(50);
    // A peer proposing less than the 5 ms floor cannot take an agent under it.
    const d = new IceAgent({ role: "controlling", ta: 5 });
    d.setRemoteCredentials("abcd", "abcdefghijklmnopqrstuv", { pacing: 1 });
    expect(d.ta).toBe(5);
    // A lite agent signals no ice-pacing (RFC 8839 §4.3.1).
    expect(new IceAgent({ role: "controlled", lite: true }).localPacing).toBeUndefined();
    expect(() => c.setRemoteCredentials("abcd", "abcdefghijklmnopqrstuv", { pacing: 1.5 })).toThrow(/pacing/);
  });

  it("checks go out at the negotiated Ta", () => {
    const pacer = new IcePacer();
    const log: Sent[] = [];
    const net = new Network({ seed: 2, link: { delay: 10 } });
    const h = net.host("203.0.113.50", { name: "h" });
    const agent = new IceAgent({ role: "controlling", random: h.fork("a"), ta: 10, pacer });
    const att = net.attach(h, new Recorder(agent, net, log, "h"), { port: 5000, keepEvents: false });
    agent.addLocalSocket(net.now, { family: "IPv4", address: "203.0.113.50", port: 5000 });
    agent.setRemoteCredentials("abcd", "abcdefghijklmnopqrstuv", { pacing: 30 });
    agent.startGathering(net.now);
    // Five unreachable remote candidates: five ordinary checks paced at Ta.
    for (let i = 1; i <= 5; i++) agent.addRemoteCandidate(net.now, `candidate:${i} 1 udp ${2130706431 - i} 198.51.100.${i} 9 typ host`);
    att.drive();
    net.run({ duration: 200 });
    const times = log.map((l) => l.at);
    expect(times.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < 5; i++) expect(times[i]! - times[i - 1]!).toBe(30);
  });
});
