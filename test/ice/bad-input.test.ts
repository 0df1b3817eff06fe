/**
 * One agent fed crafted datagrams: the server side of checks (RFC 8445 §7.3) with every way a
 * request can be wrong, responses that must be ignored, floods that must not grow memory, and
 * role conflicts and nominations decided byte by byte.
 */
import { describe, expect, it } from "vitest";
import type { TransportAddress } from "../../src/bytes/ip";
import { XorMappedAddress } from "../../src/stun/attributes/address";
import { UnknownAttributes } from "../../src/stun/attributes/error";
import { IceControlled, IceControlling, Priority, UseCandidate } from "../../src/stun/attributes/ice";
import { shortTermCredential } from "../../src/stun/credentials";
import { checkFingerprint, checkMessageIntegrity } from "../../src/stun/integrity";
import { MessageClass } from "../../src/stun/constants";
import { decodeStunMessage } from "../../src/stun/message";
import {
  AGENT_PWD,
  LOCAL,
  PEER,
  PEER_PWD,
  PEER_UFRAG,
  agentUnderTest,
  check,
  decoded,
  errorFor,
  from,
  requests,
  successFor,
} from "./fake-peer";

describe("answering checks (RFC 8445 §7.3, RFC 8489 §9.1.3)", () => {
  it("answers a valid check with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY (local password) and FINGERPRINT", () => {
    const { agent, drain, transmits } = agentUnderTest();
    expect(agent.handleReceive(1, from(PEER, check()))).toBe(true);
    drain();
    const t = transmits.find((x) => x.data[0] === 0x01)!;
    expect(t.local).toEqual(LOCAL);
    expect(t.remote).toEqual(PEER);
    const { msg } = decoded(t);
    expect(msg.messageClass).toBe(MessageClass.SuccessResponse);
    expect(msg.get(XorMappedAddress)).toEqual(PEER);
    expect(checkMessageIntegrity(msg, shortTermCredential("x", AGENT_PWD).sha1)).toBe("valid");
    expect(checkFingerprint(msg)).toBe("valid");
  });

  it.each([
    ["a wrong ufrag", { username: `someoneElse:${PEER_UFRAG}` }, 401, "unauthenticated"],
    ["a USERNAME without a colon", { username: "agentUfrag" }, 401, "unauthenticated"],
    ["a wrong password", { pwd: "notthepasswordnotthepassword" }, 401, "unauthenticated"],
    ["no USERNAME", { username: null }, 400, "badRequests"],
    ["no MESSAGE-INTEGRITY", { pwd: null }, 400, "badRequests"],
    ["no PRIORITY", { priority: null }, 400, "badRequests"],
  ] as const)("answers %s with an unsigned error and counts it, learning nothing", (_what, o, code, counter) => {
    const { agent, drain, transmits } = agentUnderTest();
    agent.handleReceive(1, from(PEER, check(o)));
    drain();
    const { msg, error } = decoded(transmits.at(-1));
    expect(error).toBe(code);
    // 400 and 401 go unsigned: the request was not authenticated (RFC 8489 §9.1.3).
    expect(msg.has(0x0008)).toBe(false);
    expect(agent.stats()[counter]).toBe(1);
    expect(agent.stats().remoteCandidates).toBe(0);
    expect(agent.state).toBe("new");
  });

  it("answers unknown comprehension-required attributes with 420 and UNKNOWN-ATTRIBUTES", () => {
    const { agent, drain, transmits } = agentUnderTest();
    agent.handleReceive(1, from(PEER, check({ extra: { type: 0x7777, value: new Uint8Array(4) } })));
    drain();
    const { msg, error } = decoded(transmits.at(-1));
    expect(error).toBe(420);
    expect(msg.get(UnknownAttributes)).toEqual([0x7777]);
  });

  it("drops a check with a wrong FINGERPRINT without answering", () => {
    const { agent, drain, transmits } = agentUnderTest();
    agent.handleReceive(1, from(PEER, check({ corruptFingerprint: true })));
    drain();
    expect(transmits).toHaveLength(0);
    expect(agent.stats().droppedFingerprint).toBe(1);
  });

  it("drops garbage, unknown responses and data from strangers, counting each", () => {
    const { agent, drain, transmits } = agentUnderTest();
    agent.handleReceive(1, from(PEER, Uint8Array.of(0, 1, 0, 0, 1, 2, 3)));
    agent.handleReceive(1, from(PEER, successFor(check(), LOCAL)));
    agent.handleReceive(1, from(PEER, new TextEncoder().encode("hello")));
    expect(agent.handleReceive(1, from(PEER, check(), { family: "IPv4", address: "192.0.2.99", port: 1 }))).toBe(false);
    drain();
    expect(transmits).toHaveLength(0);
    const s = agent.stats();
    expect(s.droppedMalformed).toBe(1);
    expect(s.unmatchedResponses).toBe(1);
    expect(s.droppedDataUnknownSource).toBe(1);
  });

  it("never throws on random bytes", () => {
    const { agent, drain } = agentUnderTest();
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      const n = (seed = (seed * 1103515245 + 12345) >>> 0) % 120;
      const data = new Uint8Array(n);
      for (let k = 0; k < n; k++) data[k] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      if (n > 0 && i % 2 === 0) data[0] = data[0]! & 0x03; // look like STUN half the time
      expect(() => agent.handleReceive(i, from(PEER, data))).not.toThrow();
      drain();
    }
  });
});

