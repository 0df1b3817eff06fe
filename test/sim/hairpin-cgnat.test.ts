import { describe, expect, it } from "vitest";
import type { NatBehavior } from "../../src/sim/index";
import { Network, fullCone, portRestrictedCone, symmetric } from "../../src/sim/index";
import { PORT, PRIMARY, at, binding, str, stunServer } from "./helpers";

describe("RFC 4787 §6 hairpinning", () => {
  function twoBehindOne(behavior: NatBehavior) {
    const net = new Network({ seed: 41, link: { delay: 1 } });
    stunServer(net);
    const nat = net.nat(behavior);
    const alice = nat.host("192.168.1.2").bind(5000);
    const bob = nat.host("192.168.1.3").bind(6000);
    const aliceMapped = binding(net, alice, at(PRIMARY, PORT))!.mapped;
    const bobMapped = binding(net, bob, at(PRIMARY, PORT))!.mapped;
    alice.received.length = 0;
    bob.received.length = 0;
    return { net, alice, bob, aliceMapped, bobMapped };
  }

  it("on: a packet to a neighbour's external address arrives with the sender's external source (REQ-9a)", () => {
    const { net, alice, bob, aliceMapped, bobMapped } = twoBehindOne(fullCone({ hairpinning: true }));
    alice.send({ remote: bobMapped, data: new TextEncoder().encode("hi") });
    net.run();
    expect(bob.received).toHaveLength(1);
    expect(str(bob.received[0]!.remote)).toBe(str(aliceMapped));
    expect(str(bob.received[0]!.local)).toBe("192.168.1.3:6000");
    expect(net.trace.filter((e) => e.kind === "translate").slice(-2).map((e) => e.at)).toEqual(["nat1", "nat1"]);
  });

  it("off: the packet is dropped at the NAT", () => {
    const { net, alice, bob, bobMapped } = twoBehindOne(fullCone({ hairpinning: false }));
    alice.send({ remote: bobMapped, data: new Uint8Array(2) });
    net.run();
    expect(bob.received).toHaveLength(0);
    expect(net.trace.at(-1)).toMatchObject({ kind: "drop", at: "nat1", reason: "hairpin" });
  });

  it("hairpinned packets still pass the filter: port-restricted needs bob to send first", () => {
    const { net, alice, bob, aliceMapped, bobMapped } = twoBehindOne(portRestrictedCone());
    alice.send({ remote: bobMapped, data: new Uint8Array(1) });
    net.run();
    expect(bob.received).toHaveLength(0);
    expect(net.trace.at(-1)).toMatchObject({ reason: "filtered" });
    bob.send({ remote: aliceMapped, data: new Uint8Array(1) }); // opens bob's filter; alice has sent to bob's mapping already
    alice.send({ remote: bobMapped, data: new Uint8Array(1) });
    net.run();
    expect(alice.received).toHaveLength(1);
    expect(bob.received).toHaveLength(1);
  });
});

