/**
 * The shapes an {@link IceAgent} takes and gives: options, events, states and statistics.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import type { HmacFactory } from "../crypto/types";
import type { RandomSource } from "../engine";
import type { IceCandidate } from "./candidate";
import type { IceRole } from "./checks";
import type { PairState } from "./pair";
import type { IcePacer } from "./pacer";
import type { IceAgent } from "./agent"; // for {@link}s only

export type { IceRole } from "./checks";
export type { PairState } from "./pair";

/**
 * The agent's connection state, named as `RTCIceConnectionState`:
 * - `new`: nothing checked yet;
 * - `checking`: checks are under way (or the first check arrived, for a lite agent);
 * - `connected`: every component has a valid pair (data can flow) but not all are nominated;
 * - `completed`: every component has a selected (nominated) pair (RFC 8445 §8.1.2, §8.2);
 * - `disconnected`: a selected pair has had no consent response for `disconnectedTimeout`
 *   (RFC 7675); it returns to `connected`/`completed` when one comes;
 * - `failed`: the checklist failed (RFC 8445 §7.2.5.4 with RFC 8838 §8's end-of-candidates
 *   conditions, or a failed nomination, §7.2.5.3.4), or consent expired (RFC 7675 §5.1);
 *   only {@link IceAgent.restart} leaves it;
 * - `closed`: {@link IceAgent.close} was called.
 *
 * @example
 * ```ts
 * let state: IceConnectionState = agent.state; // → "new"
 * for (let e; (e = agent.pollEvent()); ) if (e.type === "state") state = e.state; // "checking", "connected", "completed"
 * if (state === "failed") agent.restart(now); // nothing else leaves "failed"
 * ```
 */
export type IceConnectionState = "new" | "checking" | "connected" | "completed" | "failed" | "disconnected" | "closed";

/**
 * Gathering progress: `new` before {@link IceAgent.startGathering}.
 *
 * @example
 * ```ts
 * agent.gatheringState; // → "new"
 * agent.startGathering(now);
 * agent.gatheringState; // → "gathering"; "complete" once every STUN and TURN server answered or gave up
 * ```
 */
export type IceGatheringState = "new" | "gathering" | "complete";

/**
 * A TURN server to allocate relayed candidates on (RFC 8445 §5.1.1.2).
 *
 * @example
 * ```ts
 * const turn: IceTurnServer = {
 *   address: { family: "IPv4", address: "192.0.2.20", port: 3478 },
 *   username: "alice",
 *   password: "s3cret",
 * };
 * const agent = new IceAgent({ role: "controlling", turnServers: [turn] }); // one Allocate per base
 * ```
 */
export interface IceTurnServer {
  /** Its transport address (resolve names first). */
  readonly address: TransportAddress;
  /** Client-to-server transport; default `"udp"`. */
  readonly transport?: "udp" | "tcp" | "tls";
  /** Long-term credential username. */
  readonly username: string;
  /** Long-term credential password. */
  readonly password: string;
}

/**
 * Configuration of an {@link IceAgent}. Times are in milliseconds.
 *
 * @example
 * ```ts
 * const options: IceAgentOptions = {
 *   role: "controlling",
 *   stunServers: [{ family: "IPv4", address: "192.0.2.10", port: 3478 }],
 *   consentInterval: false, // keepalives only (RFC 8445 §11)
 * };
 * new IceAgent(options).localPacing; // → 50, the default Ta
 * ```
 */
