/**
 * A TURN server on Node sockets: the pure {@link TurnServer} engine behind a UDP listener, a TCP
 * listener (TURN over TCP, RFC 8656 §3.1) and one UDP socket per relayed transport address.
 *
 * The loop is the one in `src/turn/server.ts`'s module comment, written for speed: the listener
 * and each relay socket hand datagrams straight to the engine; a transmit leaves from the
 * listener when its `local` is the listener's address object, else from the relay socket found
 * by its port (a numeric `Map` lookup); `relay-open` binds a socket and reports
 * `handleRelayBound` or `handleRelayBindFailed`; `relay-close` closes it. Client and peer
 * address text from Node is normalised once per distinct address (a bounded cache), not per
 * packet.
 *
 * @example
 * ```ts
 * import { startTurnServer } from "icekit/node";
 * const server = await startTurnServer({
 *   listen: { address: "192.0.2.1", port: 3478 },
 *   realm: "example.org",
 *   users: { alice: "s3cret" },
 *   ports: [49152, 65535],
 * });
 * console.log(server.address, server.stats().allocations);
 * await server.close();
 * ```
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";
import os from "node:os";
import type { AddressFamily, TransportAddress } from "../bytes/ip";
import { sameTransportAddress } from "../bytes/ip";
import type { Received, Transmit } from "../engine";
import { IcekitError } from "../errors";
import { streamFrameLength } from "../turn/channel-data";
import { TurnServer } from "../turn/server";
import type { TurnServerEvent, TurnServerOptions, TurnServerStats } from "../turn/server";
import { fromNode } from "./address";
import { monotonicNow } from "./clock";
import { udpLocal } from "./udp";

/**
 * Options for {@link startTurnServer}: the engine's, with where to listen and relay.
 *
 * @example
 * ```ts
 * const options: NodeTurnServerOptions = {
 *   listen: { address: "0.0.0.0", port: 3478 },
 *   relayIp: "203.0.113.1", // the public address peers reach
 *   realm: "example.org",
 *   secret: "north",        // TURN REST API credentials, as turnRestCredentials makes them
 * };
 * const server = await startTurnServer(options);
 * ```
 */
export interface NodeTurnServerOptions extends Omit<TurnServerOptions, "relayAddresses" | "unixTime"> {
  /** Where to listen for clients, UDP and TCP (default `0.0.0.0:3478`; port 0 picks one). */
  readonly listen?: { readonly address: string; readonly port: number };
  /**
   * The relayed addresses' IP: one address, or one IPv4 and one IPv6 (RFC 6156). Default: the
   * listening address when it is a specific one, else the first non-internal IPv4 address of
   * the host (127.0.0.1 when there is none).
   */
  readonly relayIp?: string | readonly string[];
  /** Also accept TURN over TCP on the listening address and port (default true). */
  readonly tcp?: boolean;
  /** Client TCP connections open at once (default 4000); Node closes more as they arrive. */
  readonly maxTcpConnections?: number;
  /**
   * Receive and send buffer size of every UDP socket, bytes (default 4 MiB; the kernel caps it,
   * at `net.core.rmem_max` on Linux). Large buffers ride out the moments when the event loop is
   * busy or descheduled, which is when a relay otherwise drops datagrams.
   */
  readonly socketBufferBytes?: number;
  /** Called with each engine event (relay socket orders are handled before). */
  readonly onEvent?: (event: TurnServerEvent) => void;
}

/**
 * Counters of a running server: the engine's and the sockets'.
 *
 * @example
 * ```ts
 * const s: NodeTurnServerStats = server.stats();
 * console.log(s.allocations, s.relaySockets, s.tcpConnections); // → 2 2 1
 * ```
 */
export interface NodeTurnServerStats extends TurnServerStats {
  /** Relay sockets open (allocations' and reservations'). */
  readonly relaySockets: number;
  /** TCP connections from clients. */
  readonly tcpConnections: number;
}

/**
 * A running TURN server.
 *
 * @example
 * ```ts
 * const server: NodeTurnServer = await startTurnServer({ listen: { address: "127.0.0.1", port: 0 },
 *   realm: "test", users: { user: "pass" }, allowPeer: ["127.0.0.0/8"] });
 * const url = `turn:127.0.0.1:${server.address.port}`; // for connectTurn in a test
 * await server.close();
 * ```
 */
