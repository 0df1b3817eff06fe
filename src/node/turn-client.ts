/**
 * The friendly async TURN API: an allocation on a real server, over UDP, TCP or TLS.
 *
 * {@link connectTurn} resolves the server URI (`turn:`, `turns:`, `?transport=tcp`), opens the
 * socket (UDP) or lets the driver open the connection (TCP/TLS), runs a {@link TurnClient} on a
 * {@link NodeDriver} until the Allocate succeeds, and hands back a {@link TurnConnection}: the
 * relayed address, `send`, `createPermission`, `bindChannel`, data as callbacks or an async
 * iterator, and `close`. The allocation, its permissions and its channels are refreshed in the
 * background until `close`.
 *
 * @example
 * ```ts
 * import { connectTurn } from "icekit/node";
 * const turn = await connectTurn("turn:turn.example.org?transport=tcp", { username: "user", password: "pass" });
 * console.log("relayed", turn.relayed);
 * await turn.bindChannel("198.51.100.4:5000");          // optional: 4-byte ChannelData framing
 * turn.send("198.51.100.4:5000", new TextEncoder().encode("hello"));
 * for await (const { peer, data } of turn) { console.log(peer, data); break; }
 * await turn.close();
 * ```
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import type { TransportAddress } from "../bytes/ip";
import { formatTransportAddress, ipFamily, transportAddress } from "../bytes/ip";
import type { TransportProtocol } from "../engine";
import { IcekitError, TransactionError } from "../errors";
import type { StunClientOptions } from "../stun/client";
import { TurnClient } from "../turn/client";
import type { TurnAddressFamily, TurnClientEvent, TurnClientOptions } from "../turn/client-types";
import { streamFrameLength } from "../turn/channel-data";
import { TurnConnectionBind } from "../turn/tcp-allocation";
import { monotonicNow } from "./clock";
import { parseServer, resolveServer } from "./dns";
import { NodeDriver } from "./driver";
import { bindUdp, routeLocalAddress, udpLocal } from "./udp";

/**
 * Options for {@link connectTurn}.
 *
 * @example
 * ```ts
 * const options: ConnectTurnOptions = { username: "user", password: "pass", family: "dual", lifetime: 1200 };
 * const turn = await connectTurn("turn:turn.example.org", options);
 * turn.relayedAddresses.length; // → 2: one IPv4, one IPv6
 * ```
 */