describe("NAT behind NAT (carrier-grade NAT in front of home NATs)", () => {
  function cgnat() {
    const net = new Network({ seed: 51, link: { delay: 2 } });
    stunServer(net);
    const carrier = net.nat(symmetric({ hairpinning: true }), { name: "cgnat", lan: "100.64.0.0/10", external: "198.51.100.50" });
    // Both homes use the same private prefix: the realms keep them apart (RFC 4787 §4.4).
    const home1 = carrier.nat(portRestrictedCone(), { name: "home1" });
    const home2 = carrier.nat(fullCone(), { name: "home2" });
    return { net, carrier, home1, home2 };
  }

  it("the server sees the CGNAT's public address; each layer translates once", () => {
    const { net, carrier, home1 } = cgnat();
    expect(home1.addresses).toEqual(["100.64.0.2"]);
    const s = home1.host().bind(5000);
    expect(s.local.address).toBe("192.168.1.2");
    const r = binding(net, s, at(PRIMARY, PORT));
    expect(r?.mapped.address).toBe("198.51.100.50");
    const [inner] = home1.mappings();
    const [outer] = carrier.mappings();
    expect(str(inner?.internal)).toBe("192.168.1.2:5000");
    expect(str(inner?.external)).toBe("100.64.0.2:5000");
    expect(str(outer?.internal)).toBe("100.64.0.2:5000");
    expect(str(outer?.external)).toBe(str(r?.mapped));
    const translations = net.trace.filter((e) => e.kind === "translate").map((e) => e.at);
    expect(translations).toEqual(["home1", "cgnat", "cgnat", "home1"]);
  });

  it("two homes with the same private addresses both get through", () => {
    const { net, home1, home2 } = cgnat();
    const a = home1.host("192.168.1.2").bind(5000);
    const b = home2.host("192.168.1.2").bind(5000);
    const ra = binding(net, a, at(PRIMARY, PORT));
    const rb = binding(net, b, at(PRIMARY, PORT));
    expect(ra?.mapped.address).toBe("198.51.100.50");
    expect(rb?.mapped.address).toBe("198.51.100.50");
    expect(ra?.mapped.port).not.toBe(rb?.mapped.port);
  });

  it("the CGNAT hairpins between its subscribers", () => {
    const { net, home1, home2 } = cgnat();
    const a = home1.host().bind(5000);
    const b = home2.host().bind(5000);
    // symmetric CGNAT: the mapping towards the peer differs from the one the server saw, so
    // each side learns the other's real source from the first packet it gets (home2 is full cone).
    const bMapped = binding(net, b, at(PRIMARY, PORT))!.mapped;
    a.send({ remote: bMapped, data: new Uint8Array([1]) });
    net.run();
    expect(net.trace.at(-1)).toMatchObject({ kind: "drop", at: "cgnat", reason: "filtered" });
    // With an endpoint-independent CGNAT the same exchange goes through the hairpin.
    const net2 = new Network({ seed: 51 });
    stunServer(net2);
    const carrier = net2.nat(fullCone(), { name: "cgnat", lan: "100.64.0.0/10" });
    const a2 = carrier.nat(fullCone()).host().bind(5000);
    const b2 = carrier.nat(fullCone()).host().bind(5000);
    const aMapped2 = binding(net2, a2, at(PRIMARY, PORT))!.mapped;
    const bMapped2 = binding(net2, b2, at(PRIMARY, PORT))!.mapped;
    b2.received.length = 0;
    a2.send({ remote: bMapped2, data: new Uint8Array([1]) });
    net2.run();
    expect(b2.received).toHaveLength(1);
    expect(str(b2.received[0]!.remote)).toBe(str(aMapped2));
  });
});

describe("IPv6", () => {
  it("a dual-stack host reaches an IPv6 server directly and an IPv4 one through its NAT", () => {
    const net = new Network({ seed: 61 });
    const server = net.server(["192.0.2.10", "2001:db8::10"], { name: "stun" });
    const responder = server.bind(PORT);
    const alice = net.nat(portRestrictedCone()).host("192.168.1.2", { name: "alice" });
    net.addInterface(alice, "2001:db8:1::2");
    expect(alice.addresses).toEqual(["192.168.1.2", "2001:db8:1::2"]);
    const s = alice.bind(5000);
    s.send({ remote: at("2001:db8::10", PORT), data: new Uint8Array(1) });
    s.send({ remote: at("192.0.2.10", PORT), data: new Uint8Array(1) });
    net.run();
    expect(responder.received.map((r) => str(r.remote))).toEqual(["2001:db8:1::2:5000", "198.51.100.1:5000"]);
    expect(responder.received.map((r) => str(r.local))).toEqual(["2001:db8::10:3478", "192.0.2.10:3478"]);
  });

  it("NAT66: a NAT with an IPv6 external address translates IPv6", () => {
    const net = new Network({ seed: 62 });
    const responder = net.server("2001:db8::10").bind(PORT);
    const nat = net.nat(fullCone(), { external: ["198.51.100.9", "2001:db8:ff::1"] });
    const s = nat.host(["192.168.1.2", "fd00::2"]).bind(5000);
    s.send({ remote: at("2001:db8::10", PORT), data: new Uint8Array(1) });
    net.run();
    expect(str(responder.received[0]?.remote)).toBe("2001:db8:ff::1:5000");
  });

  it("a datagram to a family the host has no address of is dropped as no-route", () => {
    const net = new Network();
    const s = net.host("192.0.2.5").bind(1);
    s.send({ remote: at("2001:db8::10", PORT), data: new Uint8Array(1) });
    net.run();
    expect(net.trace.at(-1)).toMatchObject({ kind: "drop", reason: "no-route" });
  });
});