export interface NodeTurnServer {
  /** The UDP listener's address. */
  readonly address: TransportAddress;
  /** The TCP listener's address, if any. */
  readonly tcp: TransportAddress | undefined;
  /** The relayed IP addresses. */
  readonly relayIps: readonly string[];
  /** The engine's counters, and open sockets. */
  stats(): NodeTurnServerStats;
  /** Deletes every allocation and closes every socket. */
  close(): Promise<void>;
}

interface RelaySocket {
  readonly socket: dgram.Socket;
  readonly relayed: TransportAddress;
  bound: boolean;
  closed: boolean;
}

interface TcpConnection {
  readonly socket: net.Socket;
  readonly local: TransportAddress;
  readonly remote: TransportAddress;
  pending: Uint8Array | undefined;
}

const ADDRESS_CACHE_LIMIT = 4096;

function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

function defaultRelayIps(listen: string): string[] {
  if (!isWildcard(listen)) return [listen];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) if (i.family === "IPv4" && !i.internal) return [i.address];
  }
  return ["127.0.0.1"];
}

/**
 * Binds the listeners and starts serving.
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` when the options do not fit (see
 *   {@link TurnServer}) or the listening address cannot be bound
 *
 * @example
 * ```ts
 * const server = await startTurnServer({ realm: "example.org", users: { alice: "s3cret" } }); // 0.0.0.0:3478
 * server.relayIps; // → ["192.0.2.1"]: the host's first non-internal IPv4 address
 * ```
 */
export async function startTurnServer(options: NodeTurnServerOptions): Promise<NodeTurnServer> {
  if (typeof options !== "object" || options === null) throw new IcekitError("INVALID_ARGUMENT", "pass { realm, users | secret, listen?, relayIp?, ports?, allowPeer? }");
  const listen = options.listen ?? { address: "0.0.0.0", port: 3478 };
  const { listen: _l, relayIp, tcp, onEvent, socketBufferBytes, maxTcpConnections, ...engineOptions } = options;
  const maxConnections = maxTcpConnections ?? 4000;
  if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new IcekitError("INVALID_ARGUMENT", `maxTcpConnections ${String(maxConnections)}: pass a positive integer`);
  const buffer = socketBufferBytes ?? 4 * 1024 * 1024;
  if (!Number.isInteger(buffer) || buffer < 0) throw new IcekitError("INVALID_ARGUMENT", `socketBufferBytes ${String(buffer)}: pass a byte count such as 4194304, or 0 for the system default`);
  const relayIps = relayIp === undefined ? defaultRelayIps(listen.address) : typeof relayIp === "string" ? [relayIp] : [...relayIp];
  // The engine reads no clock: REST usernames' expiry is checked against this wall clock.
  const offset = Date.now() - monotonicNow();
  const engine = new TurnServer({ ...engineOptions, relayAddresses: relayIps, unixTime: (now) => (now + offset) / 1000 });
  const runner = new Runner(engine, onEvent, buffer);
  try {
    await runner.listen(listen.address, listen.port, tcp === false ? 0 : maxConnections);
  } catch (e) {
    await runner.close();
    throw e;
  }
  return {
    address: runner.udpAddress!,
    tcp: runner.tcpAddress,
    relayIps,
    stats: () => ({ ...engine.stats(), relaySockets: runner.relaySockets, tcpConnections: runner.tcpConnections }),
    close: () => runner.close(),
  };
}

/** The driver loop: sockets in, engine, sockets out. */
class Runner {
  readonly #engine: TurnServer;
  readonly #onEvent: ((event: TurnServerEvent) => void) | undefined;
  #listener: dgram.Socket | undefined;
  #listenLocal: TransportAddress | undefined;
  #tcpServer: net.Server | undefined;
  readonly #relays: Record<AddressFamily, Map<number, RelaySocket>> = { IPv4: new Map(), IPv6: new Map() };
  readonly #conns = new Map<string, TcpConnection>();
  /** Node's address text → canonical family and address. */
  readonly #addresses = new Map<string, { family: AddressFamily; address: string }>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt: number | undefined;
  #closed = false;
  readonly #bufferBytes: number;
  tcpAddress: TransportAddress | undefined;

  constructor(engine: TurnServer, onEvent: ((event: TurnServerEvent) => void) | undefined, bufferBytes: number) {
    this.#engine = engine;
    this.#onEvent = onEvent;
    this.#bufferBytes = bufferBytes;
  }

