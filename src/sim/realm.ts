/**
 * Address realms and the interfaces attached to them.
 *
 * A realm is one flat, routed address space with a router in the middle: the internet, or the
 * LAN behind one NAT. Overlapping private addresses in different realms are fine (two homes
 * can both have a 192.168.1.2, RFC 4787 §4.4). The router forwards by longest prefix match:
 * every attached address is a host route; a LAN also has its own prefix marked unreachable (a
 * LAN address nobody holds goes nowhere) and default routes to its NAT.
 *
 * An interface joins a node (host or NAT) to a realm through a {@link Link}: sending goes up the
 * link to the router, the router sends down the destination's link.
 *
 * @module
 */
import { IcekitError } from "../errors";
import { canonicalIp } from "../bytes/ip";
import type { Link, LinkDirection } from "./link";
import type { Packet } from "./packet";
import { wireSize } from "./packet";
import type { Prefix } from "./prefix";
import { addressBytes, nthAddress, parsePrefix, prefixContains } from "./prefix";
import type { Scheduler } from "./clock";
import type { DropReason, Tracer } from "./trace";

/** What realms and interfaces need from the network. */
export interface Wiring {
  readonly scheduler: Scheduler;
  readonly tracer: Tracer;
}

/** Records a drop of `packet` at `at`. */
export function traceDrop(w: Wiring, at: string, packet: Packet, reason: DropReason): void {
  w.tracer.record({
    time: w.scheduler.now,
    kind: "drop",
    at,
    packet: packet.id,
    src: packet.src,
    dst: packet.dst,
    bytes: packet.data.length,
    reason,
  });
}

/** A node's attachment to a realm: its addresses there and its link to the router. */
export class NetInterface {
  /** The owning node's name. */
  readonly node: string;
  /** The realm it is attached to. */
  readonly realm: Realm;
  /** Its addresses in that realm, canonical. */
  readonly addresses: string[];
  /** Its link to the realm's router. */
  readonly link: Link;
  readonly #w: Wiring;
  readonly #receive: (packet: Packet, iface: NetInterface) => void;

  /**
   * Registers `addresses` in `realm`.
   *
   * @throws {@link IcekitError} when an address is taken in that realm.
   */
  constructor(w: Wiring, node: string, realm: Realm, addresses: readonly string[], link: Link, receive: (packet: Packet, iface: NetInterface) => void) {
    this.#w = w;
    this.node = node;
    this.realm = realm;
    this.link = link;
    this.#receive = receive;
    this.addresses = [];
    for (const a of addresses) this.addAddress(a);
  }

  /** Adds one more address on the same link. */
  addAddress(address: string): void {
    const a = canonicalIp(address);
    this.realm.register(a, this);
    this.addresses.push(a);
  }

  /** Sends a packet up the link to the router. */
  send(packet: Packet): void {
    this.#cross(packet, "up", (p) => this.realm.route(p));
  }

  /** Carries a packet from the router down the link to the node. */
  deliver(packet: Packet): void {
    this.#cross(packet, "down", (p) => this.#receive(p, this));
  }

  #cross(packet: Packet, dir: LinkDirection, then: (p: Packet) => void): void {
    const w = this.#w;
    const at = `${this.link.name}:${dir}`;
    const out = this.link.carry(w.scheduler.now, wireSize(packet), dir);
    if ("drop" in out) {
      traceDrop(w, at, packet, out.drop);
      return;
    }
    out.arrivals.forEach((time, i) => {
      if (i > 0) {
        w.tracer.record({ time: w.scheduler.now, kind: "duplicate", at, packet: packet.id, src: packet.src, dst: packet.dst, bytes: packet.data.length });
      }
      w.scheduler.at(time, () => then(packet));
    });
  }
}

/** The side of a NAT that a LAN's default routes lead to. */
export interface Gateway {
  readonly name: string;
  /** Takes a packet from the LAN for translation. */
  fromLan(packet: Packet): void;
}