export interface ConnectTurnOptions {
  /** Long-term credential username (for coturn's REST secret, see `turnRestCredentials`). */
  readonly username: string;
  /** Its password. */
  readonly password: string;
  /** Force a transport to the server; default: the URI's (`turn:` UDP, `turns:` TLS, `?transport=tcp`). */
  readonly transport?: TransportProtocol;
  /** Relayed address family: `"IPv4"` (default), `"IPv6"` or `"dual"` (RFC 8656 §7.1). */
  readonly family?: TurnAddressFamily;
  /**
   * `"tcp"` for a TCP allocation (RFC 6062): the relay talks TCP to peers, over data connections
   * opened with {@link TurnConnection.connectTcp} and {@link TurnConnection.onConnection}. Needs a
   * TCP or TLS transport to the server. Default `"udp"`.
   */
  readonly requestedTransport?: "udp" | "tcp";
  /** Requested allocation lifetime, seconds (a hint; the server decides). */
  readonly lifetime?: number;
  /** SOFTWARE attribute for the requests. */
  readonly software?: string;
  /** Local address to bind (UDP); default: the one the kernel routes to the server from. */
  readonly localAddress?: string;
  /** Local UDP port; default any. */
  readonly localPort?: number;
  /** Retransmission knobs (RFC 8489 §6.2.1 defaults: RTO 500 ms, Rc 7, Rm 16; TCP 39.5 s). */
  readonly stun?: StunClientOptions;
  /** TLS options for `turns:` (CA, `rejectUnauthorized`...); SNI defaults to the URI's host name. */
  readonly tls?: tls.ConnectionOptions;
  /** Cancels the connection attempt; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * One datagram a peer sent through the relay.
 *
 * @example
 * ```ts
 * for await (const { peer, data, channel } of turn) console.log(peer.address, data.length, channel);
 * // → 198.51.100.4 5 16384 (on channel 0x4000), or undefined for a Data indication
 * ```
 */
export interface TurnDatagram {
  /** The peer, as the server saw it. */
  readonly peer: TransportAddress;
  /** The payload (its own buffer: keep it as long as you like). */
  readonly data: Uint8Array;
  /** The channel it came on, or undefined for a Data indication. */
  readonly channel: number | undefined;
}

/**
 * A live TURN allocation on Node sockets. Iterating it yields the datagrams peers send (kept,
 * up to 1024, while nobody iterates and no `onData` listener is registered).
 *
 * @example
 * ```ts
 * const turn: TurnConnection = await connectTurn("turn:turn.example.org", { username: "user", password: "pass" });
 * const stop = turn.onData((data, peer) => console.log(peer, data));
 * turn.send("198.51.100.4:5000", new TextEncoder().encode("hello")); // → true; the permission is made first
 * stop();
 * await turn.close();
 * ```
 */
export interface TurnConnection extends AsyncIterable<TurnDatagram> {
  /** The server holding the allocation. */
  readonly server: TransportAddress;
  /** The transport to the server. */
  readonly transport: TransportProtocol;
  /** The local socket or connection address the allocation is tied to (its 5-tuple). */
  readonly local: TransportAddress | undefined;
  /** The relayed transport address (the IPv4 one of a dual allocation). */
  readonly relayed: TransportAddress;
  /** Every relayed address (two for a dual allocation). */
  readonly relayedAddresses: readonly TransportAddress[];
  /** The server-reflexive address the server saw the client at. */
  readonly mapped: TransportAddress | undefined;
  /** The lifetime the server last granted, seconds (refreshed in the background). */
  readonly lifetime: number;
  /** The engine underneath, for stats and for what this wrapper does not expose. */
  readonly client: TurnClient;
  /**
   * Relays `data` to `peer` (`"ip:port"`, `"[v6]:port"` or a transport address): ChannelData when
   * a channel is bound, else a Send indication; the permission is created if missing (the data
   * waits for it).
   *
   * @returns false when the datagram was dropped (the allocation is gone, or too much waits)
   */
  send(peer: TransportAddress | string, data: Uint8Array): boolean;
  /** Installs (and keeps refreshing) a permission for `peer`'s IP; resolves once the server confirms. */
  createPermission(peer: TransportAddress | string): Promise<void>;
  /** Binds a channel to `peer`; resolves with its number once the server confirms. */
  bindChannel(peer: TransportAddress | string): Promise<number>;
  /** Calls `listener` for every datagram from a peer; returns a function that unsubscribes. */
  onData(listener: (data: Uint8Array, peer: TransportAddress, channel: number | undefined) => void): () => void;
  /** Calls `listener` for every engine event (refreshed, allocation-lost, ...); returns an unsubscribe function. */
  onEvent(listener: (event: TurnClientEvent) => void): () => void;
  /**
   * TCP allocations (RFC 6062 §4.3): has the server connect to `peer` (installing the permission
   * for its IP first if needed), opens the data connection and binds it; resolves with that
   * socket, which then carries the peer's bytes as they are.
   */
  connectTcp(peer: TransportAddress | string): Promise<net.Socket>;
  /**
   * TCP allocations (RFC 6062 §4.4): calls `listener` when a permitted peer connects to the
   * relayed address; call `accept()` within 30 s for the bound socket. Returns an unsubscribe
   * function.
   */
  onConnection(listener: (peer: TransportAddress, accept: () => Promise<net.Socket>) => void): () => void;
  /** Resolves when the allocation ends: closed, or lost (with the event saying why). */
  readonly ended: Promise<TurnClientEvent>;
  /** Deletes the allocation (Refresh with lifetime 0) and closes the socket. */
  close(): Promise<void>;
}

/** Datagrams kept for a later iterator when nobody listens. */
const MAX_BUFFERED = 1024;

type Waiter<T> = { resolve: (v: T) => void; reject: (e: unknown) => void };

/**
 * Allocates a relayed address on a TURN server (RFC 8656 §7), like the seed article's
 * `TurnClient().connect(server, username, password)`.
 *
 * @param server - `turn:host[:port]`, `turns:host`, `turn:host?transport=tcp`, or `host[:port]`
 * @param options - credentials and allocation parameters
 * @returns the allocation, refreshed in the background until `close()`
 * @throws {@link TransactionError} when the allocation fails (`code` is the reason, `errorCode`
 *   the STUN error code: 401 wrong credentials, 486 quota, 508 capacity...);
 *   {@link IcekitError} for a bad URI, a name that does not resolve, or missing credentials
 *
 * @example
 * ```ts
 * const turn = await connectTurn("turns:turn.example.org", { username: "user", password: "pass" });
 * turn.relayed; // → { family: "IPv4", address: "203.0.113.1", port: 60533 }
 * ```
 */
export async function connectTurn(server: string, options: ConnectTurnOptions): Promise<TurnConnection> {
  const uri = parseServer(server, "turn");
  const transport = options.transport ?? uri.transport;
  const resolved = await resolveServer(uri, options.signal ? { signal: options.signal } : {});
  const remote = resolved.addresses[0]!;
  const engineOptions: TurnClientOptions = {
    server: remote,
    transport,
    username: options.username,
    password: options.password,
    ...(options.family !== undefined ? { family: options.family } : {}),
    ...(options.requestedTransport !== undefined ? { requestedTransport: options.requestedTransport } : {}),
    ...(options.lifetime !== undefined ? { lifetime: options.lifetime } : {}),
    ...(options.software !== undefined ? { software: options.software } : {}),
    ...(options.stun !== undefined ? { stun: options.stun } : {}),
  };
  const client = new TurnClient(engineOptions);
  const tlsOptions: tls.ConnectionOptions | undefined =
    transport === "tls" ? { ...(uri.hostType === "name" ? { servername: uri.host } : {}), ...options.tls } : undefined;
  const conn = new NodeTurnConnection(client, transport, tlsOptions, options);
  await conn.start(options);
  return conn;
}

class NodeTurnConnection implements TurnConnection {
  readonly client: TurnClient;
  readonly transport: TransportProtocol;
  readonly ended: Promise<TurnClientEvent>;
  readonly #driver: NodeDriver<TurnClientEvent>;
  readonly #dataListeners = new Set<(data: Uint8Array, peer: TransportAddress, channel: number | undefined) => void>();
  readonly #eventListeners = new Set<(event: TurnClientEvent) => void>();
  readonly #buffer: TurnDatagram[] = [];
  readonly #readers: Waiter<IteratorResult<TurnDatagram>>[] = [];
  readonly #permissionWaiters = new Map<string, Waiter<void>[]>();
  readonly #channelWaiters = new Map<number, Waiter<number>[]>();
  readonly #closeWaiters: Waiter<void>[] = [];
  readonly #connectWaiters = new Map<string, Waiter<number>[]>();
  readonly #connectionListeners = new Set<(peer: TransportAddress, accept: () => Promise<net.Socket>) => void>();
  readonly #tls: tls.ConnectionOptions | undefined;
  readonly #options: ConnectTurnOptions;
  #iterators = 0;
  #local: TransportAddress | undefined;
  #connect: Waiter<void> | undefined;
  #end: TurnClientEvent | undefined;
  #resolveEnded!: (e: TurnClientEvent) => void;