  /** Sets a bound socket's buffers; the kernel may cap them, and some platforms refuse. */
  #buffers(socket: dgram.Socket): void {
    if (this.#bufferBytes === 0) return;
    try {
      socket.setRecvBufferSize(this.#bufferBytes);
      socket.setSendBufferSize(this.#bufferBytes);
    } catch {
      // Not fatal: the defaults work, with more loss under load.
    }
  }

  get udpAddress(): TransportAddress | undefined {
    return this.#listenLocal;
  }

  get relaySockets(): number {
    return this.#relays.IPv4.size + this.#relays.IPv6.size;
  }

  get tcpConnections(): number {
    return this.#conns.size;
  }

  /** A UDP socket whose sends skip the DNS lookup dgram does per datagram: addresses are IPs. */
  #createUdp(family: AddressFamily): dgram.Socket {
    const fam = family === "IPv6" ? 6 : 4;
    const lookup = (address: string, _options: unknown, callback: (err: Error | null, address: string, family: number) => void): void => callback(null, address, fam);
    return dgram.createSocket({ type: family === "IPv6" ? "udp6" : "udp4", ipv6Only: family === "IPv6", lookup: lookup as never });
  }

  /** Binds the UDP listener, and the TCP one on the same port unless `maxConnections` is 0. */
  async listen(address: string, port: number, maxConnections: number): Promise<void> {
    const family = address.includes(":") ? "IPv6" : "IPv4";
    const listener = this.#createUdp(family);
    await new Promise<void>((resolve, reject) => {
      listener.once("error", (e: NodeJS.ErrnoException) => {
        listener.close();
        reject(new IcekitError("INVALID_ARGUMENT", `cannot bind UDP ${address}:${port}: ${e.code ?? e.message}`));
      });
      listener.bind(port, address, () => resolve());
    });
    listener.removeAllListeners("error");
    this.#listener = listener;
    this.#buffers(listener);
    const local = udpLocal(listener);
    this.#listenLocal = local;
    listener.on("error", () => {});
    listener.on("message", (data, rinfo) => {
      if (this.#closed) return;
      this.#engine.handleReceive(monotonicNow(), { local, remote: this.#remote(rinfo.address, rinfo.port), transport: "udp", data });
      this.#pump();
    });
    if (maxConnections === 0) return;
    const server = net.createServer((socket) => this.#accept(socket));
    server.maxConnections = maxConnections;
    this.#tcpServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) => reject(new IcekitError("INVALID_ARGUMENT", `cannot listen on TCP ${address}:${local.port}: ${e.code ?? e.message}`)));
      server.listen(local.port, address, () => resolve());
    });
    server.on("error", () => {});
    this.tcpAddress = { ...local };
  }

  /** Canonical transport address for Node's address text, cached per distinct text. */
  #remote(text: string, port: number): TransportAddress {
    let a = this.#addresses.get(text);
    if (a === undefined) {
      const t = fromNode(text, port);
      a = { family: t.family, address: t.address };
      if (this.#addresses.size >= ADDRESS_CACHE_LIMIT) this.#addresses.clear();
      this.#addresses.set(text, a);
    }
    return { family: a.family, address: a.address, port };
  }

  /** Drains the engine: socket orders and events, then transmits, then the timer. */
  #pump(): void {
    const engine = this.#engine;
    for (let e = engine.pollEvent(); e !== undefined; e = engine.pollEvent()) {
      if (e.type === "relay-open") this.#openRelay(e.relayed);
      else if (e.type === "relay-close") this.#closeRelay(e.relayed);
      else this.#onEvent?.(e);
    }
    for (let t = engine.pollTransmit(); t !== undefined; t = engine.pollTransmit()) this.#send(t);
    const at = engine.pollTimeout();
    if (at === this.#timerAt || this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = undefined;
        if (this.#closed) return;
        this.#engine.handleTimeout(monotonicNow());
        this.#pump();
      },
      Math.max(0, Math.ceil(at - monotonicNow())) + 1,
    );
  }