export interface IceAgentOptions {
  /**
   * The initial role (RFC 8445 §6.1.1): the agent that started ICE controls. It changes on a
   * role conflict (§7.3.1.1, §7.2.5.1) and when the peer turns out to be lite.
   */
  readonly role: IceRole;
  /**
   * Run as a lite agent (RFC 8445 §2.5, §5.2): host candidates only, answers checks and accepts
   * nominations, never sends checks. Facing a full peer it is controlled (§6.1.1 "One agent
   * full, one lite"; a lite agent created `controlling` switches when the peer's credentials
   * arrive without `lite: true`). Facing a lite peer (`setRemoteCredentials(..., { lite: true })`)
   * the initiating agent controls and both select pairs without checks once the candidates are
   * exchanged (§6.1.1 "Both lite", §8.2).
   */
  readonly lite?: boolean;
  /**
   * The pacer shared by every agent of the implementation (RFC 8445 §14.2: all transactions
   * from all agents at most once every 5 ms). Default: a private one, so that only this agent's
   * Ta paces it. Pass one {@link IcePacer} to every agent of a process or UDP mux.
   */
  readonly pacer?: IcePacer;
  /**
   * Gather loopback addresses (RFC 8445 §5.1.1.1 says they "MUST NOT be included"): for tests
   * on 127.0.0.1 and ::1. Default false; a socket added with `{ explicit: true }` opts in alone.
   */
  readonly loopback?: boolean;
  /**
   * The application is IPv6-only (RFC 4038), so IPv4-mapped IPv6 addresses may be host
   * candidates (§5.1.1.1 "SHOULD NOT be included [...] unless"). Default false.
   */
  readonly ipv6Only?: boolean;
  /** Local username fragment (4-256 ice-chars); default 8 random ice-chars (48 bits, §5.3: ≥ 24). */
  readonly ufrag?: string;
  /** Local password (22-256 ice-chars); default 24 random ice-chars (144 bits, §5.3: ≥ 128). */
  readonly pwd?: string;
  /** Random source for credentials, tiebreakers, transaction ids and consent jitter. */
  readonly random?: RandomSource;
  /** The 64-bit tiebreaker (§7.1.3); default random. */
  readonly tiebreaker?: bigint;
  /** Number of components, 1-256 (default 1; §5.1.1.1 discourages more outside RTP/RTCP). */
  readonly components?: number;
  /** STUN servers for server-reflexive candidates (§5.1.1.2). */
  readonly stunServers?: TransportAddress[];
  /** TURN servers for relayed candidates (§5.1.1.2). */
  readonly turnServers?: IceTurnServer[];
  /**
   * Ta, the pacing of new transactions (§14.2): default 50 ms, at least 5 ms. It is the value to
   * signal (`a=ice-pacing`, {@link IceAgent.localPacing}); once the peer's credentials arrive the
   * agent uses the higher of it and the peer's (§14.2, RFC 8839 §5.5).
   */
  readonly ta?: number;
  /** Limit of candidate pairs in the checklist (§6.1.2.5): default 100. */
  readonly maxPairs?: number;
  /** Remote candidates kept, peer-reflexive ones included (default 100); more are dropped and counted. */
  readonly maxRemoteCandidates?: number;
  /** Tr, the keepalive interval (§11): default 15 000 ms, at least 15 000. */
  readonly keepaliveInterval?: number;
  /**
   * Consent freshness (RFC 7675): the base period of consent checks on selected pairs, each
   * interval randomized to 0.8-1.2 times it. Default 5000, at least 4000; `false` turns consent
   * checks off (keepalives then keep the NAT bindings, §11).
   */
  readonly consentInterval?: number | false;
  /** Consent expiry (RFC 7675 §5.1: 30 s): no response for this long fails the pair. Default 30 000. */
  readonly consentTimeout?: number;
  /** No consent response for this long makes the state `disconnected`. Default 10 000. */
  readonly disconnectedTimeout?: number;
  /**
   * How long the controlling agent waits after a component's first valid pair before it
   * nominates the best valid pair, when higher-priority checks are still pending or candidates
   * may still arrive (§8.1.1: the stopping criterion is local policy). Default 1000 ms.
   */
  readonly nominationDelay?: number;
  /** Rc: sends of a connectivity check (RFC 8489 §6.2.1, default 7). */
  readonly checkTransmissions?: number;
  /**
   * Resolves an mDNS `.local` name of a remote candidate to an IP address, or returns undefined
   * while it cannot yet (the driver may resolve asynchronously and answer from a cache). Without
   * it, `.local` candidates are ignored; unresolved ones are retried every second for 10 s.
   */
  readonly resolveMdns?: (name: string) => string | undefined;
  /** SOFTWARE in checks and responses, if any. */
  readonly software?: string;
  /** HMAC capability (default: icekit's pure one). */
  readonly hmac?: HmacFactory;
}

/**
 * What an {@link IceAgent} reports.
 *
 * @example
 * ```ts
 * for (let e: IceAgentEvent | undefined; (e = agent.pollEvent()); ) {
 *   if (e.type === "local-candidate") signal(e.line); // → "candidate:1 1 udp 2130706431 192.168.1.2 50000 typ host ufrag 9avc9mvT"
 *   else if (e.type === "gathering" && e.state === "complete") signalEndOfCandidates();
 *   else if (e.type === "selected-pair") console.log(e.local.type, e.remote.type); // → "srflx srflx"
 *   else if (e.type === "data") deliver(e.data, e.from);
 * }
 * ```
 */
export type IceAgentEvent =
  /** A local candidate to signal to the peer (Trickle ICE, RFC 8838 §9). */
  | { readonly type: "local-candidate"; readonly candidate: IceCandidate; readonly line: string }
  /** Gathering started, or ended: signal end-of-candidates on `complete` (RFC 8838 §13). */
  | { readonly type: "gathering"; readonly state: "gathering" | "complete" }
  /** The connection state changed. */
  | { readonly type: "state"; readonly state: IceConnectionState }
  /** The selected pair of a component changed (RFC 8445 §8.1.1). */
  | { readonly type: "selected-pair"; readonly component: number; readonly local: IceCandidate; readonly remote: IceCandidate }
  /**
   * Application data (anything that is not STUN, RFC 7983) from `from`. The bytes are a view
   * into the datagram handed to `handleReceive`, valid as long as the driver does not reuse it.
   */
  | { readonly type: "data"; readonly component: number; readonly data: Uint8Array; readonly from: TransportAddress }
  /** The role changed: a role conflict (RFC 8445 §7.3.1.1, §7.2.5.1) or a lite peer (§6.1.1). */
  | { readonly type: "role"; readonly role: IceRole };

