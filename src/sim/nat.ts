/**
 * A simulated NAT: the RFC 4787 translation and filtering model.
 *
 * The NAT joins two realms: its LAN (where it is the default route) and the realm its external
 * addresses live in (the internet, or another NAT's LAN for carrier-grade NAT). Outbound, it
 * finds or creates a mapping for the internal endpoint X:x and the destination Y:y, as its
 * mapping behaviour says (§4.1), picks the external address and port (§4.1 pooling, §4.2 port
 * assignment and parity), restarts the mapping's timer (§4.3) and rewrites the source. Inbound,
 * it looks the external address and port up, applies its filter (§5), optionally restarts the
 * timer, and rewrites the destination. A packet from inside to one of its own external
 * addresses is hairpinned (§6) with the sender's external address as source (REQ-9a).
 *
 * Filtering state is kept per mapping, as §5 describes ("the NAT assigns a filtering rule for
 * the mapping"): each mapping remembers the remote addresses and endpoints it sent to, each
 * with its own idle timer of `mappingLifetime`. Expiry is evaluated lazily when a mapping or a
 * port is looked at, which gives the same answers as timers would.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { ipFamily } from "../bytes/ip";
import type { Host, HostOptions, InterfaceOptions } from "./host";
import type { Link, LinkOptions } from "./link";
import type { NatBehavior } from "./nat-behavior";
import type { Packet } from "./packet";
import type { Prng } from "./random";
import type { NetInterface, Realm, Wiring } from "./realm";
import { traceDrop } from "./realm";
import type { DropReason } from "./trace";

/**
 * Where a NAT sits and what it is called; its behaviour is a separate argument.
 *
 * @example
 * ```ts
 * const options: NatOptions = { name: "home", external: "198.51.100.7", lan: "10.0.0.0/24", link: { delay: 5 } };
 * const home = net.nat(portRestrictedCone(), options);
 * home.host().address; // → "10.0.0.2"
 * ```
 */
export interface NatOptions {
  /** Unique name (default `nat1`, `nat2`, ... in creation order). Name NATs for streams that do not depend on creation order. */
  readonly name?: string;
  /**
   * External addresses: one, or a pool (RFC 4787 §4.1). Default: the next free address of the
   * realm outside (198.51.100.0/24 on the internet, the parent's LAN prefix behind another NAT).
   */
  readonly external?: string | readonly string[];
  /** The LAN prefix, e.g. `"10.0.0.0/24"` or `"100.64.0.0/10"` for a CGNAT. Default `"192.168.1.0/24"`. */
  readonly lan?: string;
  /** The link of its external side. */
  readonly link?: LinkOptions;
}

/**
 * One live mapping, as {@link Nat.mappings} reports it.
 *
 * @example
 * ```ts
 * const nat = net.nat(symmetric());
 * nat.host().bind(5000).send({ remote: { family: "IPv4", address: "192.0.2.10", port: 3478 }, data: Uint8Array.of(1) });
 * net.run();
 * const m: NatMapping = nat.mappings()[0]!;
 * m.internal; // → { family: "IPv4", address: "192.168.1.2", port: 5000 }
 * m.external.address; // → "198.51.100.1", with a random port
 * m.remote;   // → "192.0.2.10|3478": an address-and-port-dependent mapping
 * m.expires;  // → 120000: mappingLifetime after its last outbound packet
 * ```
 */
export interface NatMapping {
  /** X:x, the internal endpoint. */
  readonly internal: TransportAddress;
  /** X':x', the external endpoint. */
  readonly external: TransportAddress;
  /**
   * The remote part of the mapping's key (RFC 4787 §4.1): undefined for endpoint-independent
   * mapping, the address for address-dependent, `address|port` for address-and-port-dependent.
   */
  readonly remote: string | undefined;
  /** Virtual time it was created. */
  readonly created: number;
  /** Virtual time its timer was last restarted. */
  readonly refreshed: number;
  /** Virtual time it expires unless refreshed (RFC 4787 §4.3). */
  readonly expires: number;
}

