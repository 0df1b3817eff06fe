import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canBuildNamespaces } from "./helpers/netns";
import { buildRouterTopology, hasMiniupnpd, sendFromWan, type RouterTopology } from "./helpers/netns-router";
import { run, start } from "./helpers/process";

/**
 * PCP and NAT-PMP against a real gateway: miniupnpd 2.3.1 (nftables) routing a LAN namespace to
 * a WAN namespace. The LAN host maps a UDP port with `mapPort()`; a datagram sent from the WAN
 * side to router-WAN-IP:external-port must arrive at the LAN host's socket (and its echo come
 * back); `close()` must remove miniupnpd's DNAT rule.
 */
const enabled = canBuildNamespaces() && hasMiniupnpd();


describe.runIf(enabled)("port mapping through miniupnpd", () => {
  let topo: RouterTopology;
  beforeAll(async () => {
    topo = await buildRouterTopology();
  });
  afterAll(async () => {
    await topo?.destroy();
  });

  for (const [method, port] of [
    ["pcp", 5100],
    ["natpmp", 5200],
  ] as const) {
    it(`maps a UDP port with ${method} and a WAN datagram reaches the LAN socket`, async () => {
      const peer = start("ip", ["netns", "exec", topo.lan, process.execPath, "--import", "tsx", "test/interop/drivers/map-peer.ts", "--gateway", topo.gatewayIp, "--port", String(port), "--method", method]);
      try {
        const lines = () => peer.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
        const deadline = Date.now() + 30_000;
        while (!lines().some((l) => l.type === "mapped" || l.type === "error") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const mapped = lines().find((l) => l.type === "mapped");
        expect(mapped, peer.output() + topo.miniupnpd.output()).toBeDefined();
        expect(mapped).toMatchObject({ method, internal: { address: topo.lanIp, port }, external: { address: topo.routerWanIp } });
        const external = mapped!.external as { address: string; port: number };
        expect(topo.exec(topo.router, "nft", ["list", "chain", "inet", "filter", "prerouting_miniupnpd"])).toContain(`dport ${external.port} dnat ip to ${topo.lanIp}:${port}`);

        const echo = await sendFromWan(topo, "udp", external, `hello ${method}`);
        expect(echo).toBe(`hello ${method}`);
        // The peer may already have exited while we waited for the echo: only wait if it has not.
        if (peer.child.exitCode === null && peer.child.signalCode === null) await new Promise((r) => peer.child.once("exit", r));
        const received = lines().find((l) => l.type === "received");
        expect(received).toMatchObject({ data: `hello ${method}` });
        expect(String(received!.from)).toMatch(new RegExp(`^${topo.wanIp.replace(/\./g, "\\.")}:`));
        expect(lines().some((l) => l.type === "closed"), peer.output()).toBe(true);
        // close() deleted it: miniupnpd's DNAT rule is gone and the port no longer reaches the LAN.
        expect(topo.exec(topo.router, "nft", ["list", "chain", "inet", "filter", "prerouting_miniupnpd"])).not.toContain(`dport ${external.port} `);
        expect(await sendFromWan(topo, "udp", external, "after close")).toBe("");
      } finally {
        await peer.stop();
      }
    });
  }

  it("probeGateway finds PCP and NAT-PMP on miniupnpd without mapping anything", async () => {
    const script = `import("${process.cwd()}/src/node/gateway-probe.ts").then(async (m) => { const r = await m.probeGateway({ gateway: ${JSON.stringify(topo.gatewayIp)} }); process.stdout.write(JSON.stringify(r)); });`;
    const before = topo.exec(topo.router, "nft", ["list", "chain", "inet", "filter", "prerouting_miniupnpd"]);
    const r = await run("ip", ["netns", "exec", topo.lan, process.execPath, "--import", "tsx", "-e", script], { timeoutMs: 20_000 });
    expect(JSON.parse(r.stdout), r.stderr).toEqual({ gateway: topo.gatewayIp, clientAddress: topo.lanIp, pcp: true, natpmp: true, externalAddress: topo.routerWanIp, upnp: false });
    expect(topo.exec(topo.router, "nft", ["list", "chain", "inet", "filter", "prerouting_miniupnpd"])).toBe(before);
  });

  it("natpmpc sees the same gateway and external address", async () => {
    const r = await run("ip", ["netns", "exec", topo.lan, "natpmpc", "-g", topo.gatewayIp], { timeoutMs: 15_000 });
    expect(r.stdout).toContain(`Public IP address : ${topo.routerWanIp}`);
  });
});
