/**
 * Local and remote candidates as the agent holds them, and candidate pairs (RFC 8445 §6.1.2).
 *
 * A pair in the checklist always has a host or relayed local candidate: §6.1.2.4 replaces a
 * reflexive local candidate by its base, which makes it redundant with the host pair. A valid
 * pair (§7.2.5.3.2) may have any local candidate: the one whose transport address the peer saw
 * (server-reflexive or peer-reflexive behind a NAT). Both are {@link CandidatePair} objects;
 * `inChecklist` and `valid` say which roles a pair plays.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import type { IceCandidatePairStats } from "./agent-types";
import type { IceCandidate } from "./candidate";
import { pairPriority } from "./priority";

/**
 * Sends a datagram through a TURN allocation: what a relayed base needs (RFC 8445 §12.1).
 *
 * @example
 * ```ts
 * const sender: RelaySender = { alive: true, send: (now, peer, data) => turnClient.send(now, peer, data) };
 * ```
 */
export interface RelaySender {
  /** Sends `data` from the relayed address to `peer`; false when the allocation cannot. */
  send(now: number, peer: TransportAddress, data: Uint8Array): boolean;
  /** True while the allocation is usable. */
  readonly alive: boolean;
}

/**
 * A local candidate and its base.
 *
 * @example
 * ```ts
 * const host: LocalCandidate = hostCandidate(foundations, { family: "IPv4", address: "192.168.1.2", port: 50000 }, 1, 0);
 * host.key;             // → "l|192.168.1.2|50000"
 * host.localPreference; // → 65535
 * ```
 */
export interface LocalCandidate {
  /** The candidate as signaled (priority, foundation, type, related address). */
  readonly candidate: IceCandidate;
  /** Its transport address. */
  readonly address: TransportAddress;
  /** Its base (RFC 8445 §4): itself for host and relayed candidates, the host candidate otherwise. */
  readonly base: LocalCandidate;
  /** Component ID. */
  readonly component: number;
  /** Local preference used in its priority. */
  readonly localPreference: number;
  /** For relayed candidates: the allocation to send through. */
  readonly relay: RelaySender | undefined;
  /** Identity: transport address and base. */
  readonly key: string;
}

/**
 * A remote candidate: signaled, or peer-reflexive learned from a check (RFC 8445 §7.3.1.3).
 *
 * @example
 * ```ts
 * const c = parseCandidate("candidate:1 1 udp 2130706431 192.0.2.30 40000 typ host");
 * const address = { family: "IPv4", address: c.address, port: c.port } as const;
 * const remote: RemoteCandidate = { candidate: c, address, component: 1, key: remoteKey(1, address) };
 * ```
 */
export interface RemoteCandidate {
  /** As signaled; replaced when a trickled candidate names a peer-reflexive one (RFC 8838 §11). */
  candidate: IceCandidate;
  /** Its resolved transport address. */
  readonly address: TransportAddress;
  /** Component ID. */
  readonly component: number;
  /** Identity: component and transport address. */
  readonly key: string;
}

/**
 * Pair states (RFC 8445 §6.1.2.6), spelled as `RTCStatsIceCandidatePairState`.
 *
 * @example
 * ```ts
 * agent.stats().pairs.map((p) => p.state); // → e.g. ["in-progress", "succeeded", "succeeded"]
 * ```
 */
export type PairState = "frozen" | "waiting" | "in-progress" | "succeeded" | "failed";

/**
 * Key of a local candidate: its kind, transport address and, for reflexive ones, its base.
 *
 * @example
 * ```ts
 * localKey("host", { family: "IPv4", address: "192.168.1.2", port: 50000 });          // → "l|192.168.1.2|50000"
 * localKey("srflx", { family: "IPv4", address: "198.51.100.1", port: 61000 }, host); // → "l|198.51.100.1|61000<l|192.168.1.2|50000"
 * ```
 */
export function localKey(kind: "host" | "relay" | "srflx" | "prflx", address: TransportAddress, base?: LocalCandidate): string {
  const own = `${kind === "relay" ? "r" : "l"}|${address.address}|${address.port}`;
  return base === undefined ? own : `${own}<${base.key}`;
}

/**
 * Key of a remote candidate.
 *
 * @example
 * ```ts
 * remoteKey(1, { family: "IPv4", address: "192.0.2.30", port: 40000 }); // → "1|192.0.2.30|40000"
 * ```
 */
export function remoteKey(component: number, address: TransportAddress): string {
  return `${component}|${address.address}|${address.port}`;
}

/**
 * A candidate pair with its state, flags and counters (RTCIceCandidatePairStats-like).
 *
 * @example
 * ```ts
 * const pair = new CandidatePair(1, host, remote);
 * pair.updatePriority(true); // controlling: G is the local candidate's priority
 * pair.priority;             // → 9151314442783293438n for two host candidates of 2130706431
 * pair.foundation;           // → "1:1"
 * pair.state;                // → "frozen" until the checklist decides
 * ```
 */
