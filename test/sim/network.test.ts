import { describe, expect, it } from "vitest";
import { Network, fullCone, natBehavior } from "../../src/sim/index";
import { at } from "./helpers";

describe("building networks", () => {
  it("numbers addresses and names nodes when not told", () => {
    const net = new Network();
    const nat = net.nat();
    const h1 = nat.host();
    const h2 = nat.host();
    const pub = net.host();
    expect(nat.name).toBe("nat1");
    expect(nat.addresses).toEqual(["198.51.100.1"]);
    expect(nat.lan).toBe("192.168.1.0/24");
    expect([h1.address, h2.address, pub.address]).toEqual(["192.168.1.2", "192.168.1.3", "192.0.2.1"]);
    expect([h1.name, pub.name]).toEqual(["nat1/192.168.1.2", "192.0.2.1"]);
    expect(nat.behavior).toEqual(natBehavior());
  });

  it("refuses taken addresses, names and ports, with a message saying what to do", () => {
    const net = new Network();
    net.host("192.0.2.1", { name: "a" });
    expect(() => net.host("192.0.2.1")).toThrow(/already used/);
    expect(() => net.host("192.0.2.2", { name: "a" })).toThrow(/taken/);
    const h = net.host("192.0.2.3");
    h.bind(5000);
    expect(() => h.bind(5000)).toThrow(/already bound/);
    expect(() => h.bind(70000)).toThrow(/out of range/);
    expect(() => h.bind(1, "192.0.2.9")).toThrow(/not an address of host/);
    expect(() => net.host("300.1.1.1")).toThrow(/not an IP address/);
  });

  it("lets an address-bound socket and an all-addresses socket share nothing but distinct ports", () => {
    const net = new Network();
    const h = net.host(["192.0.2.1", "192.0.2.2"]);
    const a = h.bind(5000, "192.0.2.1");
    const b = h.bind(5000, "192.0.2.2");
    expect(() => h.bind(5000)).toThrow(/already bound/);
    expect(() => a.send({ remote: at("192.0.2.9", 1), data: new Uint8Array(1), local: at("192.0.2.2", 5000) })).toThrow(/cannot send from/);
    const peer = net.host("192.0.2.9").bind(1);
    peer.send({ remote: at("192.0.2.2", 5000), data: new Uint8Array(1) });
    net.run();
    expect([a.received.length, b.received.length]).toEqual([0, 1]);
  });

  it("refuses bad behaviour values and bad link options", () => {
    const net = new Network();
    expect(() => net.nat({ mapping: "sometimes" as never })).toThrow(/mapping/);
    expect(() => net.nat(fullCone({ mappingLifetime: 0 }))).toThrow(/mappingLifetime/);
    expect(() => net.nat(fullCone({ portRange: [5000, 4000] }))).toThrow(/portRange/);
    expect(() => new Network({ link: { loss: -1 } })).toThrow(/loss/);
    expect(() => new Network({ seed: 0.5 })).toThrow(/seed/);
  });

  it("drops datagrams to addresses nobody holds, in a LAN and on the internet", () => {
    const net = new Network();
    const s = net.nat().host().bind(1);
    s.send({ remote: at("192.168.1.99", 1), data: new Uint8Array(1) });
    s.send({ remote: at("203.0.113.1", 1), data: new Uint8Array(1) });
    net.run();
    expect(net.trace.filter((e) => e.kind === "drop").map((e) => `${e.at}:${e.reason}`)).toEqual(["nat1.lan:no-route", "internet:no-route"]);
  });

  it("carries only UDP", () => {
    const net = new Network();
    const s = net.host("192.0.2.1").bind(1);
    s.send({ remote: at("192.0.2.2", 1), data: new Uint8Array(1), transport: "tcp" });
    net.run();
    expect(net.stats().drops).toEqual({ transport: 1 });
  });
});

describe("running", () => {
  it("run({ until }) stops at the time even when idle, and runUntil() at the event", () => {
    const net = new Network();
    const ticks: number[] = [];
    net.every(100, () => ticks.push(net.now));
    expect(net.run({ until: 350 })).toBe(3);
    expect(net.now).toBe(350);
    expect(net.runUntil(() => ticks.length === 5)).toBe(true);
    expect(net.now).toBe(500);
    expect(net.runUntil(() => false, { timeout: 1000 })).toBe(false);
    expect(net.now).toBe(1500);
    net.run({ steps: 2 });
    expect(ticks.at(-1)).toBe(1700);
  });

  it("refuses to run forever, and to run from inside a callback", () => {
    const net = new Network({ maxEvents: 1000 });
    net.every(1, () => {});
    expect(() => net.run()).toThrow(/1000 events and the network is still busy/);
    const net2 = new Network();
    net2.after(1, () => net2.run());
    expect(() => net2.run()).toThrow(/inside a simulation callback/);
  });
});
