import { describe, expect, it } from "vitest";
import type { NatBehavior, Socket } from "../../src/sim/index";
import { Network, fullCone, natBehavior, symmetric } from "../../src/sim/index";
import { ALTERNATE, ALT_PORT, PORT, PRIMARY, at, binding, stunServer } from "./helpers";

function setUp(behavior: NatBehavior, external?: string[]) {
  const net = new Network({ seed: 21 });
  stunServer(net);
  const nat = net.nat(behavior, external ? { external } : {});
  return { net, nat };
}

function mappedPort(net: Network, s: Socket, to = at(PRIMARY, PORT)): number {
  const r = binding(net, s, to);
  expect(r).toBeDefined();
  return r!.mapped.port;
}

describe("RFC 4787 §4.2.1 port assignment", () => {
  it("preservation keeps the internal port, and picks another on collision (never overloads, REQ-3)", () => {
    const { net, nat } = setUp(fullCone({ portAssignment: "preserve" }));
    const a = nat.host().bind(5000);
    const b = nat.host().bind(5000);
    expect(mappedPort(net, a)).toBe(5000);
    const pb = mappedPort(net, b);
    expect(pb).not.toBe(5000);
    expect(pb).toBe(5001);
  });

  it("sequential gives consecutive ports from the bottom of the range", () => {
    const { net, nat } = setUp(natBehavior({ mapping: "address-and-port-dependent", portAssignment: "sequential", portRange: [20000, 20100] }));
    const s = nat.host().bind(5000);
    const ports = [at(PRIMARY, PORT), at(PRIMARY, ALT_PORT), at(ALTERNATE, PORT), at(ALTERNATE, ALT_PORT)].map((to) => mappedPort(net, s, to));
    expect(ports).toEqual([20000, 20001, 20002, 20003]);
  });

  it("random gives unpredictable ports inside the range", () => {
    const { net, nat } = setUp(fullCone({ portAssignment: "random", portRange: [30000, 39999] }));
    const host = nat.host();
    const ports = Array.from({ length: 10 }, (_, i) => mappedPort(net, host.bind(6000 + i)));
    expect(new Set(ports).size).toBe(10);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(30000);
      expect(p).toBeLessThanOrEqual(39999);
    }
    const steps = ports.slice(1).map((p, i) => p - ports[i]!);
    expect(steps.every((d) => d === 1)).toBe(false);
  });

  it("§4.2.2 parity: even maps to even and odd to odd when asked, not otherwise", () => {
    const parity = (portParity: boolean) => {
      const { net, nat } = setUp(fullCone({ portAssignment: "random", portParity }));
      const host = nat.host();
      return Array.from({ length: 16 }, (_, i) => (mappedPort(net, host.bind(7000 + i)) & 1) === ((7000 + i) & 1));
    };
    expect(parity(true).every(Boolean)).toBe(true);
    expect(parity(false).every(Boolean)).toBe(false);
  });

  it("parity survives a collision under preservation", () => {
    const { net, nat } = setUp(fullCone({ portParity: true }));
    mappedPort(net, nat.host().bind(5000));
    expect(mappedPort(net, nat.host().bind(5000))).toBe(5002);
  });
});

describe("RFC 4787 §4.1 IP address pooling", () => {
  const pool = ["198.51.100.1", "198.51.100.2", "198.51.100.3"];

  it("paired: one external address per internal host, for all its mappings (REQ-2)", () => {
    const { net, nat } = setUp(symmetric({ pooling: "paired" }), pool);
    const hosts = [nat.host(), nat.host(), nat.host()];
    for (const h of hosts) {
      for (let i = 0; i < 3; i++) {
        const s = h.bind(8000 + i);
        for (const to of [at(PRIMARY, PORT), at(ALTERNATE, ALT_PORT)]) binding(net, s, to);
      }
    }
    for (const h of hosts) {
      const externals = new Set(nat.mappings().filter((m) => m.internal.address === h.address).map((m) => m.external.address));
      expect(externals.size).toBe(1);
    }
    expect(new Set(nat.mappings().map((m) => m.external.address))).toEqual(new Set(pool));
  });

  it("arbitrary: one host's mappings spread over the pool", () => {
    const { net, nat } = setUp(fullCone({ pooling: "arbitrary" }), pool);
    const h = nat.host();
    for (let i = 0; i < 12; i++) binding(net, h.bind(8000 + i), at(PRIMARY, PORT));
    expect(nat.mappings()).toHaveLength(12);
    expect(new Set(nat.mappings().map((m) => m.external.address)).size).toBeGreaterThan(1);
  });

  it("preservation tries the other pool addresses before giving up the port (arbitrary pooling)", () => {
    const { net, nat } = setUp(fullCone({ pooling: "arbitrary" }), pool);
    const ports = [nat.host(), nat.host(), nat.host()].map((h) => mappedPort(net, h.bind(5000)));
    expect(ports).toEqual([5000, 5000, 5000]);
    expect(new Set(nat.mappings().map((m) => m.external.address))).toEqual(new Set(pool));
  });
});
