/**
 * The remote candidates of an ICE session: those the peer signaled (RFC 8838 §11), with mDNS
 * `.local` names resolved through an injected resolver, and the peer-reflexive ones learned from
 * its checks (RFC 8445 §7.3.1.3). Bounded: beyond `max`, signaled candidates are refused; a new
 * peer-reflexive one may take the place of the oldest peer-reflexive one the session lets go (a
 * peer behind an address-and-port-dependent mapping NAT shows a new source per destination, and
 * the check that nominates must still be pairable).
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { canonicalIp, ipFamily } from "../bytes/ip";
import type { IceCandidate } from "./candidate";
import { isMdnsName } from "./candidate";
import type { RemoteCandidate } from "./pair";
import { remoteKey } from "./pair";

/**
 * What adding a candidate did.
 *
 * @example
 * ```ts
 * const r: RemoteAddResult = remotes.add(now, parseCandidate(line));
 * if (r.kind === "added") pairWithEveryBase(r.remote);
 * ```
 */
export type RemoteAddResult =
  /** A new remote candidate: pair it. */
  | { readonly kind: "added"; readonly remote: RemoteCandidate }
  /** It named a peer-reflexive candidate learned earlier, which now carries the signaled fields. */
  | { readonly kind: "upgraded"; readonly remote: RemoteCandidate }
  /** An mDNS name waiting for the resolver. */
  | { readonly kind: "pending" }
  /** Known already, or refused (the cap, an FQDN, an mDNS name without a resolver). */
  | { readonly kind: "duplicate" | "dropped" };

interface PendingName {
  readonly candidate: IceCandidate;
  readonly until: number;
  nextAt: number;
}

/**
 * How often an unresolved mDNS name is retried, and for how long.
 *
 * @example
 * ```ts
 * remotes.add(0, parseCandidate("candidate:1 1 udp 2122260223 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54321 typ host")).kind; // → "pending"
 * remotes.resolvePending(MDNS_RETRY_MS); // → []: asked again, still unknown
 * remotes.nextRetry();                       // → 2000
 * ```
 */
export const MDNS_RETRY_MS = 1000;
/**
 * After this long an unresolved mDNS candidate is dropped.
 *
 * @example
 * ```ts
 * remotes.resolvePending(MDNS_GIVE_UP_MS); // → [{ kind: "dropped" }] for a name added at 0 and never resolved
 * ```
 */
export const MDNS_GIVE_UP_MS = 10_000;

/**
 * A session's remote candidates; see the module comment.
 *
 * @example
 * ```ts
 * const remotes = new RemoteCandidates(100, (name) => mdnsCache.get(name));
 * const c = parseCandidate("candidate:1 1 udp 2130706431 192.0.2.30 40000 typ host");
 * remotes.add(now, c).kind; // → "added"
 * remotes.add(now, c).kind; // → "duplicate"
 * remotes.size;             // → 1
 * ```
 */
export class RemoteCandidates {
  readonly #byKey = new Map<string, RemoteCandidate>();
  readonly #pending: PendingName[] = [];
  readonly #max: number;
  readonly #resolve: ((name: string) => string | undefined) | undefined;
  #maxComponent = 0;
  #prflx = 0;

  /**
   * @param max - candidates kept, peer-reflexive ones and pending names included
   * @param resolve - the mDNS resolver, if any
   */
  constructor(max: number, resolve: ((name: string) => string | undefined) | undefined) {
    this.#max = max;
    this.#resolve = resolve;
  }

  /** Candidates known. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Names still waiting for the resolver. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** The highest component ID among them (0 when there are none). */
  get maxComponent(): number {
    return this.#maxComponent;
  }

  /** The candidate of `component` at `address`. */
  get(component: number, address: TransportAddress): RemoteCandidate | undefined {
    return this.#byKey.get(remoteKey(component, address));
  }

  /** Every candidate. */
  values(): IterableIterator<RemoteCandidate> {
    return this.#byKey.values();
  }

