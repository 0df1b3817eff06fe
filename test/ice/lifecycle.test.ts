/**
 * The agent's life outside the happy path: options it refuses, sockets added late, keepalives
 * before selection, an RFC 3489 STUN server, closing.
 */
import { describe, expect, it } from "vitest";
import type { Engine, Received, Transmit } from "../../src/engine";
import { Queue } from "../../src/engine";
import { IceAgent } from "../../src/ice/agent";
import { portRestrictedCone } from "../../src/sim/index";
import { MappedAddress } from "../../src/stun/attributes/address";
import { StunMessageBuilder } from "../../src/stun/builder";
import { MessageClass, Method } from "../../src/stun/constants";
import { decodeStunMessage } from "../../src/stun/message";
import { LOCAL, PEER, PEER_PWD, PEER_UFRAG, agentUnderTest, check, from, requests, successFor } from "./fake-peer";
import { STUN_IP, pairType, scenario, sendText } from "./harness";

describe("options", () => {
  it.each([
    ["an unknown role", { role: "boss" }, /role/],
    ["Ta under 5 ms (§14.2)", { role: "controlled", ta: 1 }, /ta/],
    ["Tr under 15 s (§11)", { role: "controlled", keepaliveInterval: 5000 }, /keepaliveInterval/],
    ["consent checks under 4 s (RFC 7675)", { role: "controlled", consentInterval: 1000 }, /consentInterval/],
    ["0 components", { role: "controlled", components: 0 }, /components/],
    ["a 2-char ufrag", { role: "controlled", ufrag: "ab" }, /ufrag/],
    ["a short password", { role: "controlled", pwd: "short" }, /pwd/],
    ["a negative tiebreaker", { role: "controlled", tiebreaker: -1n }, /tiebreaker/],
    ["a STUN server given by name", { role: "controlled", stunServers: [{ family: "IPv4", address: "stun.example.org", port: 3478 }] }, /IP address/],
  ])("refuses %s", (_what, options, message) => {
    expect(() => new IceAgent(options as never)).toThrow(message);
  });

  it("makes unguessable credentials: 8-char ufrag, 24-char password of ice-chars (§5.3)", () => {
    const a = new IceAgent({ role: "controlling" });
    expect(a.localUfrag).toMatch(/^[A-Za-z0-9+/]{8}$/);
    expect(a.localPwd).toMatch(/^[A-Za-z0-9+/]{24}$/);
    expect(a.localUfrag).not.toBe(new IceAgent({ role: "controlling" }).localUfrag);
  });

  it("refuses wildcard and port-0 sockets and unknown components", () => {
    const a = new IceAgent({ role: "controlling" });
    expect(() => a.addLocalSocket(0, { family: "IPv4", address: "0.0.0.0", port: 5000 })).toThrow(/wildcard/);
    expect(() => a.addLocalSocket(0, { family: "IPv4", address: "192.0.2.1", port: 0 })).toThrow(/port 0/);
    expect(() => a.addLocalSocket(0, LOCAL, 2)).toThrow(/component/);
  });
});