/**
 * A simulated NAT. Create with `net.nat()` or, behind another NAT, `nat.nat()`.
 *
 * @example
 * ```ts
 * const cgnat = net.nat(symmetric(), { name: "cgnat", lan: "100.64.0.0/10" });
 * const home = cgnat.nat(portRestrictedCone());
 * home.addresses;      // → ["100.64.0.2"]: its external side is on the CGNAT's LAN
 * home.host().address; // → "192.168.1.2"
 * ```
 */
export interface Nat {
  /** Unique name in its network. */
  readonly name: string;
  /** Its behaviour, complete. */
  readonly behavior: NatBehavior;
  /** Its external addresses (the pool). */
  readonly addresses: readonly string[];
  /** Its LAN prefix. */
  readonly lan: string;
  /** The link of its external side. */
  readonly link: Link;
  /**
   * A host on this NAT's LAN.
   *
   * @param address - its address(es) on one interface; default: the next free one in the LAN prefix
   */
  host(address?: string | readonly string[], options?: HostOptions): Host;
  /** A NAT whose external side is on this NAT's LAN (e.g. a home NAT behind this carrier-grade NAT). */
  nat(behavior?: Partial<NatBehavior>, options?: NatOptions): Nat;
  /** Gives `host` one more interface, on this NAT's LAN. */
  addInterface(host: Host, address?: string, options?: InterfaceOptions): void;
  /** The live mappings, oldest first. */
  mappings(): NatMapping[];
  /**
   * A static port forward, as a PCP MAP (RFC 6887 §11), NAT-PMP (RFC 6886) or UPnP IGD request
   * makes one: endpoint-independent both ways and without expiry. Packets from any remote to the
   * external endpoint reach `internal`, and `internal`'s packets leave from the external
   * endpoint, whatever the NAT's behaviour. Gone on {@link reset}.
   *
   * @param internal - the host's address and port on this NAT's LAN
   * @param externalPort - the external port wanted; default the internal port if free, else the
   *   next free one
   * @returns the external endpoint
   * @example
   * ```ts
   * const ext = nat.forward({ family: "IPv4", address: "192.168.1.2", port: 5000 });
   * ```
   */
  forward(internal: TransportAddress, externalPort?: number): TransportAddress;
  /** Forgets every mapping, as a reboot would. */
  reset(): void;
}

/**
 * How a NAT creates hosts and NATs on its LAN: supplied by the network.
 *
 * @example
 * ```ts
 * const factory: NatFactory = {
 *   createHost: (realm, address, options) => this.#createHost(realm, address, options),
 *   createNat: (realm, behavior, options) => this.#createNat(realm, behavior, options),
 *   addInterface: (host, realm, address, options) => this.#addInterface(host, realm, address, options),
 * }; // as Network builds it; nat.host() then calls factory.createHost(lanRealm, undefined, {})
 * ```
 */
export interface NatFactory {
  /** A host with one interface in `realm`. */
  createHost(realm: Realm, address: string | readonly string[] | undefined, options: HostOptions): Host;
  /** A NAT whose external side is in `realm`. */
  createNat(realm: Realm, behavior: Partial<NatBehavior> | undefined, options: NatOptions): Nat;
  /** One more interface for `host`, in `realm`. */
  addInterface(host: Host, realm: Realm, address: string | undefined, options: InterfaceOptions): void;
}

interface Mapping {
  readonly key: string;
  readonly internal: TransportAddress;
  readonly external: TransportAddress;
  readonly remote: string | undefined;
  readonly created: number;
  refreshed: number;
  /** Remote addresses sent to, with when (address-dependent filtering). */
  readonly addresses: Map<string, number>;
  /** Remote endpoints sent to, with when (address-and-port-dependent filtering). */
  readonly endpoints: Map<string, number>;
}

function endpointKey(a: TransportAddress): string {
  return `${a.address}|${a.port}`;
}

