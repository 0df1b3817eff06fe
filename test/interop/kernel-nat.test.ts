import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildNatTopology, canBuildNamespaces, type NatMode, type NatTopology } from "./helpers/netns";
import { startCliStunServer, runCli, type CliServer } from "./helpers/icekit-cli";
import { run } from "./helpers/process";
import { Network, natBehavior, type NatBehavior } from "../../src/sim/index";
import { NatDiscovery, type NatReport } from "../../src/nat/index";
import { StunServer } from "../../src/stun/server";

/**
 * Discovery through real kernel NATs in network namespaces, and the simulator's answer for the
 * same NAT rules: they must agree. Plain nftables masquerade keeps the source port and maps
 * endpoint-independently, with conntrack filtering by address and port; `fully-random` picks a
 * new random port per destination.
 */
const KERNEL: Record<NatMode, { expected: Partial<NatReport>; sim: NatBehavior }> = {
  masquerade: {
    expected: { natType: "port-restricted-cone", mapping: "endpoint-independent", filtering: "address-and-port-dependent", behindNat: true, portPreserved: true },
    sim: natBehavior({ mapping: "endpoint-independent", filtering: "address-and-port-dependent", portAssignment: "preserve" }),
  },
  "fully-random": {
    expected: { natType: "symmetric", mapping: "address-and-port-dependent", filtering: "address-and-port-dependent", behindNat: true },
    sim: natBehavior({ mapping: "address-and-port-dependent", filtering: "address-and-port-dependent", portAssignment: "random" }),
  },
};

function simulate(behavior: NatBehavior): NatReport | undefined {
  const net = new Network({ seed: 5, link: { delay: 2 } });
  const host = net.server(["198.51.100.10", "198.51.100.11"], { name: "stun" });
  net.attach(host, new StunServer({ primary: { address: "198.51.100.10", port: 3478 }, alternate: { address: "198.51.100.11", port: 3479 }, random: host.random }), { port: [3478, 3479] });
  const client = net.nat(behavior, { external: "198.51.100.1" }).host("10.77.0.2");
  const att = net.attach(client, new NatDiscovery({ server: { family: "IPv4", address: "198.51.100.10", port: 3478 }, random: client.random }), { port: 40000 });
  att.engine.start(net.now);
  net.runUntil(() => att.events.some((e) => e.type === "done"), { timeout: 120_000 });
  const done = att.events.find((e) => e.type === "done");
  return done?.type === "done" ? done.report : undefined;
}

describe.runIf(canBuildNamespaces())("NAT discovery through kernel NAT in network namespaces", () => {
  for (const mode of ["masquerade", "fully-random"] as const) {
    describe(`nftables ${mode}`, () => {
      let topo: NatTopology;
      let server: CliServer;
      beforeAll(async () => {
        topo = buildNatTopology(mode);
        server = await startCliStunServer(["--listen", "198.51.100.10:3478", "--alt", "198.51.100.11:3479"], topo.pub);
      });
      afterAll(async () => {
        await server?.stop();
        topo?.destroy();
      });

      it(`icekit nat in the client namespace names the ${mode} rules right`, async () => {
        const r = await runCli(["nat", "198.51.100.10:3478", "--json", "--local", "10.77.0.2:40000"], topo.client, 60_000);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const report = JSON.parse(r.stdout);
        expect(report).toMatchObject(KERNEL[mode].expected);
        expect(report.mapped.address).toBe(topo.routerWanIp);
        // The default gateway (the router namespace) was asked too: a plain kernel NAT offers no port mapping.
        expect(report.portMapping).toEqual({ gateway: "10.77.0.1", pcp: false, natpmp: false, upnp: false, externalAddress: null, upnpLocation: null });
      });

      it("coturn's turnutils_natdiscovery agrees on the behaviours", async () => {
        const r = await run("ip", ["netns", "exec", topo.client, "turnutils_natdiscovery", "-m", "-f", "-p", "3478", "198.51.100.10"], { timeoutMs: 60_000 });
        const out = r.stdout + r.stderr;
        const mappingLine = KERNEL[mode].expected.mapping === "endpoint-independent" ? "NAT with Endpoint Independent Mapping!" : "NAT with Address and Port Dependent Mapping!";
        expect(out).toContain(mappingLine);
        expect(out).toContain("NAT with Address and Port Dependent Filtering!");
      });

      it("the simulator, given the same rules, discovers the same behaviours", () => {
        const report = simulate(KERNEL[mode].sim);
        const { natType, mapping, filtering, behindNat } = KERNEL[mode].expected;
        expect(report).toMatchObject({ natType, mapping, filtering, behindNat });
      });
    });
  }
});