/** Gives the agent the peer's credentials and one candidate, and returns its first check. */
function withPeer(options: Parameters<typeof agentUnderTest>[0] = {}) {
  const t = agentUnderTest(options);
  t.agent.setRemoteCredentials(PEER_UFRAG, PEER_PWD);
  t.agent.addRemoteCandidate(1, `candidate:1 1 udp 2130706431 ${PEER.address} ${PEER.port} typ host`);
  t.drain();
  return t;
}

describe("checks and responses (RFC 8445 §7.2)", () => {
  it("sends checks with USERNAME remote:local, PRIORITY, ICE-CONTROLLED, MESSAGE-INTEGRITY (remote password), FINGERPRINT", () => {
    const { transmits } = withPeer({ tiebreaker: 42n });
    const req = decoded(requests(transmits)[0]).msg;
    expect(req.get(IceControlled)).toBe(42n);
    expect(req.has(UseCandidate.type)).toBe(false);
    expect(checkMessageIntegrity(req, shortTermCredential("x", PEER_PWD).sha1)).toBe("valid");
    expect(checkFingerprint(req)).toBe("valid");
    expect(new TextDecoder().decode(req.rawValue(0x0006))).toBe(`${PEER_UFRAG}:agentUfrag`);
  });

  it("ignores a response with the wrong MESSAGE-INTEGRITY and keeps retransmitting", () => {
    const { agent, drain, transmits } = withPeer();
    const req = requests(transmits)[0]!;
    agent.handleReceive(10, from(PEER, successFor(req.data, LOCAL, "wrongwrongwrongwrongwrong")));
    drain();
    expect(agent.stats().droppedResponseIntegrity).toBe(1);
    expect(agent.state).toBe("checking");
    agent.handleTimeout(600);
    drain();
    expect(requests(transmits).filter((t) => t.data.subarray(8, 20).join() === req.data.subarray(8, 20).join()).length).toBe(2);
  });

  it("fails the pair on a response from another address (§7.2.5.2.1)", () => {
    const { agent, drain, transmits } = withPeer();
    const req = requests(transmits)[0]!;
    agent.handleReceive(10, from({ ...PEER, port: 6001 }, successFor(req.data, LOCAL)));
    drain();
    expect(agent.stats().nonSymmetricResponses).toBe(1);
    expect(agent.stats().pairs[0]!.state).toBe("failed");
  });

  it("learns a peer-reflexive local candidate from the mapped address (§7.2.5.3.1)", () => {
    const { agent, drain, transmits } = withPeer();
    const mapped: TransportAddress = { family: "IPv4", address: "198.51.100.9", port: 40000 };
    agent.handleReceive(10, from(PEER, successFor(requests(transmits)[0]!.data, mapped)));
    drain();
    const valid = agent.stats().pairs.find((p) => p.valid)!;
    expect(valid.local).toMatchObject({ type: "prflx", address: "198.51.100.9", port: 40000, relatedAddress: LOCAL.address });
    // Its priority is the PRIORITY the check carried.
    expect(valid.local.priority).toBe(decodeStunMessage(requests(transmits)[0]!.data).get(Priority));
    expect(agent.state).toBe("connected");
  });
});

