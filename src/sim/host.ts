/**
 * Simulated hosts and their sockets.
 *
 * A host has one or more interfaces, each with one or more addresses (IPv4 and IPv6) and a link
 * to its realm's router. A socket binds a port on one address or on all of them, sends with the
 * same {@link Transmit} shape engines produce, and receives with the same {@link Received} shape
 * engines take, so code that runs on real sockets runs here unchanged.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { canonicalIp, ipFamily, transportAddress } from "../bytes/ip";
import type { RandomSource, Received, TransportProtocol } from "../engine";
import { IcekitError } from "../errors";
import type { Link, LinkOptions } from "./link";
import type { Packet } from "./packet";
import { INITIAL_TTL } from "./packet";
import type { Prng } from "./random";
import type { NetInterface, Wiring } from "./realm";
import { traceDrop } from "./realm";

/**
 * How to create a host.
 *
 * @example
 * ```ts
 * const alice = nat.host("192.168.1.2", { name: "alice", link: { delay: 5 } });
 * alice.name; // → "alice" (without a name: "nat1/192.168.1.2")
 * ```
 */
export interface HostOptions {
  /**
   * Unique name in the network (default: its address, prefixed with its NAT's name behind a
   * NAT, e.g. `nat1/192.168.1.2`). The host's random stream is forked from the network's by this
   * name, so hosts keep their streams when others are added.
   */
  readonly name?: string;
  /** Its first interface's link. */
  readonly link?: LinkOptions;
}

/**
 * How to add an interface to a host.
 *
 * @example
 * ```ts
 * net.addInterface(alice, "2001:db8::2", { link: { delay: 2 } });
 * alice.addresses; // → ["192.168.1.2", "2001:db8::2"]
 * ```
 */
export interface InterfaceOptions {
  /** The new interface's link. */
  readonly link?: LinkOptions;
}

/**
 * A datagram to send: a {@link Transmit}, with `transport` (default `"udp"`) and `local` optional.
 *
 * @example
 * ```ts
 * const datagram: Datagram = { remote: { family: "IPv4", address: "192.0.2.10", port: 7 }, data: new TextEncoder().encode("ping") };
 * alice.bind().send(datagram);
 * ```
 */
export interface Datagram {
  /** Destination. */
  readonly remote: TransportAddress;
  /** Payload; copied when sent, so the buffer can be reused at once. */
  readonly data: Uint8Array;
  /** Only `"udp"` is carried; other transports are dropped and traced as `transport`. */
  readonly transport?: TransportProtocol;
  /**
   * Source. Its port must be the socket's; its address must be the host's (or the socket's
   * when the socket is bound to one address). Undefined, or an unspecified address (`0.0.0.0`,
   * `::`), lets the host pick its first address of the destination's family.
   */
  readonly local?: TransportAddress | undefined;
}

/**
 * A bound UDP port on a simulated host.
 *
 * @example
 * ```ts
 * const echo = server.bind(7);
 * echo.onReceive = (r) => echo.send({ remote: r.remote, data: r.data });
 * const s = alice.bind(); // a random port in 49152-65535
 * s.send({ remote: echo.local, data: Uint8Array.of(1, 2, 3) });
 * net.run();
 * s.received.length; // → 1: the echo, kept because s.onReceive is unset
 * ```
 */
export interface Socket {
  /** The host it belongs to. */
  readonly host: Host;
  /** The bound port. */
  readonly port: number;
  /** The bound address, or undefined when bound to all the host's addresses. */
  readonly address: string | undefined;
  /** The bound address and port; for an all-addresses socket, the host's primary address. */
  readonly local: TransportAddress;
  /**
   * Called with each datagram that arrives (and the virtual time). While unset, datagrams are
   * appended to {@link received} instead.
   */
  onReceive: ((received: Received, now: number) => void) | undefined;
  /** Datagrams that arrived while {@link onReceive} was unset, oldest first. */
  readonly received: Received[];
  /** True after {@link close}. */
  readonly closed: boolean;
  /**
   * Sends a datagram now (in virtual time).
   *
   * @throws {@link IcekitError} when the socket is closed, the destination is not an IP address
   *   and port, or `local` names an address or port the socket cannot send from.
   */
  send(datagram: Datagram): void;
  /** Releases the port; datagrams to it are dropped as `port-unreachable` from now on. */
  close(): void;
}

