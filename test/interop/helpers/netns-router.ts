import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, start, waitFor, type Started } from "./process";

/**
 * A home-router topology with miniupnpd as the gateway (NAT-PMP and PCP on; UPnP IGD too with
 * `{ upnp: true }`):
 *
 *   lan ns 10.88.0.2/24  ──  router ns 10.88.0.1 | 11.88.0.1 (wan)  ──  wan ns 11.88.0.10
 *
 * miniupnpd 2.3.1 refuses to forward when its WAN address is reserved or private (documentation
 * ranges, RFC 1918 and 100.64.0.0/10 CGN space all give "Reserved / private IP address ... Port
 * forwarding is impossible", and `ext_ip=` with such an address is an error), so the WAN side
 * uses 11.88.0.0/24. It exists only between two veth ends inside these namespaces: neither has a
 * route or link to the host's network, so nothing addressed to it can leave the machine.
 *
 * The router masquerades LAN traffic and drops new inbound WAN connections, except those that
 * miniupnpd's own `miniupnpd` forward chain accepts (its DNAT rules go in `prerouting_miniupnpd`),
 * in the `inet filter` table its nftables backend uses by default.
 */
export interface RouterTopology {
  readonly lan: string;
  readonly router: string;
  readonly wan: string;
  readonly lanIp: string;
  readonly gatewayIp: string;
  readonly routerWanIp: string;
  readonly wanIp: string;
  /** The running miniupnpd (foreground, `-d`). */
  readonly miniupnpd: Started;
  /** The LAN-side interface names: the LAN host's and the router's. */
  readonly lanIf: string;
  readonly routerLanIf: string;
  /** miniupnpd's HTTP port when UPnP is on (fixed so the description URL is known). */
  readonly upnpHttpPort: number | undefined;
  /** The device description URL when UPnP is on. */
  readonly upnpLocation: string | undefined;
  /** Runs a command inside a namespace, returning stdout. */
  exec(ns: string, cmd: string, args: readonly string[]): string;
  destroy(): Promise<void>;
}

function sh(args: string[], input?: string): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: "utf8", ...(input !== undefined ? { input } : {}), stdio: ["pipe", "pipe", "pipe"] });
}

/** True when miniupnpd is installed (Debian: miniupnpd + miniupnpd-nftables). */
export function hasMiniupnpd(): boolean {
  return existsSync("/usr/sbin/miniupnpd");
}

/** Options for {@link buildRouterTopology}. */
export interface RouterTopologyOptions {
  /**
   * Also turn on miniupnpd's UPnP IGD (SSDP on the LAN interface, HTTP on a fixed port) and
   * give the LAN host a route for SSDP multicast.
   */
  readonly upnp?: boolean;
  /**
   * miniupnpd's `secure_mode` (default on): clients may only map ports to their own address.
   * Off lets one LAN host map to another address, e.g. to take a port for a conflict test.
   */
  readonly secureMode?: boolean;
  /** miniupnpd's `force_igd_desc_v1`: describe an IGD:1 with WANIPConnection:1 (no AddAnyPortMapping). */
  readonly forceIgdV1?: boolean;
  /** NAT-PMP and PCP (one switch in miniupnpd 2.3.1; default on). Off with `upnp` leaves a UPnP-only router. */
  readonly natpmp?: boolean;
}

/** miniupnpd's HTTP port with UPnP on. */
const UPNP_HTTP_PORT = 5000;

