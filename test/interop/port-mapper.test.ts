import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCandidate } from "../../src/ice/candidate";
import { forwardSignaling, icekitIce, inNamespace, startIcePeer } from "./helpers/ice-peers";
import { runCli, startCliStunServer } from "./helpers/icekit-cli";
import { canBuildNamespaces } from "./helpers/netns";
import { buildRouterTopology, hasMiniupnpd, sendFromWan, type RouterTopology } from "./helpers/netns-router";
import { run, start } from "./helpers/process";

/**
 * The one PortMapper (`mapPort()` with method "auto", `icekit map`, `icekit nat`'s gateway
 * report) against miniupnpd routers that offer different protocols: all three (auto must pick
 * PCP), and UPnP alone (NAT-PMP/PCP switched off: auto must find the IGD and use it). Each
 * mapping is proven with traffic from the WAN namespace.
 */
const enabled = canBuildNamespaces() && hasMiniupnpd();

type Line = Record<string, unknown>;


/** Runs map-peer (mapPort, echo one datagram, close) with method auto; returns its lines. */
async function mapAutoAndEcho(topo: RouterTopology, port: number): Promise<{ mapped: Line; lines: Line[] }> {
  const peer = start("ip", ["netns", "exec", topo.lan, process.execPath, "--import", "tsx", "test/interop/drivers/map-peer.ts", "--gateway", topo.gatewayIp, "--port", String(port), "--method", "auto"]);
  try {
    const lines = () => peer.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Line);
    const deadline = Date.now() + 30_000;
    while (!lines().some((l) => l.type === "mapped" || l.type === "error") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const mapped = lines().find((l) => l.type === "mapped");
    expect(mapped, peer.output() + topo.miniupnpd.output()).toBeDefined();
    const external = mapped!.external as { address: string; port: number };
    expect(await sendFromWan(topo, "udp", external, `auto ${port}`)).toBe(`auto ${port}`);
    if (peer.child.exitCode === null && peer.child.signalCode === null) await new Promise((r) => peer.child.once("exit", r));
    expect(lines().some((l) => l.type === "closed"), peer.output()).toBe(true);
    return { mapped: mapped!, lines: lines() };
  } finally {
    await peer.stop();
  }
}

/** A TCP echo listener in the LAN namespace on `port`, until stopped. */
function lanTcpEcho(topo: RouterTopology, port: number) {
  return start("ip", ["netns", "exec", topo.lan, process.execPath, "-e", `require("node:net").createServer((c) => c.on("data", (d) => c.end(d))).listen(${port}, "0.0.0.0", () => console.log("listening"));`]);
}

describe.runIf(enabled)("PortMapper: a router with PCP, NAT-PMP and UPnP", () => {
  let topo: RouterTopology;
  beforeAll(async () => {
    topo = await buildRouterTopology({ upnp: true });
  });
  afterAll(async () => {
    await topo?.destroy();
  });

  it("auto picks PCP first and the mapping carries WAN traffic", async () => {
    const { mapped } = await mapAutoAndEcho(topo, 6100);
    expect(mapped).toMatchObject({ method: "pcp", internal: { address: topo.lanIp, port: 6100 }, external: { address: topo.routerWanIp } });
  });

  it("probeGateway reports all three, with the IGD's location", async () => {
    const script = `import("${process.cwd()}/src/node/gateway-probe.ts").then(async (m) => process.stdout.write(JSON.stringify(await m.probeGateway({ gateway: ${JSON.stringify(topo.gatewayIp)} }))));`;
    const r = await run("ip", ["netns", "exec", topo.lan, process.execPath, "--import", "tsx", "-e", script], { timeoutMs: 20_000 });
    expect(JSON.parse(r.stdout), r.stderr).toEqual({ gateway: topo.gatewayIp, clientAddress: topo.lanIp, pcp: true, natpmp: true, externalAddress: topo.routerWanIp, upnp: true, upnpLocation: topo.upnpLocation });
  });

  it("icekit map --protocol tcp (PCP) opens a TCP port a WAN connection reaches", async () => {
    const echo = lanTcpEcho(topo, 6200);
    try {
      for (let i = 0; i < 200 && !echo.output().includes("listening"); i++) await new Promise((r) => setTimeout(r, 25));
      const r = await runCli(["map", "--protocol", "tcp", "--internal-port", "6200", "--lifetime", "120", "--json"], topo.lan, 30_000);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { method: string; protocol: string; external: { address: string; port: number } };
      expect(out).toMatchObject({ method: "pcp", protocol: "tcp", internal: { address: topo.lanIp, port: 6200 }, external: { address: topo.routerWanIp }, lifetime: 120 });
      expect(await sendFromWan(topo, "tcp", out.external, "tcp through PCP")).toBe("tcp through PCP");
      const del = await runCli(["map", "--delete", "--protocol", "tcp", "--internal-port", "6200", "--method", "natpmp", "--json"], topo.lan, 30_000);
      expect(del.code, del.stderr).toBe(0);
    } finally {
      await echo.stop();
    }
  });
});

/**
 * A WAN-side `icekit ice` whose candidate reaches the LAN agent rewritten to an address where
 * nobody answers (11.88.0.99), so the LAN agent's checks cannot open the router's NAT towards the
 * real peer: the WAN side can only reach the agent through a candidate the LAN side signaled.
 */