/**
 * The NAT implementation; not exported from `icekit/sim`.
 *
 * @example
 * ```ts
 * const nat = net.nat(symmetric()); // a SimNat, typed as the Nat interface
 * nat instanceof SimNat;            // → true
 * ```
 */
export class SimNat implements Nat {
  readonly name: string;
  readonly behavior: NatBehavior;
  readonly lan: string;
  readonly #w: Wiring;
  readonly #rng: Prng;
  readonly #factory: NatFactory;
  readonly #lanRealm: Realm;
  #wan: NetInterface | undefined;
  readonly #byKey = new Map<string, Mapping>();
  readonly #byExternal = new Map<string, Mapping>();
  /** RFC 4787 §4.1 paired pooling: internal address → its external address. */
  readonly #pairs = new Map<string, string>();
  #pairNext = 0;
  /** Sequential port assignment: next port to try, per external address. */
  readonly #nextPort = new Map<string, number>();
  /** Static forwards: external endpoint → internal one, and back. */
  readonly #forwardIn = new Map<string, TransportAddress>();
  readonly #forwardOut = new Map<string, TransportAddress>();

  constructor(w: Wiring, name: string, behavior: NatBehavior, rng: Prng, factory: NatFactory, lanRealm: Realm, lan: string) {
    this.#w = w;
    this.name = name;
    this.behavior = behavior;
    this.#rng = rng;
    this.#factory = factory;
    this.#lanRealm = lanRealm;
    this.lan = lan;
  }

  /** Wires the external interface in (called once by the network). */
  setWan(wan: NetInterface): void {
    this.#wan = wan;
  }

  get addresses(): readonly string[] {
    return this.#wan?.addresses ?? [];
  }

  get link(): Link {
    return this.#wan!.link;
  }

  host(address?: string | readonly string[], options: HostOptions = {}): Host {
    return this.#factory.createHost(this.#lanRealm, address, options);
  }

  nat(behavior?: Partial<NatBehavior>, options: NatOptions = {}): Nat {
    return this.#factory.createNat(this.#lanRealm, behavior, options);
  }

  addInterface(host: Host, address?: string, options: InterfaceOptions = {}): void {
    this.#factory.addInterface(host, this.#lanRealm, address, options);
  }