describe("gathering", () => {
  it("ignores datagrams on a socket before its candidate is signaled", () => {
    const a = new IceAgent({ role: "controlled", ufrag: "agentUfrag", pwd: "agentpasswordagentpassword" });
    a.addLocalSocket(0, LOCAL);
    expect(a.handleReceive(1, from(PEER, check()))).toBe(false);
    expect(a.pollTransmit()).toBeUndefined();
  });

  it("signals a socket added after end-of-candidates only at the next restart (RFC 8838 §13)", () => {
    const { agent, drain, events } = agentUnderTest();
    expect(events.filter((e) => e.type === "gathering").map((e) => (e as { state: string }).state)).toEqual(["gathering", "complete"]);
    agent.addLocalSocket(1, { family: "IPv4", address: "192.0.2.50", port: 5000 });
    drain();
    expect(events.filter((e) => e.type === "local-candidate")).toHaveLength(1);
    const { ufrag } = agent.restart(2);
    drain();
    const after = events.filter((e) => e.type === "local-candidate").slice(1);
    expect(after.map((e) => (e as { candidate: { address: string; ufrag?: string } }).candidate)).toMatchObject([
      { address: "192.0.2.1", ufrag },
      { address: "192.0.2.50", ufrag },
    ]);
    // Two bases: unique local preferences, hence unique priorities (§5.1.2.1).
    const prios = agent.localCandidates().map((c) => c.priority);
    expect(new Set(prios).size).toBe(2);
  });

  it("reads MAPPED-ADDRESS from an RFC 3489 server (§5.1.1.2 backwards compatibility)", () => {
    /** A STUN server that answers like RFC 3489: MAPPED-ADDRESS, no XOR-MAPPED-ADDRESS. */
    class OldStunServer implements Engine<never> {
      readonly #out = new Queue<Transmit>();
      handleReceive(_now: number, r: Received): void {
        const req = decodeStunMessage(r.data);
        const data = new StunMessageBuilder().begin(Method.Binding, MessageClass.SuccessResponse, req.transactionId).add(MappedAddress, r.remote).finish().slice();
        this.#out.push({ local: r.local, remote: r.remote, transport: "udp", data });
      }
      handleTimeout(): void {}
      pollTransmit(): Transmit | undefined {
        return this.#out.shift();
      }
      pollTimeout(): undefined {
        return undefined;
      }
      pollEvent(): undefined {
        return undefined;
      }
    }
    const s = scenario({ seed: 30, stun: false, a: { placement: { kind: "nat", behavior: portRestrictedCone() } } });
    const srv = s.net.server(STUN_IP, { name: "old-stun" });
    s.net.attach(srv, new OldStunServer(), { port: 3478 });
    // The scenario gave no STUN server to the agents; this one does.
    const a = new IceAgent({ role: "controlling", stunServers: [{ family: "IPv4", address: STUN_IP, port: 3478 }] });
    const att = s.net.attach(s.a.host, a, { port: 6000 });
    a.addLocalSocket(s.net.now, att.local);
    a.startGathering(s.net.now);
    s.net.run({ duration: 1000 });
    expect(a.localCandidates().map((c) => `${c.type} ${c.address}:${c.port}`)).toEqual(["host 192.168.1.2:6000", "srflx 198.51.100.1:6000"]);
  });
});

describe("data before selection (§12.1, §11)", () => {
  it("sends on the best valid pair before nomination and keeps it alive with keepalives", () => {
    const t = agentUnderTest();
    t.agent.setRemoteCredentials(PEER_UFRAG, PEER_PWD);
    t.agent.addRemoteCandidate(1, `candidate:1 1 udp 2130706431 ${PEER.address} ${PEER.port} typ host`);
    t.drain();
    const [req] = requests(t.transmits);
    t.agent.handleReceive(20, from(PEER, successFor(req!.data, LOCAL)));
    t.drain();
    expect(t.agent.state).toBe("connected");
    expect(t.agent.selectedPair()).toBeUndefined();
    t.transmits.length = 0;
    expect(t.agent.send(30, new TextEncoder().encode("early"))).toBe(true);
    t.drain();
    expect(t.transmits).toEqual([{ local: LOCAL, remote: PEER, transport: "udp", data: new TextEncoder().encode("early") }]);
    t.agent.handleTimeout(15_030);
    t.drain();
    const ka = decodeStunMessage(t.transmits.at(-1)!.data);
    expect(ka.messageClass).toBe(MessageClass.Indication);
    expect(ka.attributeCount).toBe(1); // FINGERPRINT only (§11)
    expect(t.agent.stats().keepalivesSent).toBe(1);
    // Without nomination nothing renews consent: 30 s after the last response, no more data.
    expect(t.agent.send(29_999, new TextEncoder().encode("late"))).toBe(true);
    expect(t.agent.send(30_020, new TextEncoder().encode("too late"))).toBe(false);
  });
});

describe("close", () => {
  it("reports closed, sends nothing more, and deletes its TURN allocation", () => {
    const s = scenario({ seed: 31, turn: true, a: { placement: { kind: "nat", behavior: portRestrictedCone() } } });
    s.start();
    expect(s.runUntilSettled()).toBe(true);
    expect(pairType(s.a.agent)).toBe("srflx-host");
    s.a.agent.close(s.net.now);
    s.a.att.drive();
    s.net.run({ duration: 2000 });
    expect(s.a.states.at(-1)).toBe("closed");
    expect(sendText(s.net, s.a, "after close")).toBe(false);
    expect(s.a.agent.pollTimeout()).toBeUndefined();
    expect(() => s.a.agent.restart(s.net.now)).toThrow(/closed/);
  });
});
