/**
 * The proof of faithfulness with the real engines: icekit's RFC 5780 discovery engine,
 * talking to icekit's STUN server engine, through each NAT of the mapping × filtering grid,
 * reports exactly the behaviour the NAT was built with, and the classic name.
 */
import { describe, expect, it } from "vitest";
import type { NatBehavior } from "../../src/sim/index";
import { Network, classicNatName, fullCone, natBehavior, symmetric, udpBlocked } from "../../src/sim/index";
import type { EndpointDependence } from "../../src/sim/index";
import { NatDiscovery } from "../../src/nat/index";
import type { NatReport } from "../../src/nat/index";
import { StunServer } from "../../src/stun/server";

const A1 = "192.0.2.1";
const A2 = "192.0.2.2";

function discover(behavior: NatBehavior | undefined, options: { hairpin?: boolean; seed?: number } = {}): NatReport | undefined {
  const net = new Network({ seed: options.seed ?? 17, link: { delay: 5, jitter: 1 } });
  const host = net.server([A1, A2], { name: "stun" });
  const server = new StunServer({ primary: { address: A1, port: 3478 }, alternate: { address: A2, port: 3479 }, random: host.random });
  net.attach(host, server, { port: [3478, 3479] });
  const client = behavior ? net.nat(behavior).host("192.168.1.2", { name: "client" }) : net.host("198.51.100.200", { name: "client" });
  const att = net.attach(
    client,
    new NatDiscovery({
      server: { family: "IPv4", address: A1, port: 3478 },
      random: client.random,
      testHairpinning: options.hairpin ?? false,
    }),
  );
  att.engine.start(net.now);
  net.runUntil(() => att.events.some((e) => e.type === "done"), { timeout: 120_000 });
  const done = att.events.find((e) => e.type === "done");
  return done?.type === "done" ? done.report : undefined;
}

const KINDS: EndpointDependence[] = ["endpoint-independent", "address-dependent", "address-and-port-dependent"];

describe("NatDiscovery against StunServer through the simulated NATs", () => {
  for (const mapping of KINDS) {
    for (const filtering of KINDS) {
      it(`reports ${mapping} mapping and ${filtering} filtering`, () => {
        const b = natBehavior({ mapping, filtering, portAssignment: mapping === "endpoint-independent" ? "preserve" : "random" });
        const report = discover(b);
        expect(report).toMatchObject({ mapping, filtering, behindNat: true, natType: classicNatName(b) });
      });
    }
  }

  it("reports hairpinning as the NAT does it", () => {
    expect(discover(fullCone({ hairpinning: true }), { hairpin: true })?.hairpinning).toBe(true);
    expect(discover(fullCone({ hairpinning: false }), { hairpin: true })?.hairpinning).toBe(false);
  });

  it("reports port preservation", () => {
    expect(discover(fullCone())?.portPreserved).toBe(true);
    expect(discover(symmetric())?.portPreserved).toBe(false);
  });

  it("reports an open host and a UDP firewall", () => {
    expect(discover(undefined)).toMatchObject({ natType: "open", behindNat: false });
    expect(discover(udpBlocked())?.natType).toMatch(/blocked/);
  });
});
