/**
 * Gathering server-reflexive and relayed candidates (RFC 8445 §5.1.1.2): a Binding request
 * from each host base to each STUN server of its family, an Allocate on each TURN server, one
 * new transaction per Ta (§14.2, paced by the agent), with the gathering RTO of §14.3:
 * `RTO = MAX (500ms, Ta * (Num-Of-Cands))`.
 *
 * Binding requests run on one {@link StunClient}; each TURN allocation is a {@link TurnClient}.
 * The {@link Gatherer} hands results to the agent through {@link GathererHooks} and keeps the
 * server-reflexive bindings alive with a Binding request every keepalive interval until ICE
 * completes (§5.1.1.4).
 *
 * The TURN clients run `paced`: every new TURN transaction after the Allocate (its signed retry,
 * Refresh, CreatePermission, ChannelBind, the deleting Refresh) and every check that waited for a
 * permission waits for a slot of the agent's pacer like the agent's own transactions (§14.2:
 * "the combination of all transactions from all agents"). The agent asks
 * {@link Gatherer.turnWaiting} and grants slots with {@link Gatherer.releaseTurn}.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { sameTransportAddress } from "../bytes/ip";
import type { HmacFactory } from "../crypto/types";
import type { RandomSource, Received, Transmit, TransportProtocol } from "../engine";
import { MappedAddress, XorMappedAddress } from "../stun/attributes/address";
import { StunClient } from "../stun/client";
import type { StunClientEvent } from "../stun/client";
import { TurnClient } from "../turn/client";
import type { IceTurnServer } from "./agent-types";
import type { LocalCandidate, RelaySender } from "./pair";

/**
 * One TURN allocation made for the agent.
 *
 * @example
 * ```ts
 * const relay = gatherer.relays[0]!; // made by startNext for a TURN server
 * relay.alive;                       // → true once the Allocate succeeded (hooks.onRelayed)
 * relay.send(now, { family: "IPv4", address: "203.0.113.5", port: 9000 }, payload); // → true: CreatePermission, then a Send indication
 * ```
 */
export class RelaySession implements RelaySender {
  readonly turn: TurnClient;
  /** The TURN server's entry in the options and its index among the servers (for priorities). */
  readonly server: IceTurnServer;
  readonly serverIndex: number;
  /** The host base the allocation was made from. */
  readonly base: LocalCandidate;
  /** Relayed candidates made from it (one, or two for a dual allocation). */
  readonly candidates: LocalCandidate[] = [];
  #alive = false;

  constructor(turn: TurnClient, server: IceTurnServer, serverIndex: number, base: LocalCandidate) {
    this.turn = turn;
    this.server = server;
    this.serverIndex = serverIndex;
    this.base = base;
  }

  /** True once allocated, until lost or closed. */
  get alive(): boolean {
    return this.#alive;
  }

  /** @internal */
  setAlive(alive: boolean): void {
    this.#alive = alive;
  }

