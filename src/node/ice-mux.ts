/**
 * Many ICE agents on one UDP port: what a game server or an SFU wants, so that a firewall needs
 * one hole and every client connects to the same address.
 *
 * Every agent created by the mux takes the mux's address as its only host candidate. A datagram
 * arriving on the port goes to the agent it belongs to:
 *
 * - a STUN request by its USERNAME, whose first part is the receiver's ufrag (RFC 8445 §7.2.2:
 *   the sender writes `RFRAG:LFRAG`, the recipient's fragment first); the source address is
 *   then remembered for that agent;
 * - a STUN response or error response by its transaction id, remembered when the agent sent
 *   the request (so server-reflexive gathering through a shared STUN server works too);
 * - anything else (application data, indications) by its source address, learned from the
 *   checks above and from the agent's selected pair.
 *
 * What cannot be routed is dropped and counted. Each agent is run by its own {@link NodeDriver}
 * over a virtual socket that sends through the shared one, so its events arrive exactly as with
 * {@link createIceAgent}. The timers are the mux's: one `setTimeout` for the earliest deadline
 * of a min-heap of every agent's `pollTimeout`, instead of one Node timer per agent, so a timer
 * wake runs every agent that is due at once and re-arming after each datagram costs O(log N).
 * Each agent's `handleTimeout` still runs at its deadline (+1 ms, as the driver does), never
 * earlier and no later than its own timer would have.
 *
 * TURN is not offered on a mux: relayed data from one server would carry no ufrag to route by,
 * and a server on a public address does not need it. The mux must be bound to a concrete
 * address (not 0.0.0.0 or ::), because that address is the candidate every agent signals and
 * Node does not tell which local address a datagram on a wildcard socket was sent to.
 *
 * @example
 * ```ts
 * import { createIceMux } from "icekit/node";
 * const mux = await createIceMux({ address: "203.0.113.5", port: 3478 });
 * // per client, from your signaling:
 * const agent = mux.createAgent({ role: "controlled", lite: true, onEvent: (e) => { ... } });
 * reply({ ufrag: agent.localUfrag, pwd: agent.localPwd });
 * agent.startGathering();
 * ```
 *
 * @module
 */
import type dgram from "node:dgram";
import type { AddressInfo } from "node:net";
import type { TransportAddress } from "../bytes/ip";
import type { Received, Transmit, TransportProtocol } from "../engine";
import { formatTransportAddress } from "../bytes/ip";
import { IcekitError } from "../errors";
import { IceAgent } from "../ice/agent";
import type { IceAgentEvent, IceAgentOptions } from "../ice/agent";
import { isStunMessage } from "../stun/demux";
import { fromNode } from "./address";
import { NodeDriver } from "./driver";
import { monotonicNow } from "./clock";
import { NodeIceAgent, processIcePacer } from "./ice";
import { bindUdp, udpLocal } from "./udp";

/** STUN attribute type of USERNAME (RFC 8489 §14.3). */
const USERNAME = 0x0006;
/** How long a sent request's transaction id is remembered: past RFC 8489's 39.5 s default Ti. */
const TRANSACTION_MEMORY_MS = 45_000;
/** Spent slots at the head of the transaction expiry queue before it is compacted. */
const QUEUE_COMPACT_AT = 1024;

/**
 * Options for {@link createIceMux}.
 *
 * @example
 * ```ts
 * const mux = await createIceMux({ address: "203.0.113.10", port: 3478 } satisfies IceMuxOptions);
 * ```
 */
export interface IceMuxOptions {
  /** Local IP address to bind; must be a concrete address, as it becomes every agent's host candidate. */
  readonly address: string;
  /** UDP port; default 0 (any free port). */
  readonly port?: number;
  /** Cancels the bind. */
  readonly signal?: AbortSignal;
}

/**
 * Options for {@link IceMux.createAgent}.
 *
 * @example
 * ```ts
 * const o: MuxAgentOptions = { role: "controlled", lite: true, onEvent: (e) => e.type === "data" && onPacket(e.data) };
 * const agent = mux.createAgent(o);
 * ```
 */
export interface MuxAgentOptions {
  /** The agent's initial role (RFC 8445 §6.1.1). A server facing full clients is often `controlled` and `lite`. */
  readonly role: "controlling" | "controlled";
  /** Run as an ICE lite agent (RFC 8445 §2.5). */
  readonly lite?: boolean;
  /** STUN servers (already resolved) for a server-reflexive candidate of the mux port. */
  readonly stunServers?: readonly TransportAddress[];
  /** Extra knobs for the pure agent (ufrag, pwd, random source...). */
  readonly agent?: Partial<Omit<IceAgentOptions, "role" | "lite" | "stunServers" | "turnServers">>;
  /** Called with every agent event, synchronously, in order. */
  readonly onEvent?: (event: IceAgentEvent) => void;
}

