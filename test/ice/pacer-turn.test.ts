/**
 * Global pacing (RFC 8445 §14.2) of the TURN transactions an ICE agent's relays start: "the
 * combination of all transactions from all agents [...] MUST NOT be sent more often than once
 * every 5 ms". Besides the agent's own checks and gathering requests, that covers the TURN
 * requests after the Allocate (its signed retry, Refresh, CreatePermission, ChannelBind) and the
 * checks that waited in the TURN client for their permission. Retransmissions are not new
 * transactions (Appendix B.1), nor are Send indications and ChannelData as such: the recorder
 * below looks inside them for the checks they carry.
 */
import { describe, expect, it } from "vitest";
import { IceAgent } from "../../src/ice/agent";
import { IcePacer } from "../../src/ice/pacer";
import { TurnClient } from "../../src/turn/client";
import { TurnServer } from "../../src/turn/server";
import { Data } from "../../src/stun/attributes/turn";
import { MessageClass, Method } from "../../src/stun/constants";
import { StunMessageBuilder } from "../../src/stun/builder";
import { decodeStunMessage } from "../../src/stun/message";
import { Network, attachTurnServer, portRestrictedCone } from "../../src/sim/index";
import type { Attached, Host, TransportAddress } from "../../src/sim/index";
import { TURN, TURN_IP } from "./harness";
import { Recorder, minGap } from "./transaction-recorder";
import type { Sent } from "./transaction-recorder";

interface Party {
  readonly name: string;
  readonly agent: IceAgent;
  readonly rec: Recorder;
  att: Attached<Recorder>;
}

/**
 * `pairs` pairs of agents, each behind its own port-restricted NAT, with one TURN server (30 s
 * allocations, so Refreshes come every 15 s) and Ta 5 ms on both sides, sharing `pacer`. Only
 * relayed candidates are signaled, so every pair connects relay to relay: each agent allocates,
 * creates a permission for its peer's relayed address, and binds a channel on selection.
 */