/**
 * Per-pair statistics, after `RTCIceCandidatePairStats` (durations in ms).
 *
 * @example
 * ```ts
 * const selected: IceCandidatePairStats | undefined = agent.stats().pairs.find((p) => p.selected);
 * selected?.state;                  // → "succeeded"
 * selected?.nominated;              // → true
 * selected?.currentRoundTripTimeMs; // → e.g. 80
 * ```
 */
export interface IceCandidatePairStats {
  /** Unique within the agent. */
  readonly id: string;
  readonly component: number;
  readonly local: IceCandidate;
  readonly remote: IceCandidate;
  readonly state: PairState;
  /** 64-bit pair priority (RFC 8445 §6.1.2.3). */
  readonly priority: bigint;
  readonly nominated: boolean;
  /** In the valid list (RFC 8445 §7.2.5.3.2). */
  readonly valid: boolean;
  /** The selected pair of its component. */
  readonly selected: boolean;
  readonly requestsSent: number;
  readonly requestsReceived: number;
  readonly responsesSent: number;
  readonly responsesReceived: number;
  readonly retransmissionsSent: number;
  readonly consentRequestsSent: number;
  readonly packetsSent: number;
  readonly bytesSent: number;
  readonly packetsReceived: number;
  readonly bytesReceived: number;
  /** The last RTT measured by a check or consent transaction sent once. */
  readonly currentRoundTripTimeMs: number | undefined;
  readonly totalRoundTripTimeMs: number;
  readonly roundTripTimeMeasurements: number;
  readonly lastPacketSentAt: number | undefined;
  readonly lastPacketReceivedAt: number | undefined;
}

/**
 * Agent-wide counters: what was dropped and why, and the sizes of the tables.
 *
 * @example
 * ```ts
 * const { unauthenticated, droppedMalformed }: IceAgentCounters = agent.stats();
 * unauthenticated;  // → 0; each check with an unknown ufrag or a wrong MESSAGE-INTEGRITY adds 1 (answered 401)
 * droppedMalformed; // → 0
 * ```
 */
export interface IceAgentCounters {
  /** Binding requests answered with 400 (missing USERNAME, MESSAGE-INTEGRITY or PRIORITY). */
  badRequests: number;
  /** Binding requests answered with 401 (unknown ufrag, wrong MESSAGE-INTEGRITY). */
  unauthenticated: number;
  /** Binding requests answered with 420. */
  unknownAttributes: number;
  /** Binding requests answered with 487 (RFC 8445 §7.3.1.1). */
  roleConflictsSent: number;
  /** Role switches (either direction). */
  roleSwitches: number;
  /** STUN messages with a wrong FINGERPRINT, dropped. */
  droppedFingerprint: number;
  /** Datagrams that are neither STUN nor data on a known base, or STUN that does not decode. */
  droppedMalformed: number;
  /** Responses without a transaction (late, duplicate, spoofed). */
  unmatchedResponses: number;
  /** Responses with missing or wrong MESSAGE-INTEGRITY, dropped (RFC 8489 §9.1.4). */
  droppedResponseIntegrity: number;
  /** Responses from or to the wrong address (RFC 8445 §7.2.5.2.1): the pair failed. */
  nonSymmetricResponses: number;
  /** Data from sources that are not remote candidates, dropped. */
  droppedDataUnknownSource: number;
  /** Remote candidates refused: the cap, an unsupported transport or address, after end-of-candidates. */
  droppedRemoteCandidates: number;
  /** Pairs not formed: the checklist was full (RFC 8445 §6.1.2.5). */
  droppedPairs: number;
  /**
   * Checks with USE-CANDIDATE left unanswered because the pair they nominate could not be formed
   * (remote-candidate or pair limits, RFC 8445 §7.3.1.5); the controlling agent retransmits them.
   */
  droppedNominations: number;
  /** Early checks (before the peer's credentials) that did not fit the queue. */
  droppedEarlyChecks: number;
  /** Host addresses not gathered by RFC 8445 §5.1.1.1 (loopback, deprecated, site-local, ...). */
  excludedHostAddresses: number;
  /** Binding indications received (keepalives). */
  indicationsReceived: number;
  /** Keepalives sent (RFC 8445 §11). */
  keepalivesSent: number;
  /** Data datagrams sent and received. */
  dataSent: number;
  dataReceived: number;
}

/**
 * What {@link IceAgent.stats} returns.
 *
 * @example
 * ```ts
 * const s: IceAgentStats = agent.stats();
 * s.state;                               // → "completed"
 * s.localCandidates;                     // → 2: host and srflx
 * s.pairs.filter((p) => p.valid).length; // → 1
 * ```
 */
export interface IceAgentStats extends Readonly<IceAgentCounters> {
  readonly state: IceConnectionState;
  readonly gatheringState: IceGatheringState;
  readonly role: IceRole;
  readonly localCandidates: number;
  readonly remoteCandidates: number;
  /** Every pair of the current session, checklist pairs and valid pairs. */
  readonly pairs: readonly IceCandidatePairStats[];
}