/**
 * Counters of what the mux did with the datagrams it received.
 *
 * @example
 * ```ts
 * const s: IceMuxStats = mux.stats();
 * // → { agents: 1000, byUfrag: 3810, byTransaction: 2820, byAddress: 912000, dropped: 0 }
 * ```
 */
export interface IceMuxStats {
  /** Agents currently on the mux. */
  agents: number;
  /** STUN requests routed by the ufrag in USERNAME. */
  byUfrag: number;
  /** STUN responses routed by transaction id. */
  byTransaction: number;
  /** Other datagrams routed by their source address. */
  byAddress: number;
  /** Datagrams no agent claimed. */
  dropped: number;
}

interface Entry {
  readonly agent: MuxedIceAgent;
  readonly deliver: (msg: Buffer, rinfo: dgram.RemoteInfo) => void;
  ufrag: string;
  readonly remotes: Set<string>;
  /** Transaction ids of the requests this agent sent that are still remembered. */
  readonly transactions: Set<string>;
  /** Runs the agent's timeout and drains it (what its driver's timer would do). */
  readonly fire: () => void;
  /** The agent's next deadline (its `pollTimeout`), while it is in the timer heap. */
  at: number;
  /** Position in the timer heap, or -1. */
  slot: number;
  removed: boolean;
}

/** A sent request's transaction id, remembered so that its response can be routed back. */
interface Remembered {
  readonly key: string;
  readonly entry: Entry;
  readonly expires: number;
}

/**
 * The engine a muxed agent's {@link NodeDriver} runs: the agent itself, except that
 * `pollTimeout` hands the deadline to the mux's timer heap and tells the driver there is none,
 * so the driver never arms a timer of its own. The driver asks after every drain, which is
 * exactly when the deadline can have changed.
 */
class MuxScheduledEngine {
  readonly #agent: IceAgent;
  readonly #schedule: (at: number | undefined) => void;
  constructor(agent: IceAgent, schedule: (at: number | undefined) => void) {
    this.#agent = agent;
    this.#schedule = schedule;
  }
  handleReceive(now: number, received: Received): boolean {
    return this.#agent.handleReceive(now, received);
  }
  handleTimeout(now: number): void {
    this.#agent.handleTimeout(now);
  }
  handleTransportError(now: number, remote: TransportAddress, transport: TransportProtocol, detail: string): void {
    this.#agent.handleTransportError(now, remote, transport, detail);
  }
  pollTransmit(): Transmit | undefined {
    return this.#agent.pollTransmit();
  }
  pollEvent(): IceAgentEvent | undefined {
    return this.#agent.pollEvent();
  }
  pollTimeout(): number | undefined {
    this.#schedule(this.#agent.pollTimeout());
    return undefined;
  }
}

/**
 * The stand-in socket a muxed agent's {@link NodeDriver} sees: the mux's address, sends through
 * the shared socket, and receives only what the mux routes to it.
 */
class VirtualSocket {
  readonly #mux: IceMux;
  #onMessage: ((msg: Buffer, rinfo: dgram.RemoteInfo) => void) | undefined;
  onClose: (() => void) | undefined;
  constructor(mux: IceMux) {
    this.#mux = mux;
  }
  address(): AddressInfo {
    const l = this.#mux.local;
    return { address: l.address, family: l.family, port: l.port };
  }
  on(event: string, fn: (...args: never[]) => void): this {
    if (event === "message") this.#onMessage = fn as unknown as (msg: Buffer, rinfo: dgram.RemoteInfo) => void;
    return this;
  }
  deliver(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.#onMessage?.(msg, rinfo);
  }
  send(data: Uint8Array, port: number, address: string, cb?: (err: Error | null) => void): void {
    this.#mux.sendFor(this, data, port, address, cb);
  }
  close(): void {
    this.onClose?.();
  }
}

/**
 * An agent on an {@link IceMux}. Its {@link restart} also re-registers the new ufrag with the mux.
 *
 * @example
 * ```ts
 * const agent: MuxedIceAgent = mux.createAgent({ role: "controlled" });
 * signal({ ufrag: agent.localUfrag, pwd: agent.localPwd }); // then startGathering() and the peer's candidates
 * ```
 */