export class CandidatePair {
  /** Unique within the agent, for stats ids and logs. */
  readonly id: number;
  readonly local: LocalCandidate;
  readonly remote: RemoteCandidate;
  readonly key: string;
  /** RFC 8445 §6.1.2.3 priority for the agent's current role. */
  priority = 0n;
  state: PairState = "frozen";
  /** In the checklist (scheduled for checks). */
  inChecklist = false;
  /** In the valid list (RFC 8445 §7.2.5.3.2). */
  valid = false;
  /** The nominated flag of a valid pair. */
  nominated = false;
  /**
   * Controlling: send USE-CANDIDATE in the next check (RFC 8445 §8.1.1). Controlled: the next
   * check was triggered by a request with USE-CANDIDATE, so its success nominates (§7.3.1.5).
   */
  nominate = false;
  /** The valid pair this pair's last successful check produced (§7.2.5.3.2). */
  validPair: CandidatePair | undefined;
  /** For a valid pair: the pair whose check produced it, which a nomination repeats (§8.1.1). */
  generator: CandidatePair | undefined;
  /** Last authenticated success response on this pair (initial consent, RFC 7675 §5). */
  consentAt = -Infinity;
  /** Consent expired or revoked (RFC 7675 §5.1, §5.2): nothing may be sent on it any more. */
  consentLost = false;
  /** When to send the next consent check. */
  nextConsentAt = Infinity;
  requestsSent = 0;
  requestsReceived = 0;
  responsesSent = 0;
  responsesReceived = 0;
  retransmissionsSent = 0;
  consentRequestsSent = 0;
  packetsSent = 0;
  bytesSent = 0;
  packetsReceived = 0;
  bytesReceived = 0;
  /** Last time anything (check, response, data, keepalive) left on this pair; for keepalives (§11). */
  lastSentAt = -Infinity;
  lastReceivedAt = -Infinity;
  currentRttMs: number | undefined;
  totalRttMs = 0;
  rttMeasurements = 0;

  constructor(id: number, local: LocalCandidate, remote: RemoteCandidate) {
    this.id = id;
    this.local = local;
    this.remote = remote;
    this.key = pairKey(local, remote);
  }

  /** Component ID (the local and remote candidates share it). */
  get component(): number {
    return this.local.component;
  }

  /** The pair's foundation: its candidates' foundations combined (§6.1.2.6). */
  get foundation(): string {
    return `${this.local.candidate.foundation}:${this.remote.candidate.foundation}`;
  }

  /** Recomputes {@link priority} for the agent's role (RFC 8445 §6.1.2.3; a role switch changes it). */
  updatePriority(controlling: boolean): void {
    const l = this.local.candidate.priority;
    const r = this.remote.candidate.priority;
    this.priority = controlling ? pairPriority(l, r) : pairPriority(r, l);
  }

  /** Records an RTT sample from a check or consent transaction sent once (Karn). */
  sampleRtt(rtt: number): void {
    this.currentRttMs = rtt;
    this.totalRttMs += rtt;
    this.rttMeasurements++;
  }
}

/**
 * Key of the pair of `local` and `remote`.
 *
 * @example
 * ```ts
 * pairKey(host, remote); // → "l|192.168.1.2|50000>1|192.0.2.30|40000"
 * ```
 */
export function pairKey(local: LocalCandidate, remote: RemoteCandidate): string {
  return `${local.key}>${remote.key}`;
}

/**
 * True when an IPv6 address is link-local (fe80::/10), which RFC 8445 §6.1.2.2 pairs only with its own kind.
 *
 * @example
 * ```ts
 * isLinkLocal({ family: "IPv6", address: "fe80::1", port: 5000 });     // → true
 * isLinkLocal({ family: "IPv6", address: "2001:db8::1", port: 5000 }); // → false
 * ```
 */
export function isLinkLocal(address: TransportAddress): boolean {
  return address.family === "IPv6" && /^fe[89ab]/i.test(address.address);
}

/**
 * RFC 8445 §6.1.2.2: same component, same address family, link-local only with link-local.
 *
 * @example
 * ```ts
 * canPair(host, remote); // → true: component 1, IPv4 and UDP on both sides
 * canPair(host, { ...remote, address: { family: "IPv6", address: "2001:db8::30", port: 40000 } }); // → false
 * ```
 */
export function canPair(local: LocalCandidate, remote: RemoteCandidate): boolean {
  return (
    local.component === remote.component &&
    local.address.family === remote.address.family &&
    local.candidate.transport === remote.candidate.transport &&
    isLinkLocal(local.address) === isLinkLocal(remote.address)
  );
}

/**
 * A pair's statistics, as `IceAgent.stats()` reports them.
 *
 * @example
 * ```ts
 * const s = pairStats(pair, false);
 * s.id;    // → "CP1"
 * s.state; // → "frozen"
 * ```
 */
export function pairStats(p: CandidatePair, selected: boolean): IceCandidatePairStats {
  return {
    id: `CP${p.id}`,
    component: p.component,
    local: p.local.candidate,
    remote: p.remote.candidate,
    state: p.state,
    priority: p.priority,
    nominated: p.nominated,
    valid: p.valid,
    selected,
    requestsSent: p.requestsSent,
    requestsReceived: p.requestsReceived,
    responsesSent: p.responsesSent,
    responsesReceived: p.responsesReceived,
    retransmissionsSent: p.retransmissionsSent,
    consentRequestsSent: p.consentRequestsSent,
    packetsSent: p.packetsSent,
    bytesSent: p.bytesSent,
    packetsReceived: p.packetsReceived,
    bytesReceived: p.bytesReceived,
    currentRoundTripTimeMs: p.currentRttMs,
    totalRoundTripTimeMs: p.totalRttMs,
    roundTripTimeMeasurements: p.rttMeasurements,
    lastPacketSentAt: Number.isFinite(p.lastSentAt) ? p.lastSentAt : undefined,
    lastPacketReceivedAt: Number.isFinite(p.lastReceivedAt) ? p.lastReceivedAt : undefined,
  };
}
