/**
 * The TURN server's state (RFC 8656 §6): allocations, their relayed transport addresses,
 * permissions and channels, and the {@link AllocationTable} that finds them.
 *
 * Lookups on the relay path allocate nothing and build no strings:
 *
 * - client → server (ChannelData, Send): the 5-tuple is found by the client's IP text (a `Map`
 *   key the driver already has), then its port (a numeric `Map` key), then a short chain
 *   compared on transport and local address; the channel by its number in a per-allocation
 *   `Map<number, Channel>`.
 * - peer → server: the relay by its port in a per-family `Map<number, RelaySlot>`; the
 *   permission by the peer's IP text in the relay's `Map`; the channel by the peer's port in
 *   the permission's `Map`.
 *
 * Expiry is checked where the state is used (`expiresAt > now`), so a lifetime ends on time even
 * if the engine sweeps the table only once a second.
 *
 * @module
 */
import type { AddressFamily, TransportAddress } from "../bytes/ip";
import type { TransportProtocol } from "../engine";
import type { StunDeferredReply } from "../stun/server-types";
import type { AddressErrorCodeValue } from "../stun/attributes/error";
import type { TurnFiveTuple } from "./server-types";

/**
 * A permission (RFC 8656 §9): an IP address a relayed address accepts data from.
 *
 * @example
 * ```ts
 * const perm: Permission | undefined = relay.permissions.get(received.remote.address); // by IP: ports are ignored (RFC 8656 §9)
 * const relayed = perm !== undefined && perm.expiresAt > now; // → false 300 s after the last CreatePermission
 * ```
 */
export interface Permission {
  /** The peer IP, canonical text. */
  readonly ip: string;
  /** Engine time it lapses at. */
  expiresAt: number;
  /** Channels bound to peers at this IP, by peer port. */
  readonly channels: Map<number, Channel>;
}

/**
 * A channel binding (RFC 8656 §12): a number standing for a peer transport address.
 *
 * @example
 * ```ts
 * const ch: Channel | undefined = allocation.channels.get(0x4000);
 * if (ch !== undefined && ch.expiresAt > now) {
 *   transmits.push({ local: ch.relay.address, remote: ch.peer, transport: "udp", data: payload });
 * }
 * ```
 */
export interface Channel {
  /** 0x4000-0x4FFF. */
  readonly number: number;
  readonly peer: TransportAddress;
  /** The relayed address (of the peer's family) it belongs to. */
  readonly relay: Relay;
  /** The permission for the peer's IP (installed with the channel, RFC 8656 §12.2). */
  readonly permission: Permission;
  expiresAt: number;
}

/**
 * A relayed transport address of an allocation, with its own lifetime (RFC 8656 §6).
 *
 * @example
 * ```ts
 * const relay: Relay | undefined = table.slotAt(received.local)?.relay; // a peer's datagram on a relay socket
 * relay?.address;                       // → { family: "IPv4", address: "192.0.2.1", port: 60533 }
 * relay?.allocation.fiveTuple.remote;   // → the client to forward it to
 * ```
 */
export interface Relay {
  readonly allocation: Allocation;
  readonly address: TransportAddress;
  expiresAt: number;
  /** Permissions by peer IP text. */
  readonly permissions: Map<string, Permission>;
}

/**
 * A relay socket the engine asked the driver for: an allocation's relayed address, a port held
 * for a RESERVATION-TOKEN, or one still being bound.
 *
 * @example
 * ```ts
 * const slot: RelaySlot = {
 *   address: { family: "IPv4", address: "192.0.2.1", port: 60533 },
 *   bound: false, relay: undefined, pending: allocation, reservation: undefined,
 * };
 * table.addSlot(slot);        // then a relay-open event; handleRelayBound sets slot.bound
 * table.slotAt(slot.address); // → slot
 * ```
 */
export interface RelaySlot {
  readonly address: TransportAddress;
  /** True once the driver reported the socket bound. */
  bound: boolean;
  /** The relay using it, once its allocation is in place. */
  relay: Relay | undefined;
  /** The allocation waiting for it, while pending. */
  pending: Allocation | undefined;
  /** The reservation holding it. */
  reservation: Reservation | undefined;
}

/**
 * A port held for a later Allocate with RESERVATION-TOKEN (RFC 8656 §7.2, §18.10).
 *
 * @example
 * ```ts
 * const res: Reservation = { key: toHex(token), quotaKey: "alice", slot, expiresAt: now + 30_000 };
 * reservations.set(res.key, res); // an Allocate with RESERVATION-TOKEN token takes slot's port
 * ```
 */
export interface Reservation {
  /** Hex of the 8-byte token. */
  readonly key: string;
  /** The quota of the user whose Allocate reserved it: a held port counts like an allocation. */
  readonly quotaKey: string;
  readonly slot: RelaySlot;
  expiresAt: number;
}