  mappings(): NatMapping[] {
    const now = this.#w.scheduler.now;
    const out: NatMapping[] = [];
    for (const m of [...this.#byKey.values()]) {
      if (!this.#alive(m, now)) continue;
      out.push({
        internal: m.internal,
        external: m.external,
        remote: m.remote,
        created: m.created,
        refreshed: m.refreshed,
        expires: m.refreshed + this.behavior.mappingLifetime,
      });
    }
    return out;
  }

  forward(internal: TransportAddress, externalPort?: number): TransportAddress {
    const existing = this.#forwardOut.get(endpointKey(internal));
    if (existing !== undefined) return existing;
    const address = this.addresses.find((a) => ipFamily(a) === internal.family);
    if (address === undefined) throw new Error(`${this.name}: no external ${internal.family} address to forward from`);
    const now = this.#w.scheduler.now;
    const want = externalPort ?? internal.port;
    const port = this.#portFree(address, want, now) ? want : this.#scan(address, want, undefined, now);
    if (port === undefined) throw new Error(`${this.name}: no free external port to forward`);
    const external: TransportAddress = { family: internal.family, address, port };
    this.#forwardIn.set(endpointKey(external), internal);
    this.#forwardOut.set(endpointKey(internal), external);
    return external;
  }

  reset(): void {
    this.#forwardIn.clear();
    this.#forwardOut.clear();
    this.#byKey.clear();
    this.#byExternal.clear();
    this.#pairs.clear();
    this.#nextPort.clear();
  }

  /** A packet from the LAN, routed here by default. */
  fromLan(p: Packet): void {
    const b = this.behavior;
    const now = this.#w.scheduler.now;
    if (b.blockUdp) return this.#drop(p, "blocked");
    const hairpin = this.addresses.includes(p.dst.address);
    // RFC 4787 §6: without hairpinning, a packet to our own external address goes nowhere.
    if (hairpin && !b.hairpinning) return this.#drop(p, "hairpin");
    const forwarded = this.#forwardOut.get(endpointKey(p.src));
    if (forwarded !== undefined) {
      const out: Packet = { ...p, src: forwarded };
      this.#traceTranslate(p, out);
      if (hairpin) this.#inbound(out, now);
      else this.#wan!.send(out);
      return;
    }
    const m = this.#outbound(p.src, p.dst, now);
    if (typeof m === "string") return this.#drop(p, m);
    // §4.3 REQ-6: outbound packets always restart the mapping's timer and open the filter (§5).
    m.refreshed = now;
    m.addresses.set(p.dst.address, now);
    m.endpoints.set(endpointKey(p.dst), now);
    const out: Packet = { ...p, src: m.external };
    this.#traceTranslate(p, out);
    // REQ-9a: the hairpinned packet carries the external source X1':x1'.
    if (hairpin) this.#inbound(out, now);
    else this.#wan!.send(out);
  }

  /** A packet that came down the external link. */
  fromWan(p: Packet): void {
    if (this.behavior.blockUdp) return this.#drop(p, "blocked");
    this.#inbound(p, this.#w.scheduler.now);
  }

  #inbound(p: Packet, now: number): void {
    const b = this.behavior;
    const forwarded = this.#forwardIn.get(endpointKey(p.dst));
    if (forwarded !== undefined) {
      const inbound: Packet = { ...p, dst: forwarded };
      this.#traceTranslate(p, inbound);
      this.#lanRealm.route(inbound);
      return;
    }
    const m = this.#byExternal.get(endpointKey(p.dst));
    if (m === undefined || !this.#alive(m, now)) return this.#drop(p, "no-mapping");
    if (!this.#permits(m, p.src, now)) return this.#drop(p, "filtered");
    if (b.refresh === "both") {
      // §4.3: inbound refresh restarts the mapping's timer and the filter entry that let it in.
      m.refreshed = now;
      if (m.addresses.has(p.src.address)) m.addresses.set(p.src.address, now);
      const k = endpointKey(p.src);
      if (m.endpoints.has(k)) m.endpoints.set(k, now);
    }
    const inbound: Packet = { ...p, dst: m.internal };
    this.#traceTranslate(p, inbound);
    this.#lanRealm.route(inbound);
  }

  /** RFC 4787 §5. */
  #permits(m: Mapping, from: TransportAddress, now: number): boolean {
    const life = this.behavior.mappingLifetime;
    switch (this.behavior.filtering) {
      case "endpoint-independent":
        return true;
      case "address-dependent": {
        const t = m.addresses.get(from.address);
        return t !== undefined && now - t < life;
      }
      case "address-and-port-dependent": {
        const t = m.endpoints.get(endpointKey(from));
        return t !== undefined && now - t < life;
      }
    }
  }

  /** Finds or creates the mapping for X:x towards Y:y (RFC 4787 §4.1), or says why not. */
  #outbound(internal: TransportAddress, remote: TransportAddress, now: number): Mapping | DropReason {
    let remoteKey: string | undefined;
    if (this.behavior.mapping === "address-dependent") remoteKey = remote.address;
    else if (this.behavior.mapping === "address-and-port-dependent") remoteKey = endpointKey(remote);
    const key = `${endpointKey(internal)}>${remoteKey ?? "*"}`;
    const found = this.#byKey.get(key);
    if (found !== undefined && this.#alive(found, now)) return found;
    const external = this.#assign(internal, now);
    if (typeof external === "string") return external;
    const m: Mapping = { key, internal, external, remote: remoteKey, created: now, refreshed: now, addresses: new Map(), endpoints: new Map() };
    this.#byKey.set(key, m);
    this.#byExternal.set(endpointKey(external), m);
    return m;
  }

  /** True while `m` has not idled out; removes it when it has. */
  #alive(m: Mapping, now: number): boolean {
    if (now - m.refreshed < this.behavior.mappingLifetime) return true;
    if (this.#byKey.get(m.key) === m) this.#byKey.delete(m.key);
    const ek = endpointKey(m.external);
    if (this.#byExternal.get(ek) === m) this.#byExternal.delete(ek);
    return false;
  }

  #portFree(address: string, port: number, now: number): boolean {
    if (this.#forwardIn.has(`${address}|${port}`)) return false;
    const m = this.#byExternal.get(`${address}|${port}`);
    return m === undefined || !this.#alive(m, now);
  }

  /** External addresses to try for `internal`, best first (RFC 4787 §4.1 pooling). */
  #candidates(internal: TransportAddress): string[] {
    const pool = this.addresses.filter((a) => ipFamily(a) === internal.family);
    if (pool.length <= 1) return pool;
    if (this.behavior.pooling === "paired") {
      // REQ-2: one external address per internal address, for all its sessions.
      let paired = this.#pairs.get(internal.address);
      if (paired === undefined) {
        paired = pool[this.#pairNext++ % pool.length]!;
        this.#pairs.set(internal.address, paired);
      }
      return [paired];
    }
    const start = this.#rng.int(0, pool.length - 1);
    return [...pool.slice(start), ...pool.slice(0, start)];
  }

  /** Picks X':x' for a new mapping (RFC 4787 §4.2), or says why none is free. */
  #assign(internal: TransportAddress, now: number): TransportAddress | DropReason {
    const b = this.behavior;
    const candidates = this.#candidates(internal);
    const first = candidates[0];
    if (first === undefined) return "no-route";
    const family = internal.family;
    const x = internal.port;
    // §4.2.2: keep the internal port's parity, when asked to.
    const parity = b.portParity ? x & 1 : undefined;
    const [lo, hi] = b.portRange;
    let port: number | undefined;
    let address = first;
    switch (b.portAssignment) {
      case "preserve": {
        // §4.2.1 port preservation: x' = x when free on any candidate address; else the next free port.
        const free = candidates.find((a) => this.#portFree(a, x, now));
        if (free !== undefined) return { family, address: free, port: x };
        port = this.#scan(address, Math.min(Math.max(x + 1, lo), hi), parity, now);
        break;
      }
      case "sequential": {
        port = this.#scan(address, this.#nextPort.get(address) ?? lo, parity, now);
        if (port !== undefined) this.#nextPort.set(address, port + 1 > hi ? lo : port + 1);
        break;
      }
      case "random": {
        for (let i = 0; i < 32 && port === undefined; i++) {
          const p = this.#withParity(this.#rng.int(lo, hi), parity);
          if (this.#portFree(address, p, now)) port = p;
        }
        port ??= this.#scan(address, this.#rng.int(lo, hi), parity, now);
        break;
      }
    }
    if (port === undefined) return "exhausted";
    return { family, address, port };
  }

  #withParity(p: number, parity: number | undefined): number {
    if (parity === undefined || (p & 1) === parity) return p;
    return p + 1 <= this.behavior.portRange[1] ? p + 1 : p - 1;
  }

  /** First free port from `start` upwards in the port range, wrapping, with the given parity. */
  #scan(address: string, start: number, parity: number | undefined, now: number): number | undefined {
    const [lo, hi] = this.behavior.portRange;
    const n = hi - lo + 1;
    for (let i = 0; i < n; i++) {
      const p = lo + ((start - lo + i) % n);
      if (parity !== undefined && (p & 1) !== parity) continue;
      if (this.#portFree(address, p, now)) return p;
    }
    return undefined;
  }

  #drop(p: Packet, reason: DropReason): void {
    traceDrop(this.#w, this.name, p, reason);
  }

  #traceTranslate(before: Packet, after: Packet): void {
    const w = this.#w;
    w.tracer.record({
      time: w.scheduler.now,
      kind: "translate",
      at: this.name,
      packet: before.id,
      src: before.src,
      dst: before.dst,
      bytes: before.data.length,
      translated: { src: after.src, dst: after.dst },
    });
  }
}