async function reachBehindRouter(topo: RouterTopology, lanArgs: string[]) {
  const lan = startIcePeer(inNamespace(topo.lan, icekitIce(["--controlled", "--timeout", "6000", ...lanArgs])));
  const wan = startIcePeer(inNamespace(topo.wan, icekitIce(["--controlling", "--host", topo.wanIp, "--ping", "5", "--timeout", "6000"])));
  try {
    forwardSignaling(lan, wan);
    wan.onMessage((m) => {
      if (m.type === "candidate") lan.write(JSON.stringify({ ...m, candidate: (m.candidate as string).replace(` ${topo.wanIp} `, " 11.88.0.99 ") }));
      else if (m.type === "params" || m.type === "end-of-candidates") lan.write(JSON.stringify(m));
    });
    const wanCode = await wan.exited;
    lan.endInput();
    await lan.exited;
    const log = `--- lan\n${lan.output()}\n--- wan\n${wan.output()}`;
    return { wanCode, lan, wan, log };
  } finally {
    lan.kill();
    wan.kill();
  }
}

describe.runIf(enabled)("ICE with a port-mapped candidate through miniupnpd", () => {
  let topo: RouterTopology;
  beforeAll(async () => {
    topo = await buildRouterTopology({ upnp: true });
  });
  afterAll(async () => {
    await topo?.destroy();
  });

  it("icekit ice --port-mapping signals the mapped address and a WAN peer reaches the agent through it", async () => {
    const r = await reachBehindRouter(topo, ["--port-mapping"]);
    expect(r.wanCode, r.log).toBe(0);
    expect(r.wan.messages.find((m) => m.type === "done"), r.log).toMatchObject({ sent: 5, echoed: 5 });
    const lanCandidates = r.lan.messages.filter((m) => m.type === "candidate").map((m) => parseCandidate(m.candidate as string));
    const host = lanCandidates.find((c) => c.type === "host");
    const mapped = lanCandidates.find((c) => c.type === "srflx");
    expect(host?.address, r.log).toBe(topo.lanIp);
    expect(mapped, r.log).toMatchObject({ address: topo.routerWanIp, relatedAddress: topo.lanIp, relatedPort: host!.port });
    // The port-mapped candidate outranks any STUN-learned srflx of the same base (srflx type preference, top local preference).
    expect(mapped!.priority >>> 24).toBe(100);
    const selected = r.wan.messages.find((m) => m.type === "selected");
    expect(parseCandidate(selected!.remote as string), r.log).toMatchObject({ type: "srflx", address: topo.routerWanIp, port: mapped!.port });
    // The LAN agent closed: its mapping is gone from miniupnpd's table.
    expect(topo.exec(topo.router, "nft", ["list", "chain", "inet", "filter", "prerouting_miniupnpd"])).not.toContain(`dport ${mapped!.port} `);
  });

  it("without --port-mapping the same WAN peer cannot reach it (the control)", async () => {
    const r = await reachBehindRouter(topo, []);
    expect(r.wanCode, r.log).toBe(1);
    expect(r.lan.messages.some((m) => m.type === "candidate" && (m.candidate as string).includes(" srflx "))).toBe(false);
  });
});

describe.runIf(enabled)("PortMapper: a router with UPnP IGD only", () => {
  let topo: RouterTopology;
  beforeAll(async () => {
    topo = await buildRouterTopology({ upnp: true, natpmp: false });
  });
  afterAll(async () => {
    await topo?.destroy();
  });

  it("auto finds no PCP or NAT-PMP, maps with UPnP, and the mapping carries WAN traffic", async () => {
    const { mapped } = await mapAutoAndEcho(topo, 6300);
    expect(mapped).toMatchObject({ method: "upnp", internal: { address: topo.lanIp, port: 6300 }, external: { address: topo.routerWanIp, port: 6300 } });
    // close() deleted it: upnpc lists nothing.
    const l = await run("ip", ["netns", "exec", topo.lan, "upnpc", "-u", topo.upnpLocation!, "-l"], { timeoutMs: 20_000 });
    expect(l.stdout).not.toMatch(/\d+\s+UDP\s+6300->/);
  });

  it("icekit map --method upnp maps, upnpc lists it, --delete removes it", async () => {
    const r = await runCli(["map", "--method", "upnp", "--protocol", "udp", "--internal-port", "6400", "--lifetime", "300", "--json"], topo.lan, 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ method: "upnp", protocol: "udp", internal: { address: topo.lanIp, port: 6400 }, external: { address: topo.routerWanIp, port: 6400 }, lifetime: 300 });
    const listed = await run("ip", ["netns", "exec", topo.lan, "upnpc", "-u", topo.upnpLocation!, "-l"], { timeoutMs: 20_000 });
    expect(listed.stdout).toMatch(new RegExp(`UDP\\s+6400->${topo.lanIp.replace(/\./g, "\\.")}:6400`));
    const del = await runCli(["map", "--delete", "--method", "upnp", "--protocol", "udp", "--external-port", "6400", "--json"], topo.lan, 30_000);
    expect(del.code, del.stderr).toBe(0);
    expect(JSON.parse(del.stdout)).toEqual({ method: "upnp", deleted: { protocol: "udp", externalPort: 6400 } });
    const after = await run("ip", ["netns", "exec", topo.lan, "upnpc", "-u", topo.upnpLocation!, "-l"], { timeoutMs: 20_000 });
    expect(after.stdout).not.toMatch(/UDP\s+6400->/);
  });

  it("icekit nat reports UPnP as the gateway's only port-mapping protocol", async () => {
    const stun = await startCliStunServer(["--listen", `${topo.wanIp}:3478`], topo.wan);
    try {
      const r = await runCli(["nat", `${topo.wanIp}:3478`, "--json"], topo.lan, 60_000);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { mapped: { address: string }; portMapping: unknown };
      expect(report.mapped.address).toBe(topo.routerWanIp);
      expect(report.portMapping).toEqual({ gateway: topo.gatewayIp, pcp: false, natpmp: false, upnp: true, externalAddress: null, upnpLocation: topo.upnpLocation });
    } finally {
      await stun.stop();
    }
  });
});