  /**
   * Adds a signaled candidate: an IP address at once; an mDNS name once the resolver knows it
   * (RFC 8839 §5.1 has other FQDNs ignored).
   */
  add(now: number, c: IceCandidate): RemoteAddResult {
    if (ipFamily(c.address) !== undefined) return this.#insert({ ...c, address: canonicalIp(c.address) });
    if (!isMdnsName(c.address) || this.#resolve === undefined) return { kind: "dropped" };
    if (this.#pending.length + this.#byKey.size >= this.#max) return { kind: "dropped" };
    this.#pending.push({ candidate: c, until: now + MDNS_GIVE_UP_MS, nextAt: now });
    const [first] = this.resolvePending(now);
    return first ?? { kind: "pending" };
  }

  /**
   * Asks the resolver again for the names due at `now`.
   *
   * @returns what each resolved name did; names given up on come back as `dropped`
   */
  resolvePending(now: number): RemoteAddResult[] {
    const out: RemoteAddResult[] = [];
    for (let i = 0; i < this.#pending.length; ) {
      const m = this.#pending[i]!;
      if (m.nextAt > now) {
        i++;
        continue;
      }
      let ip: string | undefined;
      try {
        ip = this.#resolve?.(m.candidate.address);
      } catch {
        ip = undefined;
      }
      if (ip !== undefined && ipFamily(ip) !== undefined) {
        this.#pending.splice(i, 1);
        out.push(this.#insert({ ...m.candidate, address: canonicalIp(ip) }));
      } else if (now >= m.until) {
        this.#pending.splice(i, 1);
        out.push({ kind: "dropped" });
      } else {
        m.nextAt = now + MDNS_RETRY_MS;
        i++;
      }
    }
    return out;
  }

  /** When a pending name is next due, or Infinity. */
  nextRetry(): number {
    let t = Infinity;
    for (const m of this.#pending) t = Math.min(t, m.nextAt);
    return t;
  }

  /**
   * A peer-reflexive candidate from a check's source (RFC 8445 §7.3.1.3): "The priority is the
   * value of the PRIORITY attribute", the foundation "an arbitrary value, different from the
   * foundations of all other remote candidates".
   *
   * At the cap, the oldest peer-reflexive candidate that `evict` agrees to give up makes room:
   * `evict` is called for candidates oldest first, and on true the candidate is forgotten here
   * (the caller has already dropped what referred to it).
   *
   * @param evict - asked whether a peer-reflexive candidate may be given up; none is when omitted
   * @returns the candidate, or undefined at the cap when nothing could be evicted
   */
  learnPeerReflexive(source: TransportAddress, component: number, priority: number, evict?: (r: RemoteCandidate) => boolean): RemoteCandidate | undefined {
    if (this.#byKey.size >= this.#max && !this.#evictPrflx(evict)) return undefined;
    const used = new Set([...this.#byKey.values()].map((r) => r.candidate.foundation));
    let foundation: string;
    do foundation = `prflx${++this.#prflx}`;
    while (used.has(foundation));
    const candidate: IceCandidate = { foundation, component, transport: "udp", priority, address: source.address, port: source.port, type: "prflx" };
    const remote: RemoteCandidate = { candidate, address: source, component, key: remoteKey(component, source) };
    this.#store(remote);
    return remote;
  }

  /** Forgets the pending names (a retired session resolves nothing more). */
  clearPending(): void {
    this.#pending.length = 0;
  }

  /** Forgets the oldest peer-reflexive candidate `evict` agrees to give up; false when none. */
  #evictPrflx(evict: ((r: RemoteCandidate) => boolean) | undefined): boolean {
    if (evict === undefined) return false;
    // A Map iterates in insertion order: oldest first.
    for (const [key, r] of this.#byKey) {
      if (r.candidate.type !== "prflx" || !evict(r)) continue;
      this.#byKey.delete(key);
      return true;
    }
    return false;
  }

  #insert(c: IceCandidate): RemoteAddResult {
    const address: TransportAddress = { family: ipFamily(c.address)!, address: c.address, port: c.port };
    const existing = this.get(c.component, address);
    if (existing !== undefined) {
      // RFC 8838 §11 step 4A: the signaled candidate replaces the peer-reflexive one.
      if (existing.candidate.type === "prflx" && c.type !== "prflx") {
        existing.candidate = c;
        return { kind: "upgraded", remote: existing };
      }
      return { kind: "duplicate" };
    }
    if (this.#byKey.size >= this.#max) return { kind: "dropped" };
    const remote: RemoteCandidate = { candidate: c, address, component: c.component, key: remoteKey(c.component, address) };
    this.#store(remote);
    return { kind: "added", remote };
  }

  #store(remote: RemoteCandidate): void {
    this.#byKey.set(remote.key, remote);
    this.#maxComponent = Math.max(this.#maxComponent, remote.component);
  }
}
