/**
 * The TURN client (RFC 8656): one allocation on one server, as a sans-IO engine.
 *
 * A {@link TurnClient} creates an allocation (Allocate with REQUESTED-TRANSPORT, and
 * REQUESTED-ADDRESS-FAMILY or ADDITIONAL-ADDRESS-FAMILY for IPv6 and dual allocations, §7.1),
 * keeps it alive with Refresh a minute before it expires (§8), installs permissions with
 * CreatePermission and refreshes them every 240 s (§9, §10), binds channels from 0x4000 upward
 * and rebinds them every 540 s (§12), sends application data in Send indications until a
 * channel is bound and in ChannelData after (§11, §12.5), delivers what peers send from Data
 * indications and ChannelData (§11.4, §12.6), and deletes the allocation with a Refresh of
 * lifetime 0 on {@link TurnClient.close} (§8.1).
 *
 * Its requests run on a {@link StunClient} it owns, which does the retransmissions (RFC 8489
 * §6.2), the long-term credential flow (401, 438 Stale Nonce, PASSWORD-ALGORITHMS, §9.2) and 300
 * Try Alternate (§10). Every request after the first 401 is signed with the realm and nonce the
 * server gave (RFC 8656 §5: the same username for the life of the allocation).
 *
 * The client speaks to the server over UDP, TCP or TLS (§3.1). On TCP and TLS the driver opens the
 * connection on the first transmit and hands each framed message to `handleReceive` (see
 * `streamFrameLength`); the client pads ChannelData to a multiple of 4 there (§12.5).
 *
 * With the `paced` option the owner decides when each new transaction leaves (an ICE agent keeps
 * all of its transactions 5 ms apart, RFC 8445 §14.2): requests, and STUN requests that waited
 * for a permission, wait for {@link TurnClient.releasePaced}; retransmissions, Send indications
 * and ChannelData never wait, so the data path costs nothing more.
 *
 * {@link TurnClient.handleReceive} returns false for anything that is not from the server or
 * not TURN, so that an ICE agent can share the socket: datagrams from the server are demultiplexed
 * on the first byte (RFC 7983: 0-3 STUN, 64-79 ChannelData), and STUN responses the client has no
 * transaction for (an ICE agent's Binding to the same server) are passed back.
 *
 * ```ts
 * const turn = new TurnClient({ server, transport: "udp", username: "user", password: "pass" });
 * turn.allocate(now());
 * const drive = () => {
 *   for (let t; (t = turn.pollTransmit()); ) socket.send(t.data, t.remote.port, t.remote.address);
 *   for (let e; (e = turn.pollEvent()); ) {
 *     if (e.type === "allocated") {
 *       console.log("relayed", e.relayed[0]);
 *       turn.bindChannel(now(), peer);               // or createPermission(now(), peer.address)
 *       turn.send(now(), peer, new TextEncoder().encode("hello"));
 *     } else if (e.type === "data") console.log(e.peer, e.data);
 *     else if (e.type === "allocation-failed" || e.type === "allocation-lost") console.error(e.detail);
 *   }
 *   clearTimeout(timer);
 *   const at = turn.pollTimeout();
 *   if (at !== undefined) timer = setTimer(() => { turn.handleTimeout(now()); drive(); }, at - now());
 * };
 * socket.on("message", (data, rinfo) => {
 *   const remote = { family: "IPv4", address: rinfo.address, port: rinfo.port } as const;
 *   if (!turn.handleReceive(now(), { local, remote, transport: "udp", data })) otherProtocol(data);
 *   drive();
 * });
 * drive();
 * ```
 *
 * Methods, as quinn-proto sorts them: getters ({@link TurnClient.state}, `relayed`, `mapped`,
 * `server`, `lifetime`, {@link TurnClient.channelFor}, {@link TurnClient.hasPermission},
 * {@link TurnClient.stats}); `handle*` (input); mutators ({@link TurnClient.allocate},
 * {@link TurnClient.createPermission}, {@link TurnClient.bindChannel}, {@link TurnClient.send},
 * {@link TurnClient.close}); `poll*` (output: transmits, then events, then the timeout).
 *
 * @module
 */
import type { AddressFamily, TransportAddress } from "../bytes/ip";
import { canonicalIp, formatTransportAddress, ipFamily, sameTransportAddress, transportAddress } from "../bytes/ip";
import { IcekitError } from "../errors";
import { Queue, defaultRandom } from "../engine";
import type { Engine, RandomSource, Received, Transmit, TransportProtocol } from "../engine";
import { XorPeerAddress } from "../stun/attributes/address";
import { ChannelNumber, ConnectionId, Data, Lifetime } from "../stun/attributes/turn";
import { StunMessageBuilder } from "../stun/builder";
import { StunClient, attr } from "../stun/client";
import type { AttributeEntry, StunClientEvent, StunClientOptions } from "../stun/client";
import { MessageClass, Method } from "../stun/constants";
import { messageType } from "../stun/header";
import type { StunMessage } from "../stun/message";
import { channelDataLength, decodeChannelData, encodeChannelDataInto } from "./channel-data";
import { ChannelTable } from "./client-channels";
import { allocateAttributes, checkTurnOptions, isChallenge, parseAllocateSuccess, parseConnectionAttempt, parseDataIndication } from "./client-messages";
import type { CheckedTurnOptions } from "./client-messages";
import type { ChannelEntry } from "./client-channels";
import type { TurnConnectionBind } from "./tcp-allocation"; // for {@link}s only
import { TURN_CHANNEL_REFRESH_MS, TURN_DEFAULT_LIFETIME_S, TURN_PERMISSION_REFRESH_MS } from "./client-types";
import type {
  TurnClientEvent,
  TurnClientOptions,
  TurnClientState,
  TurnClientStats,
  TurnFailureReason,
} from "./client-types";

/** Message type of a Data indication (RFC 8656 §11.4): what a server relays peers' data in. */
const DATA_INDICATION = /* @__PURE__ */ messageType(Method.Data, MessageClass.Indication);