  constructor(client: TurnClient, transport: TransportProtocol, tlsOptions: tls.ConnectionOptions | undefined, options: ConnectTurnOptions) {
    this.client = client;
    this.transport = transport;
    this.#tls = tlsOptions;
    this.#options = options;
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    this.#driver = new NodeDriver<TurnClientEvent>(client, {
      onEvent: (e) => this.#onEvent(e),
      ...(tlsOptions !== undefined ? { tls: tlsOptions } : {}),
    });
  }

  get server(): TransportAddress {
    return this.client.server;
  }

  get local(): TransportAddress | undefined {
    return this.#local ?? this.#driver.streamLocal(this.transport, this.client.server);
  }

  get relayed(): TransportAddress {
    return this.client.relayed[0]!;
  }

  get relayedAddresses(): readonly TransportAddress[] {
    return this.client.relayed;
  }

  get mapped(): TransportAddress | undefined {
    return this.client.mapped;
  }

  get lifetime(): number {
    return this.client.lifetime;
  }

  /** Opens the socket, allocates, and resolves once allocated. */
  start(options: ConnectTurnOptions): Promise<void> {
    const signal = options.signal;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#connect = undefined;
        this.#driver.close();
        reject(signal?.reason ?? new Error("aborted"));
      };
      this.#connect = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          this.#driver.close();
          reject(e);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const open = async () => {
        if (this.transport === "udp") {
          const address = options.localAddress ?? (await routeLocalAddress(this.client.server));
          const socket = await bindUdp(address, options.localPort ?? 0, signal);
          this.#driver.addUdpSocket(socket);
          this.#local = udpLocal(socket);
        }
        if (this.#connect === undefined) return; // aborted meanwhile
        this.client.allocate(monotonicNow());
        this.#driver.pump();
      };
      open().catch((e: unknown) => this.#connect?.reject(e));
    });
  }

  send(peer: TransportAddress | string, data: Uint8Array): boolean {
    const ok = this.client.send(monotonicNow(), toPeer(peer, true), data);
    this.#driver.pump();
    return ok;
  }

  createPermission(peer: TransportAddress | string): Promise<void> {
    const addr = toPeer(peer, false);
    if (this.client.hasPermission(addr.address)) return Promise.resolve();
    const ended = this.#endedError("createPermission");
    if (ended) return Promise.reject(ended);
    return new Promise<void>((resolve, reject) => {
      const list = this.#permissionWaiters.get(addr.address) ?? [];
      list.push({ resolve, reject });
      this.#permissionWaiters.set(addr.address, list);
      this.client.createPermission(monotonicNow(), addr);
      this.#driver.pump();
    });
  }

  bindChannel(peer: TransportAddress | string): Promise<number> {
    const addr = toPeer(peer, true);
    const bound = this.client.channelFor(addr);
    if (bound !== undefined) return Promise.resolve(bound);
    const ended = this.#endedError("bindChannel");
    if (ended) return Promise.reject(ended);
    return new Promise<number>((resolve, reject) => {
      const n = this.client.bindChannel(monotonicNow(), addr);
      const list = this.#channelWaiters.get(n) ?? [];
      list.push({ resolve, reject });
      this.#channelWaiters.set(n, list);
      this.#driver.pump();
    });
  }

  async connectTcp(peer: TransportAddress | string): Promise<net.Socket> {
    const addr = toPeer(peer, true);
    await this.createPermission(addr.address);
    const ended = this.#endedError("connectTcp");
    if (ended) throw ended;
    const key = formatTransportAddress(addr);
    const connectionId = await new Promise<number>((resolve, reject) => {
      const list = this.#connectWaiters.get(key) ?? [];
      list.push({ resolve, reject });
      this.#connectWaiters.set(key, list);
      try {
        this.client.connect(monotonicNow(), addr);
      } catch (e) {
        this.#connectWaiters.delete(key);
        reject(e);
        return;
      }
      this.#driver.pump();
    });
    return this.#openDataConnection(connectionId);
  }

  onConnection(listener: (peer: TransportAddress, accept: () => Promise<net.Socket>) => void): () => void {
    this.#connectionListeners.add(listener);
    return () => this.#connectionListeners.delete(listener);
  }

  /**
   * Opens a client data connection to the server from a new local port and binds it to
   * `connectionId` (RFC 6062 §4.3, §4.4). Reads in paused mode until the response, puts back
   * whatever followed it, and hands the socket over as the peer's byte stream.
   */
  #openDataConnection(connectionId: number): Promise<net.Socket> {
    const server = this.client.server;
    const transport = this.transport === "tls" ? "tls" : "tcp";
    const socket = transport === "tls" ? tls.connect({ host: server.address, port: server.port, ...this.#tls }) : net.connect({ host: server.address, port: server.port });
    socket.setNoDelay(true);
    const bind = new TurnConnectionBind({
      server,
      transport,
      username: this.#options.username,
      password: this.#options.password,
      connectionId,
      challenge: this.client.authChallenge,
      ...(this.#options.software !== undefined ? { software: this.#options.software } : {}),
      ...(this.#options.stun !== undefined ? { stun: this.#options.stun } : {}),
    });
    return new Promise<net.Socket>((resolve, reject) => {
      let buffered = new Uint8Array(0);
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const cleanup = () => {
        settled = true;
        if (timer) clearTimeout(timer);
        socket.off("readable", onReadable);
        socket.off("error", onError);
        socket.off("close", onClose);
      };
      const fail = (err: Error) => {
        if (settled) return;
        cleanup();
        socket.destroy();
        reject(err);
      };
      const pump = () => {
        for (let t = bind.pollTransmit(); t !== undefined; t = bind.pollTransmit()) socket.write(t.data);
        for (let e = bind.pollEvent(); e !== undefined; e = bind.pollEvent()) {
          if (e.type === "bound") {
            cleanup();
            // Bytes the peer sent that arrived with the response belong to the application.
            if (buffered.length > 0) socket.unshift(Buffer.from(buffered.buffer, buffered.byteOffset, buffered.length));
            resolve(socket);
          } else {
            fail(new TransactionError(e.reason, `TURN ConnectionBind ${connectionId} to ${formatTransportAddress(server)} failed: ${e.detail}`, e.code));
          }
          return;
        }
        if (timer) clearTimeout(timer);
        const at = bind.pollTimeout();
        if (at !== undefined) {
          timer = setTimeout(() => {
            bind.handleTimeout(monotonicNow());
            pump();
          }, Math.max(0, Math.ceil(at - monotonicNow())) + 1);
        }
      };
      const onReadable = () => {
        for (let chunk: Buffer | null = socket.read(); chunk !== null; chunk = socket.read()) {
          const merged = new Uint8Array(buffered.length + chunk.length);
          merged.set(buffered);
          merged.set(chunk, buffered.length);
          buffered = merged;
        }
        while (!bind.done) {
          let n: number | undefined;
          try {
            n = streamFrameLength(buffered);
          } catch (e) {
            fail(new TransactionError("bad-response", `TURN data connection: ${(e as Error).message}`));
            return;
          }
          if (n === undefined || buffered.length < n) break;
          const frame = buffered.slice(0, n);
          buffered = buffered.slice(n);
          bind.handleReceive(monotonicNow(), { local: server, remote: server, transport, data: frame });
        }
        pump();
      };
      const onError = (e: NodeJS.ErrnoException) => fail(new TransactionError("transport", `TURN data connection to ${formatTransportAddress(server)}: ${e.code ?? e.message}`));
      const onClose = () => fail(new TransactionError("transport", `TURN data connection to ${formatTransportAddress(server)} closed before ConnectionBind finished`));
      socket.on("readable", onReadable);
      socket.on("error", onError);
      socket.on("close", onClose);
      socket.once(transport === "tls" ? "secureConnect" : "connect", () => {
        bind.start(monotonicNow());
        pump();
      });
    });
  }

  onData(listener: (data: Uint8Array, peer: TransportAddress, channel: number | undefined) => void): () => void {
    this.#dataListeners.add(listener);
    return () => this.#dataListeners.delete(listener);
  }

  onEvent(listener: (event: TurnClientEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  [Symbol.asyncIterator](): AsyncIterator<TurnDatagram> {
    this.#iterators++;
    let done = false;
    const finish = (): IteratorResult<TurnDatagram> => {
      if (!done) {
        done = true;
        this.#iterators--;
      }
      return { done: true, value: undefined };
    };
    return {
      next: () => {
        if (done) return Promise.resolve(finish());
        const item = this.#buffer.shift();
        if (item !== undefined) return Promise.resolve({ done: false, value: item });
        if (this.#end !== undefined) return Promise.resolve(finish());
        return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }));
      },
      return: () => Promise.resolve(finish()),
    };
  }

  close(): Promise<void> {
    if (this.#end !== undefined) {
      this.#driver.close();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.#closeWaiters.push({ resolve, reject });
      this.client.close(monotonicNow());
      this.#driver.pump();
    });
  }

  #endedError(what: string): Error | undefined {
    const s = this.client.state;
    if (s === "allocated") return undefined;
    return new IcekitError("INVALID_STATE", `${what}(): the TURN allocation is ${s}${this.#end && "detail" in this.#end ? ` (${this.#end.detail})` : ""}`);
  }

  #onEvent(e: TurnClientEvent): void {
    switch (e.type) {
      case "allocated":
        this.#connect?.resolve();
        this.#connect = undefined;
        break;
      case "allocation-failed":
        this.#connect?.reject(new TransactionError(e.reason, `TURN Allocate to ${formatTransportAddress(this.client.server)} failed: ${e.detail}`, e.code));
        this.#connect = undefined;
        break;
      case "data":
        this.#deliver({ peer: e.peer, data: e.data, channel: e.channel });
        break;
      case "permission-created":
        for (const w of this.#take(this.#permissionWaiters, e.peer)) w.resolve();
        break;
      case "permission-failed":
        for (const w of this.#take(this.#permissionWaiters, e.peer)) {
          w.reject(new TransactionError(e.reason, `TURN CreatePermission for ${e.peer} failed: ${e.detail}`, e.code));
        }
        break;
      case "channel-bound":
        for (const w of this.#take(this.#channelWaiters, e.channel)) w.resolve(e.channel);
        break;
      case "channel-failed":
        for (const w of this.#take(this.#channelWaiters, e.channel)) {
          w.reject(new TransactionError(e.reason, `TURN ChannelBind to ${formatTransportAddress(e.peer)} failed: ${e.detail}`, e.code));
        }
        break;
      case "connection":
        if (e.direction === "outgoing") {
          for (const w of this.#take(this.#connectWaiters, formatTransportAddress(e.peer))) w.resolve(e.connectionId);
        } else {
          const accept = () => this.#openDataConnection(e.connectionId);
          for (const l of this.#connectionListeners) l(e.peer, accept);
        }
        break;
      case "connection-failed":
        for (const w of this.#take(this.#connectWaiters, formatTransportAddress(e.peer))) {
          w.reject(new TransactionError(e.reason, `TURN Connect to ${formatTransportAddress(e.peer)} failed: ${e.detail}`, e.code));
        }
        break;
      case "allocation-lost":
      case "closed":
        this.#ended(e);
        break;
      default:
        break;
    }
    for (const l of this.#eventListeners) l(e);
  }

  #deliver(d: TurnDatagram): void {
    for (const l of this.#dataListeners) l(d.data, d.peer, d.channel);
    const reader = this.#readers.shift();
    if (reader !== undefined) {
      reader.resolve({ done: false, value: d });
      return;
    }
    if (this.#dataListeners.size > 0 && this.#iterators === 0) return;
    if (this.#buffer.length >= MAX_BUFFERED) this.#buffer.shift();
    this.#buffer.push(d);
  }

  #ended(e: Extract<TurnClientEvent, { type: "allocation-lost" | "closed" }>): void {
    if (this.#end !== undefined) return;
    this.#end = e;
    const error = new TransactionError(e.type === "closed" ? "closed" : e.reason, `the TURN allocation ended: ${e.detail}`);
    for (const list of this.#permissionWaiters.values()) for (const w of list) w.reject(error);
    for (const list of this.#channelWaiters.values()) for (const w of list) w.reject(error);
    for (const list of this.#connectWaiters.values()) for (const w of list) w.reject(error);
    this.#permissionWaiters.clear();
    this.#channelWaiters.clear();
    this.#connectWaiters.clear();
    for (const r of this.#readers.splice(0)) r.resolve({ done: true, value: undefined });
    for (const w of this.#closeWaiters.splice(0)) w.resolve();
    // Let the driver finish sending what this turn of the loop queued, then close the socket.
    queueMicrotask(() => this.#driver.close());
    this.#resolveEnded(e);
  }

  #take<K, T>(map: Map<K, Waiter<T>[]>, key: K): Waiter<T>[] {
    const list = map.get(key) ?? [];
    map.delete(key);
    return list;
  }
}

/** Parses `"ip:port"`, `"[v6]:port"` (or a bare IP when `needPort` is false) into a transport address. */
function toPeer(peer: TransportAddress | string, needPort: boolean): TransportAddress {
  if (typeof peer !== "string") return transportAddress(peer.address, peer.port);
  if (ipFamily(peer) !== undefined) {
    if (needPort) throw new IcekitError("INVALID_ARGUMENT", `peer '${peer}' has no port; pass "ip:port" or "[v6]:port"`);
    return transportAddress(peer, 0);
  }
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(peer) ?? /^([^:]+):(\d+)$/.exec(peer);
  if (m === null) throw new IcekitError("INVALID_ARGUMENT", `peer '${peer}': pass "ip:port", "[v6]:port" or a transport address`);
  return transportAddress(m[1]!, Number(m[2]));
}