export class MuxedIceAgent extends NodeIceAgent {
  /** @internal set by the mux */
  reindex: (() => void) | undefined;

  /** Restarts ICE (RFC 8445 §9) and tells the mux the new ufrag. */
  override restart(): void {
    super.restart();
    this.reindex?.();
  }
}

/**
 * A UDP port shared by many ICE agents. Create it with {@link createIceMux}, then one agent per
 * peer with {@link IceMux.createAgent}.
 *
 * @example
 * ```ts
 * const mux = await createIceMux({ address: "203.0.113.10", port: 3478 });
 * const player = mux.createAgent({ role: "controlled", onEvent: (e) => forward(e) });
 * // ... every agent's host candidate is 203.0.113.10:3478
 * mux.close();
 * ```
 */
export class IceMux {
  /** The shared socket's address: every agent's host candidate. */
  readonly local: TransportAddress;
  readonly #socket: dgram.Socket;
  readonly #byUfrag = new Map<string, Entry>();
  readonly #bySocket = new Map<VirtualSocket, Entry>();
  readonly #byRemote = new Map<string, Entry>();
  readonly #byTransaction = new Map<string, Remembered>();
  /** Remembered transactions in the order they expire (every one lives TRANSACTION_MEMORY_MS). */
  #expiry: Remembered[] = [];
  #expiryHead = 0;
  /** Min-heap of the agents with a deadline, by `at`. */
  readonly #heap: Entry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt: number | undefined;
  readonly #stats: IceMuxStats = { agents: 0, byUfrag: 0, byTransaction: 0, byAddress: 0, dropped: 0 };
  readonly #decoder = new TextDecoder("utf-8", { fatal: false });
  #closed = false;