/** Message type of a ConnectionAttempt indication (RFC 6062 §4.4): a peer connected to a TCP relay. */
const CONNECTION_ATTEMPT = /* @__PURE__ */ messageType(Method.ConnectionAttempt, MessageClass.Indication);

/** One permission (RFC 8656 §9), keyed by the peer's IP address. */
interface PermissionEntry {
  /** The address sent in XOR-PEER-ADDRESS (the port is ignored by the server). */
  readonly peer: TransportAddress;
  /** `pending` until the server confirms it, then `active`. */
  state: "pending" | "active";
  /** The CreatePermission transaction in flight, if any. */
  tx: number | undefined;
  /** When to refresh it (ms); meaningful when active. */
  refreshAt: number;
  /** Datagrams {@link TurnClient.send} holds until the permission is active. */
  queue: { peer: TransportAddress; data: Uint8Array }[] | undefined;
  /** Whether `permission-created` was reported. */
  announced: boolean;
}

/** What a StunClient transaction was for. */
type PendingTx =
  | { readonly kind: "allocate"; readonly at: number }
  | { readonly kind: "refresh"; readonly at: number }
  | { readonly kind: "delete"; readonly at: number }
  | { readonly kind: "permission"; readonly at: number; readonly ip: string }
  | { readonly kind: "channel"; readonly at: number; readonly channel: ChannelEntry }
  | { readonly kind: "connect"; readonly at: number; readonly peer: TransportAddress; readonly key: string };

type Counters = { -readonly [K in Exclude<keyof TurnClientStats, "state" | "permissions" | "channels" | "stun">]: number };

/**
 * Sans-IO TURN client for one allocation: see the module comment.
 *
 * @example
 * ```ts
 * const turn = new TurnClient({ server, username: "user", password: "pass" });
 * turn.allocate(now);
 * turn.pollTransmit(); // → { remote: server, transport: "udp", data: <the Allocate request> }
 * // hand the server's answers to turn.handleReceive(now, received): after the 401 and the
 * // signed retry, pollEvent() gives { type: "allocated", relayed: [...], lifetime: 600, ... }
 * turn.send(now, { family: "IPv4", address: "198.51.100.4", port: 5000 }, payload); // → true
 * ```
 */
