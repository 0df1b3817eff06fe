import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canBuildNamespaces } from "./helpers/netns";
import { buildRouterTopology, hasMiniupnpd, sendFromWan, type RouterTopology } from "./helpers/netns-router";
import { run, start, type Started } from "./helpers/process";

/**
 * UPnP IGD against a real gateway: miniupnpd 2.3.1 (nftables, IGDv2 description) with UPnP on,
 * routing a LAN namespace to a WAN namespace. A LAN host (test/interop/drivers/upnp-peer.ts)
 * finds the gateway with `discoverIgd()` (SSDP multicast, SSDP unicast, or a given LOCATION),
 * maps a port with `mapPortUpnp()`, and echoes what arrives through the mapping. The test checks
 * the mapping from three sides: miniupnpd's nftables DNAT rule, `upnpc -l` (Debian's miniupnpc)
 * and the peer's GetSpecificPortMappingEntry; then traffic from the WAN side; then that
 * `close()` removed it everywhere.
 */
const enabled = canBuildNamespaces() && hasMiniupnpd();

type Line = Record<string, unknown>;


/** `upnpc -u LOCATION -l` in the LAN namespace: the mapping lines, as [protocol, extPort, inAddr, inPort, description]. */
async function upnpcList(topo: RouterTopology): Promise<{ raw: string; mappings: [string, number, string, number, string][] }> {
  const r = await run("ip", ["netns", "exec", topo.lan, "upnpc", "-u", topo.upnpLocation!, "-l"], { timeoutMs: 20_000 });
  const mappings: [string, number, string, number, string][] = [];
  // e.g. " 0 UDP  5300->10.88.0.2:5300  'icekit-udp-5300' '' 598"
  for (const line of r.stdout.split("\n")) {
    const m = /^\s*\d+\s+(UDP|TCP)\s+(\d+)->([\d.]+):(\d+)\s+'([^']*)'/.exec(line);
    if (m) mappings.push([m[1]!, Number(m[2]), m[3]!, Number(m[4]), m[5]!]);
  }
  return { raw: r.stdout + r.stderr, mappings };
}