  /** @internal Use {@link createIceMux}. */
  constructor(socket: dgram.Socket) {
    this.#socket = socket;
    this.local = udpLocal(socket);
    socket.on("message", (msg, rinfo) => this.#route(msg, rinfo));
    socket.on("error", () => {});
  }

  /**
   * Creates an agent whose host candidate is the mux's address. Signal its `localUfrag` and
   * `localPwd`, then call `startGathering()`; close it with `close()` when the peer leaves.
   */
  createAgent(options: MuxAgentOptions): MuxedIceAgent {
    if (this.#closed) throw new IcekitError("INVALID_STATE", "the mux is closed; create a new one");
    const agentOptions = {
      // All agents of the process share the 5 ms of RFC 8445 §14.2 (see processIcePacer).
      pacer: processIcePacer,
      ...options.agent,
      role: options.role,
      ...(options.lite !== undefined ? { lite: options.lite } : {}),
      ...(options.stunServers && options.stunServers.length > 0 ? { stunServers: [...options.stunServers] } : {}),
    } satisfies IceAgentOptions;
    const agent = new IceAgent(agentOptions);
    const vsock = new VirtualSocket(this);
    let entry: Entry | undefined;
    const engine = new MuxScheduledEngine(agent, (at) => {
      if (entry !== undefined) this.#schedule(entry, at);
    });
    const driver = new NodeDriver<IceAgentEvent>(engine, {
      onEvent: (e) => {
        wrapper.observe(e);
        // The selected pair's remote is where this peer's data will come from.
        if (e.type === "selected-pair" && entry !== undefined) this.#learn(entry, e.remote.address, e.remote.port);
        options.onEvent?.(e);
      },
    });
    driver.addUdpSocket(vsock as unknown as dgram.Socket);
    const wrapper = new MuxedIceAgent(agent, driver, [this.local]);
    entry = {
      agent: wrapper,
      deliver: (m, r) => vsock.deliver(m, r),
      ufrag: agent.localUfrag,
      remotes: new Set(),
      transactions: new Set(),
      fire: () => {
        agent.handleTimeout(monotonicNow());
        driver.pump();
      },
      at: 0,
      slot: -1,
      removed: false,
    };
    const e = entry;
    if (this.#byUfrag.has(e.ufrag)) {
      driver.close();
      throw new IcekitError("INVALID_ARGUMENT", `ufrag '${e.ufrag}' is already in use on this mux; pass another (or none)`);
    }
    this.#byUfrag.set(e.ufrag, e);
    this.#bySocket.set(vsock, e);
    this.#stats.agents++;
    wrapper.reindex = () => {
      if (this.#byUfrag.get(e.ufrag) === e) this.#byUfrag.delete(e.ufrag);
      e.ufrag = agent.localUfrag;
      this.#byUfrag.set(e.ufrag, e);
    };
    vsock.onClose = () => this.#remove(vsock);
    // The mux's address was named by the application (never a wildcard), so it counts as chosen
    // explicitly: a loopback mux is honoured (RFC 8445 §5.1.1.1 leaves out only gathered ones).
    agent.addLocalSocket(monotonicNow(), this.local, 1, { explicit: true });
    wrapper.pump();
    return wrapper;
  }

  /** What the mux routed and dropped so far. */
  stats(): IceMuxStats {
    return { ...this.#stats };
  }

  /** Closes every agent and the shared socket. */
  close(): void {
    if (this.#closed) return;
    for (const e of [...this.#bySocket.values()]) e.agent.close();
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#socket.close();
  }

  /** @internal A muxed agent's transmit: remembers request transaction ids, then sends. */
  sendFor(vsock: VirtualSocket, data: Uint8Array, port: number, address: string, cb?: (err: Error | null) => void): void {
    if (this.#closed) return;
    const entry = this.#bySocket.get(vsock);
    // A STUN request (class bits 0): its response will be routed back by transaction id.
    if (entry !== undefined && isStunMessage(data) && ((data[0]! & 0x01) | (data[1]! & 0x10)) === 0) {
      const now = monotonicNow();
      this.#expire(now);
      const key = transactionKey(data);
      const r: Remembered = { key, entry, expires: now + TRANSACTION_MEMORY_MS };
      this.#byTransaction.set(key, r);
      this.#expiry.push(r);
      entry.transactions.add(key);
    }
    this.#socket.send(data, port, address, cb);
  }

  #route(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.#closed) return;
    const data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    let entry: Entry | undefined;
    if (isStunMessage(data)) {
      const cls = ((data[0]! & 0x01) << 1) | ((data[1]! & 0x10) >> 4);
      if (cls === 0) {
        // RFC 8445 §7.2.2: USERNAME is "RFRAG:LFRAG" as the sender writes it, so the first
        // fragment is the receiver's, ours.
        const username = this.#username(data);
        const colon = username?.indexOf(":") ?? -1;
        if (username !== undefined && colon > 0) {
          entry = this.#byUfrag.get(username.slice(0, colon));
          if (entry !== undefined) {
            this.#stats.byUfrag++;
            this.#learn(entry, rinfo.address, rinfo.port);
          }
        }
      } else if (cls >= 2) {
        const key = transactionKey(data);
        const t = this.#byTransaction.get(key);
        if (t !== undefined) {
          entry = t.entry;
          this.#stats.byTransaction++;
        }
      }
    }
    if (entry === undefined) {
      entry = this.#byRemote.get(remoteKey(rinfo.address, rinfo.port));
      if (entry !== undefined) this.#stats.byAddress++;
    }
    if (entry === undefined) {
      this.#stats.dropped++;
      return;
    }
    entry.deliver(msg, rinfo);
  }

  /** The USERNAME attribute's value, found by walking the attributes (no full decode). */
  #username(data: Uint8Array): string | undefined {
    let off = 20;
    while (off + 4 <= data.length) {
      const type = (data[off]! << 8) | data[off + 1]!;
      const len = (data[off + 2]! << 8) | data[off + 3]!;
      if (off + 4 + len > data.length) return undefined;
      if (type === USERNAME) return this.#decoder.decode(data.subarray(off + 4, off + 4 + len));
      off += 4 + ((len + 3) & ~3);
    }
    return undefined;
  }

  #learn(entry: Entry, address: string, port: number): void {
    const a = fromNode(address, port);
    const key = remoteKey(a.address, a.port);
    const prev = this.#byRemote.get(key);
    if (prev === entry) return;
    prev?.remotes.delete(key);
    this.#byRemote.set(key, entry);
    entry.remotes.add(key);
  }

  /**
   * Forgets the transactions whose memory ran out. They expire in the order they were sent, so
   * this pops the head of a queue: O(1) per send, however many agents share the port. (It used
   * to walk the whole map on every send once it held over 4096 ids, which a few hundred agents
   * reach with consent checks alone: O(N) per send, O(N²) per second.)
   */
  #expire(now: number): void {
    const q = this.#expiry;
    let h = this.#expiryHead;
    while (h < q.length && q[h]!.expires <= now) {
      const r = q[h++]!;
      if (this.#byTransaction.get(r.key) === r) {
        this.#byTransaction.delete(r.key);
        r.entry.transactions.delete(r.key);
      }
    }
    if (h >= QUEUE_COMPACT_AT && h * 2 >= q.length) {
      this.#expiry = q.slice(h);
      h = 0;
    }
    this.#expiryHead = h;
  }

  // -------------------------------------------------------------------------------------------
  // Timers: a min-heap of the agents' deadlines under one Node timer.

  /** Records an agent's new `pollTimeout` (undefined: nothing pending) and re-arms if needed. */
  #schedule(e: Entry, at: number | undefined): void {
    if (e.removed || this.#closed) return;
    if (at === undefined) {
      if (e.slot >= 0) this.#heapRemove(e);
    } else if (e.slot < 0) {
      e.at = at;
      e.slot = this.#heap.length;
      this.#heap.push(e);
      this.#siftUp(e.slot);
    } else if (at !== e.at) {
      const earlier = at < e.at;
      e.at = at;
      if (earlier) this.#siftUp(e.slot);
      else this.#siftDown(e.slot);
    }
    this.#arm();
  }

  #arm(): void {
    const at = this.#heap.length > 0 ? this.#heap[0]!.at : undefined;
    if (at === this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === undefined || this.#closed) return;
    // +1 ms so that the engine's `now >= deadline` holds when the timer fires (as NodeDriver).
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.ceil(at - monotonicNow())) + 1);
  }

  /**
   * Runs every agent whose deadline has come. The due ones are taken out first, so an agent
   * whose new deadline is already past (checks paced at Ta) runs again on the next wake, not in
   * a loop; if an event handler throws, the agents not yet run go back into the heap.
   */
  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = undefined;
    if (this.#closed) return;
    const now = monotonicNow();
    const due: Entry[] = [];
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const e = this.#heap[0]!;
      this.#heapRemove(e);
      due.push(e);
    }
    let i = 0;
    try {
      for (; i < due.length; i++) if (!due[i]!.removed) due[i]!.fire();
    } finally {
      for (i++; i < due.length; i++) {
        const e = due[i]!;
        if (!e.removed && e.slot < 0) this.#schedule(e, e.at);
      }
      this.#arm();
    }
  }

  #heapRemove(e: Entry): void {
    const h = this.#heap;
    const i = e.slot;
    const last = h.pop()!;
    e.slot = -1;
    if (last === e) return;
    h[i] = last;
    last.slot = i;
    this.#siftUp(i);
    this.#siftDown(last.slot);
  }