  /** Sends through the relay (a Send indication, or ChannelData once a channel is bound). */
  send(now: number, peer: TransportAddress, data: Uint8Array): boolean {
    if (!this.#alive) return false;
    try {
      return this.turn.send(now, peer, data);
    } catch {
      return false; // a peer of a family the allocation lacks, an oversized datagram
    }
  }
}

/**
 * What the gatherer tells the agent.
 *
 * @example
 * ```ts
 * const hooks: GathererHooks = {
 *   onReflexive: (now, base, mapped, server, serverIndex) => addLocal(reflexiveCandidate(foundations, base, mapped, server, serverIndex)),
 *   onRelayed: (now, relay, relayed, mapped) => console.log(relayed), // → e.g. [{ family: "IPv4", address: "192.0.2.20", port: 64981 }]
 *   onRelayData: (now, relay, peer, data) => deliver(peer, data),
 *   onRelayLost: (now, relay) => relay.candidates.forEach(failPairs),
 * };
 * ```
 */
export interface GathererHooks {
  /** A Binding or Allocate response gave a server-reflexive address for `base`. */
  onReflexive(now: number, base: LocalCandidate, mapped: TransportAddress, server: TransportAddress, serverIndex: number): void;
  /** An allocation succeeded: `relayed` addresses, `mapped` the server-reflexive one (if sent). */
  onRelayed(now: number, relay: RelaySession, relayed: readonly TransportAddress[], mapped: TransportAddress | undefined): void;
  /** A peer's datagram arrived through `relay`'s allocation on its relayed address `relayed`. */
  onRelayData(now: number, relay: RelaySession, peer: TransportAddress, data: Uint8Array): void;
  /** The allocation is gone (refresh failed, lifetime over, TCP connection closed). */
  onRelayLost(now: number, relay: RelaySession): void;
}

/**
 * Configuration of a {@link Gatherer}.
 *
 * @example
 * ```ts
 * const options: GathererOptions = {
 *   stunServers: [{ family: "IPv4", address: "192.0.2.10", port: 3478 }], turnServers: [],
 *   ta: 50, random: defaultRandom, software: undefined, hmac: undefined, keepalive: 15_000,
 * };
 * const gatherer = new Gatherer(options, hooks);
 * ```
 */
export interface GathererOptions {
  readonly stunServers: readonly TransportAddress[];
  readonly turnServers: readonly IceTurnServer[];
  readonly ta: number;
  readonly random: RandomSource;
  readonly software: string | undefined;
  readonly hmac: HmacFactory | undefined;
  /** Interval of the Binding requests that keep server-reflexive bindings alive (§5.1.1.4). */
  readonly keepalive: number;
}

type Task =
  | { readonly kind: "stun"; readonly base: LocalCandidate; readonly server: TransportAddress; readonly serverIndex: number; readonly refresh: boolean }
  | { readonly kind: "turn"; readonly base: LocalCandidate; readonly server: IceTurnServer; readonly serverIndex: number };

/**
 * Gathers reflexive and relayed candidates for the agent; see the module comment.
 *
 * @example
 * ```ts
 * const gatherer = new Gatherer(options, hooks);
 * gatherer.addBase(hostCandidate(foundations, { family: "IPv4", address: "192.168.1.2", port: 50000 }, 1, 0));
 * gatherer.startNext(now);  // → true: the Binding request to the STUN server, in this Ta slot
 * gatherer.pollTransmit();  // → { local: 192.168.1.2:50000, remote: 192.0.2.10:3478, transport: "udp", data }
 * ```
 */
export class Gatherer {
  readonly #o: GathererOptions;
  readonly #hooks: GathererHooks;
  #stun: StunClient | undefined;
  readonly #pending: Task[] = [];
  /** StunClient transaction id → its task. */
  readonly #inflight = new Map<number, Task & { kind: "stun" }>();
  readonly #relays: RelaySession[] = [];
  /** Allocations not yet answered. */
  #allocating = 0;
  /** Server-reflexive bindings to keep alive: base key + server → next refresh. */
  readonly #bindings = new Map<string, { task: Task & { kind: "stun" }; at: number }>();
  #keepBindings = true;
  #closed = false;
  /** The relay {@link releaseTurn} looks at first: relays take turns, none starves. */
  #turnCursor = 0;

  constructor(options: GathererOptions, hooks: GathererHooks) {
    this.#o = options;
    this.#hooks = hooks;
  }

  /** The allocations made so far. */
  get relays(): readonly RelaySession[] {
    return this.#relays;
  }