describe("role conflicts (§7.3.1.1, §7.2.5.1)", () => {
  it("controlling with the larger tiebreaker answers 487, signed, and keeps its role", () => {
    const { agent, drain, transmits } = agentUnderTest({ role: "controlling", tiebreaker: 100n });
    agent.handleReceive(1, from(PEER, check({ controlling: 100n })));
    drain();
    const { msg, error } = decoded(transmits.at(-1));
    expect(error).toBe(487);
    expect(checkMessageIntegrity(msg, shortTermCredential("x", AGENT_PWD).sha1)).toBe("valid");
    expect(agent.role).toBe("controlling");
  });

  it("controlling with the smaller tiebreaker switches to controlled and answers success", () => {
    const { agent, drain, transmits, events } = agentUnderTest({ role: "controlling", tiebreaker: 5n });
    agent.handleReceive(1, from(PEER, check({ controlling: 6n })));
    drain();
    expect(decoded(transmits.at(-1)).msg.messageClass).toBe(MessageClass.SuccessResponse);
    expect(agent.role).toBe("controlled");
    expect(events).toContainEqual({ type: "role", role: "controlled" });
    // A switch on a request keeps the tiebreaker.
    expect(agent.tiebreaker).toBe(5n);
  });

  it("controlled with the larger tiebreaker switches to controlling; with the smaller it answers 487", () => {
    const a = agentUnderTest({ role: "controlled", tiebreaker: 9n });
    a.agent.handleReceive(1, from(PEER, check({ controlled: 8n })));
    expect(a.agent.role).toBe("controlling");
    const b = agentUnderTest({ role: "controlled", tiebreaker: 7n });
    b.agent.handleReceive(1, from(PEER, check({ controlled: 8n })));
    b.drain();
    expect(decoded(b.transmits.at(-1)).error).toBe(487);
    expect(b.agent.role).toBe("controlled");
  });

  it("switches on a 487 once, changes its tiebreaker, retries the pair, and ignores a stale 487", () => {
    const t = agentUnderTest({ role: "controlling", tiebreaker: 1n });
    t.agent.setRemoteCredentials(PEER_UFRAG, PEER_PWD);
    const peer2: TransportAddress = { ...PEER, port: 6002 };
    t.agent.addRemoteCandidate(1, `candidate:1 1 udp 2130706431 ${PEER.address} ${PEER.port} typ host`);
    t.agent.addRemoteCandidate(1, `candidate:2 1 udp 2130706430 ${peer2.address} ${peer2.port} typ host`);
    t.drain();
    t.agent.handleTimeout(60);
    t.drain();
    const [r1, r2] = requests(t.transmits);
    expect(decoded(r1).msg.get(IceControlling)).toBe(1n);
    expect(decoded(r2).msg.get(IceControlling)).toBe(1n);
    t.agent.handleReceive(100, from(r1!.remote, errorFor(r1!.data, 487)));
    expect(t.agent.role).toBe("controlled");
    const newTiebreaker = t.agent.tiebreaker;
    expect(newTiebreaker).not.toBe(1n);
    // The second 487 answers a request sent before the switch: no switch back.
    t.agent.handleReceive(101, from(r2!.remote, errorFor(r2!.data, 487)));
    expect(t.agent.role).toBe("controlled");
    expect(t.agent.tiebreaker).toBe(newTiebreaker);
    t.drain();
    t.agent.handleTimeout(200);
    t.drain();
    // The retried check claims the new role.
    const retry = requests(t.transmits).slice(2).map((r) => decoded(r).msg);
    expect(retry.length).toBeGreaterThan(0);
    for (const m of retry) expect(m.get(IceControlled)).toBe(newTiebreaker);
  });
});