  #siftUp(i: number): void {
    const h = this.#heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (pe.at <= e.at) break;
      h[i] = pe;
      pe.slot = i;
      i = p;
    }
    h[i] = e;
    e.slot = i;
  }

  #siftDown(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.at < h[l]!.at ? r : l;
      const ce = h[c]!;
      if (ce.at >= e.at) break;
      h[i] = ce;
      ce.slot = i;
      i = c;
    }
    h[i] = e;
    e.slot = i;
  }

  #remove(vsock: VirtualSocket): void {
    const e = this.#bySocket.get(vsock);
    if (e === undefined) return;
    this.#bySocket.delete(vsock);
    this.#stats.agents--;
    e.removed = true;
    if (e.slot >= 0) {
      this.#heapRemove(e);
      this.#arm();
    }
    if (this.#byUfrag.get(e.ufrag) === e) this.#byUfrag.delete(e.ufrag);
    for (const k of e.remotes) if (this.#byRemote.get(k) === e) this.#byRemote.delete(k);
    // Its own transaction ids only (they stay in the expiry queue, which skips them).
    for (const k of e.transactions) if (this.#byTransaction.get(k)?.entry === e) this.#byTransaction.delete(k);
    e.transactions.clear();
  }
}

function remoteKey(address: string, port: number): string {
  return formatTransportAddress(fromNode(address, port));
}

function transactionKey(data: Uint8Array): string {
  let s = "";
  for (let i = 8; i < 20; i++) s += String.fromCharCode(data[i]!);
  return s;
}

/**
 * Binds a UDP port for many ICE agents.
 *
 * @throws {@link IcekitError} when the address is a wildcard or cannot be bound
 *
 * @example
 * ```ts
 * const mux = await createIceMux({ address: "127.0.0.1" });
 * mux.local; // → { family: "IPv4", address: "127.0.0.1", port: 41234 }
 * ```
 */
export async function createIceMux(options: IceMuxOptions): Promise<IceMux> {
  const a = fromNode(options.address, options.port ?? 0);
  if (a.address === "0.0.0.0" || a.address === "::") {
    throw new IcekitError("INVALID_ARGUMENT", `the mux address becomes every agent's host candidate: pass a concrete address, not ${options.address}`);
  }
  const socket = await bindUdp(a.address, a.port, options.signal);
  return new IceMux(socket);
}
