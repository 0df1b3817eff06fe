/**
 * The Node.js driver: runs any sans-IO engine on real sockets and a real clock.
 *
 * It is the loop described in `src/engine.ts` and nothing more: datagrams and framed TCP/TLS
 * messages go in through `handleReceive`, transmits come out of `pollTransmit` and go to the
 * socket they name (or the default one of their family), one timer follows `pollTimeout`, and
 * events go to a callback. TCP and TLS connections are opened on the first transmit to a remote
 * and framed as RFC 8489 §6.2.2 and RFC 8656 §12.5 describe (STUN messages and padded
 * ChannelData back to back); a connection that fails is reported to the engine with
 * `handleTransportError`.
 *
 * @module
 */
import type dgram from "node:dgram";
import net from "node:net";
import tls from "node:tls";
import type { TransportAddress } from "../bytes/ip";
import { formatTransportAddress } from "../bytes/ip";
import type { Engine, Received, Transmit, TransportProtocol } from "../engine";
import { streamFrameLength } from "../turn/channel-data";
import { fromNode, fromAddressInfo } from "./address";
import { monotonicNow } from "./clock";

/**
 * An engine the driver can run; `handleTransportError` is optional.
 *
 * @example
 * ```ts
 * const engine: DrivableEngine<StunClientEvent> = new StunClient(); // any Engine with handleReceive
 * const driver = new NodeDriver(engine, { onEvent: (e) => console.log(e.type) });
 * ```
 */
export type DrivableEngine<E> = Engine<E> & {
  handleReceive(now: number, received: Received): unknown;
  handleTransportError?(now: number, remote: TransportAddress, transport: TransportProtocol, detail: string): void;
};

/**
 * Options for a {@link NodeDriver}.
 *
 * @example
 * ```ts
 * const options: NodeDriverOptions<TurnClientEvent> = {
 *   onEvent: (e) => { if (e.type === "data") console.log(e.peer, e.data); },
 *   onUnhandled: (received) => otherProtocol(received.data), // datagrams the TURN client passed back
 *   tls: { servername: "turn.example.org" },
 * };
 * const driver = new NodeDriver(turn, options);
 * ```
 */
export interface NodeDriverOptions<E> {
  /** Called for every event, synchronously while the driver drains the engine. */
  readonly onEvent?: (event: E) => void;
  /** TLS options for `tls` transmits (server name for SNI and certificate checks, CA...). */
  readonly tls?: tls.ConnectionOptions;
  /** Called with each datagram the engine did not want (its `handleReceive` returned false). */
  readonly onUnhandled?: (received: Received) => void;
}

interface StreamConn {
  readonly socket: net.Socket;
  readonly transport: TransportProtocol;
  readonly remote: TransportAddress;
  local: TransportAddress | undefined;
  pending: Uint8Array[];
  buffer: Uint8Array;
  connected: boolean;
}

/**
 * Runs one engine on Node sockets. Call {@link close} when done.
 *
 * @example
 * ```ts
 * const client = new StunClient();
 * const driver = new NodeDriver(client, { onEvent: (e) => { console.log(e.type); driver.close(); } }); // → "success"
 * driver.addUdpSocket(await bindUdp("0.0.0.0"));
 * client.request(monotonicNow(), { remote: { family: "IPv4", address: "192.0.2.1", port: 3478 }, transport: "udp" });
 * driver.pump(); // sends the request and arms the retransmission timer
 * ```
 */
export class NodeDriver<E> {
  readonly #engine: DrivableEngine<E>;
  readonly #options: NodeDriverOptions<E>;
  readonly #udp = new Map<string, { socket: dgram.Socket; local: TransportAddress }>();
  readonly #streams = new Map<string, StreamConn>();
  readonly #servers: net.Server[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt: number | undefined;
  #closed = false;

  /**
   * @param engine - the engine to run
   * @param options - event callback, TLS options
   */
  constructor(engine: DrivableEngine<E>, options: NodeDriverOptions<E> = {}) {
    this.#engine = engine;
    this.#options = options;
  }