/** Builds the topology and starts miniupnpd in the router namespace. */
export async function buildRouterTopology(options: RouterTopologyOptions = {}): Promise<RouterTopology> {
  const upnp = options.upnp ?? false;
  const tag = `mu${process.pid % 10000}${Math.floor(Math.random() * 100)}`;
  const [lan, router, wan] = [`${tag}l`, `${tag}r`, `${tag}w`];
  const dir = mkdtempSync(join(tmpdir(), "icekit-miniupnpd-"));
  const ns = (n: string, ...a: string[]) => sh(["ip", "netns", "exec", n, ...a]);
  let miniupnpd: Started | undefined;
  const destroy = async () => {
    await miniupnpd?.stop();
    for (const n of [lan, router, wan]) {
      try {
        sh(["ip", "netns", "del", n]);
      } catch {
        // Not created.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const n of [lan, router, wan]) {
      sh(["ip", "netns", "add", n]);
      ns(n, "ip", "link", "set", "lo", "up");
    }
    sh(["ip", "link", "add", `${tag}a`, "netns", lan, "type", "veth", "peer", "name", `${tag}b`, "netns", router]);
    sh(["ip", "link", "add", `${tag}x`, "netns", router, "type", "veth", "peer", "name", `${tag}y`, "netns", wan]);
    ns(lan, "ip", "addr", "add", "10.88.0.2/24", "dev", `${tag}a`);
    ns(lan, "ip", "link", "set", `${tag}a`, "up");
    ns(lan, "ip", "route", "add", "default", "via", "10.88.0.1");
    ns(router, "ip", "addr", "add", "10.88.0.1/24", "dev", `${tag}b`);
    ns(router, "ip", "addr", "add", "11.88.0.1/24", "dev", `${tag}x`);
    ns(router, "ip", "link", "set", `${tag}b`, "up");
    ns(router, "ip", "link", "set", `${tag}x`, "up");
    ns(router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    ns(wan, "ip", "addr", "add", "11.88.0.10/24", "dev", `${tag}y`);
    ns(wan, "ip", "link", "set", `${tag}y`, "up");
    const rules = `
table inet filter {
  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; iifname "${tag}x" ct state new drop; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; oifname "${tag}x" masquerade; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}`;
    sh(["ip", "netns", "exec", router, "nft", "-f", "-"], rules);
    const conf = join(dir, "miniupnpd.conf");
    writeFileSync(
      conf,
      [
        `ext_ifname=${tag}x`,
        `listening_ip=${tag}b`,
        // NAT-PMP and PCP share port 5351 and this switch (miniupnpd 2.3.1).
        `enable_natpmp=${options.natpmp === false ? "no" : "yes"}`,
        ...(upnp
          ? [
              "enable_upnp=yes",
              `port=${UPNP_HTTP_PORT}`,
              "uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b",
              "friendly_name=icekit test router",
              "notify_interval=60",
              "system_uptime=yes",
              `force_igd_desc_v1=${options.forceIgdV1 ? "yes" : "no"}`,
            ]
          : ["enable_upnp=no"]),
        "ipv6_disable=yes",
        `secure_mode=${options.secureMode === false ? "no" : "yes"}`,
        "min_lifetime=60",
        `lease_file=${join(dir, "leases")}`,
        "allow 1-65535 10.88.0.0/24 1-65535",
        "deny 0-65535 0.0.0.0/0 0-65535",
        "",
      ].join("\n"),
    );
    if (upnp) {
      // SSDP multicast from the LAN host: without a route for 239.0.0.0/8 the kernel picks the
      // default route's interface anyway, but an explicit route makes the choice plain.
      ns(lan, "ip", "route", "add", "239.0.0.0/8", "dev", `${tag}a`);
    }
    miniupnpd = start("ip", ["netns", "exec", router, "/usr/sbin/miniupnpd", "-f", conf, "-d"]);
    if (options.natpmp !== false) await waitFor(async () => miniupnpd!.output().includes("Listening for NAT-PMP/PCP traffic"), 10_000, `miniupnpd to listen:\n${miniupnpd.output()}`);
    if (upnp) await waitFor(async () => /HTTP listening on port/.test(miniupnpd!.output()), 10_000, `miniupnpd's HTTP server:\n${miniupnpd.output()}`);
    if (/impossible|disabled/i.test(miniupnpd.output())) throw new Error(`miniupnpd will not forward:\n${miniupnpd.output()}`);
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    lan,
    router,
    wan,
    lanIp: "10.88.0.2",
    gatewayIp: "10.88.0.1",
    routerWanIp: "11.88.0.1",
    wanIp: "11.88.0.10",
    miniupnpd,
    lanIf: `${tag}a`,
    routerLanIf: `${tag}b`,
    upnpHttpPort: upnp ? UPNP_HTTP_PORT : undefined,
    upnpLocation: upnp ? `http://10.88.0.1:${UPNP_HTTP_PORT}/rootDesc.xml` : undefined,
    exec: (n, cmd, args) => sh(["ip", "netns", "exec", n, cmd, ...args]),
    destroy,
  };
}

/** Sends `text` from the WAN namespace to `to` over UDP or TCP; resolves with the echo ("" on timeout). */
export async function sendFromWan(topo: RouterTopology, protocol: "udp" | "tcp", to: { address: string; port: number }, text: string): Promise<string> {
  const script =
    protocol === "udp"
      ? `
const s = require("node:dgram").createSocket("udp4");
s.on("message", (m) => { process.stdout.write(m.toString()); process.exit(0); });
s.bind(0, ${JSON.stringify(topo.wanIp)}, () => s.send(${JSON.stringify(text)}, ${to.port}, ${JSON.stringify(to.address)}));
setTimeout(() => process.exit(2), 3000);`
      : `
const c = require("node:net").connect({ port: ${to.port}, host: ${JSON.stringify(to.address)}, localAddress: ${JSON.stringify(topo.wanIp)} }, () => c.write(${JSON.stringify(text)}));
c.on("data", (d) => { process.stdout.write(d.toString()); process.exit(0); });
c.on("error", () => process.exit(3));
setTimeout(() => process.exit(2), 3000);`;
  const r = await run("ip", ["netns", "exec", topo.wan, process.execPath, "-e", script], { timeoutMs: 10_000 });
  return r.stdout;
}