type Target = NetInterface | Gateway | "unreachable";

/** A routed address space: the internet or one NAT's LAN. */
export class Realm {
  /** Router name in the trace: `internet` or `<nat>.lan`. */
  readonly name: string;
  readonly #w: Wiring;
  readonly #hosts = new Map<string, NetInterface>();
  readonly #routes: { readonly prefix: Prefix; readonly target: Target }[] = [];
  /** Prefixes to number new addresses from, with the next index to try. */
  readonly #pools: Map<string, { readonly prefix: Prefix; next: number }>;

  /**
   * @param pools - named prefixes that {@link allocate} numbers addresses from, with the first
   *   index to use (1 skips the network address; LANs start at 2, leaving .1 to the gateway)
   */
  constructor(w: Wiring, name: string, pools: Record<string, { prefix: Prefix; first: number }>) {
    this.#w = w;
    this.name = name;
    this.#pools = new Map(Object.entries(pools).map(([k, v]) => [k, { prefix: v.prefix, next: v.first }]));
  }

  /** Adds a prefix route. Host routes come from {@link register}. */
  addRoute(prefix: string | Prefix, target: Gateway | "unreachable"): void {
    this.#routes.push({ prefix: typeof prefix === "string" ? parsePrefix(prefix) : prefix, target });
  }

  /**
   * Records that `address` (canonical) is reached through `iface`.
   *
   * @throws {@link IcekitError} when it is taken.
   */
  register(address: string, iface: NetInterface): void {
    const holder = this.#hosts.get(address);
    if (holder !== undefined) {
      throw new IcekitError("INVALID_ARGUMENT", `${address} is already used by ${holder.node} in ${this.name}; pick another address`);
    }
    this.#hosts.set(address, iface);
  }

  /** True when some interface in this realm holds `address` (canonical). */
  has(address: string): boolean {
    return this.#hosts.has(address);
  }

  /**
   * The next free address from the named pool.
   *
   * @throws {@link IcekitError} when the pool is exhausted or absent.
   */
  allocate(pool: string): string {
    const p = this.#pools.get(pool);
    if (p === undefined) throw new IcekitError("INVALID_ARGUMENT", `${this.name} has no address pool '${pool}'; pass an address`);
    for (;;) {
      const a = nthAddress(p.prefix, p.next++);
      if (a === undefined || (p.prefix.family === "IPv4" && a === nthAddress(p.prefix, 2 ** (32 - p.prefix.length) - 1))) {
        throw new IcekitError("INVALID_ARGUMENT", `no free address left in ${p.prefix.text} of ${this.name}; pass addresses explicitly`);
      }
      if (!this.#hosts.has(a)) return a;
    }
  }

  /** Forwards a packet that arrived at the router: longest prefix match, host routes first. */
  route(packet: Packet): void {
    const w = this.#w;
    if (packet.ttl <= 1) {
      traceDrop(w, this.name, packet, "ttl");
      return;
    }
    const p: Packet = { ...packet, ttl: packet.ttl - 1 };
    let target: Target | undefined = this.#hosts.get(p.dst.address);
    if (target === undefined) {
      const bytes = addressBytes(p.dst.address);
      let best = -1;
      if (bytes !== undefined) {
        for (const r of this.#routes) {
          if (r.prefix.length > best && prefixContains(r.prefix, bytes)) {
            best = r.prefix.length;
            target = r.target;
          }
        }
      }
    }
    if (target === undefined || target === "unreachable") {
      traceDrop(w, this.name, p, "no-route");
      return;
    }
    const to = target instanceof NetInterface ? target.node : target.name;
    w.tracer.record({ time: w.scheduler.now, kind: "hop", at: this.name, packet: p.id, src: p.src, dst: p.dst, bytes: p.data.length, to });
    if (target instanceof NetInterface) target.deliver(p);
    else target.fromLan(p);
  }
}
