import { execFileSync } from "node:child_process";
import type { NatMode } from "./netns";

export { canBuildNamespaces, type NatMode } from "./netns";

/**
 * Two clients, each behind its own kernel NAT, and a public segment between the NATs, built from
 * documentation-range addresses so that no packet can leave the machine:
 *
 *   client1 ns 10.77.1.2 ── router1 ns 10.77.1.1 | 198.51.100.1 ──┐
 *                                                                  bridge in public ns 198.51.100.10, .11
 *   client2 ns 10.77.2.2 ── router2 ns 10.77.2.1 | 198.51.100.2 ──┘
 *
 * Each router masquerades its LAN out of its WAN side with nftables (plain: port-restricted
 * cone; `fully-random`: symmetric) and drops unsolicited NEW packets on its WAN side
 * (INTEROP.md). The public namespace holds the servers on .10 and .11; it and both routers have a
 * default route to a gateway that does not exist (198.51.100.254, a permanent neighbour entry), so
 * a send to an unreachable address (a peer's private host candidate, relayed by a TURN server) is
 * silently lost instead of failing with ENETUNREACH (INTEROP.md: coturn tears the allocation down
 * on that error).
 */
export interface TwoNatTopology {
  readonly clients: readonly [string, string];
  readonly routers: readonly [string, string];
  readonly pub: string;
  readonly clientIps: readonly [string, string];
  readonly routerWanIps: readonly [string, string];
  readonly serverIps: readonly [string, string];
  /** Runs a command inside a namespace, returning stdout. */
  exec(ns: string, cmd: string, args: readonly string[]): string;
  /** Removes every namespace (and with them the links); safe to call twice. */
  destroy(): void;
}

function sh(args: string[], input?: string): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: "utf8", ...(input !== undefined ? { input } : {}), stdio: ["pipe", "pipe", "pipe"] });
}

const GATEWAY = "198.51.100.254";
const GATEWAY_MAC = "02:00:00:00:00:fe";

/** Builds the topology; each router gets its own NAT mode. Call `destroy()` in afterAll. */
export function buildTwoNatTopology(modes: readonly [NatMode, NatMode]): TwoNatTopology {
  const tag = `ik${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
  const clients = [`${tag}c1`, `${tag}c2`] as const;
  const routers = [`${tag}r1`, `${tag}r2`] as const;
  const pub = `${tag}p`;
  const all = [...clients, ...routers, pub];
  const ns = (n: string, ...a: string[]) => sh(["ip", "netns", "exec", n, ...a]);
  const destroy = () => {
    for (const n of all) {
      try {
        sh(["ip", "netns", "del", n]);
      } catch {
        // Not created, or already gone.
      }
    }
  };
  try {
    for (const n of all) sh(["ip", "netns", "add", n]);
    for (const n of all) ns(n, "ip", "link", "set", "lo", "up");
    const bridge = `${tag}br`;
    ns(pub, "ip", "link", "add", bridge, "type", "bridge");
    ns(pub, "ip", "addr", "add", "198.51.100.10/24", "dev", bridge);
    ns(pub, "ip", "addr", "add", "198.51.100.11/24", "dev", bridge);
    ns(pub, "ip", "link", "set", bridge, "up");
    ns(pub, "ip", "route", "add", "default", "via", GATEWAY);
    ns(pub, "ip", "neigh", "add", GATEWAY, "lladdr", GATEWAY_MAC, "dev", bridge, "nud", "permanent");
    for (const i of [0, 1] as const) {
      const c = clients[i];
      const r = routers[i];
      const n = i + 1;
      const lanC = `${tag}a${n}`;
      const lanR = `${tag}b${n}`;
      const wanR = `${tag}w${n}`;
      const wanP = `${tag}x${n}`;
      sh(["ip", "link", "add", lanC, "netns", c, "type", "veth", "peer", "name", lanR, "netns", r]);
      sh(["ip", "link", "add", wanR, "netns", r, "type", "veth", "peer", "name", wanP, "netns", pub]);
      ns(c, "ip", "addr", "add", `10.77.${n}.2/24`, "dev", lanC);
      ns(c, "ip", "link", "set", lanC, "up");
      ns(c, "ip", "route", "add", "default", "via", `10.77.${n}.1`);
      ns(r, "ip", "addr", "add", `10.77.${n}.1/24`, "dev", lanR);
      ns(r, "ip", "addr", "add", `198.51.100.${n}/24`, "dev", wanR);
      ns(r, "ip", "link", "set", lanR, "up");
      ns(r, "ip", "link", "set", wanR, "up");
      ns(r, "ip", "route", "add", "default", "via", GATEWAY);
      ns(r, "ip", "neigh", "add", GATEWAY, "lladdr", GATEWAY_MAC, "dev", wanR, "nud", "permanent");
      ns(r, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
      ns(pub, "ip", "link", "set", wanP, "master", bridge);
      ns(pub, "ip", "link", "set", wanP, "up");
      const rules = `
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${wanR}" masquerade${modes[i] === "fully-random" ? " fully-random" : ""}
  }
}
table ip filter {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "${wanR}" ct state new drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "${wanR}" ct state new drop
  }
}`;
      sh(["ip", "netns", "exec", r, "nft", "-f", "-"], rules);
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    clients,
    routers,
    pub,
    clientIps: ["10.77.1.2", "10.77.2.2"],
    routerWanIps: ["198.51.100.1", "198.51.100.2"],
    serverIps: ["198.51.100.10", "198.51.100.11"],
    exec: (n, cmd, args) => sh(["ip", "netns", "exec", n, cmd, ...args]),
    destroy,
  };
}