/**
 * A simulated host. Create with `net.host()`, `net.server()` or `nat.host()`.
 *
 * @example
 * ```ts
 * const h = net.host("192.0.2.77");
 * h.name;             // → "192.0.2.77"
 * h.bind(5000).local; // → { family: "IPv4", address: "192.0.2.77", port: 5000 }
 * const client = new StunClient({ random: h.fork("stun") });
 * ```
 */
export interface Host {
  /** Unique name in its network; the trace and the random streams use it. */
  readonly name: string;
  /** The primary address: the first address of the first interface. */
  readonly address: string;
  /** All its addresses, interface by interface. */
  readonly addresses: readonly string[];
  /** The first interface's link (change its conditions with `configure`). */
  readonly link: Link;
  /** Every interface's link, in order. */
  readonly links: readonly Link[];
  /** The host's own random stream, for an engine that runs on it. */
  readonly random: RandomSource;
  /** Another independent stream derived from the host's, e.g. one per engine. */
  fork(label: string): RandomSource;
  /**
   * Binds a UDP port.
   *
   * @param port - the port; omitted or 0 picks a free random port in 49152-65535
   * @param address - one of the host's addresses; omitted (or `0.0.0.0` / `::`) binds all of them
   * @throws {@link IcekitError} when the port is taken or the address is not the host's.
   */
  bind(port?: number, address?: string): Socket;
}