function relayCrowd(pairs: number, pacer: IcePacer, seed = 5) {
  const net = new Network({ seed, link: { delay: 10 } });
  const turnHost = net.server(TURN_IP, { name: "turn" });
  const server = new TurnServer({ realm: "example.org", users: { user: "pass" }, relayAddresses: [TURN_IP], random: turnHost.random, allowPeer: ["0.0.0.0/0"], defaultLifetime: 30 });
  attachTurnServer(net, turnHost, server);
  const log: Sent[] = [];
  const parties: [Party, Party][] = [];
  const make = (host: Host, name: string, role: "controlling" | "controlled", peerOf: () => Party): Party => {
    const agent = new IceAgent({ role, random: host.fork(name), turnServers: [{ address: TURN, username: "user", password: "pass" }], ta: 5, pacer, consentInterval: false });
    const rec = new Recorder(agent, net, log, name);
    const party: Party = { name, agent, rec, att: undefined as unknown as Attached<Recorder> };
    party.att = net.attach(host, rec, {
      port: 5000,
      keepEvents: false,
      onEvent: (e) => {
        const other = peerOf();
        if (e.type === "local-candidate" && e.candidate.type === "relay") {
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
    const natA = net.nat(portRestrictedCone(), { name: `na${i}` });
    const natB = net.nat(portRestrictedCone(), { name: `nb${i}` });
    const pair: Party[] = [];
    pair.push(make(natA.host("192.168.1.2", { name: `a${i}` }), `a${i}`, "controlling", () => pair[1]!));
    pair.push(make(natB.host("10.0.0.2", { name: `b${i}` }), `b${i}`, "controlled", () => pair[0]!));
    parties.push([pair[0]!, pair[1]!]);
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

function count(log: readonly Sent[], kind: Sent["kind"]): number {
  return log.filter((l) => l.kind === kind).length;
}

describe("TURN transactions of agents sharing one pacer (RFC 8445 §14.2)", () => {
  it("12 agents connecting relay to relay never start two transactions within 5 ms, TURN requests included", () => {
    const pacer = new IcePacer();
    const c = relayCrowd(6, pacer);
    expect(c.net.runUntil(c.done, { timeout: 60_000 })).toBe(true);
    for (const p of c.all) expect(p.agent.selectedPair()?.local.type).toBe("relay");
    // Past the permission refresh (240 s) and the channel rebind (540 s), with 15 s allocation
    // refreshes all along (consent checks are off here: they keep RFC 7675's schedule, outside the pacer).
    c.net.run({ duration: 560_000 });
    for (const p of c.all) expect(p.agent.state).toBe("completed");
    // Every kind went out: each Allocate and its signed retry, Refreshes, permissions (and their
    // refreshes), channel binds (and rebinds), relayed checks in Send indications and ChannelData.
    expect(count(c.log, "allocate")).toBeGreaterThanOrEqual(2 * c.all.length);
    expect(count(c.log, "refresh")).toBeGreaterThan(30 * c.all.length);
    expect(count(c.log, "create-permission")).toBeGreaterThanOrEqual(2 * c.all.length);
    expect(count(c.log, "channel-bind")).toBeGreaterThanOrEqual(2 * c.all.length);
    expect(count(c.log, "check")).toBeGreaterThanOrEqual(c.all.length);
    expect(minGap(c.log)).toBeGreaterThanOrEqual(5);
    // A slot may go unused (a check whose permission vanished meanwhile), never used twice.
    expect(c.log.length).toBeLessThanOrEqual(pacer.granted);
    // No relayed check overtook the permission it needs.
    for (const p of c.all) expect(p.rec.uncovered).toBe(0);
  });

  it("paces the deallocations of agents closed at once (RFC 8656 §8.1)", () => {
    const pacer = new IcePacer();
    const c = relayCrowd(3, pacer, 8);
    expect(c.net.runUntil(c.done, { timeout: 60_000 })).toBe(true);
    const before = c.log.length;
    for (const p of c.all) {
      p.agent.close(c.net.now);
      p.att.drive();
    }
    c.net.run({ duration: 5_000 });
    const deletes = c.log.slice(before).filter((l) => l.kind === "refresh");
    expect(deletes.length).toBe(c.all.length);
    expect(minGap(c.log)).toBeGreaterThanOrEqual(5);
    for (const p of c.all) expect(p.agent.pollTimeout()).toBeUndefined();
  });

  it("many agents creating permissions at the same moment take turns (fails if TURN requests bypass the pacer)", () => {
    // Ten agents, each with an allocation, each told of eight unreachable peers at once: every
    // first check to a peer needs a CreatePermission, and each check waits for its permission.
    const pacer = new IcePacer();
    const net = new Network({ seed: 13, link: { delay: 10 } });
    const turnHost = net.server(TURN_IP, { name: "turn" });
    attachTurnServer(net, turnHost, new TurnServer({ realm: "example.org", users: { user: "pass" }, relayAddresses: [TURN_IP], random: turnHost.random, allowPeer: ["0.0.0.0/0"] }));
    const log: Sent[] = [];
    const agents: { agent: IceAgent; att: Attached<Recorder>; rec: Recorder }[] = [];
    for (let i = 0; i < 10; i++) {
      const host = net.host(`203.0.113.${20 + i}`, { name: `h${i}` });
      const agent = new IceAgent({ role: "controlling", random: host.fork("a"), ta: 5, pacer, turnServers: [{ address: TURN, username: "user", password: "pass" }] });
      const rec = new Recorder(agent, net, log, `h${i}`);
      const att = net.attach(host, rec, { port: 5000, keepEvents: false });
      agent.addLocalSocket(net.now, { family: "IPv4", address: host.addresses[0]!, port: 5000 });
      agent.setRemoteCredentials("abcd", "abcdefghijklmnopqrstuv", { pacing: 5 });
      agent.startGathering(net.now);
      att.drive();
      agents.push({ agent, att, rec });
    }
    expect(net.runUntil(() => agents.every((a) => a.agent.gatheringState === "complete"), { timeout: 10_000 })).toBe(true);
    const start = log.length;
    for (const { agent, att } of agents) {
      for (let p = 1; p <= 8; p++) agent.addRemoteCandidate(net.now, `candidate:${p} 1 udp ${2130706431 - p} 198.51.100.${p} 9 typ host`);
      att.drive();
    }
    net.run({ duration: 3_000 });
    const burst = log.slice(start);
    // Host checks, CreatePermissions for all eight peers and the relayed checks behind them.
    expect(count(burst, "create-permission")).toBe(80);
    expect(count(burst, "check")).toBeGreaterThanOrEqual(80);
    expect(minGap(log)).toBeGreaterThanOrEqual(5);
    for (const a of agents) expect(a.rec.uncovered).toBe(0);
  });
});

describe("TurnClient with paced requests", () => {
  it("holds each new transaction until released, never a retransmission", () => {
    const server: TransportAddress = { family: "IPv4", address: "192.0.2.20", port: 3478 };
    const turn = new TurnClient({ server, username: "user", password: "pass", paced: true, stun: { rto: { initialRto: 100 } } });
    turn.allocate(0);
    expect(turn.pollTransmit()).toBeUndefined();
    expect(turn.pacedWaiting).toBe(true);
    expect(turn.pollTimeout()).toBeUndefined(); // no retransmission timer before the first send
    expect(turn.releasePaced(7)).toBe(true);
    const first = turn.pollTransmit();
    expect(first).toBeDefined();
    expect(turn.pacedWaiting).toBe(false);
    expect(turn.pollTimeout()).toBe(107); // the RTO runs from the release
    turn.handleTimeout(107);
    const again = turn.pollTransmit(); // the retransmission goes at once, same transaction id
    expect(again?.data).toEqual(first?.data);
    expect(turn.releasePaced(108)).toBe(false);
  });

  it("holds the signed retry after 401 and a check that waited for its permission, not data", () => {
    const serverAddr: TransportAddress = { family: "IPv4", address: "192.0.2.20", port: 3478 };
    const local: TransportAddress = { family: "IPv4", address: "203.0.113.9", port: 5000 };
    const peer: TransportAddress = { family: "IPv4", address: "198.51.100.7", port: 9000 };
    const server = new TurnServer({ realm: "example.org", users: { user: "pass" }, relayAddresses: ["192.0.2.20"], allowPeer: ["0.0.0.0/0"] });
    const turn = new TurnClient({ server: serverAddr, local, username: "user", password: "pass", paced: true });
    let now = 0;
    const sent: Uint8Array[] = [];
    /** Carries the client's datagrams to the server and back, answering relay-open at once. */
    const exchange = () => {
      for (let t = turn.pollTransmit(); t !== undefined; t = turn.pollTransmit()) {
        sent.push(t.data);
        server.handleReceive(now, { local: serverAddr, remote: local, transport: "udp", data: t.data });
        for (let e = server.pollEvent(); e !== undefined; e = server.pollEvent()) if (e.type === "relay-open") server.handleRelayBound(now, e.relayed);
        for (let r = server.pollTransmit(); r !== undefined; r = server.pollTransmit()) {
          if (sameAddress(r.remote, local)) turn.handleReceive(now, { local, remote: serverAddr, transport: "udp", data: r.data });
        }
      }
    };
    turn.allocate(now);
    turn.releasePaced(now);
    exchange(); // the bare Allocate, its 401
    expect(turn.state).toBe("allocating");
    expect(turn.pacedWaiting).toBe(true); // the signed retry is a new transaction: it waits
    now = 5;
    expect(turn.releasePaced(now)).toBe(true);
    exchange();
    expect(turn.state).toBe("allocated");
    expect(decodeStunMessage(sent[1]!).transactionId).not.toEqual(decodeStunMessage(sent[0]!).transactionId);
    // A check to a new peer: CreatePermission waits for a slot, the check for the permission.
    const check = new StunMessageBuilder().begin(Method.Binding, MessageClass.Request, new Uint8Array(12).fill(7)).finish().slice();
    expect(turn.send(now, peer, check)).toBe(true);
    expect(turn.pollTransmit()).toBeUndefined();
    now = 10;
    expect(turn.releasePaced(now)).toBe(true);
    exchange(); // CreatePermission and its success
    expect(turn.hasPermission(peer)).toBe(true);
    expect(turn.pacedWaiting).toBe(true); // the check, for a slot of its own
    expect(turn.send(now, peer, new Uint8Array([0x80, 1, 2, 3]))).toBe(true); // data: at once
    const data = turn.pollTransmit();
    expect(decodeStunMessage(data!.data).method).toBe(Method.Send);
    now = 15;
    expect(turn.releasePaced(now)).toBe(true);
    const carried = decodeStunMessage(turn.pollTransmit()!.data);
    expect(carried.method).toBe(Method.Send);
    expect(carried.get(Data)).toEqual(check);
    expect(turn.pacedWaiting).toBe(false);
  });
});

function sameAddress(a: TransportAddress, b: TransportAddress): boolean {
  return a.address === b.address && a.port === b.port;
}