  #send(t: Transmit): void {
    if (t.transport === "udp") {
      const local = t.local;
      let socket: dgram.Socket | undefined;
      if (local === this.#listenLocal) socket = this.#listener;
      else if (local !== undefined) {
        const r = this.#relays[local.family].get(local.port);
        if (r !== undefined && r.bound) socket = r.socket;
        else if (this.#listenLocal !== undefined && sameTransportAddress(local, this.#listenLocal)) socket = this.#listener;
      }
      // No callback: errors (ICMP unreachable on Linux) surface as 'error' events, ignored.
      socket?.send(t.data, t.remote.port, t.remote.address);
      return;
    }
    const c = this.#conns.get(`${t.remote.address}|${t.remote.port}`);
    if (c !== undefined && !c.socket.destroyed) c.socket.write(t.data);
  }

  #openRelay(relayed: TransportAddress): void {
    const map = this.#relays[relayed.family];
    const old = map.get(relayed.port);
    if (old !== undefined) this.#closeEntry(old);
    const socket = this.#createUdp(relayed.family);
    const entry: RelaySocket = { socket, relayed, bound: false, closed: false };
    map.set(relayed.port, entry);
    socket.on("error", (e: NodeJS.ErrnoException) => {
      if (entry.bound || entry.closed) return; // send errors: ignored
      entry.closed = true;
      if (map.get(relayed.port) === entry) map.delete(relayed.port);
      try {
        socket.close();
      } catch {
        // Never bound.
      }
      if (this.#closed) return;
      this.#engine.handleRelayBindFailed(monotonicNow(), relayed, e.code ?? e.message);
      this.#pump();
    });
    socket.on("message", (data, rinfo) => {
      if (entry.closed) return;
      const received: Received = { local: relayed, remote: this.#remote(rinfo.address, rinfo.port), transport: "udp", data };
      this.#engine.handleReceive(monotonicNow(), received);
      this.#pump();
    });
    socket.bind({ port: relayed.port, address: relayed.address, exclusive: true }, () => {
      if (entry.closed) {
        socket.close();
        return;
      }
      entry.bound = true;
      this.#buffers(socket);
      this.#engine.handleRelayBound(monotonicNow(), relayed);
      this.#pump();
    });
  }

  #closeRelay(relayed: TransportAddress): void {
    const map = this.#relays[relayed.family];
    const entry = map.get(relayed.port);
    if (entry !== undefined && entry.relayed.address === relayed.address) this.#closeEntry(entry);
  }

  #closeEntry(entry: RelaySocket): void {
    const map = this.#relays[entry.relayed.family];
    if (map.get(entry.relayed.port) === entry) map.delete(entry.relayed.port);
    if (entry.closed) return;
    entry.closed = true;
    // A socket still binding is closed by its bind callback.
    if (entry.bound) entry.socket.close();
  }

  #accept(socket: net.Socket): void {
    if (this.#closed || socket.remoteAddress === undefined || socket.remotePort === undefined || socket.localAddress === undefined || socket.localPort === undefined) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const remote = fromNode(socket.remoteAddress, socket.remotePort);
    const local = fromNode(socket.localAddress, socket.localPort);
    const key = `${remote.address}|${remote.port}`;
    const c: TcpConnection = { socket, local, remote, pending: undefined };
    this.#conns.set(key, c);
    socket.on("data", (chunk: Buffer) => this.#onData(c, chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      if (this.#conns.get(key) === c) this.#conns.delete(key);
      if (this.#closed) return;
      this.#engine.handleTransportClosed(monotonicNow(), { local, remote, transport: "tcp" });
      this.#pump();
    });
  }

  /** RFC 8656 §12.5: STUN messages and padded ChannelData back to back on the stream. */
  #onData(c: TcpConnection, chunk: Uint8Array): void {
    let buf = chunk;
    if (c.pending !== undefined) {
      buf = new Uint8Array(c.pending.length + chunk.length);
      buf.set(c.pending);
      buf.set(chunk, c.pending.length);
      c.pending = undefined;
    }
    let off = 0;
    try {
      for (;;) {
        const n = streamFrameLength(buf, off);
        if (n === undefined || buf.length - off < n) break;
        this.#engine.handleReceive(monotonicNow(), { local: c.local, remote: c.remote, transport: "tcp", data: buf.subarray(off, off + n) });
        off += n;
      }
    } catch {
      // Neither STUN nor ChannelData: the stream has lost its framing.
      c.socket.destroy();
      return;
    }
    if (off < buf.length) {
      if (buf.length - off > 0x10000 + 20) {
        c.socket.destroy();
        return;
      }
      c.pending = buf.slice(off);
    }
    this.#pump();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#engine.close(monotonicNow());
    this.#pump();
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const map of Object.values(this.#relays)) for (const entry of [...map.values()]) this.#closeEntry(entry);
    for (const c of this.#conns.values()) c.socket.destroy();
    this.#conns.clear();
    const waits: Promise<void>[] = [];
    if (this.#listener !== undefined) {
      const l = this.#listener;
      waits.push(new Promise<void>((resolve) => l.close(() => resolve())));
    }
    if (this.#tcpServer !== undefined) {
      const s = this.#tcpServer;
      waits.push(new Promise<void>((resolve) => s.close(() => resolve())));
    }
    await Promise.all(waits);
  }
}
