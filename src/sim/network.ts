/**
 * The simulated network: the builder users start from, the virtual clock, and the run loop.
 *
 * ```ts
 * const net = new Network({ seed: 7 });
 * const server = net.server("192.0.2.10", { link: { delay: 20 } });
 * net.attach(server, new StunServer({ random: server.random }), { port: 3478 });
 * const nat = net.nat(portRestrictedCone());
 * const alice = nat.host("192.168.1.2", { name: "alice" });
 * const att = net.attach(alice, new StunClient({ random: alice.random }), { port: 5000 });
 * att.engine.request(net.now, { remote: { family: "IPv4", address: "192.0.2.10", port: 3478 } });
 * net.run({ duration: 5_000 });
 * ```
 *
 * Everything is single-threaded and driven by one scheduler, every random draw comes from a
 * stream forked from the seed, and no clock or timer of the platform is read: the same program
 * with the same seed produces the same trace, byte for byte ({@link Network.traceHash}).
 *
 * @module
 */
import { canonicalIp } from "../bytes/ip";
import type { Engine, RandomSource } from "../engine";
import { IcekitError } from "../errors";
import type { AttachOptions, Attached, EngineEvent } from "./attach";
import { Attachment } from "./attach";
import type { Timer } from "./clock";
import { Scheduler } from "./clock";
import type { Host, HostOptions, InterfaceOptions } from "./host";
import { SimHost } from "./host";
import type { LinkOptions } from "./link";
import { Link } from "./link";
import type { Nat, NatFactory, NatOptions } from "./nat";
import { SimNat } from "./nat";
import type { NatBehavior } from "./nat-behavior";
import { natBehavior } from "./nat-behavior";
import { parsePrefix } from "./prefix";
import { Prng } from "./random";
import { NetInterface, Realm } from "./realm";
import type { Wiring } from "./realm";
import type { NetworkStats, TraceEvent } from "./trace";
import { Tracer, formatTrace, traceJson } from "./trace";

/**
 * How to create a {@link Network}.
 *
 * @example
 * ```ts
 * const net = new Network({ seed: 42, link: { delay: 10, loss: 0.01 }, trace: false });
 * net.seed; // → 42
 * ```
 */
export interface NetworkOptions {
  /** The seed every random stream is forked from (any safe integer). Default 1. */
  readonly seed?: number;
  /** Keep every trace event in {@link Network.trace} (default true). The hash is kept either way. */
  readonly trace?: boolean;
  /** Called with each trace event as it happens, e.g. to print it. */
  readonly onTrace?: (event: TraceEvent) => void;
  /** Conditions every new link starts from; per-link options override them. Default: a perfect link. */
  readonly link?: LinkOptions;
  /**
   * Most events a {@link Network.run} without `until`, `duration` or `steps` processes before
   * it gives up on the network going idle and throws. Default 10 000 000.
   */
  readonly maxEvents?: number;
}

/**
 * How far {@link Network.run} goes. With none of them, it runs until nothing is scheduled.
 *
 * @example
 * ```ts
 * net.run({ duration: 5_000 }); // → events processed; net.now is now 5000
 * net.run({ until: 60_000 });   // to virtual time 60 s, idle or not
 * net.run({ steps: 1 });        // exactly one event
 * ```
 */
export interface RunOptions {
  /** Absolute virtual time (ms) to run to; the clock ends there even if idle. */
  readonly until?: number;
  /** Virtual time (ms) to run for, from now; the clock ends there even if idle. */
  readonly duration?: number;
  /** Most events to handle. */
  readonly steps?: number;
}

/**
 * How long {@link Network.runUntil} waits.
 *
 * @example
 * ```ts
 * const answered = net.runUntil(() => att.events.length > 0, { timeout: 10_000 }); // → true
 * ```
 */
export interface RunUntilOptions {
  /** Virtual ms to wait for the predicate (default 60 000). */
  readonly timeout?: number;
}

/** Events {@link Network.run} processes without a limit before it assumes it will never end. */
const DEFAULT_MAX_EVENTS = 10_000_000;

/** The TEST-NET ranges (RFC 5737) that public hosts and NATs get when given no address. */
const INTERNET_HOSTS = "192.0.2.0/24";
const INTERNET_NATS = "198.51.100.0/24";
const DEFAULT_LAN = "192.168.1.0/24";

