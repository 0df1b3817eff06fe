/**
 * The TURN server (RFC 8656, RFC 6156 for IPv6) as a sans-IO engine: allocations keyed by
 * 5-tuple, long-term credentials from a user table or the REST API shared secret, permissions,
 * channels, Send/Data indications and ChannelData relayed both ways, EVEN-PORT and
 * RESERVATION-TOKEN, dual allocations, quotas, and a peer policy that refuses internal
 * addresses by default (RFC 8656 §21).
 *
 * **Layers.** A {@link TurnServer} is a `StunServer` (basic checks, long-term authentication
 * with nonces bound to the client's transport address, 420, signing, FINGERPRINT) with TURN's
 * methods in its method table, plus two paths the STUN layer never sees: ChannelData from
 * clients (first byte 0x40-0x4F, RFC 7983; 0x40-0x7F with `channelNumbers: "rfc5766"`) and
 * datagrams from peers.
 *
 * **Relay sockets belong to the driver.** The engine picks each relayed port from its range
 * (`RelayPorts`: RFC 6056 randomisation, EVEN-PORT pairs) and asks the driver for the
 * socket with a `relay-open` event. It answers the Allocate only once the driver calls
 * {@link TurnServer.handleRelayBound} for every socket the allocation needs, so the
 * XOR-RELAYED-ADDRESS it reports is always a bound socket. If the driver calls
 * {@link TurnServer.handleRelayBindFailed} (someone else holds the port), the engine sets that
 * port aside and picks another, up to three times, then answers 508; it also answers 508 when
 * the driver says nothing for `relayBindTimeoutMs`. `relay-close` tells the driver to close a
 * socket. Datagrams that arrive on a relay socket are handed in with `local` = the relayed
 * address; transmits to peers name the relayed address in `local`.
 *
 * ```ts
 * const server = new TurnServer({ realm: "example.org", users: { alice: "s3cret" }, relayAddresses: ["192.0.2.1"] });
 * const relays = new Map<number, dgram.Socket>();           // relay port → socket (one per allocation)
 * function pump() {
 *   for (let e; (e = server.pollEvent()); ) {
 *     if (e.type === "relay-open") {
 *       const s = dgram.createSocket("udp4");
 *       relays.set(e.relayed.port, s);
 *       s.on("message", (data, r) => { server.handleReceive(now(), { local: e.relayed, remote: addr(r), transport: "udp", data }); pump(); });
 *       s.once("error", () => { relays.delete(e.relayed.port); server.handleRelayBindFailed(now(), e.relayed); pump(); });
 *       s.bind(e.relayed.port, e.relayed.address, () => { server.handleRelayBound(now(), e.relayed); pump(); });
 *     } else if (e.type === "relay-close") { relays.get(e.relayed.port)?.close(); relays.delete(e.relayed.port); }
 *   }
 *   for (let t; (t = server.pollTransmit()); ) {
 *     const socket = t.local === listenerLocal ? listener : relays.get(t.local!.port)!;  // TCP: the connection
 *     socket.send(t.data, t.remote.port, t.remote.address);
 *   }
 *   clearTimeout(timer);
 *   const at = server.pollTimeout();
 *   if (at !== undefined) timer = setTimer(() => { server.handleTimeout(now()); pump(); }, at - now());
 * }
 * listener.on("message", (data, r) => { server.handleReceive(now(), { local: listenerLocal, remote: addr(r), transport: "udp", data }); pump(); });
 * ```
 *
 * (`icekit/node`'s `startTurnServer` is this loop, with TCP and a cache for address text.)
 * Drain `pollEvent` before `pollTransmit` or after, as you like, but drain both after every
 * `handle*` call: a relayed datagram's `data` may be a view into the datagram handed in, valid
 * until the driver reuses that buffer. `Received.remote.address` must be canonical text (as
 * `transportAddress()` gives) for permissions to match.
 *
 * **Timers.** Lifetimes are checked where they are used (an expired permission relays nothing
 * from that moment); `pollTimeout` asks for a sweep, at most once a second, that frees expired
 * state and emits `relay-close` and `allocation-end`.
 *
 * @module
 */
import type { AddressFamily, TransportAddress } from "../bytes/ip";
import { canonicalIp, ipFamily, sameTransportAddress } from "../bytes/ip";
import { toHex } from "../bytes/hex";
import { createHmacKey } from "../crypto/hmac";
import { IcekitError, isStunDecodeError } from "../errors";
import { Queue, defaultRandom } from "../engine";
import type { Engine, RandomSource, Received, Transmit, TransportProtocol } from "../engine";
import { XorPeerAddress } from "../stun/attributes/address";
import { ChannelNumber, Data, Lifetime, RequestedAddressFamily } from "../stun/attributes/turn";
import { attr } from "../stun/client";
import { AttributeType, Method } from "../stun/constants";
import { StunServer, createBindingHandler } from "../stun/server";
import type { LongTermSecret, StunUserLookup } from "../stun/server-auth";
import type { StunMethodHandler, StunServerReply, StunServerRequestContext } from "../stun/server-types";
import { AllocationTable } from "./allocation";
import type { Allocation, AllocateShape, Permission, Relay, RelaySlot, Reservation } from "./allocation";
import { CHANNEL_NUMBER_MAX, CHANNEL_NUMBER_MIN } from "./channel-data";
import { PeerPolicy } from "./peer-policy";
import { DEFAULT_RELAY_PORTS, RelayPorts } from "./relay-ports";
import { allocateSuccess, errorReply, grantLifetime, isAllocateRequest, readAllocate } from "./server-allocate";
import { RelayFrames } from "./server-frames";
import { restQuotaKey, restSecretUsers } from "./server-rest";
import type { TurnAllocationEndReason, TurnDropReason, TurnServerEvent, TurnServerOptions, TurnServerStats } from "./server-types";

export * from "./server-types";