/**
 * An allocation (RFC 8656 §6).
 *
 * @example
 * ```ts
 * const a: Allocation | undefined = table.find(received.local, received.remote, received.transport);
 * if (a?.state === "active") console.log(a.id, a.user, a.relays.map((r) => r.address.port)); // → 1 "alice" [60533]
 * ```
 */
export interface Allocation {
  /** Server-local id, for events. */
  readonly id: number;
  readonly fiveTuple: TurnFiveTuple;
  /** The username that created it (RFC 8656 §5: later requests must use the same). */
  readonly user: string;
  /** What the per-user quota counts it against. */
  readonly quotaKey: string;
  /** The Allocate's transaction id, for retransmissions (RFC 8656 §7.2 NOTE). */
  readonly transactionId: Uint8Array;
  /** `"pending"` until every relay socket is bound; then `"active"`. */
  state: "pending" | "active";
  /** Relayed addresses: one, or one per family for a dual allocation (RFC 8656 §7.2 step 9). */
  relays: Relay[];
  /** Slots while pending (the relays' and a reservation's). */
  slots: RelaySlot[];
  /** Ports to reserve for a token once bound, while pending (EVEN-PORT R bit). */
  reserveSlot: RelaySlot | undefined;
  /** The token handed out in the success response, kept for retransmissions. */
  reservationToken: Uint8Array | undefined;
  /** ADDRESS-ERROR-CODE for a partially satisfied dual allocation. */
  addressError: AddressErrorCodeValue | undefined;
  /** Lifetime granted, seconds (until the first Refresh). */
  lifetime: number;
  /** Channels by number. */
  readonly channels: Map<number, Channel>;
  /** Answers the Allocate once the relays are bound (pending only). */
  respond: StunDeferredReply | undefined;
  /** When a pending allocation gives up waiting for its sockets. */
  bindDeadline: number;
  /** Bind attempts so far (pending only). */
  bindAttempts: number;
  /** What the Allocate asked for, to pick ports again after a failed bind. */
  request: AllocateShape;
  /** Next allocation from the same client IP and port (rare: another transport or local). */
  next: Allocation | undefined;
}

/**
 * The port needs of an Allocate, kept to retry when a bind fails.
 *
 * @example
 * ```ts
 * const shape: AllocateShape = { families: request.families, evenPort: request.evenPort }; // from readAllocate
 * // → { families: ["IPv4"], evenPort: "pair" } for EVEN-PORT with the R bit
 * ```
 */
export interface AllocateShape {
  readonly families: readonly AddressFamily[];
  readonly evenPort: "any" | "even" | "pair";
}

/** True when a 5-tuple's fields match. */
function sameTuple(a: TurnFiveTuple, local: TransportAddress, transport: TransportProtocol): boolean {
  return a.transport === transport && a.local.port === local.port && a.local.address === local.address;
}

/**
 * Allocations by 5-tuple, slots by relay port, and per-user counts. See the module comment for
 * the lookup paths.
 *
 * @example
 * ```ts
 * const table = new AllocationTable();
 * table.add(allocation); // indexed by its 5-tuple, counted against its quotaKey
 * const { local, remote, transport } = allocation.fiveTuple;
 * table.find(local, remote, transport) === allocation; // → true
 * table.countFor("alice"); // → 1
 * ```
 */
export class AllocationTable {
  readonly #byClient = new Map<string, Map<number, Allocation>>();
  readonly #slots: Record<AddressFamily, Map<number, RelaySlot>> = { IPv4: new Map(), IPv6: new Map() };
  readonly #perUser = new Map<string, number>();
  readonly #all = new Set<Allocation>();

  /** Every allocation, pending ones included. */
  get all(): ReadonlySet<Allocation> {
    return this.#all;
  }

  /** Users with at least one allocation. */
  get users(): number {
    return this.#perUser.size;
  }

  /** Allocations (pending included) counted against `quotaKey`. */
  countFor(quotaKey: string): number {
    return this.#perUser.get(quotaKey) ?? 0;
  }

  /** The allocation on this 5-tuple, pending or active. */
  find(local: TransportAddress, remote: TransportAddress, transport: TransportProtocol): Allocation | undefined {
    let a = this.#byClient.get(remote.address)?.get(remote.port);
    while (a !== undefined && !sameTuple(a.fiveTuple, local, transport)) a = a.next;
    return a;
  }

  /** Adds an allocation (its 5-tuple must be free). */
  add(a: Allocation): void {
    const { remote } = a.fiveTuple;
    let ports = this.#byClient.get(remote.address);
    if (ports === undefined) this.#byClient.set(remote.address, (ports = new Map()));
    a.next = ports.get(remote.port);
    ports.set(remote.port, a);
    this.#all.add(a);
    this.#perUser.set(a.quotaKey, (this.#perUser.get(a.quotaKey) ?? 0) + 1);
  }

