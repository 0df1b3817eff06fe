/**
 * The TURN client's channel table (RFC 8656 §12): which channel number is bound to which peer,
 * and which numbers and peers are still held back after a binding ended.
 *
 * RFC 8656 §12: "the same channel cannot be bound to two different transport addresses, nor can
 * the same transport address be bound to two different channels", and "the client MUST wait 5
 * minutes after the channel binding expires before attempting to bind the channel number to a
 * different transport address or the transport address to a different channel number." The
 * table keeps both rules: a number leaves the table only into a hold that lasts until the
 * binding may have expired on the server (last ChannelBind + 10 minutes + the longest a
 * retransmission may still arrive) plus the 5 minutes; during the hold the number may be bound
 * again only to the same peer, and that peer only to the same number.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { CHANNEL_NUMBER_MAX, CHANNEL_NUMBER_MIN } from "./channel-data";
import { TURN_CHANNEL_LIFETIME_MS, TURN_CHANNEL_REBIND_GUARD_MS } from "./client-types";

/**
 * How long after a ChannelBind request a server may still act on a retransmission of it: a UDP
 * transaction's whole span (RFC 8489 §6.2.1: 39.5 s with the defaults), rounded up.
 */
const LATE_REQUEST_MS = 40_000;

/**
 * One channel as the client tracks it.
 *
 * @example
 * ```ts
 * const entry: ChannelEntry | undefined = table.byPeer("198.51.100.4", 5000);
 * if (entry?.state === "bound") sendChannelData(entry.number, payload); // entry.number → 0x4000 for the first peer
 * ```
 */
export interface ChannelEntry {
  /** The channel number, 0x4000-0x4FFF. */
  readonly number: number;
  /** The peer it is bound to (canonical address text). */
  readonly peer: TransportAddress;
  /** `binding` until the first ChannelBind succeeds, then `bound`. */
  state: "binding" | "bound";
  /** The StunClient transaction of the ChannelBind in flight, if any. */
  tx: number | undefined;
  /** When the last ChannelBind for it was issued (ms), or -Infinity before the first. */
  lastRequestAt: number;
  /** When to rebind it to refresh it (ms); meaningful once bound. */
  refreshAt: number;
}

interface Hold {
  readonly other: number | string;
  readonly until: number;
}

/**
 * Channel numbers ⇄ peers, with RFC 8656 §12's rebinding holds.
 *
 * @example
 * ```ts
 * const table = new ChannelTable();
 * const ch = table.add(now, { family: "IPv4", address: "198.51.100.4", port: 5000 });
 * // → { number: 0x4000, state: "binding", tx: undefined, ... }
 * table.byNumber(0x4000) === ch; // → true
 * table.remove(ch!); // once a ChannelBind went out, 0x4000 stays held for this peer (RFC 8656 §12)
 * ```
 */
export class ChannelTable {
  readonly #byNumber = new Map<number, ChannelEntry>();
  /** address → port → entry: looked up on every send, so without building a key string. */
  readonly #byPeer = new Map<string, Map<number, ChannelEntry>>();
  /** number → the peer key it was last bound to, and until when that holds. */
  readonly #heldNumbers = new Map<number, Hold>();
  /** peer key → the number it was last bound to, and until when that holds. */
  readonly #heldPeers = new Map<string, Hold>();

  /** The channel bound (or binding) to `peer`, if any. Allocates nothing. */
  byPeer(address: string, port: number): ChannelEntry | undefined {
    return this.#byPeer.get(address)?.get(port);
  }

  /** The channel with `number`, if any. */
  byNumber(number: number): ChannelEntry | undefined {
    return this.#byNumber.get(number);
  }

  /** Every channel, in binding order. */
  values(): IterableIterator<ChannelEntry> {
    return this.#byNumber.values();
  }

  /** Channels in the table (binding or bound). */
  get size(): number {
    return this.#byNumber.size;
  }

  /**
   * Picks a number for `peer` and adds a `binding` entry: the number this peer was last bound to
   * if that hold is still on, else the lowest number from 0x4000 up that is neither bound nor
   * held for another peer.
   *
   * @returns the new entry, or undefined when all 4096 numbers are bound or held
   */
  add(now: number, peer: TransportAddress): ChannelEntry | undefined {
    const key = peerKey(peer);
    let number: number | undefined;
    const held = this.#heldPeers.get(key);
    if (held !== undefined && held.until > now) {
      number = held.other as number;
    } else {
      for (let n = CHANNEL_NUMBER_MIN; n <= CHANNEL_NUMBER_MAX; n++) {
        if (this.#byNumber.has(n)) continue;
        const h = this.#heldNumbers.get(n);
        if (h !== undefined && h.until > now && h.other !== key) continue;
        number = n;
        break;
      }
    }
    if (number === undefined) return undefined;
    const entry: ChannelEntry = { number, peer, state: "binding", tx: undefined, lastRequestAt: -Infinity, refreshAt: Infinity };
    this.#byNumber.set(number, entry);
    let ports = this.#byPeer.get(peer.address);
    if (ports === undefined) this.#byPeer.set(peer.address, (ports = new Map()));
    ports.set(peer.port, entry);
    this.#heldNumbers.delete(number);
    this.#heldPeers.delete(key);
    return entry;
  }

  /**
   * Removes `entry`. When a ChannelBind for it was ever sent, the number and the peer are held
   * for each other until the binding may have expired on the server plus five minutes
   * (RFC 8656 §12); a number never sent is free at once.
   */
  remove(entry: ChannelEntry): void {
    if (this.#byNumber.get(entry.number) !== entry) return;
    this.#byNumber.delete(entry.number);
    const ports = this.#byPeer.get(entry.peer.address);
    ports?.delete(entry.peer.port);
    if (ports?.size === 0) this.#byPeer.delete(entry.peer.address);
    if (entry.lastRequestAt === -Infinity) return;
    const until = entry.lastRequestAt + LATE_REQUEST_MS + TURN_CHANNEL_LIFETIME_MS + TURN_CHANNEL_REBIND_GUARD_MS;
    const key = peerKey(entry.peer);
    this.#heldNumbers.set(entry.number, { other: key, until });
    this.#heldPeers.set(key, { other: entry.number, until });
  }

  /** Forgets everything, holds included (the allocation is gone, and its channels with it). */
  clear(): void {
    this.#byNumber.clear();
    this.#byPeer.clear();
    this.#heldNumbers.clear();
    this.#heldPeers.clear();
  }
}

function peerKey(a: TransportAddress): string {
  return `${a.address}|${a.port}`;
}