/**
 * A deterministic virtual network. Build it with {@link host}, {@link server}, {@link nat};
 * run engines on its hosts with {@link attach}; advance virtual time with {@link run}.
 *
 * @example
 * ```ts
 * const net = new Network({ seed: 7, link: { delay: 10 } });
 * const stun = net.server("192.0.2.10");
 * net.attach(stun, new StunServer({ random: stun.random }), { port: 3478 });
 * const alice = net.nat(portRestrictedCone()).host(); // 192.168.1.2 behind 198.51.100.1
 * const att = net.attach(alice, new StunClient({ random: alice.random }));
 * att.engine.request(net.now, { remote: { family: "IPv4", address: "192.0.2.10", port: 3478 } });
 * net.run({ duration: 1_000 });
 * net.stats().delivered; // → 2: the request and its response
 * ```
 */
export class Network {
  /** The seed, reduced to 32 bits. */
  readonly seed: number;
  readonly #scheduler = new Scheduler();
  readonly #tracer: Tracer;
  readonly #root: Prng;
  readonly #random: Prng;
  readonly #internet: Realm;
  readonly #defaultLink: LinkOptions;
  readonly #names = new Set<string>();
  readonly #owners = new Map<Realm, string>();
  readonly #hosts = new Set<SimHost>();
  readonly #attachments: Attachment<Engine<unknown>>[] = [];
  readonly #wiring: Wiring & { nextPacketId(): number };
  readonly #factory: NatFactory;
  #packetId = 0;
  #natCount = 0;
  #running = false;
  readonly #maxEvents: number;

