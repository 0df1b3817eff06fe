/**
 * Static port forwards on the simulated NAT (Nat.forward): what a PCP MAP, NAT-PMP or UPnP IGD
 * mapping gives a host, endpoint-independent both ways whatever the NAT's own behaviour.
 */
import { describe, expect, it } from "vitest";
import { Network, symmetric } from "../../src/sim/index";
import { at } from "./helpers";

const enc = new TextEncoder();

function setup() {
  const net = new Network({ seed: 31, link: { delay: 2 } });
  const nat = net.nat(symmetric(), { name: "home" });
  const alice = nat.host("192.168.1.2", { name: "alice" });
  const bob = net.host("203.0.113.5", { name: "bob" });
  const carol = net.host("203.0.113.6", { name: "carol" });
  return { net, nat, alice, bob, carol };
}

describe("Nat.forward", () => {
  it("lets any remote reach the internal endpoint, past address-and-port-dependent filtering", () => {
    const { net, nat, alice, bob, carol } = setup();
    const a = alice.bind(5000);
    const ext = nat.forward(at("192.168.1.2", 5000));
    expect(ext.address).toBe(nat.addresses[0]);
    expect(ext.port).toBe(5000); // the internal port when free
    bob.bind(7000).send({ remote: ext, data: enc.encode("hi from bob") });
    carol.bind(7000).send({ remote: ext, data: enc.encode("hi from carol") });
    net.run({ duration: 100 });
    expect(a.received.map((r) => r.remote.address).sort()).toEqual(["203.0.113.5", "203.0.113.6"]);
  });

  it("sends the internal endpoint's packets from the forwarded endpoint, to every destination", () => {
    const { net, nat, alice, bob, carol } = setup();
    const a = alice.bind(5000);
    const ext = nat.forward(at("192.168.1.2", 5000));
    const b = bob.bind(7000);
    const c = carol.bind(7001);
    a.send({ remote: at("203.0.113.5", 7000), data: enc.encode("1") });
    a.send({ remote: at("203.0.113.6", 7001), data: enc.encode("2") });
    net.run({ duration: 100 });
    expect(b.received[0]?.remote).toEqual(ext);
    expect(c.received[0]?.remote).toEqual(ext);
    // Without a forward the symmetric NAT gives each destination its own mapping.
    const other = alice.bind(5001);
    other.send({ remote: at("203.0.113.5", 7000), data: enc.encode("3") });
    other.send({ remote: at("203.0.113.6", 7001), data: enc.encode("4") });
    net.run({ duration: 100 });
    expect(b.received[1]?.remote.port).not.toBe(c.received[1]?.remote.port);
  });

  it("keeps dynamic mappings off the forwarded port, is idempotent, and goes away on reset", () => {
    const { net, nat, alice, bob } = setup();
    const ext = nat.forward(at("192.168.1.2", 5000), 40000);
    expect(ext.port).toBe(40000);
    expect(nat.forward(at("192.168.1.2", 5000))).toEqual(ext);
    expect(nat.forward(at("192.168.1.3", 6000), 40000).port).not.toBe(40000);
    for (let p = 6000; p < 6050; p++) alice.bind(p).send({ remote: at("203.0.113.5", 7000), data: enc.encode("x") });
    net.run({ duration: 100 });
    expect(nat.mappings().some((m) => m.external.port === 40000)).toBe(false);
    nat.reset();
    const a = alice.bind(5000);
    bob.bind(7000).send({ remote: ext, data: enc.encode("after reset") });
    net.run({ duration: 100 });
    expect(a.received).toHaveLength(0);
  });
});