function isUnspecified(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

/** The host implementation; not exported from `icekit/sim`. */
export class SimHost implements Host {
  readonly name: string;
  readonly #w: Wiring & { nextPacketId(): number };
  readonly #rng: Prng;
  readonly #ifaces: NetInterface[] = [];
  readonly #sockets = new Map<number, SimSocket[]>();

  /** @param rng - the host's stream, forked from the network's by name */
  constructor(w: Wiring & { nextPacketId(): number }, name: string, rng: Prng) {
    this.#w = w;
    this.name = name;
    this.#rng = rng;
  }

  /** Wires an interface in (called by the network when it creates one). */
  addInterface(iface: NetInterface): void {
    this.#ifaces.push(iface);
  }

  get address(): string {
    const a = this.#ifaces[0]?.addresses[0];
    if (a === undefined) throw new IcekitError("INVALID_STATE", `host ${this.name} has no address`);
    return a;
  }

  get addresses(): readonly string[] {
    return this.#ifaces.flatMap((i) => i.addresses);
  }

  get link(): Link {
    return this.#ifaces[0]!.link;
  }

  get links(): readonly Link[] {
    return this.#ifaces.map((i) => i.link);
  }

  get random(): RandomSource {
    return this.#rng.source;
  }

  fork(label: string): RandomSource {
    return this.#rng.fork(label).source;
  }

  bind(port?: number, address?: string): Socket {
    let bound: string | undefined;
    if (address !== undefined && !isUnspecified(canonicalIp(address))) {
      bound = canonicalIp(address);
      if (!this.addresses.includes(bound)) {
        throw new IcekitError("INVALID_ARGUMENT", `${address} is not an address of host ${this.name}; it has ${this.addresses.join(", ")}`);
      }
    }
    let p = port ?? 0;
    if (!Number.isInteger(p) || p < 0 || p > 65535) {
      throw new IcekitError("INVALID_ARGUMENT", `port ${p} is out of range; pass an integer from 1 to 65535, or 0 for any`);
    }
    if (p === 0) p = this.#ephemeralPort(bound);
    else if (!this.#free(p, bound)) {
      throw new IcekitError("INVALID_ARGUMENT", `port ${p} is already bound on host ${this.name}; pick another or pass 0`);
    }
    const socket = new SimSocket(this, p, bound, (s, d) => this.#send(s, d), (s) => this.#unbind(s));
    const list = this.#sockets.get(p);
    if (list) list.push(socket);
    else this.#sockets.set(p, [socket]);
    return socket;
  }

  /** Takes a packet that came down one of the host's links. */
  receive(packet: Packet): void {
    const w = this.#w;
    const list = this.#sockets.get(packet.dst.port);
    const socket = list?.find((s) => s.address === packet.dst.address) ?? list?.find((s) => s.address === undefined);
    if (socket === undefined) {
      traceDrop(w, this.name, packet, "port-unreachable");
      return;
    }
    w.tracer.record({ time: w.scheduler.now, kind: "deliver", at: this.name, packet: packet.id, src: packet.src, dst: packet.dst, bytes: packet.data.length });
    // Each delivery gets its own bytes: a receiver that scribbles on them cannot touch a duplicate.
    socket.deliver({ local: packet.dst, remote: packet.src, transport: packet.transport, data: packet.data.slice() }, w.scheduler.now);
  }

  #free(port: number, address: string | undefined): boolean {
    const list = this.#sockets.get(port);
    if (list === undefined || list.length === 0) return true;
    if (address === undefined) return false;
    return !list.some((s) => s.address === undefined || s.address === address);
  }

  #ephemeralPort(address: string | undefined): number {
    // Random, as RFC 5780 §4.1 and RFC 6056 recommend; from the host's own stream.
    for (let i = 0; i < 64; i++) {
      const p = this.#rng.int(49152, 65535);
      if (this.#free(p, address)) return p;
    }
    for (let p = 49152; p <= 65535; p++) if (this.#free(p, address)) return p;
    throw new IcekitError("INVALID_STATE", `host ${this.name} has no free port left in 49152-65535`);
  }

  #unbind(socket: SimSocket): void {
    const list = this.#sockets.get(socket.port);
    if (list === undefined) return;
    const i = list.indexOf(socket);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#sockets.delete(socket.port);
  }

  #send(socket: SimSocket, d: Datagram): void {
    if (socket.closed) throw new IcekitError("INVALID_STATE", `socket ${this.name}:${socket.port} is closed`);
    const w = this.#w;
    const remote = transportAddress(d.remote.address, d.remote.port);
    let src: string | undefined = socket.address;
    if (d.local !== undefined && !isUnspecified(canonicalIp(d.local.address))) {
      const la = canonicalIp(d.local.address);
      if (socket.address !== undefined && la !== socket.address) {
        throw new IcekitError("INVALID_ARGUMENT", `socket bound to ${socket.address} cannot send from ${la}`);
      }
      if (!this.addresses.includes(la)) {
        throw new IcekitError("INVALID_ARGUMENT", `${la} is not an address of host ${this.name}; it has ${this.addresses.join(", ")}`);
      }
      src = la;
    }
    if (d.local !== undefined && d.local.port !== socket.port) {
      throw new IcekitError("INVALID_ARGUMENT", `socket bound to port ${socket.port} cannot send from port ${d.local.port}`);
    }
    src ??= this.addresses.find((a) => ipFamily(a) === remote.family);
    const packet: Packet = {
      id: w.nextPacketId(),
      src: src === undefined ? { family: remote.family, address: remote.family === "IPv4" ? "0.0.0.0" : "::", port: socket.port } : transportAddress(src, socket.port),
      dst: remote,
      transport: d.transport ?? "udp",
      data: d.data.slice(),
      ttl: INITIAL_TTL,
    };
    w.tracer.record({ time: w.scheduler.now, kind: "send", at: this.name, packet: packet.id, src: packet.src, dst: packet.dst, bytes: packet.data.length });
    if (packet.transport !== "udp") {
      traceDrop(w, this.name, packet, "transport");
      return;
    }
    const iface = src === undefined ? undefined : this.#ifaces.find((i) => i.addresses.includes(src));
    if (iface === undefined || packet.src.family !== packet.dst.family) {
      traceDrop(w, this.name, packet, "no-route");
      return;
    }
    iface.send(packet);
  }
}

/** The socket implementation; not exported from `icekit/sim`. */
export class SimSocket implements Socket {
  readonly host: SimHost;
  readonly port: number;
  readonly address: string | undefined;
  onReceive: ((received: Received, now: number) => void) | undefined = undefined;
  readonly received: Received[] = [];
  #closed = false;
  readonly #send: (s: SimSocket, d: Datagram) => void;
  readonly #close: (s: SimSocket) => void;

  constructor(host: SimHost, port: number, address: string | undefined, send: (s: SimSocket, d: Datagram) => void, close: (s: SimSocket) => void) {
    this.host = host;
    this.port = port;
    this.address = address;
    this.#send = send;
    this.#close = close;
  }

  get local(): TransportAddress {
    return transportAddress(this.address ?? this.host.address, this.port);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(datagram: Datagram): void {
    this.#send(this, datagram);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#close(this);
  }

  /** Hands an arrived datagram to the hook or the inbox. */
  deliver(received: Received, now: number): void {
    if (this.onReceive) this.onReceive(received, now);
    else this.received.push(received);
  }
}