  /** Removes an allocation from the 5-tuple index and the counts (not its slots). */
  remove(a: Allocation): void {
    if (!this.#all.delete(a)) return;
    const { remote } = a.fiveTuple;
    const ports = this.#byClient.get(remote.address);
    if (ports !== undefined) {
      let head = ports.get(remote.port);
      if (head === a) head = a.next;
      else {
        for (let p = head; p !== undefined; p = p.next) {
          if (p.next === a) {
            p.next = a.next;
            break;
          }
        }
      }
      if (head === undefined) ports.delete(remote.port);
      else ports.set(remote.port, head);
      if (ports.size === 0) this.#byClient.delete(remote.address);
    }
    a.next = undefined;
    const n = (this.#perUser.get(a.quotaKey) ?? 1) - 1;
    if (n <= 0) this.#perUser.delete(a.quotaKey);
    else this.#perUser.set(a.quotaKey, n);
  }

  /** The slot for a relay socket address, if the engine asked for one there. */
  slotAt(local: TransportAddress): RelaySlot | undefined {
    const s = this.#slots[local.family].get(local.port);
    return s !== undefined && s.address.address === local.address ? s : undefined;
  }

  /** Registers a slot. */
  addSlot(slot: RelaySlot): void {
    this.#slots[slot.address.family].set(slot.address.port, slot);
  }

  /** Forgets a slot. */
  removeSlot(slot: RelaySlot): void {
    const m = this.#slots[slot.address.family];
    if (m.get(slot.address.port) === slot) m.delete(slot.address.port);
  }

  // Permissions and channels, counted for stats.
  #permissions = 0;
  #channels = 0;

  /** Permissions held (swept or not). */
  get permissions(): number {
    return this.#permissions;
  }

  /** Channels bound (swept or not). */
  get channels(): number {
    return this.#channels;
  }

  /**
   * Installs or refreshes the permission for `ip` on `relay` until `expiresAt` (RFC 8656 §9).
   *
   * @returns the permission, and whether it is new
   */
  permit(relay: Relay, ip: string, expiresAt: number): { readonly permission: Permission; readonly created: boolean } {
    let permission = relay.permissions.get(ip);
    const created = permission === undefined;
    if (permission === undefined) {
      permission = { ip, expiresAt, channels: new Map() };
      relay.permissions.set(ip, permission);
      this.#permissions++;
    }
    permission.expiresAt = expiresAt;
    return { permission, created };
  }

  /** Binds channel `number` of `relay`'s allocation to `peer` (RFC 8656 §12.2). */
  bind(relay: Relay, permission: Permission, number: number, peer: TransportAddress, expiresAt: number): Channel {
    const ch: Channel = { number, peer, relay, permission, expiresAt };
    relay.allocation.channels.set(number, ch);
    permission.channels.set(peer.port, ch);
    this.#channels++;
    return ch;
  }

  /** Unbinds a channel; its permission goes too if it has lapsed and no channel is left. */
  unbind(ch: Channel, now: number): void {
    const { relay, permission } = ch;
    if (relay.allocation.channels.get(ch.number) === ch) relay.allocation.channels.delete(ch.number);
    if (permission.channels.get(ch.peer.port) === ch) {
      permission.channels.delete(ch.peer.port);
      this.#channels--;
    }
    if (permission.channels.size === 0 && permission.expiresAt <= now) this.#dropPermission(relay, permission);
  }

  /**
   * Frees `relay`'s channels and permissions that have lapsed by `now` (a permission stays while
   * a channel to its IP lives).
   *
   * @returns the earliest deadline still ahead, or `Infinity`
   */
  sweep(relay: Relay, now: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const permission of [...relay.permissions.values()]) {
      for (const ch of [...permission.channels.values()]) {
        if (ch.expiresAt <= now) this.unbind(ch, now);
        else next = Math.min(next, ch.expiresAt);
      }
      if (permission.expiresAt > now) next = Math.min(next, permission.expiresAt);
      else if (permission.channels.size === 0) this.#dropPermission(relay, permission);
    }
    return next;
  }

  /**
   * Detaches a relayed address from its allocation, with its permissions and channels (the
   * allocation itself, and the relay's slot, are the caller's).
   *
   * @returns false when it was not attached
   */
  detach(relay: Relay): boolean {
    const a = relay.allocation;
    const i = a.relays.indexOf(relay);
    if (i < 0) return false;
    a.relays.splice(i, 1);
    for (const permission of relay.permissions.values()) {
      for (const ch of permission.channels.values()) {
        a.channels.delete(ch.number);
        this.#channels--;
      }
      this.#permissions--;
    }
    relay.permissions.clear();
    relay.expiresAt = 0;
    return true;
  }

  #dropPermission(relay: Relay, permission: Permission): void {
    if (relay.permissions.get(permission.ip) !== permission) return;
    relay.permissions.delete(permission.ip);
    this.#permissions--;
  }
}