describe("nomination on the controlled side (§7.3.1.5, §8.1.1)", () => {
  function succeedAll(t: ReturnType<typeof withPeer>, now: number): void {
    for (const r of requests(t.transmits)) t.agent.handleReceive(now, from(r.remote, successFor(r.data, r.local!)));
    t.transmits.length = 0;
    t.drain();
  }

  it("accepts aggressive nominations and keeps the highest-priority nominated pair", () => {
    const t = agentUnderTest();
    t.agent.setRemoteCredentials(PEER_UFRAG, PEER_PWD);
    const hi: TransportAddress = { ...PEER, port: 7000 };
    const lo: TransportAddress = { ...PEER, port: 7001 };
    t.agent.addRemoteCandidate(1, `candidate:1 1 udp 2130706431 ${hi.address} ${hi.port} typ host`);
    t.agent.addRemoteCandidate(1, `candidate:2 1 udp 1694498815 ${lo.address} ${lo.port} typ srflx raddr 0.0.0.0 rport 9`);
    t.drain();
    for (let now = 50; now <= 200; now += 50) {
      t.agent.handleTimeout(now);
      t.drain();
    }
    succeedAll(t as ReturnType<typeof withPeer>, 210);
    expect(t.agent.state).toBe("connected");
    // An RFC 5245 controlling peer nominates the low pair first, then the high one, then low again.
    t.agent.handleReceive(300, from(lo, check({ useCandidate: true })));
    t.drain();
    expect(t.agent.selectedPair()!.remote.port).toBe(7001);
    t.agent.handleReceive(310, from(hi, check({ useCandidate: true })));
    t.drain();
    expect(t.agent.selectedPair()!.remote.port).toBe(7000);
    t.agent.handleReceive(320, from(lo, check({ useCandidate: true })));
    t.drain();
    expect(t.agent.selectedPair()!.remote.port).toBe(7000);
    expect(t.events.filter((e) => e.type === "selected-pair")).toHaveLength(2);
    expect(t.agent.state).toBe("completed");
  });

  it("a USE-CANDIDATE on a pair not yet checked triggers a check whose success nominates", () => {
    const t = withPeer();
    t.transmits.length = 0;
    const other: TransportAddress = { ...PEER, port: 6500 };
    t.agent.handleReceive(5, from(other, check({ useCandidate: true, priority: 1845501695 })));
    t.drain();
    t.agent.handleTimeout(60);
    t.drain();
    const triggered = requests(t.transmits).find((r) => r.remote.port === 6500)!;
    expect(triggered).toBeDefined();
    t.agent.handleReceive(80, from(other, successFor(triggered.data, LOCAL)));
    t.drain();
    expect(t.agent.selectedPair()).toMatchObject({ remote: { type: "prflx", port: 6500, priority: 1845501695 } });
  });
});

describe("floods (RFC 8445 §6.1.2.5, §19.5.1)", () => {
  it("caps remote candidates and pairs however many are signaled", () => {
    const { agent, drain } = agentUnderTest();
    agent.setRemoteCredentials(PEER_UFRAG, PEER_PWD);
    for (let i = 0; i < 1000; i++) agent.addRemoteCandidate(1, `candidate:${i} 1 udp ${1000 + i} 198.51.${i >> 8}.${i & 255} ${1024 + i} typ host`);
    drain();
    const s = agent.stats();
    expect(s.remoteCandidates).toBe(100);
    expect(s.droppedRemoteCandidates).toBe(900);
    expect(s.pairs.length).toBeLessThanOrEqual(100);
  });

  it("keeps at most maxPairs pairs, discarding lower-priority ones that are not in flight (RFC 8838 §11)", () => {
    const { agent, drain } = agentUnderTest({ maxPairs: 10 });
    agent.setRemoteCredentials(PEER_UFRAG, PEER_PWD);
    for (let i = 0; i < 30; i++) agent.addRemoteCandidate(1, `candidate:${i} 1 udp ${1000 + i} 198.51.100.${i + 1} 5000 typ host`);
    drain();
    const pairs = agent.stats().pairs;
    expect(pairs).toHaveLength(10);
    // The first pair's check went out at once and stays; the other nine are the best.
    expect(pairs.filter((p) => p.state === "in-progress").map((p) => p.remote.priority)).toEqual([1000]);
    expect(pairs.filter((p) => p.state !== "in-progress").map((p) => p.remote.priority).sort()).toEqual([1021, 1022, 1023, 1024, 1025, 1026, 1027, 1028, 1029]);
    expect(agent.stats().droppedPairs).toBe(0); // each newcomer made room by outranking the lowest
  });

  it("bounds what authenticated checks from many sources can create", () => {
    const { agent, drain, transmits } = agentUnderTest();
    agent.setRemoteCredentials(PEER_UFRAG, PEER_PWD);
    for (let i = 0; i < 1000; i++) {
      agent.handleReceive(i, from({ family: "IPv4", address: `198.18.${i >> 8}.${i & 255}`, port: 9000 }, check()));
      drain();
      transmits.length = 0;
    }
    const s = agent.stats();
    expect(s.remoteCandidates).toBe(100);
    expect(s.pairs.length).toBeLessThanOrEqual(100);
  });

  it("answers an unauthenticated flood with errors and learns nothing", () => {
    const { agent, drain, transmits } = agentUnderTest();
    for (let i = 0; i < 500; i++) agent.handleReceive(i, from({ family: "IPv4", address: `198.18.0.${i & 255}`, port: 9000 + i }, check({ pwd: "guessguessguessguessguess" })));
    drain();
    expect(transmits.every((t) => decoded(t).error === 401)).toBe(true);
    expect(agent.stats()).toMatchObject({ unauthenticated: 500, remoteCandidates: 0, pairs: [] });
    expect(agent.pollTimeout()).toBeUndefined();
  });
});
