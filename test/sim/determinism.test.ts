import { describe, expect, it } from "vitest";
import { StunClient } from "../../src/index";
import { Network, formatTrace, portRestrictedCone, symmetric, traceHash, traceJson } from "../../src/sim/index";
import { PORT, PRIMARY, at, stunServer } from "./helpers";

/** Two clients behind two NATs, jitter and loss, ten seconds of STUN traffic. */
function scenario(seed: number, loss: number, extraHost = false) {
  const net = new Network({ seed, link: { delay: 5, jitter: 4, loss } });
  stunServer(net);
  const alice = net.nat(portRestrictedCone(), { name: "home" }).host("192.168.1.2", { name: "alice" });
  const bob = net.nat(symmetric(), { name: "office" }).host("10.0.0.2", { name: "bob" });
  if (extraHost) net.host("192.0.2.99", { name: "idle" });
  const clients = [alice, bob].map((h) => net.attach(h, new StunClient({ random: h.random })));
  for (let i = 0; i < 10; i++) {
    net.at(i * 1000, () => {
      for (const c of clients) c.engine.request(net.now, { remote: at(PRIMARY, PORT) });
      for (const c of clients) c.drive();
    });
  }
  net.run({ until: 10_000 });
  return { net, alice, clients };
}

describe("determinism", () => {
  it("the same seed gives the same packet trace, bit for bit", () => {
    const a = scenario(1234, 0.1);
    const b = scenario(1234, 0.1);
    expect(a.net.trace.length).toBeGreaterThan(100);
    expect(a.net.traceHash()).toBe(b.net.traceHash());
    expect(a.net.traceJson()).toBe(b.net.traceJson());
    expect(traceHash(a.net.trace)).toBe(a.net.traceHash());
  });

  it("a different seed gives a different trace when the links are lossy", () => {
    const a = scenario(1234, 0.1);
    const b = scenario(1235, 0.1);
    expect(a.net.traceHash()).not.toBe(b.net.traceHash());
    expect(a.net.stats().drops.loss).toBeGreaterThan(0);
  });

  it("adding a host leaves the other hosts' random streams alone", () => {
    const draw = (extra: boolean) => {
      const net = new Network({ seed: 9 });
      if (extra) net.host("192.0.2.99", { name: "newcomer" });
      const h = net.host("192.0.2.1", { name: "alice" });
      const out = new Uint8Array(16);
      h.random(out);
      return [...out, h.bind().port];
    };
    expect(draw(true)).toEqual(draw(false));
    expect(scenario(77, 0.1, true).net.traceHash()).toBe(scenario(77, 0.1, false).net.traceHash());
  });

  it("the hash is kept when the events are not", () => {
    const kept = new Network({ seed: 3 });
    const dropped = new Network({ seed: 3, trace: false });
    for (const net of [kept, dropped]) {
      const a = net.host("192.0.2.1").bind(1);
      a.send({ remote: at("192.0.2.2", 2), data: new Uint8Array(3) });
      net.run();
    }
    expect(dropped.trace).toHaveLength(0);
    expect(dropped.traceHash()).toBe(kept.traceHash());
  });
});

describe("the trace", () => {
  it("prints one line per event and serialises to JSON lines with transport address objects", () => {
    const { net } = scenario(5, 0);
    const text = formatTrace(net.trace);
    expect(text.split("\n")).toHaveLength(net.trace.length);
    expect(text).toMatch(/translate\s+home\s+#1\s+192\.168\.1\.2:\d+ > 192\.0\.2\.10:3478 28B => 198\.51\.100\.1:\d+ > 192\.0\.2\.10:3478/);
    const lines = traceJson(net.trace).trimEnd().split("\n");
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ time: 0, kind: "send", at: "alice", packet: 1, src: { family: "IPv4", address: "192.168.1.2" }, bytes: 28 });
    const hops = net.trace.filter((e) => e.packet === 1).map((e) => `${e.kind}@${e.at}`);
    expect(hops).toEqual(["send@alice", "hop@home.lan", "translate@home", "hop@internet", "deliver@stun"]);
  });

  it("streams events to a listener as they happen", () => {
    const seen: string[] = [];
    const net = new Network({ onTrace: (e) => seen.push(e.kind) });
    net.host("192.0.2.2");
    net.host("192.0.2.1").bind(1).send({ remote: at("192.0.2.2", 2), data: new Uint8Array(1) });
    net.run();
    expect(seen).toEqual(["send", "hop", "drop"]);
    expect(net.trace.at(-1)).toMatchObject({ at: "192.0.2.2", reason: "port-unreachable" });
  });
});