  /** Adds a bound UDP socket: datagrams arriving on it go to the engine; transmits can leave from it. */
  addUdpSocket(socket: dgram.Socket): TransportAddress {
    const local = fromAddressInfo(socket.address());
    this.#udp.set(formatTransportAddress(local), { socket, local });
    socket.on("message", (msg, rinfo) => {
      if (this.#closed) return;
      const data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      this.receive({ local, remote: fromNode(rinfo.address, rinfo.port), transport: "udp", data });
    });
    // ICMP errors surface as socket errors on some platforms; they are not fatal to the driver.
    socket.on("error", () => {});
    return local;
  }

  /**
   * Adds a listening TCP (or TLS) server: each accepted connection is framed like an outgoing
   * one, and transmits to that remote go back on it (RFC 8489 §6.3.1.2: the response goes on the
   * connection the request came on).
   */
  addStreamServer(server: net.Server, transport: "tcp" | "tls" = "tcp"): void {
    server.on(transport === "tls" ? "secureConnection" : "connection", (socket: net.Socket) => {
      if (this.#closed || socket.remoteAddress === undefined || socket.remotePort === undefined) {
        socket.destroy();
        return;
      }
      const remote = fromNode(socket.remoteAddress, socket.remotePort);
      const key = `${transport}|${formatTransportAddress(remote)}`;
      const local = socket.localAddress !== undefined && socket.localPort !== undefined ? fromNode(socket.localAddress, socket.localPort) : undefined;
      this.#track(key, { socket, transport, remote, local, pending: [], buffer: new Uint8Array(0), connected: true }, false);
    });
    this.#servers.push(server);
  }

  /** Hands a datagram to the engine and drains it. */
  receive(received: Received): void {
    // Engines that multiplex (STUN client, TURN) return false for datagrams that are not theirs.
    const handled: unknown = this.#engine.handleReceive(monotonicNow(), received);
    if (handled === false) this.#options.onUnhandled?.(received);
    this.pump();
  }

  /** Drains transmits and events, and re-arms the timer. Call after driving the engine directly. */
  pump(): void {
    if (this.#closed) return;
    for (let t = this.#engine.pollTransmit(); t !== undefined; t = this.#engine.pollTransmit()) this.#send(t);
    for (let e = this.#engine.pollEvent(); e !== undefined; e = this.#engine.pollEvent()) this.#options.onEvent?.(e);
    this.#arm();
  }

  /** The local address of the TCP/TLS connection to `remote`, once it is connected. */
  streamLocal(transport: TransportProtocol, remote: TransportAddress): TransportAddress | undefined {
    return this.#streams.get(`${transport}|${formatTransportAddress(remote)}`)?.local;
  }

  /** Stops the timer and closes every socket and connection the driver owns. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const { socket } of this.#udp.values()) {
      try {
        socket.close();
      } catch {
        // Already closed.
      }
    }
    for (const c of this.#streams.values()) c.socket.destroy();
    for (const srv of this.#servers) srv.close();
  }

  #arm(): void {
    const at = this.#engine.pollTimeout();
    if (at === this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === undefined) return;
    // +1 ms so that the engine's `now >= deadline` holds when the timer fires.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = undefined;
      if (this.#closed) return;
      this.#engine.handleTimeout(monotonicNow());
      this.pump();
    }, Math.max(0, Math.ceil(at - monotonicNow())) + 1);
  }

  #send(t: Transmit): void {
    if (t.transport === "udp") {
      const entry = (t.local && this.#udp.get(formatTransportAddress(t.local))) || [...this.#udp.values()].find((u) => u.local.family === t.remote.family);
      if (entry === undefined) {
        this.#engine.handleTransportError?.(monotonicNow(), t.remote, "udp", `no local ${t.remote.family} UDP socket`);
        return;
      }
      entry.socket.send(t.data, t.remote.port, t.remote.address, (err) => {
        if (err && !this.#closed) {
          this.#engine.handleTransportError?.(monotonicNow(), t.remote, "udp", (err as NodeJS.ErrnoException).code ?? err.message);
          this.pump();
        }
      });
      return;
    }
    const key = `${t.transport}|${formatTransportAddress(t.remote)}`;
    let c = this.#streams.get(key);
    if (c === undefined || c.socket.destroyed) c = this.#connect(key, t.remote, t.transport);
    if (c.connected) c.socket.write(t.data);
    else c.pending.push(t.data.slice());
  }

  #connect(key: string, remote: TransportAddress, transport: TransportProtocol): StreamConn {
    const socket =
      transport === "tls"
        ? tls.connect({ host: remote.address, port: remote.port, ...this.#options.tls })
        : net.connect({ host: remote.address, port: remote.port });
    const c: StreamConn = { socket, transport, remote, local: undefined, pending: [], buffer: new Uint8Array(0), connected: false };
    socket.once(transport === "tls" ? "secureConnect" : "connect", () => {
      c.connected = true;
      if (socket.localAddress !== undefined && socket.localPort !== undefined) c.local = fromNode(socket.localAddress, socket.localPort);
      for (const d of c.pending) socket.write(d);
      c.pending = [];
    });
    this.#track(key, c, true);
    return c;
  }

  /** Frames a connection's bytes into the engine; `outgoing` connection failures are reported to it. */
  #track(key: string, c: StreamConn, outgoing: boolean): void {
    this.#streams.set(key, c);
    c.socket.setNoDelay(true);
    c.socket.on("data", (chunk: Buffer) => this.#onStreamData(c, chunk));
    let reported = false;
    const fail = (detail: string) => {
      if (this.#streams.get(key) === c) this.#streams.delete(key);
      if (this.#closed || reported || !outgoing) return;
      reported = true;
      this.#engine.handleTransportError?.(monotonicNow(), c.remote, c.transport, detail);
      this.pump();
    };
    c.socket.on("error", (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    c.socket.on("close", () => fail("connection closed"));
  }

  #onStreamData(c: StreamConn, chunk: Buffer): void {
    const merged = new Uint8Array(c.buffer.length + chunk.length);
    merged.set(c.buffer);
    merged.set(chunk, c.buffer.length);
    let off = 0;
    try {
      for (;;) {
        const n = streamFrameLength(merged, off);
        if (n === undefined || merged.length - off < n) break;
        const frame = merged.slice(off, off + n);
        off += n;
        this.receive({ local: c.local ?? c.remote, remote: c.remote, transport: c.transport, data: frame });
      }
    } catch {
      // The stream lost its framing: nothing after this point can be trusted (RFC 8656 §12.5).
      c.socket.destroy();
      return;
    }
    c.buffer = merged.slice(off);
  }
}