  /**
   * @param options - seed, trace keeping and default link conditions
   * @throws {@link IcekitError} for a seed that is not a safe integer or bad link options.
   */
  constructor(options: NetworkOptions = {}) {
    this.#root = new Prng(options.seed ?? 1);
    this.seed = this.#root.seed;
    this.#random = this.#root.fork("network");
    this.#tracer = new Tracer(options.trace ?? true, options.onTrace);
    this.#defaultLink = options.link ?? {};
    this.#maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    new Link("check", this.#root, this.#defaultLink); // validates the defaults now, not at the first link
    const scheduler = this.#scheduler;
    const tracer = this.#tracer;
    this.#wiring = { scheduler, tracer, nextPacketId: () => ++this.#packetId };
    this.#internet = new Realm(this.#wiring, "internet", {
      host: { prefix: parsePrefix(INTERNET_HOSTS), first: 1 },
      nat: { prefix: parsePrefix(INTERNET_NATS), first: 1 },
    });
    this.#owners.set(this.#internet, "");
    this.#factory = {
      createHost: (realm, address, opts) => this.#createHost(realm, address, opts),
      createNat: (realm, behavior, opts) => this.#createNat(realm, behavior, opts),
      addInterface: (host, realm, address, opts) => this.#addInterface(host, realm, address, opts),
    };
  }

  /** Current virtual time in ms (starts at 0). */
  get now(): number {
    return this.#scheduler.now;
  }

  /** The network's own random stream (forked from the seed as `network`). */
  get random(): RandomSource {
    return this.#random.source;
  }

  /** An independent random stream for `label`, derived from the seed alone. */
  fork(label: string): RandomSource {
    return this.#root.fork(label).source;
  }

  /** Every trace event so far (empty when created with `trace: false`). */
  get trace(): readonly TraceEvent[] {
    return this.#tracer.events;
  }

  /** FNV-1a 64 of the trace's JSON lines so far, 16 hex digits; equal hashes mean equal runs. */
  traceHash(): string {
    return this.#tracer.hash();
  }

  /** The trace as JSON lines (the text {@link traceHash} hashes). */
  traceJson(): string {
    return traceJson(this.#tracer.events);
  }

  /** The trace as printable text. */
  formatTrace(): string {
    return formatTrace(this.#tracer.events);
  }

  /** A copy of the network-wide counters. */
  stats(): NetworkStats {
    const s = this.#tracer.stats;
    return { ...s, drops: { ...s.drops } };
  }

  /**
   * A host on the internet, with public addresses.
   *
   * @param address - its address(es) on one interface (IPv4 and/or IPv6); default the next free
   *   one in 192.0.2.0/24
   * @throws {@link IcekitError} for a bad or taken address or name.
   */
  host(address?: string | readonly string[], options: HostOptions = {}): Host {
    return this.#createHost(this.#internet, address, options);
  }

  /**
   * A server: a public host, to attach a STUN or TURN server engine (or any engine) to. The
   * same as {@link host}; the name says what it is for.
   */
  server(address?: string | readonly string[], options: HostOptions = {}): Host {
    return this.#createHost(this.#internet, address, options);
  }

  /**
   * A NAT whose external side is on the internet. For a NAT behind a NAT, call `nat()` on the
   * outer one.
   *
   * @param behavior - a preset (`portRestrictedCone()`, ...) or any RFC 4787 properties; the rest default
   * @throws {@link IcekitError} for bad behaviour values, addresses or names.
   */
  nat(behavior?: Partial<NatBehavior>, options: NatOptions = {}): Nat {
    return this.#createNat(this.#internet, behavior, options);
  }

  /** Gives `host` one more interface, on the internet (e.g. a public IPv6 address beside a NATed IPv4 one). */
  addInterface(host: Host, address?: string, options: InterfaceOptions = {}): void {
    this.#addInterface(host, this.#internet, address, options);
  }

  /**
   * Runs a sans-IO engine on `host`: binds its port(s), feeds it what arrives, drains what it
   * sends, and calls `handleTimeout` when `pollTimeout` says.
   *
   * @throws {@link IcekitError} when the host is not of this network or a port is taken.
   */
  attach<G extends Engine<unknown>>(host: Host, engine: G, options: AttachOptions<EngineEvent<G>> = {}): Attached<G> {
    this.#own(host);
    const att: Attachment<G> = new Attachment(host, engine, options, this.#scheduler, () => {
      const i = this.#attachments.indexOf(att);
      if (i >= 0) this.#attachments.splice(i, 1);
    });
    this.#attachments.push(att);
    att.drive();
    return att;
  }

  /** Calls `fn` at virtual time `time` (now, if it is past). */
  at(time: number, fn: () => void): Timer {
    return this.#scheduler.at(time, fn);
  }

  /** Calls `fn` `delay` ms from now. */
  after(delay: number, fn: () => void): Timer {
    return this.#scheduler.after(delay, fn);
  }

  /**
   * Calls `fn` every `interval` ms, the first time `interval` from now, until cancelled.
   *
   * @throws {@link IcekitError} when `interval` is not positive.
   */
  every(interval: number, fn: () => void): Timer {
    if (!(interval > 0) || !Number.isFinite(interval)) {
      throw new IcekitError("INVALID_ARGUMENT", `interval ${interval}: pass a positive number of ms`);
    }
    let current: Timer;
    const tick = (): void => {
      current = this.#scheduler.after(interval, tick);
      fn();
    };
    current = this.#scheduler.after(interval, tick);
    return {
      get time() {
        return current.time;
      },
      cancel: () => current.cancel(),
    };
  }

  /**
   * Advances virtual time, processing events in order. Drives every attached engine first, so
   * that what was asked of them since the last run goes out.
   *
   * @returns the number of events processed
   * @throws {@link IcekitError} when run without a limit on a network that never goes idle.
   */
  run(options: RunOptions = {}): number {
    const until = options.until ?? (options.duration !== undefined ? this.now + options.duration : undefined);
    const unbounded = until === undefined && options.steps === undefined;
    const steps = options.steps ?? (unbounded ? this.#maxEvents : Infinity);
    let n = 0;
    this.#enter(() => {
      this.#driveAll();
      while (n < steps) {
        const t = this.#scheduler.nextTime();
        if (t === undefined || (until !== undefined && t > until)) break;
        this.#scheduler.step();
        n++;
      }
    });
    if (unbounded && n >= steps && this.#scheduler.nextTime() !== undefined) {
      throw new IcekitError("INVALID_STATE", `run() processed ${n} events and the network is still busy; pass { until } or { duration }`);
    }
    if (until !== undefined && n < steps) this.#scheduler.advanceTo(until);
    return n;
  }

  /**
   * Runs until `predicate()` is true (checked before the first event and after each), or until
   * `timeout` virtual ms have passed.
   *
   * @returns whether the predicate came true
   */
  runUntil(predicate: () => boolean, options: RunUntilOptions = {}): boolean {
    const deadline = this.now + (options.timeout ?? 60_000);
    return this.#enter(() => {
      this.#driveAll();
      for (;;) {
        if (predicate()) return true;
        const t = this.#scheduler.nextTime();
        if (t === undefined || t > deadline) {
          this.#scheduler.advanceTo(deadline);
          return predicate();
        }
        this.#scheduler.step();
      }
    });
  }

  /** Runs the loop `body`, refusing to nest: a callback inside the simulation cannot run it. */
  #enter<T>(body: () => T): T {
    if (this.#running) {
      throw new IcekitError("INVALID_STATE", "run() or runUntil() called from inside a simulation callback; schedule work with at()/after() instead");
    }
    this.#running = true;
    try {
      return body();
    } finally {
      this.#running = false;
    }
  }

  #driveAll(): void {
    for (const a of [...this.#attachments]) a.drive();
  }

  #own(host: Host): SimHost {
    if (!(host instanceof SimHost) || !this.#hosts.has(host)) {
      throw new IcekitError("INVALID_ARGUMENT", `host ${String((host as { name?: unknown })?.name)} does not belong to this network`);
    }
    return host;
  }

  #claimName(name: string): void {
    if (typeof name !== "string" || name === "") throw new IcekitError("INVALID_ARGUMENT", "a name must be a non-empty string");
    if (this.#names.has(name)) throw new IcekitError("INVALID_ARGUMENT", `the name '${name}' is taken in this network; pass another`);
  }

  #link(name: string, options: LinkOptions | undefined): Link {
    return new Link(name, this.#root.fork(`link:${name}`), { ...this.#defaultLink, ...options });
  }

  #createHost(realm: Realm, address: string | readonly string[] | undefined, options: HostOptions): Host {
    const list = address === undefined ? [realm.allocate("host")] : typeof address === "string" ? [address] : [...address];
    if (list.length === 0) throw new IcekitError("INVALID_ARGUMENT", "pass at least one address, or none for an automatic one");
    const addresses = list.map((a) => canonicalIp(a));
    const owner = this.#owners.get(realm) ?? "";
    const name = options.name ?? (owner === "" ? addresses[0]! : `${owner}/${addresses[0]!}`);
    this.#claimName(name);
    const host = new SimHost(this.#wiring, name, this.#root.fork(`host:${name}`));
    const iface = new NetInterface(this.#wiring, name, realm, addresses, this.#link(name, options.link), (p) => host.receive(p));
    host.addInterface(iface);
    this.#names.add(name);
    this.#hosts.add(host);
    return host;
  }

  #addInterface(host: Host, realm: Realm, address: string | undefined, options: InterfaceOptions): void {
    const h = this.#own(host);
    const a = canonicalIp(address ?? realm.allocate("host"));
    const linkName = `${h.name}.${h.links.length}`;
    h.addInterface(new NetInterface(this.#wiring, h.name, realm, [a], this.#link(linkName, options.link), (p) => h.receive(p)));
  }

  #createNat(realm: Realm, behavior: Partial<NatBehavior> | undefined, options: NatOptions): Nat {
    const b = natBehavior(behavior);
    let name = options.name;
    if (name === undefined) {
      do name = `nat${++this.#natCount}`;
      while (this.#names.has(name));
    }
    this.#claimName(name);
    const lan = parsePrefix(options.lan ?? DEFAULT_LAN);
    const ext = options.external;
    const externals = ext === undefined ? [realm.allocate("nat")] : typeof ext === "string" ? [ext] : [...ext];
    if (externals.length === 0) throw new IcekitError("INVALID_ARGUMENT", "pass at least one external address, or none for an automatic one");
    const lanRealm = new Realm(this.#wiring, `${name}.lan`, { host: { prefix: lan, first: 2 }, nat: { prefix: lan, first: 2 } });
    const nat = new SimNat(this.#wiring, name, b, this.#root.fork(`nat:${name}`), this.#factory, lanRealm, lan.text);
    // The LAN's own prefix ends there; everything else goes to the NAT (RFC 4787 §4.4 keeps the
    // realms apart even when their prefixes overlap).
    lanRealm.addRoute(lan, "unreachable");
    lanRealm.addRoute("0.0.0.0/0", nat);
    lanRealm.addRoute("::/0", nat);
    nat.setWan(new NetInterface(this.#wiring, name, realm, externals, this.#link(name, options.link), (p) => nat.fromWan(p)));
    this.#owners.set(lanRealm, name);
    this.#names.add(name);
    return nat;
  }
}