async function waitForLine(peer: Started, lines: () => Line[], type: string, timeoutMs = 30_000): Promise<Line> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = lines().find((l) => l.type === type);
    if (found) return found;
    if (lines().some((l) => l.type === "error") || peer.child.exitCode !== null || Date.now() > deadline) throw new Error(`no '${type}' line:\n${peer.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function nftRules(topo: RouterTopology): string {
  return topo.exec(topo.router, "nft", ["list", "chain", "inet", "filter", "prerouting_miniupnpd"]);
}

type Case = { protocol: "udp" | "tcp"; port: number; discovery: string; args: readonly string[]; occupied?: boolean };

describe.runIf(enabled)("UPnP IGD port mapping through miniupnpd", () => {
  let topo: RouterTopology;
  beforeAll(async () => {
    // secure_mode off only so that upnpc can take a port for another LAN address (10.88.0.3).
    topo = await buildRouterTopology({ upnp: true, secureMode: false });
  });
  afterAll(async () => {
    await topo?.destroy();
  });

  const cases = [
    { protocol: "udp", port: 5300, discovery: "SSDP multicast", args: [] as string[] },
    { protocol: "tcp", port: 5400, discovery: "SSDP unicast to the gateway", args: ["--gateway", "10.88.0.1", "--no-multicast"] },
    { protocol: "udp", port: 5500, discovery: "a given LOCATION", args: ["--location", "http://10.88.0.1:5000/rootDesc.xml"] },
    // External port 5600 is taken (by upnpc, for another LAN host): AddAnyPortMapping must come
    // back with another port. (miniupnpd lets the same host's mapping be overwritten.)
    { protocol: "udp", port: 5600, discovery: "SSDP multicast, its port taken", args: [], occupied: true },
  ] as const;

  for (const c of cases) {
    it(`finds the IGD by ${c.discovery}, maps ${c.protocol.toUpperCase()} ${c.port}, WAN traffic reaches the LAN, close() removes it`, () => mapThroughMiniupnpd(topo, c, 2));
  }
});

describe.runIf(enabled)("UPnP IGDv1 port mapping through miniupnpd (force_igd_desc_v1)", () => {
  let topo: RouterTopology;
  beforeAll(async () => {
    topo = await buildRouterTopology({ upnp: true, forceIgdV1: true });
  });
  afterAll(async () => {
    await topo?.destroy();
  });

  it("maps TCP 5700 with AddPortMapping on WANIPConnection:1, WAN traffic reaches the LAN, close() removes it", () =>
    mapThroughMiniupnpd(topo, { protocol: "tcp", port: 5700, discovery: "SSDP multicast", args: [] }, 1));
});

/** One LAN peer run: discover, map, check from three sides, WAN traffic, close, check again. */
async function mapThroughMiniupnpd(topo: RouterTopology, c: Case, version: 1 | 2): Promise<void> {
  const occupied = c.occupied === true;
  const blocker: [string, number, string, number, string] = ["UDP", c.port, "10.88.0.3", c.port, "blocker"];
  if (occupied) {
    const r = await run("ip", ["netns", "exec", topo.lan, "upnpc", "-u", topo.upnpLocation!, "-e", "blocker", "-a", "10.88.0.3", String(c.port), String(c.port), "UDP", "600"], { timeoutMs: 20_000 });
    expect(r.stdout).toContain("is redirected to internal");
  }
  const peer = start("ip", ["netns", "exec", topo.lan, process.execPath, "--import", "tsx", "test/interop/drivers/upnp-peer.ts", "--protocol", c.protocol, "--port", String(c.port), ...c.args]);
  try {
    const lines = () =>
      peer
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Line);

    const gateway = await waitForLine(peer, lines, "gateway");
    expect(gateway).toMatchObject({
      address: topo.gatewayIp,
      location: topo.upnpLocation,
      controlUrl: `http://${topo.gatewayIp}:${topo.upnpHttpPort}/ctl/IPConn`,
      serviceType: `urn:schemas-upnp-org:service:WANIPConnection:${version}`,
      version,
      localAddress: topo.lanIp,
      friendlyName: "icekit test router",
    });

    const mapped = await waitForLine(peer, lines, "mapped");
    expect(mapped, peer.output() + topo.miniupnpd.output()).toMatchObject({
      method: "upnp",
      protocol: c.protocol,
      internal: { address: topo.lanIp, port: c.port },
      external: { family: "IPv4", address: topo.routerWanIp },
      lifetime: 600,
      permanent: false,
    });
    const external = mapped.external as { address: string; port: number };
    // AddAnyPortMapping asks for the internal port; the gateway grants it unless it is taken.
    if (occupied) expect(external.port).not.toBe(c.port);
    else expect(external.port).toBe(c.port);
    // IGDv2: AddAnyPortMapping; IGDv1: AddPortMapping (and never AddAnyPortMapping).
    expect(topo.miniupnpd.output()).toContain(version === 2 ? "WANIPConnection:2#AddAnyPortMapping" : "WANIPConnection:1#AddPortMapping");
    if (version === 1) expect(topo.miniupnpd.output()).not.toContain("AddAnyPortMapping");

    // Side 1: miniupnpd's DNAT rule (it matches the IP protocol byte: 0x11 UDP, 0x6 TCP).
    expect(nftRules(topo)).toContain(`@nh,72,8 ${c.protocol === "udp" ? "0x11" : "0x6"} th dport ${external.port} dnat ip to ${topo.lanIp}:${c.port}`);
    // Side 2: the peer's GetSpecificPortMappingEntry.
    const entry = (await waitForLine(peer, lines, "entry")).entry as Record<string, unknown>;
    expect(entry).toMatchObject({ internalClient: topo.lanIp, internalPort: c.port, enabled: true, description: `icekit-${c.protocol}-${c.port}` });
    expect(entry.leaseDuration as number).toBeGreaterThan(0);
    expect(entry.leaseDuration as number).toBeLessThanOrEqual(600);
    // Side 3: upnpc lists exactly this mapping.
    const listed = await upnpcList(topo);
    const ours: [string, number, string, number, string] = [c.protocol.toUpperCase(), external.port, topo.lanIp, c.port, `icekit-${c.protocol}-${c.port}`];
    expect(listed.mappings, listed.raw).toEqual(occupied ? expect.arrayContaining([ours, blocker]) : [ours]);
    expect(listed.mappings).toHaveLength(occupied ? 2 : 1);

    // Traffic from the WAN side reaches the LAN listener and its echo comes back.
    const echo = await sendFromWan(topo, c.protocol, external, `hello ${c.protocol} ${c.port}`);
    expect(echo, peer.output()).toBe(`hello ${c.protocol} ${c.port}`);
    const received = await waitForLine(peer, lines, "received");
    expect(received.data).toBe(`hello ${c.protocol} ${c.port}`);
    expect(String(received.from)).toMatch(new RegExp(`^(::ffff:)?${topo.wanIp.replace(/\./g, "\\.")}:`));

    // close(): DeletePortMapping; gone from the gateway's table, from upnpc and from nftables.
    await waitForLine(peer, lines, "closed");
    const after = await waitForLine(peer, lines, "entry-after-close");
    expect(after.entry).toBeNull();
    expect((await upnpcList(topo)).mappings).toEqual(occupied ? [blocker] : []);
    expect(nftRules(topo)).not.toContain(`dport ${external.port} `);
    expect(await sendFromWan(topo, c.protocol, external, "after close")).toBe("");
  } finally {
    await peer.stop();
    if (occupied) await run("ip", ["netns", "exec", topo.lan, "upnpc", "-u", topo.upnpLocation!, "-d", String(c.port), "UDP"], { timeoutMs: 20_000 });
  }
}
