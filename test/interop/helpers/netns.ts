import { execFileSync } from "node:child_process";

/**
 * A three-namespace topology with a real kernel NAT, built from documentation-range addresses so
 * that no packet can leave the machine:
 *
 *   client ns  10.77.0.2/24 (lan)  ──  router ns 10.77.0.1 | 198.51.100.1 (wan)  ──  public ns 198.51.100.10, .11
 *
 * The router masquerades LAN traffic out of its WAN side with nftables: plain masquerade gives
 * endpoint-independent mapping with port preservation and address-and-port-dependent filtering
 * (a port-restricted cone); `fully-random` gives a new random port per destination (symmetric).
 */
export interface NatTopology {
  readonly client: string;
  readonly router: string;
  readonly pub: string;
  readonly clientIp: string;
  readonly routerWanIp: string;
  readonly serverIps: readonly [string, string];
  /** Runs a command inside a namespace, returning stdout. */
  exec(ns: string, cmd: string, args: readonly string[]): string;
  /** argv prefix that runs a command inside `ns` (for spawn). */
  wrap(ns: string, cmd: string, args: readonly string[]): [string, string[]];
  destroy(): void;
}

export type NatMode = "masquerade" | "fully-random";

function sh(args: string[], input?: string): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: "utf8", ...(input !== undefined ? { input } : {}), stdio: ["pipe", "pipe", "pipe"] });
}

/** True when this process may create network namespaces (root with iproute2 and nft). */
export function canBuildNamespaces(): boolean {
  try {
    return process.getuid?.() === 0 && sh(["ip", "-V"]).length > 0 && sh(["nft", "--version"]).length > 0;
  } catch {
    return false;
  }
}

/** Builds the topology with the given NAT mode. Call `destroy()` in afterAll. */
export function buildNatTopology(mode: NatMode): NatTopology {
  const tag = `ik${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
  const client = `${tag}c`;
  const router = `${tag}r`;
  const pub = `${tag}p`;
  const ns = (n: string, ...a: string[]) => sh(["ip", "netns", "exec", n, ...a]);
  const destroy = () => {
    for (const n of [client, router, pub]) {
      try {
        sh(["ip", "netns", "del", n]);
      } catch {
        // Not created.
      }
    }
  };
  try {
    for (const n of [client, router, pub]) sh(["ip", "netns", "add", n]);
    sh(["ip", "link", "add", `${tag}a`, "netns", client, "type", "veth", "peer", "name", `${tag}b`, "netns", router]);
    sh(["ip", "link", "add", `${tag}w`, "netns", router, "type", "veth", "peer", "name", `${tag}x`, "netns", pub]);
    for (const n of [client, router, pub]) ns(n, "ip", "link", "set", "lo", "up");
    ns(client, "ip", "addr", "add", "10.77.0.2/24", "dev", `${tag}a`);
    ns(client, "ip", "link", "set", `${tag}a`, "up");
    ns(client, "ip", "route", "add", "default", "via", "10.77.0.1");
    ns(router, "ip", "addr", "add", "10.77.0.1/24", "dev", `${tag}b`);
    ns(router, "ip", "addr", "add", "198.51.100.1/24", "dev", `${tag}w`);
    ns(router, "ip", "link", "set", `${tag}b`, "up");
    ns(router, "ip", "link", "set", `${tag}w`, "up");
    ns(router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    ns(pub, "ip", "addr", "add", "198.51.100.10/24", "dev", `${tag}x`);
    ns(pub, "ip", "addr", "add", "198.51.100.11/24", "dev", `${tag}x`);
    ns(pub, "ip", "link", "set", `${tag}x`, "up");
    // INTEROP.md: unsolicited NEW packets to the router's WAN side are dropped, so an early
    // inbound packet cannot leave an UNREPLIED conntrack entry that moves a later mapping.
    const rules = `
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${tag}w" masquerade${mode === "fully-random" ? " fully-random" : ""}
  }
}
table ip filter {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "${tag}w" ct state new drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "${tag}w" ct state new drop
  }
}`;
    sh(["ip", "netns", "exec", router, "nft", "-f", "-"], rules);
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    client,
    router,
    pub,
    clientIp: "10.77.0.2",
    routerWanIp: "198.51.100.1",
    serverIps: ["198.51.100.10", "198.51.100.11"],
    exec: (n, cmd, args) => sh(["ip", "netns", "exec", n, cmd, ...args]),
    wrap: (n, cmd, args) => ["ip", ["netns", "exec", n, cmd, ...args]],
    destroy,
  };
}