export class TurnClient implements Engine<TurnClientEvent> {
  readonly #stun: StunClient;
  readonly #transport: TransportProtocol;
  readonly #username: string;
  readonly #password: string;
  readonly #local: TransportAddress | undefined;
  readonly #random: RandomSource;
  readonly #lifetimeRequest: number | undefined;
  readonly #checked: CheckedTurnOptions;
  readonly #tcpRelay: boolean;
  /** Peers with a Connect in flight (RFC 6062 §4.3: never two at once for one peer). */
  readonly #connecting = new Set<string>();
  readonly #options: TurnClientOptions;
  readonly #marginMs: number;
  readonly #maxQueued: number;
  readonly #copy: boolean;
  readonly #fingerprint: boolean;
  readonly #padded: boolean;
  readonly #paced: boolean;
  /**
   * With `paced`: STUN requests (ICE checks) that waited for a permission, each for a slot of its
   * own once the permission is active (see {@link releasePaced}).
   */
  readonly #heldRequests = new Queue<{ peer: TransportAddress; data: Uint8Array }>();
  readonly #builder = new StunMessageBuilder();
  readonly #tid = new Uint8Array(12);
  readonly #transmits = new Queue<Transmit>();
  readonly #events = new Queue<TurnClientEvent>();
  readonly #pending = new Map<number, PendingTx>();
  readonly #permissions = new Map<string, PermissionEntry>();
  readonly #channels = new ChannelTable();
  readonly #counters: Counters = {
    refreshes: 0,
    sendIndications: 0,
    channelDataSent: 0,
    bytesSent: 0,
    dataIndications: 0,
    channelDataReceived: 0,
    bytesReceived: 0,
    foreign: 0,
    droppedMalformed: 0,
    droppedUnknownChannel: 0,
    droppedNoPermission: 0,
    droppedSends: 0,
  };
  #server: TransportAddress;
  #state: TurnClientState = "idle";
  #relayed: readonly TransportAddress[] = [];
  #mapped: TransportAddress | undefined;
  #lifetime = 0;
  #expiresAt = Infinity;
  #refreshAt = Infinity;
  #refreshTx: number | undefined;
  /** The last 401/438 with REALM and NONCE the server sent: what signs RFC 6062 ConnectionBinds. */
  #challenge: Uint8Array | undefined;

  /**
   * @param options - server, transport, credentials and allocation parameters; see {@link TurnClientOptions}
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for a bad server address, transport, family,
   *   lifetime or margin, or attribute combinations RFC 8656 §7.1 forbids (RESERVATION-TOKEN with
   *   a family or EVEN-PORT; ADDITIONAL-ADDRESS-FAMILY with EVEN-PORT R=1);
   *   `MISSING_CREDENTIAL` without a username or password
   */
  constructor(options: TurnClientOptions) {
    const checked = checkTurnOptions(options);
    this.#checked = checked;
    this.#server = checked.server;
    this.#options = options;
    this.#transport = checked.transport;
    this.#padded = checked.transport !== "udp";
    this.#username = options.username;
    this.#password = options.password;
    this.#local = options.local;
    this.#random = options.random ?? options.stun?.random ?? defaultRandom;
    this.#lifetimeRequest = options.lifetime;
    this.#tcpRelay = checked.tcpRelay;
    this.#marginMs = checked.marginMs;
    this.#maxQueued = checked.maxQueued;
    this.#copy = options.copyData ?? false;
    this.#fingerprint = options.stun?.fingerprint ?? true;
    this.#paced = options.paced ?? false;
    const stunOptions: StunClientOptions = {
      ...options.stun,
      ...(this.#paced ? { holdAttempts: true } : {}),
      random: this.#random,
      ...(options.software !== undefined ? { software: options.software } : {}),
    };
    this.#stun = new StunClient(stunOptions);
  }

  // ---------------------------------------------------------------------------------------------
  // Getters

  /** Where the allocation is in its life. */
  get state(): TurnClientState {
    return this.#state;
  }

  /** The server the client talks to: the configured one, or the alternate a 300 sent it to. */
  get server(): TransportAddress {
    return this.#server;
  }

  /** The relayed transport addresses, once allocated (two for a dual allocation). */
  get relayed(): readonly TransportAddress[] {
    return this.#relayed;
  }

  /** The server-reflexive address from the Allocate response, once allocated. */
  get mapped(): TransportAddress | undefined {
    return this.#mapped;
  }

  /** The lifetime the server granted in the last Allocate or Refresh response, seconds. */
  get lifetime(): number {
    return this.#lifetime;
  }

  /** The transport to the server. */
  get transport(): TransportProtocol {
    return this.#transport;
  }

  /**
   * The bytes of the last 401 or 438 response with a NONCE that the server sent this client
   * (a copy), or undefined before the first. A {@link TurnConnectionBind} signs its request with
   * the realm, nonce and password algorithm it carries (RFC 6062 §4.3: the data connection
   * authenticates with the control connection's credentials; coturn closes a data connection
   * whose first ConnectionBind is not signed with them).
   */
  get authChallenge(): Uint8Array | undefined {
    return this.#challenge;
  }

  /** The number of the channel bound to `peer`, or undefined while none is bound. */
  channelFor(peer: TransportAddress): number | undefined {
    const ch = this.#channelOf(peer);
    return ch?.state === "bound" ? ch.number : undefined;
  }

  /** True while the server has a permission for `peer`'s IP address, as far as the client knows. */
  hasPermission(peer: string | TransportAddress): boolean {
    const ip = typeof peer === "string" ? peer : peer.address;
    const p = this.#permissions.get(ip) ?? this.#permissions.get(safeCanonical(ip));
    return p?.state === "active";
  }

  /** Counters and table sizes. */
  stats(): TurnClientStats {
    let permissions = 0;
    for (const p of this.#permissions.values()) if (p.state === "active") permissions++;
    let channels = 0;
    for (const c of this.#channels.values()) if (c.state === "bound") channels++;
    return { state: this.#state, ...this.#counters, permissions, channels, stun: this.#stun.stats() };
  }

  // ---------------------------------------------------------------------------------------------
  // Input

  /**
   * Hands in a datagram or framed message. Returns true when it was the TURN server's and TURN
   * (a response to this client's transaction, a Data indication, ChannelData), false otherwise
   * (another source, another transport or local socket, another protocol, a response to someone
   * else's transaction) so the caller can pass it on. Never throws on bad bytes: malformed TURN
   * messages are dropped and counted.
   */
  handleReceive(now: number, received: Received): boolean {
    const d = received.data;
    const first = d[0];
    if (
      first === undefined ||
      received.transport !== this.#transport ||
      (this.#local !== undefined && received.transport === "udp" && !sameTransportAddress(received.local, this.#local))
    ) {
      this.#counters.foreign++;
      return false;
    }
    if (!sameTransportAddress(received.remote, this.#server)) {
      // Only a response can come from elsewhere: from the alternate a 300 sent the Allocate to
      // (RFC 8489 §10), matched by its transaction id.
      const handled = first <= 3 && this.#stun.handleReceive(now, received);
      if (handled) this.#pump(now);
      else this.#counters.foreign++;
      return handled;
    }
    // RFC 7983 §7 / RFC 8656 §12: 64-79 is ChannelData, 0-3 is STUN, anything else is not TURN.
    if (first >= 0x40 && first <= 0x4f) {
      this.#onChannelData(d);
      return true;
    }
    if (first > 3) {
      this.#counters.foreign++;
      return false;
    }
    if (d.length >= 20) {
      const type = (first << 8) | d[1]!;
      if (type === DATA_INDICATION) {
        this.#onDataIndication(d);
        return true;
      }
      if (type === CONNECTION_ATTEMPT) {
        this.#onConnectionAttempt(d);
        return true;
      }
    }
    const handled = this.#stun.handleReceive(now, received);
    // An error response (class bits 11) that was ours: keep it when it is a challenge.
    if (handled && (first & 0x01) === 0x01 && (d[1]! & 0x10) === 0x10 && isChallenge(d)) this.#challenge = d.slice();
    this.#pump(now);
    if (!handled) this.#counters.foreign++;
    return handled;
  }

  /** Runs retransmissions, refreshes (allocation, permissions, channels) and the expiry check. */
  handleTimeout(now: number): void {
    this.#stun.handleTimeout(now);
    this.#pump(now);
    if (this.#state !== "allocated") return;
    if (now >= this.#expiresAt) {
      this.#lose("expired", undefined, `the allocation's ${this.#lifetime} s lifetime ran out without a successful Refresh`);
      return;
    }
    if (this.#refreshTx === undefined && now >= this.#refreshAt) this.#sendRefresh(now);
    for (const p of this.#permissions.values()) {
      if (p.state === "active" && p.tx === undefined && now >= p.refreshAt) this.#sendCreatePermission(now, p);
    }
    for (const c of this.#channels.values()) {
      if (c.state === "bound" && c.tx === undefined && now >= c.refreshAt) this.#sendChannelBind(now, c);
    }
    this.#pump(now);
  }

  /**
   * The driver reports that the transport to `remote` failed (TCP reset, connection closed, a hard
   * ICMP error). Requests in flight on it fail; on TCP and TLS, the allocation dies with the
   * connection that created it (RFC 8656 §3.2: the 5-tuple identifies it), so `allocation-lost`.
   */
  handleTransportError(now: number, remote: TransportAddress, transport: TransportProtocol, detail = "transport error"): void {
    this.#stun.handleTransportError(now, remote, transport, detail);
    this.#pump(now);
    if (transport !== this.#transport || transport === "udp" || !sameTransportAddress(remote, this.#server)) return;
    if (this.#state === "allocated") this.#lose("transport", undefined, `the ${transport} connection to ${formatTransportAddress(remote)} failed: ${detail}`);
    else if (this.#state === "closing") this.#finishClose(`the connection closed before the deallocation was confirmed: ${detail}`);
  }

  // ---------------------------------------------------------------------------------------------
  // Mutators

  /**
   * Sends the Allocate request (RFC 8656 §7.1). The first usually gets 401 with REALM and NONCE;
   * the client then retries with credentials on its own.
   *
   * @throws {@link IcekitError} `INVALID_STATE` unless the client is idle (one allocation per
   *   client: for another, make another client on another local port, RFC 8656 §3.2)
   */
  allocate(now: number): void {
    if (this.#state !== "idle") throw new IcekitError("INVALID_STATE", `allocate() on a client that is ${this.#state}: create a new TurnClient`);
    this.#state = "allocating";
    const attributes = allocateAttributes(this.#options, this.#checked);
    this.#request(now, Method.Allocate, attributes, { kind: "allocate", at: now });
    this.#pump(now);
  }

  /**
   * Installs a permission for `peer`'s IP address (RFC 8656 §9, §10.1) and keeps refreshing it
   * every 240 s for the life of the allocation. Before the allocation exists the request waits
   * for it. Calling it again for the same IP does nothing. Reports `permission-created` or
   * `permission-failed`.
   *
   * @param peer - the peer's IP address, or a transport address (the port is sent but ignored)
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for a string that is not an IP address;
   *   `INVALID_STATE` once the client is closing, closed or failed
   */
  createPermission(now: number, peer: string | TransportAddress): void {
    this.#checkUsable("createPermission");
    const addr = typeof peer === "string" ? ipOnly(peer) : transportAddress(peer.address, peer.port);
    if (!this.#permissions.has(addr.address)) {
      const p = this.#addPermission(addr);
      if (this.#state === "allocated") this.#startPermission(now, p);
    }
    this.#pump(now);
  }

  /**
   * Binds a channel to `peer` (RFC 8656 §12.1): the number it had before if RFC 8656 §12's five
   * minute rule still ties them, else the lowest free number from 0x4000. The binding installs the
   * permission for the peer's IP too, and the client rebinds it every 540 s. Until the server
   * confirms, {@link send} keeps using Send indications (§12: "A client that wishes to be safe
   * should ... use Send indications until the channel binding is confirmed"); ChannelData from the
   * server on the channel is accepted at once. Reports `channel-bound` or `channel-failed`.
   *
   * @returns the channel number (also when the peer already has one)
   * @throws {@link IcekitError} `INVALID_STATE` once the client is closing, closed or failed, on a
   *   TCP allocation, or when all 4096 channel numbers are bound or held
   */
  bindChannel(now: number, peer: TransportAddress): number {
    this.#checkUsable("bindChannel");
    this.#checkUdpRelay("bindChannel");
    const addr = transportAddress(peer.address, peer.port);
    const existing = this.#channels.byPeer(addr.address, addr.port);
    if (existing !== undefined) return existing.number;
    const ch = this.#channels.add(now, addr);
    if (ch === undefined) {
      throw new IcekitError("INVALID_STATE", "all 4096 channel numbers (0x4000-0x4FFF) are bound or held for five minutes (RFC 8656 §12); use send() without a channel");
    }
    // The permission the binding installs (§12.1); data sent meanwhile waits in its queue.
    if (!this.#permissions.has(addr.address)) this.#addPermission(addr);
    if (this.#state === "allocated") this.#startChannel(now, ch);
    this.#pump(now);
    return ch.number;
  }

  /**
   * Sends `data` to `peer` through the relay: as ChannelData when a channel to `peer` is bound
   * (4 bytes of overhead, §12.5), else as a Send indication (§11.1).
   *
   * RFC 8656 §11.1: "the client MUST ensure that there is a permission installed for the IP
   * address of the peer". When there is none, `send` creates it (as {@link createPermission}
   * would, refreshed from then on) and holds the data until the server confirms it, up to
   * `maxQueuedPerPeer` datagrams; if the permission fails, they are dropped. Data for a peer is
   * also held while the allocation is still being created.
   *
   * The ChannelData path allocates the output datagram and nothing else.
   *
   * @param data - the payload, at most 65535 bytes; not kept after the call (copied when queued)
   * @returns true when sent or queued; false when dropped (queue full, no allocation, or the
   *   peer's family has no relayed address); drops are counted in `droppedSends`
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for a bad peer address or more than 65535 bytes;
   *   `INVALID_STATE` on a TCP allocation (RFC 6062 relays over data connections)
   */
  send(now: number, peer: TransportAddress, data: Uint8Array): boolean {
    if (this.#tcpRelay) this.#checkUdpRelay("send");
    let ch = this.#channels.byPeer(peer.address, peer.port);
    if (ch === undefined) {
      peer = transportAddress(peer.address, peer.port);
      ch = this.#channels.byPeer(peer.address, peer.port);
    }
    if (ch?.state === "bound" && this.#state === "allocated") {
      this.#sendChannelData(ch, data);
      return true;
    }
    if (data.length > 0xffff) throw new IcekitError("INVALID_ARGUMENT", `send: ${data.length} bytes; a relayed UDP datagram carries at most 65535`);
    if (this.#state !== "idle" && this.#state !== "allocating" && this.#state !== "allocated") {
      this.#counters.droppedSends++;
      return false;
    }
    let p = this.#permissions.get(peer.address);
    if (p === undefined) {
      if (this.#state === "allocated" && !this.#relayedFamily(peer.family)) {
        this.#counters.droppedSends++;
        return false;
      }
      p = this.#addPermission(peer);
      if (this.#state === "allocated") this.#startPermission(now, p);
    }
    if (p.state === "active" && this.#state === "allocated") {
      this.#sendIndication(peer, data);
    } else {
      const q = (p.queue ??= []);
      if (q.length >= this.#maxQueued) {
        this.#counters.droppedSends++;
        this.#pump(now);
        return false;
      }
      q.push({ peer, data: data.slice() });
    }
    this.#pump(now);
    return true;
  }

  /**
   * RFC 6062 §4.3, TCP allocations: asks the server to open a TCP connection from the relayed
   * address to `peer` (a Connect request on the control connection). Reports `connection` with
   * the CONNECTION-ID to bind on a new connection (see `TurnConnectionBind`), or
   * `connection-failed` (447: the peer did not answer; wait 10 s before retrying). The server
   * checks permissions, so install one for the peer's IP first ({@link createPermission}).
   *
   * @throws {@link IcekitError} `INVALID_STATE` unless this is an allocated TCP allocation, or
   *   while a Connect to the same peer is in flight (§4.3: "MUST NOT be sent simultaneously")
   */
  connect(now: number, peer: TransportAddress): void {
    if (!this.#tcpRelay) throw new IcekitError("INVALID_STATE", 'connect() needs a TCP allocation: pass requestedTransport: "tcp" (RFC 6062)');
    if (this.#state !== "allocated") throw new IcekitError("INVALID_STATE", `connect() on a TURN client that is ${this.#state}; wait for the allocated event`);
    const addr = transportAddress(peer.address, peer.port);
    const key = `${addr.address}|${addr.port}`;
    if (this.#connecting.has(key)) throw new IcekitError("INVALID_STATE", `a Connect to ${formatTransportAddress(addr)} is already in flight (RFC 6062 §4.3)`);
    this.#connecting.add(key);
    this.#request(now, Method.Connect, [attr(XorPeerAddress, addr)], { kind: "connect", at: now, peer: addr, key });
    this.#pump(now);
  }

  /**
   * Deletes the allocation: a Refresh with LIFETIME 0 (RFC 8656 §8.1), after which `closed` is
   * reported (also when the server answers 437: it was already gone, §8.3). Requests in flight are
   * cancelled and nothing is refreshed any more. While the Allocate is still in flight the
   * deletion is sent too, in case the server created it. Calling it again does nothing.
   */
  close(now: number): void {
    const was = this.#state;
    if (was === "closing" || was === "closed" || was === "failed") return;
    this.#cancelAll();
    this.#dropTables();
    if (was === "idle") {
      this.#state = "closed";
      this.#events.push({ type: "closed", detail: "closed before allocating" });
      return;
    }
    this.#state = "closing";
    this.#request(now, Method.Refresh, [attr(Lifetime, 0)], { kind: "delete", at: now });
    this.#pump(now);
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  /**
   * With the `paced` option: true while a new transaction waits for {@link releasePaced} (a
   * request, or an ICE check that waited for its permission). The owner gives it a send time
   * from its pacer and calls {@link releasePaced} then.
   */
  get pacedWaiting(): boolean {
    return this.#stun.heldAttempts > 0 || this.#heldRequests.length > 0;
  }

  /**
   * With the `paced` option: sends the next waiting transaction now, requests first (in the
   * order they were made), then the checks that waited for a permission. One call, one new
   * transaction id on the wire: the owner calls it once per pacing slot.
   *
   * @returns false when nothing waited (or what waited could no longer be sent)
   */
  releasePaced(now: number): boolean {
    if (this.#stun.releaseAttempt(now)) {
      this.#pump(now);
      return true;
    }
    const item = this.#heldRequests.shift();
    if (item === undefined) return false;
    if (this.#state !== "allocated") {
      this.#counters.droppedSends++; // the allocation went while it waited
      return false;
    }
    const ch = this.#channels.byPeer(item.peer.address, item.peer.port);
    if (ch?.state === "bound") this.#sendChannelData(ch, item.data);
    else if (this.hasPermission(item.peer)) this.#sendIndication(item.peer, item.data);
    else {
      this.#counters.droppedSends++; // the permission was lost while it waited
      return false;
    }
    return true;
  }

  /** Next datagram or framed message to send, in the order the client produced them. */
  pollTransmit(): Transmit | undefined {
    return this.#transmits.shift();
  }

  /** Next event. */
  pollEvent(): TurnClientEvent | undefined {
    return this.#events.shift();
  }

  /** The earliest retransmission, refresh or expiry, or undefined when nothing is pending. */
  pollTimeout(): number | undefined {
    let t = this.#stun.pollTimeout() ?? Infinity;
    if (this.#state === "allocated") {
      if (this.#expiresAt < t) t = this.#expiresAt;
      if (this.#refreshTx === undefined && this.#refreshAt < t) t = this.#refreshAt;
      for (const p of this.#permissions.values()) if (p.state === "active" && p.tx === undefined && p.refreshAt < t) t = p.refreshAt;
      for (const c of this.#channels.values()) if (c.state === "bound" && c.tx === undefined && c.refreshAt < t) t = c.refreshAt;
    }
    return t === Infinity ? undefined : t;
  }

  // ---------------------------------------------------------------------------------------------
  // Requests

  #request(now: number, method: number, attributes: readonly AttributeEntry<any>[], pending: PendingTx): number { // eslint-disable-line @typescript-eslint/no-explicit-any
    const id = this.#stun.request(now, {
      remote: this.#server,
      transport: this.#transport,
      method,
      attributes,
      auth: { kind: "long-term", username: this.#username, password: this.#password },
      ...(this.#local !== undefined ? { local: this.#local } : {}),
    });
    this.#pending.set(id, pending);
    return id;
  }

  #sendRefresh(now: number): void {
    const attributes = this.#lifetimeRequest !== undefined ? [attr(Lifetime, this.#lifetimeRequest)] : [];
    this.#refreshTx = this.#request(now, Method.Refresh, attributes, { kind: "refresh", at: now });
  }

  /** Sends CreatePermission for `p`, or fails it locally when no relayed address has its family. */
  #startPermission(now: number, p: PermissionEntry): void {
    if (!this.#relayedFamily(p.peer.family)) {
      this.#failPermission(p, "family", 443, `no ${p.peer.family} relayed address in this allocation for peer ${p.peer.address} (RFC 8656 §10.1)`);
      return;
    }
    this.#sendCreatePermission(now, p);
  }

  #sendCreatePermission(now: number, p: PermissionEntry): void {
    p.tx = this.#request(now, Method.CreatePermission, [attr(XorPeerAddress, p.peer)], { kind: "permission", at: now, ip: p.peer.address });
  }

  #startChannel(now: number, ch: ChannelEntry): void {
    if (!this.#relayedFamily(ch.peer.family)) {
      this.#failChannel(ch, "family", 443, `no ${ch.peer.family} relayed address in this allocation for peer ${formatTransportAddress(ch.peer)} (RFC 8656 §12.1)`);
      return;
    }
    this.#sendChannelBind(now, ch);
  }

  #sendChannelBind(now: number, ch: ChannelEntry): void {
    ch.lastRequestAt = now;
    ch.tx = this.#request(now, Method.ChannelBind, [attr(ChannelNumber, ch.number), attr(XorPeerAddress, ch.peer)], { kind: "channel", at: now, channel: ch });
  }

  // ---------------------------------------------------------------------------------------------
  // Data out

  #sendChannelData(ch: ChannelEntry, data: Uint8Array): void {
    // One allocation: the datagram itself (the Transmit contract hands its bytes away).
    const out = new Uint8Array(channelDataLength(data.length, this.#padded));
    encodeChannelDataInto(out, 0, ch.number, data, this.#padded);
    this.#transmits.push({ local: this.#local, remote: this.#server, transport: this.#transport, data: out });
    this.#counters.channelDataSent++;
    this.#counters.bytesSent += data.length;
  }

  #sendIndication(peer: TransportAddress, data: Uint8Array): void {
    // RFC 8656 §11.1: XOR-PEER-ADDRESS and DATA. Indications are never authenticated (§5).
    this.#random(this.#tid);
    const b = this.#builder.begin(Method.Send, MessageClass.Indication, this.#tid).add(XorPeerAddress, peer).add(Data, data);
    if (this.#fingerprint) b.addFingerprint();
    this.#transmits.push({ local: this.#local, remote: this.#server, transport: this.#transport, data: b.finish().slice() });
    this.#counters.sendIndications++;
    this.#counters.bytesSent += data.length;
  }

  /** Sends what waited for a permission, now that it is active. */
  #flush(p: PermissionEntry): void {
    const q = p.queue;
    if (q === undefined) return;
    p.queue = undefined;
    for (const item of q) {
      // RFC 8445 §14.2, with `paced`: a STUN request that waited (an ICE check) is a new
      // transaction on the wire only now, so it takes a pacing slot of its own after the
      // permission's. Anything else (responses, application data) is not a transaction: at once.
      if (this.#paced && isStunRequest(item.data)) {
        this.#heldRequests.push(item);
        continue;
      }
      const ch = this.#channels.byPeer(item.peer.address, item.peer.port);
      if (ch?.state === "bound") this.#sendChannelData(ch, item.data);
      else this.#sendIndication(item.peer, item.data);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Data in

  #onChannelData(d: Uint8Array): void {
    let channelNumber: number;
    let payload: Uint8Array;
    try {
      ({ channelNumber, data: payload } = decodeChannelData(d));
    } catch {
      // RFC 8656 §12.6: reserved numbers and short datagrams are silently discarded.
      this.#counters.droppedMalformed++;
      return;
    }
    const ch = this.#channels.byNumber(channelNumber);
    // §12.6: "If the ChannelData message is received on a channel that is not bound to any peer,
    // then the message is silently discarded." A channel whose ChannelBind is in flight counts as
    // bound here: §12 says to expect data as soon as the request is sent.
    if (ch === undefined || (ch.tx === undefined && ch.state !== "bound") || this.#state !== "allocated") {
      this.#counters.droppedUnknownChannel++;
      return;
    }
    this.#counters.channelDataReceived++;
    this.#counters.bytesReceived += payload.length;
    this.#events.push({ type: "data", peer: ch.peer, data: this.#copy ? payload.slice() : payload, channel: channelNumber });
  }

  #onDataIndication(d: Uint8Array): void {
    const ind = parseDataIndication(d);
    if (ind === undefined || this.#state !== "allocated") {
      this.#counters.droppedMalformed++;
      return;
    }
    const peer = ind.peer;
    // RFC 8656 §11.4: "The client SHOULD also check that the XOR-PEER-ADDRESS attribute value
    // contains an IP address with which the client believes there is an active permission".
    // A permission whose request is in flight counts: the server relays once it installed it.
    const p = this.#permissions.get(peer.address);
    if (p === undefined || (p.state !== "active" && p.tx === undefined && !this.#channelPendingFor(peer.address))) {
      this.#counters.droppedNoPermission++;
      return;
    }
    if (ind.data !== undefined) {
      this.#counters.dataIndications++;
      this.#counters.bytesReceived += ind.data.length;
      this.#events.push({ type: "data", peer, data: this.#copy ? ind.data.slice() : ind.data, channel: undefined });
    } else if (ind.icmp !== undefined) {
      this.#events.push({ type: "icmp", peer, icmp: ind.icmp }); // §11.6
    }
  }

  /** RFC 6062 §4.4: a peer connected to the TCP relayed address. */
  #onConnectionAttempt(d: Uint8Array): void {
    const attempt = parseConnectionAttempt(d);
    if (attempt === undefined || !this.#tcpRelay || this.#state !== "allocated") {
      this.#counters.droppedMalformed++;
      return;
    }
    this.#events.push({ type: "connection", peer: attempt.peer, connectionId: attempt.connectionId, direction: "incoming" });
  }

  // ---------------------------------------------------------------------------------------------
  // Transaction results

  /** Moves the StunClient's transmits into the client's queue and acts on its events, in order. */
  #pump(now: number): void {
    for (;;) {
      for (let t = this.#stun.pollTransmit(); t !== undefined; t = this.#stun.pollTransmit()) this.#transmits.push(t);
      const e = this.#stun.pollEvent();
      if (e === undefined) return;
      const p = this.#pending.get(e.id);
      if (p === undefined) continue; // cancelled on purpose
      this.#pending.delete(e.id);
      this.#onResult(now, p, e);
    }
  }

  #onResult(now: number, p: PendingTx, e: StunClientEvent): void {
    switch (p.kind) {
      case "allocate":
        if (e.type === "success") this.#onAllocated(now, p.at, e.response, e.remote);
        else this.#failAllocation(e.reason, e.errorCode, e.detail);
        return;
      case "refresh":
        this.#refreshTx = undefined;
        if (this.#state !== "allocated") return;
        if (e.type === "success") this.#onRefreshed(p.at, e.response);
        else if (e.errorCode === 437) this.#lose("error-response", 437, "Refresh got 437 Allocation Mismatch: the server no longer has the allocation (RFC 8656 §8.3)");
        else if (e.reason === "timeout" && this.#transport === "udp" && now < this.#expiresAt) this.#sendRefresh(now); // retry while it may still live
        else this.#lose(e.reason, e.errorCode, `Refresh failed: ${e.detail}`);
        return;
      case "delete":
        // §8.3: 437 to a deletion means it is already gone: as good as success.
        if (e.type === "success" || e.errorCode === 437) this.#finishClose("deleted");
        else this.#finishClose(`the deallocation was not confirmed: ${e.detail}`);
        return;
      case "permission": {
        const perm = this.#permissions.get(p.ip);
        if (perm === undefined || perm.tx !== e.id || this.#state !== "allocated") return;
        perm.tx = undefined;
        if (e.type === "success") this.#activatePermission(perm, p.at);
        else if (e.errorCode === 437) this.#lose("error-response", 437, "CreatePermission got 437 Allocation Mismatch: the allocation is gone (RFC 8656 §5)");
        else this.#failPermission(perm, e.reason, e.errorCode, `CreatePermission for ${p.ip} failed: ${e.detail}`);
        return;
      }
      case "channel": {
        const ch = p.channel;
        if (this.#channels.byNumber(ch.number) !== ch || this.#state !== "allocated") return;
        ch.tx = undefined;
        if (e.type === "success") this.#onChannelBound(ch, p.at);
        else if (e.errorCode === 437) this.#lose("error-response", 437, "ChannelBind got 437 Allocation Mismatch: the allocation is gone (RFC 8656 §5)");
        else this.#failChannel(ch, e.reason, e.errorCode, `ChannelBind of 0x${ch.number.toString(16)} to ${formatTransportAddress(ch.peer)} failed: ${e.detail}`);
        return;
      }
      case "connect": {
        this.#connecting.delete(p.key);
        if (this.#state !== "allocated") return;
        if (e.type === "failure") {
          if (e.errorCode === 437) this.#lose("error-response", 437, "Connect got 437 Allocation Mismatch: the allocation is gone (RFC 6062 §5.2)");
          else this.#events.push({ type: "connection-failed", peer: p.peer, reason: e.reason, code: e.errorCode, detail: `Connect to ${formatTransportAddress(p.peer)} failed: ${e.detail}` });
          return;
        }
        let id: number | undefined;
        try {
          id = e.response.get(ConnectionId);
        } catch {
          id = undefined;
        }
        // RFC 6062 §5.2: the success response MUST carry CONNECTION-ID.
        if (id === undefined) this.#events.push({ type: "connection-failed", peer: p.peer, reason: "bad-response", code: undefined, detail: "Connect success response without CONNECTION-ID (RFC 6062 §5.2)" });
        else this.#events.push({ type: "connection", peer: p.peer, connectionId: id, direction: "outgoing" });
        return;
      }
    }
  }

  #onAllocated(now: number, at: number, res: StunMessage, server: TransportAddress): void {
    if (this.#state !== "allocating") return;
    this.#server = server; // RFC 8489 §10: after a 300 the allocation lives on the alternate.
    const parsed = parseAllocateSuccess(res);
    if (typeof parsed === "string") {
      this.#failAllocation("bad-response", undefined, parsed, now);
      return;
    }
    const { relayed, mapped, lifetime, reservationToken, addressErrors } = parsed;
    this.#state = "allocated";
    this.#relayed = relayed;
    this.#mapped = mapped;
    this.#schedule(at, lifetime ?? TURN_DEFAULT_LIFETIME_S);
    this.#events.push({ type: "allocated", relayed, mapped, lifetime: this.#lifetime, server, reservationToken, addressErrors });
    // What waited for the allocation goes out now.
    for (const ch of this.#channels.values()) if (ch.tx === undefined && ch.state === "binding") this.#startChannel(now, ch);
    for (const perm of [...this.#permissions.values()]) {
      if (perm.state === "pending" && perm.tx === undefined && this.#channelPendingFor(perm.peer.address) === false) this.#startPermission(now, perm);
    }
  }

  #onRefreshed(at: number, res: StunMessage): void {
    let lifetime: number | undefined;
    try {
      lifetime = res.get(Lifetime);
    } catch {
      lifetime = undefined;
    }
    if (lifetime === 0) {
      this.#lose("expired", undefined, "the server answered a Refresh with LIFETIME 0: the allocation is deleted");
      return;
    }
    this.#schedule(at, lifetime ?? TURN_DEFAULT_LIFETIME_S);
    this.#counters.refreshes++;
    this.#events.push({ type: "refreshed", lifetime: this.#lifetime });
  }

  /**
   * Records a granted lifetime, counted from when the request was issued (the server started the
   * clock no earlier), and plans the next Refresh a margin before the end (RFC 8656 §8).
   */
  #schedule(at: number, lifetimeS: number): void {
    this.#lifetime = lifetimeS;
    const lifetimeMs = lifetimeS * 1000;
    this.#expiresAt = at + lifetimeMs;
    this.#refreshAt = at + (lifetimeMs > 2 * this.#marginMs ? lifetimeMs - this.#marginMs : lifetimeMs / 2);
  }

  #activatePermission(perm: PermissionEntry, at: number): void {
    const refreshAt = at + TURN_PERMISSION_REFRESH_MS;
    if (perm.state === "active") {
      if (refreshAt > perm.refreshAt) perm.refreshAt = refreshAt;
    } else {
      perm.state = "active";
      perm.refreshAt = refreshAt;
    }
    if (!perm.announced) {
      perm.announced = true;
      this.#events.push({ type: "permission-created", peer: perm.peer.address });
    }
    this.#flush(perm);
  }

  #onChannelBound(ch: ChannelEntry, at: number): void {
    ch.refreshAt = at + TURN_CHANNEL_REFRESH_MS;
    if (ch.state !== "bound") {
      ch.state = "bound";
      this.#events.push({ type: "channel-bound", peer: ch.peer, channel: ch.number });
    }
    // §12.3: "It also updates its data structures to record that the corresponding permission
    // has been installed or refreshed."
    const perm = this.#permissions.get(ch.peer.address) ?? this.#addPermission(ch.peer);
    this.#activatePermission(perm, at);
  }

  // ---------------------------------------------------------------------------------------------
  // Failures

  #failAllocation(reason: TurnFailureReason, code: number | undefined, detail: string, now?: number): void {
    if (this.#state !== "allocating") return;
    this.#state = "failed";
    this.#cancelAll();
    this.#dropTables();
    // A success we cannot use may still have created an allocation: delete it (RFC 8656 §7.3).
    if (now !== undefined) this.#request(now, Method.Refresh, [attr(Lifetime, 0)], { kind: "delete", at: now });
    this.#events.push({ type: "allocation-failed", reason, code, detail });
  }

  #lose(reason: TurnFailureReason, code: number | undefined, detail: string): void {
    if (this.#state !== "allocated") return;
    this.#state = "failed";
    this.#cancelAll();
    this.#dropTables();
    this.#events.push({ type: "allocation-lost", reason, code, detail });
  }

  #finishClose(detail: string): void {
    if (this.#state !== "closing") return;
    this.#state = "closed";
    this.#events.push({ type: "closed", detail });
  }

  #failPermission(perm: PermissionEntry, reason: TurnFailureReason, code: number | undefined, detail: string): void {
    this.#permissions.delete(perm.peer.address);
    if (perm.queue !== undefined) this.#counters.droppedSends += perm.queue.length;
    perm.queue = undefined;
    this.#events.push({ type: "permission-failed", peer: perm.peer.address, reason, code, detail });
  }

  #failChannel(ch: ChannelEntry, reason: TurnFailureReason, code: number | undefined, detail: string): void {
    this.#channels.remove(ch);
    this.#events.push({ type: "channel-failed", peer: ch.peer, channel: ch.number, reason, code, detail });
    // A permission that only this binding was installing goes with it.
    const perm = this.#permissions.get(ch.peer.address);
    if (perm !== undefined && perm.state === "pending" && perm.tx === undefined && this.#channelPendingFor(ch.peer.address) === false) {
      this.#permissions.delete(ch.peer.address);
      if (perm.queue !== undefined) this.#counters.droppedSends += perm.queue.length;
    }
  }

  /** Cancels every transaction in flight without reporting them. */
  #cancelAll(): void {
    const ids = [...this.#pending.keys()];
    this.#pending.clear();
    this.#connecting.clear();
    this.#refreshTx = undefined;
    for (const id of ids) this.#stun.cancel(id);
  }

  /** Forgets permissions and channels (they die with the allocation, RFC 8656 §9, §12). */
  #dropTables(): void {
    for (const p of this.#permissions.values()) if (p.queue !== undefined) this.#counters.droppedSends += p.queue.length;
    this.#permissions.clear();
    this.#channels.clear();
    for (let h = this.#heldRequests.shift(); h !== undefined; h = this.#heldRequests.shift()) this.#counters.droppedSends++;
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  #checkUsable(what: string): void {
    if (this.#state === "closing" || this.#state === "closed" || this.#state === "failed") {
      throw new IcekitError("INVALID_STATE", `${what}() on a TURN client that is ${this.#state}; check turn.state, or create a new client`);
    }
  }

  #checkUdpRelay(what: string): void {
    if (this.#tcpRelay) {
      throw new IcekitError("INVALID_STATE", `${what}() on a TCP allocation: RFC 6062 relays over data connections; use connect() and TurnConnectionBind`);
    }
  }

  #addPermission(peer: TransportAddress): PermissionEntry {
    const p: PermissionEntry = { peer, state: "pending", tx: undefined, refreshAt: Infinity, queue: undefined, announced: false };
    this.#permissions.set(peer.address, p);
    return p;
  }

  #relayedFamily(family: AddressFamily): boolean {
    for (const r of this.#relayed) if (r.family === family) return true;
    return false;
  }

  /** True when a ChannelBind for some peer at `ip` is waiting or in flight (it installs the permission). */
  #channelPendingFor(ip: string): boolean {
    for (const c of this.#channels.values()) if (c.peer.address === ip && c.state === "binding") return true;
    return false;
  }

  #channelOf(peer: TransportAddress): ChannelEntry | undefined {
    const ch = this.#channels.byPeer(peer.address, peer.port);
    if (ch !== undefined) return ch;
    const a = safeCanonical(peer.address);
    return a === peer.address ? undefined : this.#channels.byPeer(a, peer.port);
  }
}

function ipOnly(ip: string): TransportAddress {
  const family = ipFamily(ip);
  if (family === undefined) throw new IcekitError("INVALID_ARGUMENT", `'${ip}' is not an IP address; pass e.g. "192.0.2.1" or "2001:db8::1"`);
  return { family, address: canonicalIp(ip), port: 0 };
}

/** A STUN request by its first two bytes (RFC 8489 §5: class bits C1 C0 = 0 0, top bits 0). */
function isStunRequest(d: Uint8Array): boolean {
  const b0 = d[0];
  const b1 = d[1];
  if (b0 === undefined || b1 === undefined || d.length < 20 || b0 > 3 || (b0 & 0x01) !== 0 || (b1 & 0x10) !== 0) return false;
  return d[4] === 0x21 && d[5] === 0x12 && d[6] === 0xa4 && d[7] === 0x42; // the magic cookie
}

function safeCanonical(ip: string): string {
  try {
    return canonicalIp(ip);
  } catch {
    return ip;
  }
}