/** RFC 8656 §9: "The Permission Lifetime MUST be 300 seconds". */
const PERMISSION_LIFETIME_MS = 300_000;
/** RFC 8656 §12: "A channel binding lasts for 10 minutes unless refreshed." */
const CHANNEL_LIFETIME_MS = 600_000;
/** The sweep runs at most this often; lifetimes are exact anyway (checked on use). */
const SWEEP_INTERVAL_MS = 1000;
/** Attempts at binding an allocation's sockets before answering 508. */
const MAX_BIND_ATTEMPTS = 3;
/** How long a port whose bind failed stays out of the pool. */
const BIND_FAILURE_COOLDOWN_MS = 60_000;

const DROP: StunServerReply = { kind: "drop" };
const SUCCESS_EMPTY: StunServerReply = { kind: "success" };

function lookupIn<V>(users: StunUserLookup<V>, name: string): V | undefined {
  if (typeof users === "function") return users(name);
  if (users instanceof Map) return users.get(name);
  const rec = users as { readonly [k: string]: V };
  return Object.prototype.hasOwnProperty.call(rec, name) ? rec[name] : undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkCount(name: string, v: number | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw new IcekitError("INVALID_ARGUMENT", `${name} ${String(v)}: pass an integer from ${min} to ${max}`);
  return v;
}

function emptyEnded(): Record<TurnAllocationEndReason, number> {
  return { refresh: 0, expired: 0, "transport-closed": 0, "bind-failed": 0, closed: 0 };
}

function emptyDropped(): Record<TurnDropReason, number> {
  return { "no-allocation": 0, "bad-channel-data": 0, "no-channel": 0, "send-invalid": 0, "no-permission": 0, "forbidden-port": 0, "too-big": 0, "no-relay": 0 };
}

/**
 * A sans-IO TURN server: see the module comment.
 *
 * Inputs: {@link TurnServer.handleReceive} (client messages and peer datagrams),
 * {@link TurnServer.handleTimeout}, {@link TurnServer.handleRelayBound},
 * {@link TurnServer.handleRelayBindFailed}, {@link TurnServer.handleTransportClosed}.
 * Outputs: {@link TurnServer.pollTransmit}, {@link TurnServer.pollEvent},
 * {@link TurnServer.pollTimeout}. Getters: {@link TurnServer.stats}.
 * Mutators: {@link TurnServer.close}.
 *
 * @example
 * ```ts
 * const server = new TurnServer({ realm: "example.org", users: { alice: "s3cret" }, relayAddresses: ["192.0.2.1"] });
 * server.handleReceive(now, { local: listener, remote: client, transport: "udp", data: allocate }); // signed
 * server.pollEvent(); // → { type: "relay-open", relayed: { family: "IPv4", address: "192.0.2.1", port: 60533 } }
 * server.handleRelayBound(now, relayed); // the driver bound that socket: the Allocate is answered
 * server.pollTransmit(); // → the success response: XOR-RELAYED-ADDRESS 192.0.2.1:60533, LIFETIME 600
 * ```
 */
export class TurnServer implements Engine<TurnServerEvent> {
  readonly #stun: StunServer;
  readonly #table = new AllocationTable();
  readonly #ports: RelayPorts;
  readonly #policy: PeerPolicy;
  readonly #relayIps: Partial<Record<AddressFamily, string>> = {};
  readonly #random: RandomSource;
  readonly #reservations = new Map<string, Reservation>();
  readonly #reservationsPerUser = new Map<string, number>();
  readonly #transmits = new Queue<Transmit>();
  readonly #events = new Queue<TurnServerEvent>();
  /** The REST separator when REST usernames are accepted (they count quota by the user part). */
  readonly #restSeparator: string | undefined;
  // Options.
  readonly #defaultLifetime: number;
  readonly #maxLifetime: number;
  readonly #userQuota: number;
  readonly #maxAllocations: number;
  readonly #maxPermissions: number;
  readonly #maxChannels: number;
  readonly #reservationLifetimeMs: number;
  readonly #bindTimeoutMs: number;
  readonly #dontFragment: boolean;
  /** Highest channel number accepted: 0x4FFF (RFC 8656) or 0x7FFF (RFC 5766). */
  readonly #maxChannelNumber: number;
  // State.
  #now = 0;
  #wakeAt: number | undefined;
  #lastSweep = Number.NEGATIVE_INFINITY;
  #nextId = 1;
  #closed = false;
  #relays = 0;
  #active = 0;
  readonly #frames: RelayFrames;
  readonly #stats = {
    allocationsCreated: 0,
    allocationsEnded: emptyEnded(),
    toPeer: { packets: 0, bytes: 0 },
    toClient: { packets: 0, bytes: 0 },
    toClientChannelData: 0,
    dropped: emptyDropped(),
    relayBindFailures: 0,
  };

  /**
   * @param options - see {@link TurnServerOptions}
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for missing credentials (neither `users` nor
   *   `secret`), `secret` without `unixTime`, relay addresses that are missing, wildcards or two
   *   of a family, a bad port range, CIDR or limit, or anything `StunServer` refuses.
   */
  constructor(options: TurnServerOptions) {
    if (typeof options !== "object" || options === null) throw new IcekitError("INVALID_ARGUMENT", "pass TurnServer options { realm, users | secret, relayAddresses }");
    if (options.users === undefined && options.secret === undefined) {
      throw new IcekitError("INVALID_ARGUMENT", "users or secret: a TURN server never allocates without authentication (RFC 8656 §7.2); pass users { name: password } or the REST API secret");
    }
    if (options.secret !== undefined && typeof options.unixTime !== "function") {
      throw new IcekitError("INVALID_ARGUMENT", "unixTime: with secret, pass a function from engine time to seconds since 1970 (REST usernames carry an expiry time)");
    }
    this.#random = options.random ?? defaultRandom;
    const addresses = options.relayAddresses;
    if (!Array.isArray(addresses) || addresses.length === 0 || addresses.length > 2) {
      throw new IcekitError("INVALID_ARGUMENT", 'relayAddresses: pass one IPv4 and/or one IPv6 address to relay from, e.g. ["192.0.2.1"]');
    }
    for (const text of addresses) {
      const family = typeof text === "string" ? ipFamily(text) : undefined;
      if (family === undefined) throw new IcekitError("INVALID_ARGUMENT", `relayAddresses: ${JSON.stringify(text)} is not an IP address`);
      const ip = canonicalIp(text);
      if (ip === "0.0.0.0" || ip === "::") throw new IcekitError("INVALID_ARGUMENT", `relayAddresses: ${ip} is a wildcard; XOR-RELAYED-ADDRESS must name the address peers reach, e.g. the host's public IP`);
      if (this.#relayIps[family] !== undefined) throw new IcekitError("INVALID_ARGUMENT", `relayAddresses: two ${family} addresses; pass at most one per family`);
      this.#relayIps[family] = ip;
    }
    this.#ports = new RelayPorts(options.ports ?? DEFAULT_RELAY_PORTS, this.#random);
    this.#policy = new PeerPolicy({ ...(options.allowPeer ? { allow: options.allowPeer } : {}), ...(options.denyPeer ? { deny: options.denyPeer } : {}) });
    this.#defaultLifetime = checkCount("defaultLifetime", options.defaultLifetime, 600, 1, 0xffffffff);
    this.#maxLifetime = checkCount("maxLifetime", options.maxLifetime, Math.max(3600, this.#defaultLifetime), this.#defaultLifetime, 0xffffffff);
    this.#userQuota = checkCount("userQuota", options.userQuota, 16, 1, 1_000_000);
    this.#maxAllocations = checkCount("maxAllocations", options.maxAllocations, 1000, 1, 1_000_000);
    this.#maxPermissions = checkCount("maxPermissions", options.maxPermissions, 64, 1, 1_000_000);
    this.#maxChannels = checkCount("maxChannels", options.maxChannels, 256, 1, 4096);
    this.#reservationLifetimeMs = checkCount("reservationLifetimeMs", options.reservationLifetimeMs, 30_000, 30_000, 3_600_000);
    this.#bindTimeoutMs = checkCount("relayBindTimeoutMs", options.relayBindTimeoutMs, 5000, 1, 600_000);
    this.#dontFragment = options.dontFragment === true;
    const range = options.channelNumbers ?? "rfc8656";
    if (range !== "rfc8656" && range !== "rfc5766") throw new IcekitError("INVALID_ARGUMENT", `channelNumbers ${JSON.stringify(range)}: pass "rfc8656" or "rfc5766"`);
    this.#maxChannelNumber = range === "rfc8656" ? CHANNEL_NUMBER_MAX : 0x7fff;
    this.#frames = new RelayFrames(this.#random, options.fingerprint === "always");

    // Credentials: the user table first, then REST API usernames.
    const hmac = options.hmac ?? createHmacKey;
    const table = options.users;
    const unixTime = options.unixTime;
    const separator = options.restSeparator ?? ":";
    const rest = options.secret !== undefined && unixTime !== undefined ? restSecretUsers(options.secret, () => unixTime(this.#now), hmac, separator) : undefined;
    this.#restSeparator = rest === undefined ? undefined : separator;
    let users: StunUserLookup<LongTermSecret>;
    if (table === undefined) users = rest!;
    else if (rest === undefined) users = table;
    else users = (name) => lookupIn(table, name) ?? rest(name);

    const methods = new Map<number, StunMethodHandler>();
    const understands = (type: number): boolean | undefined => (type === AttributeType.DontFragment ? this.#dontFragment : undefined);
    methods.set(Method.Allocate, { understands, request: (ctx) => this.#allocate(ctx) });
    methods.set(Method.Refresh, { request: (ctx) => this.#refresh(ctx) });
    methods.set(Method.CreatePermission, { request: (ctx) => this.#createPermission(ctx) });
    methods.set(Method.ChannelBind, { request: (ctx) => this.#channelBind(ctx) });
    // RFC 8656 §5: indications are never authenticated.
    methods.set(Method.Send, { authenticate: false, understands, request: () => DROP, indication: (ctx) => this.#send(ctx) });
    if (options.binding !== false) methods.set(Method.Binding, { ...createBindingHandler(), authenticate: false });
    this.#stun = new StunServer({
      auth: {
        kind: "long-term",
        realm: options.realm,
        users,
        ...(options.nonceLifetimeMs !== undefined ? { nonceLifetimeMs: options.nonceLifetimeMs } : {}),
        ...(options.passwordAlgorithms !== undefined ? { passwordAlgorithms: options.passwordAlgorithms } : {}),
        ...(options.nonceSecret !== undefined ? { nonceSecret: options.nonceSecret } : {}),
      },
      ...(options.software !== undefined ? { software: options.software } : {}),
      ...(options.fingerprint !== undefined ? { fingerprint: options.fingerprint } : {}),
      random: this.#random,
      hmac,
      rfc3489: false,
      methods,
    });
  }

  /** The relayed IP address per family, as configured. */
  get relayAddresses(): Readonly<Partial<Record<AddressFamily, string>>> {
    return { ...this.#relayIps };
  }

  /** The peer policy in force (to explain a 403: `server.peerPolicy.check(ip)`). */
  get peerPolicy(): PeerPolicy {
    return this.#policy;
  }

  // ---------------------------------------------------------------------------------------
  // Inputs
  // ---------------------------------------------------------------------------------------

  /**
   * Hands in a datagram or framed TCP/TLS message: from a client (on a listening socket) or from
   * a peer (on a relay socket, `local` = the relayed address). Never throws on its content.
   *
   * @returns false when it came from a client and is neither STUN nor ChannelData, so that a
   *   driver multiplexing protocols can try another parser; true otherwise
   */
  handleReceive(now: number, received: Received): boolean {
    this.#now = now;
    if (received.transport === "udp") {
      const slot = this.#table.slotAt(received.local);
      if (slot !== undefined) {
        this.#fromPeer(now, slot, received);
        return true;
      }
    }
    const first = received.data[0];
    // RFC 7983 §7, RFC 8656 §12: 64-79 is TURN ChannelData (64-127 with RFC 5766 numbers).
    if (first !== undefined && first >= 0x40 && first <= this.#maxChannelNumber >> 8) {
      this.#fromClientChannelData(now, received);
      return true;
    }
    const consumed = this.#stun.handleReceive(now, received);
    this.#drainStun();
    return consumed;
  }

  /** Runs the sweep when its time has come; early calls do nothing. */
  handleTimeout(now: number): void {
    this.#now = now;
    if (this.#wakeAt === undefined || now < this.#wakeAt) return;
    this.#sweep(now);
    this.#drainStun();
  }

  /**
   * The driver bound the relay socket `relayed` (after a `relay-open`). Once every socket of an
   * Allocate is bound, the engine answers it. Unknown addresses are ignored.
   */
  handleRelayBound(now: number, relayed: TransportAddress): void {
    this.#now = now;
    const slot = this.#table.slotAt(relayed);
    if (slot === undefined || slot.bound) return;
    slot.bound = true;
    const a = slot.pending;
    if (a !== undefined && a.state === "pending" && a.slots.every((s) => s.bound)) this.#activate(a, now);
    this.#drainStun();
  }

  /**
   * The driver could not bind `relayed` (e.g. EADDRINUSE). The engine sets the port aside for a
   * minute and tries another for the Allocate that wanted it, up to three times, then answers
   * it 508 (RFC 8656 §7.2). No `relay-close` follows for this address: the driver already
   * knows it has no socket there.
   */
  handleRelayBindFailed(now: number, relayed: TransportAddress, _detail?: string): void {
    this.#now = now;
    const slot = this.#table.slotAt(relayed);
    if (slot === undefined || slot.bound) return;
    this.#stats.relayBindFailures++;
    this.#table.removeSlot(slot);
    this.#ports.coolDown(slot.address.family, slot.address.port, now + BIND_FAILURE_COOLDOWN_MS);
    const a = slot.pending;
    if (a === undefined || a.state !== "pending") return;
    for (const s of a.slots) if (s !== slot) this.#closeSlot(s);
    a.slots = [];
    a.reserveSlot = undefined;
    a.addressError = undefined;
    if (++a.bindAttempts < MAX_BIND_ATTEMPTS && this.#pickSlots(a, now)) {
      this.#drainStun();
      return;
    }
    this.#failPending(a, "bind-failed", "could not bind a relay socket");
    this.#drainStun();
  }

  /**
   * The TCP or TLS connection of a 5-tuple closed: its allocation goes with it (as coturn does;
   * the client could not reach it any more).
   */
  handleTransportClosed(now: number, tuple: { readonly local: TransportAddress; readonly remote: TransportAddress; readonly transport: TransportProtocol }): void {
    this.#now = now;
    const a = this.#table.find(tuple.local, tuple.remote, tuple.transport);
    if (a !== undefined) this.#end(a, "transport-closed");
    this.#drainStun();
  }

  /** Deletes every allocation and reservation (`relay-close` for each socket). */
  close(now: number): void {
    this.#now = now;
    for (const a of [...this.#table.all]) this.#end(a, "closed");
    for (const r of [...this.#reservations.values()]) this.#dropReservation(r);
    this.#closed = true;
    this.#wakeAt = undefined;
    this.#drainStun();
  }

  // ---------------------------------------------------------------------------------------
  // Outputs
  // ---------------------------------------------------------------------------------------

  /** Next datagram to send: `local` is the listening socket or the relay socket to send from. */
  pollTransmit(): Transmit | undefined {
    return this.#transmits.shift();
  }

  /** When to call {@link handleTimeout} next. */
  pollTimeout(): number | undefined {
    return this.#wakeAt;
  }

  /** Next event; `relay-open` and `relay-close` are orders for the driver. */
  pollEvent(): TurnServerEvent | undefined {
    return this.#events.shift();
  }

  /** A snapshot of the counters. */
  stats(): TurnServerStats {
    const s = this.#stats;
    let pending = 0;
    for (const a of this.#table.all) if (a.state === "pending") pending++;
    return {
      allocations: this.#active,
      pendingAllocations: pending,
      relays: this.#relays,
      reservations: this.#reservations.size,
      permissions: this.#table.permissions,
      channels: this.#table.channels,
      users: this.#table.users,
      allocationsCreated: s.allocationsCreated,
      allocationsEnded: { ...s.allocationsEnded },
      toPeer: { ...s.toPeer },
      toClient: { ...s.toClient },
      toClientChannelData: s.toClientChannelData,
      dropped: { ...s.dropped },
      relayBindFailures: s.relayBindFailures,
      stun: this.#stun.stats(),
    };
  }

  // ---------------------------------------------------------------------------------------
  // The relay paths (no strings built, no allocation but the view and the Transmit)
  // ---------------------------------------------------------------------------------------

  /** RFC 8656 §12.6: ChannelData from a client, relayed to the channel's peer. */
  #fromClientChannelData(now: number, r: Received): void {
    const a = this.#table.find(r.local, r.remote, r.transport);
    if (a === undefined || a.state !== "active") {
      this.#stats.dropped["no-allocation"]++;
      return;
    }
    const d = r.data;
    const length = d.length >= 4 ? (d[2]! << 8) | d[3]! : -1;
    // "If the UDP datagram is too short to contain the claimed length ... silently discarded."
    if (length < 0 || length > d.length - 4) {
      this.#stats.dropped["bad-channel-data"]++;
      return;
    }
    const ch = a.channels.get((d[0]! << 8) | d[1]!);
    // "on a channel that is not bound to any peer, then the message is silently discarded";
    // receipt "MUST NOT refresh either the channel binding or the permission".
    if (ch === undefined || ch.expiresAt <= now || ch.relay.expiresAt <= now) {
      this.#stats.dropped["no-channel"]++;
      return;
    }
    // Stricter than §12.6, which asks only for a bound channel: icekit also wants the peer's
    // permission alive, as §11.2 does for Send ("TURN requires that the client establish a
    // permission to a host before sending it data", §21.1.4). A client refreshes permissions
    // every 5 minutes anyway; without them it receives nothing back.
    if (ch.permission.expiresAt <= now) {
      this.#stats.dropped["no-permission"]++;
      return;
    }
    this.#stats.toPeer.packets++;
    this.#stats.toPeer.bytes += length;
    this.#transmits.push({ local: ch.relay.address, remote: ch.peer, transport: "udp", data: d.subarray(4, 4 + length) });
  }

  /** RFC 8656 §11.3, §12.7: a datagram from a peer, to the client as ChannelData or a Data indication. */
  #fromPeer(now: number, slot: RelaySlot, r: Received): void {
    const relay = slot.relay;
    if (relay === undefined || relay.expiresAt <= now) {
      this.#stats.dropped["no-relay"]++;
      return;
    }
    // §9: "only addresses are compared and port numbers are not considered".
    const perm = relay.permissions.get(r.remote.address);
    if (perm === undefined || perm.expiresAt <= now) {
      this.#stats.dropped["no-permission"]++;
      return;
    }
    const a = relay.allocation;
    const tuple = a.fiveTuple;
    const payload = r.data;
    const ch = perm.channels.get(r.remote.port);
    let out: Uint8Array | undefined;
    if (ch !== undefined && ch.expiresAt > now && payload.length <= 0xffff) {
      // §12.5: the server "MUST use the ChannelData message if a channel has been bound"; over
      // TCP and TLS padded to a multiple of 4.
      out = this.#frames.channelData(ch.number, payload, tuple.transport !== "udp");
      this.#stats.toClientChannelData++;
    } else {
      // §11.3: a Data indication with XOR-PEER-ADDRESS and DATA.
      out = this.#frames.dataIndication(r.remote, payload);
      if (out === undefined) {
        this.#stats.dropped["too-big"]++;
        return;
      }
    }
    this.#stats.toClient.packets++;
    this.#stats.toClient.bytes += payload.length;
    this.#transmits.push({ local: tuple.local, remote: tuple.remote, transport: tuple.transport, data: out });
  }

  /** RFC 8656 §11.2: a Send indication, relayed to XOR-PEER-ADDRESS. */
  #send(ctx: StunServerRequestContext): void {
    const { received: r, message: msg, now } = ctx;
    const a = this.#table.find(r.local, r.remote, r.transport);
    if (a === undefined || a.state !== "active") {
      this.#stats.dropped["no-allocation"]++;
      return;
    }
    let peer: TransportAddress | undefined;
    let data: Uint8Array | undefined;
    try {
      peer = msg.get(XorPeerAddress);
      data = msg.get(Data);
    } catch (e) {
      if (!isStunDecodeError(e)) throw e;
    }
    // "MUST contain both an XOR-PEER-ADDRESS attribute and a DATA attribute ... discarded".
    const relay = peer === undefined ? undefined : this.#relayFor(a, peer.family);
    if (peer === undefined || data === undefined || relay === undefined || relay.expiresAt <= now) {
      this.#stats.dropped["send-invalid"]++;
      return;
    }
    // "checks that there is a permission installed ... If no such permission exists, the
    // message is discarded. Note that a Send indication never causes the server to refresh".
    const perm = relay.permissions.get(peer.address);
    if (perm === undefined || perm.expiresAt <= now) {
      this.#stats.dropped["no-permission"]++;
      return;
    }
    if (peer.port === 0) {
      this.#stats.dropped["forbidden-port"]++;
      return;
    }
    this.#stats.toPeer.packets++;
    this.#stats.toPeer.bytes += data.length;
    this.#transmits.push({ local: relay.address, remote: peer, transport: "udp", data });
  }

  // ---------------------------------------------------------------------------------------
  // Requests (RFC 8656 §7.2, §8.2, §10.2, §12.2)
  // ---------------------------------------------------------------------------------------

  /** RFC 8656 §7.2, checks 2-10 in order (the STUN layer did 1, authentication, and the 420s). */
  #allocate(ctx: StunServerRequestContext): StunServerReply {
    const { message: msg, received: r, now } = ctx;
    const user = ctx.user!;
    if (this.#closed) return errorReply(508, "Insufficient Capacity: the server is shutting down");
    // 2. "checks if the 5-tuple is currently in use by an existing allocation" → 437. A
    // retransmission (same transaction id) gets the success response again (§7.2 NOTE).
    const existing = this.#table.find(r.local, r.remote, r.transport);
    if (existing !== undefined && !this.#expireIfDue(existing, now)) {
      if (existing.user === user && sameBytes(existing.transactionId, msg.transactionId)) {
        // Still binding: the answer will come when the sockets are bound.
        return existing.state === "pending" ? DROP : { kind: "success", attributes: allocateSuccess(existing, now) };
      }
      return errorReply(437, "Allocation Mismatch: this 5-tuple already has an allocation");
    }
    // 3-9.
    const request = readAllocate(msg, {
      reservationFamily: (token) => {
        const res = this.#reservations.get(toHex(token));
        return res === undefined || res.expiresAt <= now || !res.slot.bound ? undefined : res.slot.address.family;
      },
      supports: (family) => this.#relayIps[family] !== undefined,
    });
    if (!isAllocateRequest(request)) return request;
    const reservation = request.token === undefined ? undefined : this.#reservations.get(toHex(request.token));
    // 10. Quotas: per user → 486 (RFC 8656 §5 says to count by username); server-wide → 508.
    // A port held for a RESERVATION-TOKEN counts like an allocation, for its user and in total;
    // an Allocate that uses its owner's token only turns one into the other.
    const quotaKey = this.#restSeparator !== undefined ? restQuotaKey(user, this.#restSeparator) : user;
    const converting = reservation !== undefined && reservation.quotaKey === quotaKey ? 1 : 0;
    const held = this.#table.countFor(quotaKey) + (this.#reservationsPerUser.get(quotaKey) ?? 0) - converting;
    if (held >= this.#userQuota) return errorReply(486, `Allocation Quota Reached: ${this.#userQuota} allocations for this user`);
    if (this.#table.all.size + this.#reservations.size - converting >= this.#maxAllocations) {
      return errorReply(508, "Insufficient Capacity: the server holds its maximum of allocations");
    }

    const lifetime = grantLifetime(request.lifetime, this.#defaultLifetime, this.#maxLifetime);
    const shape: AllocateShape = { families: request.families, evenPort: request.evenPort };
    const a: Allocation = {
      id: this.#nextId++,
      fiveTuple: { local: r.local, remote: r.remote, transport: r.transport },
      user,
      quotaKey,
      transactionId: msg.transactionId.slice(),
      state: "pending",
      relays: [],
      slots: [],
      reserveSlot: undefined,
      reservationToken: undefined,
      addressError: undefined,
      lifetime,
      channels: new Map(),
      respond: undefined,
      bindDeadline: now + this.#bindTimeoutMs,
      bindAttempts: 0,
      request: shape,
      next: undefined,
    };
    if (reservation !== undefined) {
      // §7.2: "the server uses the previously reserved transport address"; its socket is bound.
      this.#forgetReservation(reservation);
      const slot = reservation.slot;
      slot.reservation = undefined;
      slot.pending = a;
      a.slots = [slot];
      this.#table.add(a);
      this.#activate(a, now);
      return { kind: "success", attributes: allocateSuccess(a, now) };
    }
    if (!this.#pickSlots(a, now)) return errorReply(508, "Insufficient Capacity: no relay port of that kind is free");
    this.#table.add(a);
    this.#schedule(a.bindDeadline);
    a.respond = ctx.defer?.();
    return a.respond === undefined ? DROP : { kind: "deferred" };
  }

  /**
   * Takes ports for a pending allocation and asks the driver for their sockets. For a dual
   * allocation one family may fail: that becomes ADDRESS-ERROR-CODE (§7.2 step 9).
   *
   * @returns false when nothing could be taken (every slot released again)
   */
  #pickSlots(a: Allocation, now: number): boolean {
    const taken: { family: AddressFamily; port: number; pair: boolean }[] = [];
    const dual = a.request.families.length > 1;
    for (const family of a.request.families) {
      const ip = this.#relayIps[family];
      if (ip === undefined) {
        if (dual) a.addressError = { family, code: 440, reason: "Address Family not Supported" };
        continue;
      }
      const kind = family === a.request.families[0] ? a.request.evenPort : "any";
      const port = this.#ports.take(now, family, kind);
      if (port === undefined) {
        if (dual) a.addressError = { family, code: 508, reason: "Insufficient Capacity" };
        continue;
      }
      taken.push({ family, port, pair: kind === "pair" });
    }
    if (taken.length === 0) {
      a.addressError = undefined;
      return false;
    }
    for (const t of taken) {
      const slot = this.#openSlot(t.family, t.port, a);
      a.slots.push(slot);
      if (t.pair) {
        const next = this.#openSlot(t.family, t.port + 1, a);
        a.slots.push(next);
        a.reserveSlot = next;
      }
    }
    return true;
  }

  #openSlot(family: AddressFamily, port: number, a: Allocation): RelaySlot {
    const slot: RelaySlot = { address: { family, address: this.#relayIps[family]!, port }, bound: false, relay: undefined, pending: a, reservation: undefined };
    this.#table.addSlot(slot);
    this.#events.push({ type: "relay-open", relayed: slot.address });
    return slot;
  }

  /** Every socket is bound: the allocation exists from now on, and the Allocate is answered. */
  #activate(a: Allocation, now: number): void {
    a.state = "active";
    const expiresAt = now + a.lifetime * 1000;
    for (const slot of a.slots) {
      slot.pending = undefined;
      if (slot === a.reserveSlot) {
        // §7.2: port N+1 "is assigned a token and reserved for a future allocation".
        const token = new Uint8Array(8);
        this.#random(token);
        const key = toHex(token);
        const res: Reservation = { key, quotaKey: a.quotaKey, slot, expiresAt: now + this.#reservationLifetimeMs };
        slot.reservation = res;
        this.#reservations.set(key, res);
        this.#reservationsPerUser.set(a.quotaKey, (this.#reservationsPerUser.get(a.quotaKey) ?? 0) + 1);
        a.reservationToken = token;
        this.#schedule(res.expiresAt);
        continue;
      }
      const relay: Relay = { allocation: a, address: slot.address, expiresAt, permissions: new Map() };
      slot.relay = relay;
      a.relays.push(relay);
      this.#relays++;
    }
    a.relays.sort((x, y) => (x.address.family === y.address.family ? 0 : x.address.family === "IPv4" ? -1 : 1));
    a.slots = [];
    a.reserveSlot = undefined;
    this.#active++;
    this.#stats.allocationsCreated++;
    this.#schedule(expiresAt);
    this.#events.push({ type: "allocation", id: a.id, user: a.user, client: a.fiveTuple, relayed: a.relays.map((x) => x.address), lifetime: a.lifetime });
    const respond = a.respond;
    a.respond = undefined;
    respond?.({ kind: "success", attributes: allocateSuccess(a, now) });
  }

  /**
   * RFC 8656 §5: the allocation of a non-Allocate request's 5-tuple, or 437 when there is none
   * and 441 when another username made it.
   */
  #owned(ctx: StunServerRequestContext): Allocation | StunServerReply {
    const r = ctx.received;
    const a = this.#table.find(r.local, r.remote, r.transport);
    if (a === undefined || a.state !== "active" || this.#expireIfDue(a, ctx.now)) return errorReply(437, "Allocation Mismatch: no allocation on this 5-tuple");
    if (a.user !== ctx.user) return errorReply(441, "Wrong Credentials: the allocation belongs to another username");
    return a;
  }

  /** RFC 8656 §8.2. */
  #refresh(ctx: StunServerRequestContext): StunServerReply {
    const a = this.#owned(ctx);
    if (!isAllocation(a)) return a;
    const { message: msg, now } = ctx;
    const family = msg.get(RequestedAddressFamily);
    // "does not match the address family of the allocation → 443"; for a dual allocation it
    // picks one of the two (§8.1).
    const relays = family === undefined ? a.relays.slice() : a.relays.filter((x) => x.address.family === family);
    if (relays.length === 0) return errorReply(443, `Peer Address Family Mismatch: the allocation has no ${family} relayed address`);
    const requested = msg.get(Lifetime);
    if (requested === 0) {
      for (const relay of relays) this.#removeRelay(relay);
      if (a.relays.length === 0) this.#end(a, "refresh");
      return { kind: "success", attributes: [attr(Lifetime, 0)] };
    }
    const lifetime = grantLifetime(requested, this.#defaultLifetime, this.#maxLifetime);
    for (const relay of relays) relay.expiresAt = now + lifetime * 1000;
    this.#schedule(now + lifetime * 1000);
    return { kind: "success", attributes: [attr(Lifetime, lifetime)] };
  }

  /** RFC 8656 §10.2. */
  #createPermission(ctx: StunServerRequestContext): StunServerReply {
    const a = this.#owned(ctx);
    if (!isAllocation(a)) return a;
    const now = ctx.now;
    // "MUST contain at least one XOR-PEER-ADDRESS ... If no such attribute exists, or if any of
    // these attributes are invalid, then a 400" (a malformed one throws: the STUN layer's 400).
    const peers = ctx.message.getAll(XorPeerAddress);
    if (peers.length === 0) return errorReply(400, "Bad Request: no XOR-PEER-ADDRESS");
    const relays: Relay[] = [];
    for (const p of peers) {
      const relay = this.#relayFor(a, p.family);
      if (relay === undefined) return errorReply(443, `Peer Address Family Mismatch: ${p.address} is ${p.family}, the allocation is not`);
      relays.push(relay);
    }
    for (const p of peers) if (!this.#policy.allows(p.address)) return errorReply(403, `Forbidden: relaying to ${p.address} is not allowed`);
    // Capacity: count the permissions that would be new, per relayed address.
    const adding = new Map<Relay, Set<string>>();
    peers.forEach((p, i) => {
      const relay = relays[i]!;
      if (relay.permissions.has(p.address)) return;
      let set = adding.get(relay);
      if (set === undefined) adding.set(relay, (set = new Set()));
      set.add(p.address);
    });
    for (const [relay, set] of adding) {
      if (relay.permissions.size + set.size > this.#maxPermissions) return errorReply(508, `Insufficient Capacity: at most ${this.#maxPermissions} permissions per allocation`);
    }
    peers.forEach((p, i) => this.#permit(a, relays[i]!, p.address, now));
    return SUCCESS_EMPTY;
  }

  /** RFC 8656 §12.2. */
  #channelBind(ctx: StunServerRequestContext): StunServerReply {
    const a = this.#owned(ctx);
    if (!isAllocation(a)) return a;
    const { message: msg, now } = ctx;
    const number = msg.get(ChannelNumber);
    const peer = msg.get(XorPeerAddress);
    if (number === undefined || peer === undefined) return errorReply(400, "Bad Request: ChannelBind needs CHANNEL-NUMBER and XOR-PEER-ADDRESS");
    if (number < CHANNEL_NUMBER_MIN || number > this.#maxChannelNumber) {
      return errorReply(400, `Bad Request: channel 0x${number.toString(16)} is outside 0x4000-0x${this.#maxChannelNumber.toString(16)}`);
    }
    const relay = this.#relayFor(a, peer.family);
    let bound = a.channels.get(number);
    if (bound !== undefined && bound.expiresAt <= now) {
      this.#table.unbind(bound, now);
      bound = undefined;
    }
    // "The channel number is not currently bound to a different transport address".
    if (bound !== undefined && !sameTransportAddress(bound.peer, peer)) {
      return errorReply(400, `Bad Request: channel 0x${number.toString(16)} is bound to another peer`);
    }
    // "The transport address is not currently bound to a different channel number."
    const perm = relay?.permissions.get(peer.address);
    let other = perm?.channels.get(peer.port);
    if (other !== undefined && other.expiresAt <= now) {
      this.#table.unbind(other, now);
      other = undefined;
    }
    if (other !== undefined && other.number !== number) return errorReply(400, `Bad Request: the peer is bound to channel 0x${other.number.toString(16)}`);
    if (relay === undefined) return errorReply(443, `Peer Address Family Mismatch: ${peer.address} is ${peer.family}, the allocation is not`);
    if (peer.port === 0 || !this.#policy.allows(peer.address)) return errorReply(403, `Forbidden: relaying to ${peer.address} port ${peer.port} is not allowed`);
    if (bound === undefined && a.channels.size >= this.#maxChannels) return errorReply(508, `Insufficient Capacity: at most ${this.#maxChannels} channels per allocation`);
    if (perm === undefined && relay.permissions.size >= this.#maxPermissions) return errorReply(508, `Insufficient Capacity: at most ${this.#maxPermissions} permissions per allocation`);
    // "The server also installs or refreshes a permission for the IP address".
    const permission = this.#permit(a, relay, peer.address, now);
    const expiresAt = now + CHANNEL_LIFETIME_MS;
    if (bound !== undefined) {
      bound.expiresAt = expiresAt;
    } else {
      this.#table.bind(relay, permission, number, peer, expiresAt);
      this.#events.push({ type: "channel", id: a.id, user: a.user, channel: number, peer });
    }
    this.#schedule(expiresAt);
    return SUCCESS_EMPTY;
  }

  /** §9: installs or refreshes a permission for `ip` (Permission Lifetime: 300 s). */
  #permit(a: Allocation, relay: Relay, ip: string, now: number): Permission {
    const { permission, created } = this.#table.permit(relay, ip, now + PERMISSION_LIFETIME_MS);
    if (created) this.#events.push({ type: "permission", id: a.id, user: a.user, peer: ip });
    this.#schedule(permission.expiresAt);
    return permission;
  }

  #relayFor(a: Allocation, family: AddressFamily): Relay | undefined {
    const relays = a.relays;
    for (let i = 0; i < relays.length; i++) if (relays[i]!.address.family === family) return relays[i];
    return undefined;
  }

  // ---------------------------------------------------------------------------------------
  // Teardown and timers
  // ---------------------------------------------------------------------------------------

  /** Ends `a` now if every relayed address has expired (not yet swept); true when it did. */
  #expireIfDue(a: Allocation, now: number): boolean {
    if (a.state !== "active") return false;
    for (const relay of a.relays) if (relay.expiresAt > now) return false;
    this.#end(a, "expired");
    return true;
  }

  /** Deletes an allocation: its relays, permissions, channels, pending slots. */
  #end(a: Allocation, reason: TurnAllocationEndReason): void {
    if (a.state === "pending") {
      this.#failPending(a, reason, "the allocation was deleted before its sockets were bound");
      return;
    }
    for (const relay of a.relays.slice()) this.#removeRelay(relay);
    this.#table.remove(a);
    this.#active--;
    this.#stats.allocationsEnded[reason]++;
    this.#events.push({ type: "allocation-end", id: a.id, user: a.user, client: a.fiveTuple, reason });
  }

  /** A pending allocation gives up: 508 to the Allocate, sockets closed. */
  #failPending(a: Allocation, reason: TurnAllocationEndReason, why: string): void {
    for (const s of a.slots) this.#closeSlot(s);
    a.slots = [];
    a.reserveSlot = undefined;
    this.#table.remove(a);
    this.#stats.allocationsEnded[reason]++;
    const respond = a.respond;
    a.respond = undefined;
    respond?.(errorReply(508, `Insufficient Capacity: ${why}`));
  }

  /** Removes one relayed address with its permissions and channels, and closes its socket. */
  #removeRelay(relay: Relay): void {
    if (!this.#table.detach(relay)) return;
    this.#relays--;
    const slot = this.#table.slotAt(relay.address);
    if (slot !== undefined && slot.relay === relay) this.#closeSlot(slot);
  }

  /** Gives a slot's port back and tells the driver to close its socket. */
  #closeSlot(slot: RelaySlot): void {
    this.#table.removeSlot(slot);
    this.#ports.release(slot.address.family, slot.address.port);
    slot.relay = undefined;
    slot.pending = undefined;
    slot.reservation = undefined;
    this.#events.push({ type: "relay-close", relayed: slot.address });
  }

  #dropReservation(r: Reservation): void {
    this.#forgetReservation(r);
    this.#closeSlot(r.slot);
  }

  /** Removes a reservation from the table and its user's count (not its slot). */
  #forgetReservation(r: Reservation): void {
    if (!this.#reservations.delete(r.key)) return;
    const n = (this.#reservationsPerUser.get(r.quotaKey) ?? 1) - 1;
    if (n <= 0) this.#reservationsPerUser.delete(r.quotaKey);
    else this.#reservationsPerUser.set(r.quotaKey, n);
  }

  /** Asks for a sweep at `at` (not sooner than a second after the last one). */
  #schedule(at: number): void {
    if (this.#closed) return;
    const t = Math.max(at, this.#lastSweep + SWEEP_INTERVAL_MS);
    if (this.#wakeAt === undefined || t < this.#wakeAt) this.#wakeAt = t;
  }

  /** Frees what has expired and finds the next deadline. */
  #sweep(now: number): void {
    this.#lastSweep = now;
    let next = Number.POSITIVE_INFINITY;
    for (const a of [...this.#table.all]) {
      if (a.state === "pending") {
        if (now >= a.bindDeadline) this.#failPending(a, "bind-failed", `the relay socket was not bound within ${this.#bindTimeoutMs} ms`);
        else next = Math.min(next, a.bindDeadline);
        continue;
      }
      for (const relay of a.relays.slice()) {
        if (relay.expiresAt <= now) {
          this.#removeRelay(relay);
          continue;
        }
        next = Math.min(next, relay.expiresAt, this.#table.sweep(relay, now));
      }
      if (a.relays.length === 0) this.#end(a, "expired");
    }
    for (const r of [...this.#reservations.values()]) {
      if (r.expiresAt <= now) this.#dropReservation(r);
      else next = Math.min(next, r.expiresAt);
    }
    this.#wakeAt = next === Number.POSITIVE_INFINITY ? undefined : Math.max(next, now + SWEEP_INTERVAL_MS);
  }

  /** Moves what the STUN layer queued into this engine's queues, in order. */
  #drainStun(): void {
    for (let t = this.#stun.pollTransmit(); t !== undefined; t = this.#stun.pollTransmit()) this.#transmits.push(t);
    for (let e = this.#stun.pollEvent(); e !== undefined; e = this.#stun.pollEvent()) this.#events.push(e);
  }
}

function isAllocation(x: Allocation | StunServerReply): x is Allocation {
  return (x as Allocation).fiveTuple !== undefined;
}