  /** True while a first gathering transaction is queued or in flight (refreshes do not count). */
  get busy(): boolean {
    if (this.#allocating > 0) return true;
    if (this.#pending.some((t) => t.kind === "turn" || !t.refresh)) return true;
    for (const t of this.#inflight.values()) if (!t.refresh) return true;
    return false;
  }

  /**
   * True when a TURN client has a new transaction waiting for a pacer slot (RFC 8445 §14.2).
   * Not per data packet: the agent asks it when it paces, and in `pollTimeout`.
   */
  get turnWaiting(): boolean {
    for (const relay of this.#relays) if (relay.turn.pacedWaiting) return true;
    return false;
  }

  /**
   * Sends one waiting TURN transaction in the slot the agent took for it: the relays take turns.
   *
   * @returns true when one went out
   */
  releaseTurn(now: number): boolean {
    const n = this.#relays.length;
    for (let i = 0; i < n; i++) {
      const relay = this.#relays[(this.#turnCursor + i) % n]!;
      if (!relay.turn.pacedWaiting) continue;
      this.#turnCursor = (this.#turnCursor + i + 1) % n;
      // A waiting check whose permission went meanwhile is dropped: the slot is spent anyway
      // (nothing went out, so the 5 ms floor still holds).
      const sent = relay.turn.releasePaced(now);
      this.#drainRelay(now, relay);
      return sent;
    }
    return false;
  }

  /** True when a transaction waits for its Ta slot. */
  get hasPending(): boolean {
    return this.#pending.length > 0;
  }

  /**
   * Queues the transactions for a new host base (§5.1.1.2): a Binding request to each STUN server
   * and an Allocate on each TURN server of its address family. TURN over TCP or TLS allocates from
   * one base per server (the driver opens one connection per server).
   */
  addBase(base: LocalCandidate): void {
    if (this.#closed) return;
    this.#o.stunServers.forEach((server, serverIndex) => {
      if (server.family === base.address.family) this.#pending.push({ kind: "stun", base, server, serverIndex, refresh: false });
    });
    this.#o.turnServers.forEach((server, i) => {
      if (server.address.family !== base.address.family) return;
      const stream = (server.transport ?? "udp") !== "udp";
      const taken = [...this.#relays.map((r) => r), ...this.#pending.filter((t): t is Task & { kind: "turn" } => t.kind === "turn")].some(
        (r) => r.server === server && (stream || r.base.address.family === base.address.family),
      );
      // One allocation per server and family: each relayed candidate costs the server a port.
      if (!taken) this.#pending.push({ kind: "turn", base, server, serverIndex: this.#o.stunServers.length + i });
    });
  }

  /** Starts the next queued transaction (the agent calls this when Ta fires). */
  startNext(now: number): boolean {
    const task = this.#pending.shift();
    if (task === undefined) return false;
    if (task.kind === "stun") {
      const stun = this.#client();
      const id = stun.request(now, { remote: task.server, local: task.base.address });
      this.#inflight.set(id, task);
    } else {
      const transport: TransportProtocol = task.server.transport ?? "udp";
      const turn = new TurnClient({
        server: task.server.address,
        transport,
        username: task.server.username,
        password: task.server.password,
        random: this.#o.random,
        ...(transport === "udp" ? { local: task.base.address } : {}),
        ...(this.#o.software !== undefined ? { software: this.#o.software } : {}),
        ...(this.#o.hmac !== undefined ? { stun: { hmac: this.#o.hmac, rto: { initialRto: this.#rto() } } } : { stun: { rto: { initialRto: this.#rto() } } }),
        copyData: true,
        paced: true,
      });
      const relay = new RelaySession(turn, task.server, task.serverIndex, task.base);
      this.#relays.push(relay);
      this.#allocating++;
      turn.allocate(now);
      turn.releasePaced(now); // this Ta slot is the Allocate's
      this.#drainRelay(now, relay);
    }
    return true;
  }

  /** Stops the server-reflexive keepalives: ICE completed (§5.1.1.4, §8.3). */
  stopBindingRefreshes(): void {
    this.#keepBindings = false;
    this.#bindings.clear();
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const t = this.#pending[i]!;
      if (t.kind === "stun" && t.refresh) this.#pending.splice(i, 1);
    }
  }

  /**
   * Offers a datagram to the STUN client and the TURN clients.
   *
   * @returns true when one of them consumed it
   */
  handleReceive(now: number, r: Received): boolean {
    for (const relay of this.#relays) {
      if (!sameTransportAddress(r.remote, relay.server.address) || r.transport !== relay.turn.transport) continue;
      if (relay.turn.handleReceive(now, r)) {
        this.#drainRelay(now, relay);
        return true;
      }
    }
    if (this.#stun !== undefined && this.#inflight.size > 0 && this.#o.stunServers.some((s) => sameTransportAddress(s, r.remote))) {
      if (this.#stun.handleReceive(now, r)) {
        this.#drainStun(now);
        return true;
      }
    }
    return false;
  }

  /** Retransmissions, refreshes and timeouts of every client. */
  handleTimeout(now: number): void {
    if (this.#stun !== undefined) {
      this.#stun.handleTimeout(now);
      this.#drainStun(now);
    }
    for (const relay of this.#relays) {
      const at = relay.turn.pollTimeout();
      if (at !== undefined && at <= now) {
        relay.turn.handleTimeout(now);
        this.#drainRelay(now, relay);
      }
    }
    for (const [key, b] of this.#bindings) {
      if (b.at > now) continue;
      this.#bindings.delete(key);
      this.#pending.push({ ...b.task, refresh: true });
    }
  }

  /** A transport failure the driver reported (TCP reset, ICMP). */
  handleTransportError(now: number, remote: TransportAddress, transport: TransportProtocol, detail: string): void {
    this.#stun?.handleTransportError(now, remote, transport, detail);
    this.#drainStun(now);
    for (const relay of this.#relays) {
      relay.turn.handleTransportError(now, remote, transport, detail);
      this.#drainRelay(now, relay);
    }
  }

  /** Next datagram of any client. */
  pollTransmit(): Transmit | undefined {
    const t = this.#stun?.pollTransmit();
    if (t !== undefined) return t;
    for (const relay of this.#relays) {
      const rt = relay.turn.pollTransmit();
      if (rt !== undefined) return rt;
    }
    return undefined;
  }

  /** The earliest timer of any client or binding refresh. */
  pollTimeout(): number | undefined {
    let t = this.#stun?.pollTimeout() ?? Infinity;
    for (const relay of this.#relays) t = Math.min(t, relay.turn.pollTimeout() ?? Infinity);
    for (const b of this.#bindings.values()) t = Math.min(t, b.at);
    return t === Infinity ? undefined : t;
  }

  /** Drains TURN events after the agent called into a TURN client (e.g. `send`). */
  drain(now: number): void {
    for (const relay of this.#relays) this.#drainRelay(now, relay);
  }

  /** Deletes every allocation (RFC 8656 §8.1) and drops what is queued. */
  close(now: number): void {
    this.#closed = true;
    this.#pending.length = 0;
    this.#bindings.clear();
    for (const id of this.#inflight.keys()) this.#stun?.cancel(id);
    this.#inflight.clear();
    while (this.#stun?.pollEvent() !== undefined) {
      // cancelled transactions report; nobody listens any more
    }
    for (const relay of this.#relays) {
      relay.setAlive(false);
      relay.turn.close(now);
      while (relay.turn.pollEvent() !== undefined) {
        // the deletion's outcome does not matter to ICE
      }
    }
    this.#allocating = 0;
  }

  /** §14.3: RTO = MAX (500ms, Ta * (Num-Of-Cands)), the candidates being the reflexive and relayed ones sought. */
  #rto(): number {
    const n = this.#o.stunServers.length + this.#o.turnServers.length;
    return Math.max(500, this.#o.ta * n);
  }

  #client(): StunClient {
    return (this.#stun ??= new StunClient({
      random: this.#o.random,
      ...(this.#o.software !== undefined ? { software: this.#o.software } : {}),
      ...(this.#o.hmac !== undefined ? { hmac: this.#o.hmac } : {}),
      rto: { initialRto: this.#rto() },
      // RFC 8445 §5.1.1.2: an agent MUST ignore ALTERNATE-SERVER while gathering.
      followRedirects: false,
    }));
  }

  #drainStun(now: number): void {
    if (this.#stun === undefined) return;
    for (let e = this.#stun.pollEvent(); e !== undefined; e = this.#stun.pollEvent()) this.#onStun(now, e);
  }

  #onStun(now: number, e: StunClientEvent): void {
    const task = this.#inflight.get(e.id);
    if (task === undefined) return;
    this.#inflight.delete(e.id);
    if (this.#closed) return;
    if (e.type === "success") {
      let mapped: TransportAddress | undefined;
      try {
        // §5.1.1.2: "Agents MUST support the backwards-compatibility mode for the Binding request
        // defined in [RFC5389]": an RFC 3489 server answers with MAPPED-ADDRESS only.
        mapped = e.response.get(XorMappedAddress) ?? e.response.get(MappedAddress);
      } catch {
        mapped = undefined;
      }
      if (mapped !== undefined) this.#hooks.onReflexive(now, task.base, mapped, task.server, task.serverIndex);
    }
    if (this.#keepBindings) {
      this.#bindings.set(`${task.base.key}|${task.serverIndex}`, { task, at: now + this.#o.keepalive });
    }
  }

  #drainRelay(now: number, relay: RelaySession): void {
    for (let e = relay.turn.pollEvent(); e !== undefined; e = relay.turn.pollEvent()) {
      if (this.#closed) continue;
      switch (e.type) {
        case "allocated":
          this.#allocating--;
          relay.setAlive(true);
          if (e.mapped !== undefined) this.#hooks.onReflexive(now, relay.base, e.mapped, relay.server.address, relay.serverIndex);
          this.#hooks.onRelayed(now, relay, e.relayed, e.mapped);
          break;
        case "allocation-failed":
          this.#allocating--;
          break;
        case "allocation-lost":
          if (relay.alive) {
            relay.setAlive(false);
            this.#hooks.onRelayLost(now, relay);
          }
          break;
        case "data":
          this.#hooks.onRelayData(now, relay, e.peer, e.data);
          break;
        default:
          break;
      }
    }
  }
}
