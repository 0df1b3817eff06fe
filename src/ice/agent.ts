/**
 * The ICE agent (RFC 8445, with Trickle ICE, RFC 8838, and consent freshness, RFC 7675), full
 * or lite, as a sans-IO engine.
 *
 * The agent owns no socket and reads no clock. The driver binds one UDP socket per local
 * address, tells the agent about it ({@link IceAgent.addLocalSocket}: that socket is a base),
 * feeds it datagrams and time, and sends what it asks, from the base it names
 * (`Transmit.local`). Signaling (credentials, candidates, end-of-candidates) is the
 * application's: candidates come out as `local-candidate` events and go in through
 * {@link IceAgent.addRemoteCandidate}, at any time (Trickle ICE).
 *
 * ```ts
 * const agent = new IceAgent({ role: "controlling", stunServers: [stun] });
 * const socket = bindUdp("192.0.2.7", 0);                      // one per local address
 * agent.addLocalSocket(now(), socket.local);
 * signal({ ufrag: agent.localUfrag, pwd: agent.localPwd });
 * agent.startGathering(now());
 * function drive() {                                          // after every call into the agent
 *   for (let t; (t = agent.pollTransmit()); ) socketFor(t.local).send(t.data, t.remote);
 *   for (let e; (e = agent.pollEvent()); ) {
 *     if (e.type === "local-candidate") signal({ candidate: e.line });
 *     else if (e.type === "gathering" && e.state === "complete") signal({ endOfCandidates: true });
 *     else if (e.type === "selected-pair") agent.send(now(), hello);
 *     else if (e.type === "data") deliver(e.data);
 *   }
 *   clearTimeout(timer);
 *   const at = agent.pollTimeout();
 *   if (at !== undefined) timer = setTimer(() => { agent.handleTimeout(now()); drive(); }, at - now());
 * }
 * socket.on("message", (data, from) => { agent.handleReceive(now(), { local: socket.local, remote: from, transport: "udp", data }); drive(); });
 * onSignal((m) => {
 *   if (m.ufrag) agent.setRemoteCredentials(m.ufrag, m.pwd);
 *   if (m.candidate) agent.addRemoteCandidate(now(), m.candidate);
 *   if (m.endOfCandidates) agent.endOfRemoteCandidates(now());
 *   drive();
 * });
 * drive();
 * ```
 *
 * Methods, sorted as quinn-proto sorts them: getters ({@link IceAgent.state},
 * {@link IceAgent.role}, {@link IceAgent.localUfrag}, {@link IceAgent.selectedPair},
 * {@link IceAgent.localCandidates}, {@link IceAgent.stats}); `handle*` (datagrams, time,
 * transport errors); mutators (sockets, gathering, signaling, {@link IceAgent.send},
 * {@link IceAgent.restart}, {@link IceAgent.close}); `poll*` (transmits, events, the timeout).
 *
 * What the agent does, section by section: candidates with RFC 8445 §5.1.2 priorities and RFC
 * 8421 local preferences, §5.1.1.3 foundations and §5.1.3 redundancy elimination; one checklist
 * (one data stream) with N components (§6.1.2), pruning and the pair limit; checks paced at Ta
 * from the triggered-check queue first (§6.1.4); §7 checks and responses with role-conflict
 * repair, peer-reflexive candidates both ways and the valid list; regular nomination by the
 * controlling agent (§8.1.1), and aggressive nominations accepted by the controlled one; lite
 * (§2.5, §8.2); keepalives (§11); consent freshness (RFC 7675); restarts (§9).
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { ipFamily, sameTransportAddress } from "../bytes/ip";
import { Queue } from "../engine";
import type { Engine, RandomSource, Received, Transmit, TransportProtocol } from "../engine";
import { IcekitError } from "../errors";
import { StunMessageBuilder } from "../stun/builder";
import { MessageClass, Method } from "../stun/constants";
import { shortTermCredential } from "../stun/credentials";
import { classifyPacket, isStunMessage } from "../stun/demux";
import { decodeStunMessage } from "../stun/message";
import type { StunMessage } from "../stun/message";
import type {
  IceAgentCounters,
  IceAgentEvent,
  IceAgentOptions,
  IceAgentStats,
  IceConnectionState,
  IceGatheringState,
  IceRole,
} from "./agent-types";
import type { IceCandidate } from "./candidate";
import { formatCandidate, parseCandidate } from "./candidate";
import { encodeError, encodeSuccess } from "./checks";
import { checkedAddress, resolveOptions } from "./agent-options";
import { checkIceCredential, randomIceString, randomTiebreaker } from "./credentials";
import { Foundations } from "./foundation";
import { Gatherer } from "./gathering";
import type { RelaySession } from "./gathering";
import type { CandidatePair, LocalCandidate } from "./pair";
import { hostCandidate, peerReflexiveCandidate, reflexiveCandidate, relayedCandidate } from "./local-candidates";
import { dualStackRanks } from "./priority";
import type { ResponderCredentials } from "./responder";
import { resolveRoleConflict, verifyRequest } from "./responder";
import { IceSession } from "./session";
import type { IcePacer } from "./pacer";
import { hostAddressExclusion, trackingExclusion } from "./host-addresses";
import type { HostAddressInfo } from "./host-addresses";
import { portMappedCandidate } from "./local-candidates";
import type { SessionConfig, SessionContext } from "./session";

export type {
  IceAgentCounters,
  IceAgentEvent,
  IceAgentOptions,
  IceAgentStats,
  IceCandidatePairStats,
  IceConnectionState,
  IceGatheringState,
  IceRole,
  IceTurnServer,
  PairState,
} from "./agent-types";

/** Peer-reflexive local candidates kept (each one came from an authenticated response). */
const MAX_LOCAL_PRFLX = 64;

/** Order in which the connection state normally advances; intermediate states are reported. */
const PROGRESS: readonly IceConnectionState[] = ["new", "checking", "connected", "completed"];

/**
 * Options for {@link IceAgent.setRemoteCredentials}: what the peer signaled beside its credentials.
 *
 * @example
 * ```ts
 * const d = parseIceAttributes(remoteSdpLines);
 * agent.setRemoteCredentials(d.ufrag!, d.pwd!, { lite: d.lite, ...(d.pacing !== undefined ? { pacing: d.pacing } : {}) });
 * ```
 */
export interface RemoteCredentialsOptions {
  /**
   * The peer is a lite agent (`a=ice-lite`). RFC 8445 §6.1.1: facing a full agent ("The full
   * agent MUST take the controlling role"), a controlled full agent switches; facing a lite
   * agent, a lite agent keeps its role and selects pairs without checks ("Both lite"). Absent or
   * false: the peer is full, and a lite agent that started controlling turns controlled.
   */
  readonly lite?: boolean;
  /**
   * The peer's Ta in ms (`a=ice-pacing`, RFC 8839 §5.5). RFC 8445 §14.2: "Both agents MUST use
   * the higher value of the proposed values. If an agent does not propose a value, the default
   * value [50 ms] is used for that agent when comparing which value is higher."
   */
  readonly pacing?: number;
}

/**
 * Options for {@link IceAgent.addPortMappedCandidate}.
 *
 * @example
 * ```ts
 * agent.addPortMappedCandidate(now, socket.local, mapping.external, { component: 1, gateway: "192.168.1.1" });
 * ```
 */
export interface PortMappedCandidateOptions {
  /** The component, 1 to `components` (default 1). */
  readonly component?: number;
  /**
   * The IP address of the gateway that made the mapping (PCP or NAT-PMP server, UPnP IGD):
   * the "server" of its foundation (RFC 8445 §5.1.1.3). Default: one foundation per base IP.
   */
  readonly gateway?: string;
}

/** RFC 8445 §14.2: the Ta of an agent that does not propose one. */
const DEFAULT_TA = 50;

/**
 * A sans-IO ICE agent; see the module comment.
 *
 * @example
 * ```ts
 * const agent = new IceAgent({ role: "controlling", stunServers: [{ family: "IPv4", address: "192.0.2.10", port: 3478 }] });
 * agent.addLocalSocket(now, { family: "IPv4", address: "192.168.1.2", port: 50000 }); // → true
 * agent.startGathering(now);
 * agent.pollEvent();    // → { type: "gathering", state: "gathering" }
 * agent.pollEvent();    // → { type: "local-candidate", line: "candidate:1 1 udp 2130706431 192.168.1.2 50000 typ host ufrag …", … }
 * agent.pollTransmit(); // → the Binding request from 192.168.1.2:50000 to 192.0.2.10:3478
 * ```
 */
export class IceAgent implements Engine<IceAgentEvent> {
  readonly #config: SessionConfig;
  readonly #random: RandomSource;
  readonly #builder = new StunMessageBuilder();
  readonly #transmits = new Queue<Transmit>();
  readonly #events = new Queue<IceAgentEvent>();
  readonly #foundations = new Foundations();
  readonly #gatherer: Gatherer;
  readonly #counters: IceAgentCounters = {
    badRequests: 0,
    unauthenticated: 0,
    unknownAttributes: 0,
    roleConflictsSent: 0,
    roleSwitches: 0,
    droppedFingerprint: 0,
    droppedMalformed: 0,
    unmatchedResponses: 0,
    droppedResponseIntegrity: 0,
    nonSymmetricResponses: 0,
    droppedDataUnknownSource: 0,
    droppedRemoteCandidates: 0,
    droppedPairs: 0,
    droppedNominations: 0,
    droppedEarlyChecks: 0,
    excludedHostAddresses: 0,
    indicationsReceived: 0,
    keepalivesSent: 0,
    dataSent: 0,
    dataReceived: 0,
  };
  /** Sockets the driver added: host bases once gathering starts. */
  readonly #sockets: { address: TransportAddress; component: number }[] = [];
  /** Host bases, by component and address. */
  readonly #hosts: LocalCandidate[] = [];
  /** Local candidates signaled (host, srflx, relay) and peer-reflexive ones learned. */
  readonly #locals: LocalCandidate[] = [];
  /** Candidates found when they could no longer be signaled: the next restart signals them. */
  readonly #unsignaled: LocalCandidate[] = [];
  #prflxCount = 0;
  readonly #ctx: SessionContext;
  #role: IceRole;
  #tiebreaker: bigint;
  #session: IceSession;
  /** The session before a restart, while its selected pairs still carry data (RFC 8445 §12.1). */
  #previous: IceSession | undefined;
  #state: IceConnectionState = "new";
  #gathering: IceGatheringState = "new";
  #nextTaAt = -Infinity;
  readonly #pacer: IcePacer;
  /** Our pacer slot, reserved while a transaction waits for it (RFC 8445 §14.2). */
  #slot: number | undefined;
  /** Ta in force: ours, then the higher of ours and the peer's once it is known (§14.2). */
  #ta: number;
  readonly #loopback: boolean;
  readonly #ipv6Only: boolean;
  /** Host addresses and what the driver said about them, for §5.1.1.1's temporary-address rule. */
  readonly #socketInfo = new Map<string, HostAddressInfo>();
  /** Port mappings announced with {@link expectPortMapping} and not yet added or failed. */
  #portMappingsPending = 0;
  #preferGathering = true;
  #now = -Infinity;
  #pairIds = 0;
  #closed = false;
  #completedOnce = false;

  /**
   * @param options - role, servers, timers; see {@link IceAgentOptions}
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for options out of range (each message says
   *   what to pass instead)
   */
  constructor(options: IceAgentOptions) {
    const o = resolveOptions(options);
    this.#config = o.config;
    this.#random = o.random;
    this.#tiebreaker = o.tiebreaker;
    this.#role = o.role;
    this.#pacer = o.pacer;
    this.#ta = o.config.ta;
    this.#loopback = o.loopback;
    this.#ipv6Only = o.ipv6Only;
    const { ta, consent } = o.config;
    this.#gatherer = new Gatherer(
      { stunServers: o.stunServers, turnServers: o.turnServers, ta, random: this.#random, software: o.config.software, hmac: o.config.hmac, keepalive: consent.keepalive },
      {
        onReflexive: (now, base, mapped, server, serverIndex) => this.#onReflexive(now, base, mapped, server, serverIndex),
        onRelayed: (now, relay, relayed, mapped) => this.#onRelayed(now, relay, relayed, mapped),
        onRelayData: (now, relay, peer, data) => this.#onRelayData(now, relay, peer, data),
        onRelayLost: (_now, relay) => {
          for (const c of relay.candidates) {
            this.#session.onBaseLost(c);
            this.#previous?.onBaseLost(c);
          }
        },
      },
    );
    this.#ctx = this.#makeContext();
    this.#session = this.#newSession(o.ufrag, o.pwd);
  }

  // -------------------------------------------------------------------------------------------
  // Getters

  /** The local username fragment of the current session (signal it to the peer). */
  get localUfrag(): string {
    return this.#session.local.ufrag;
  }

  /** The local password of the current session (signal it to the peer). */
  get localPwd(): string {
    return this.#session.local.pwd;
  }

  /** The current role. */
  get role(): IceRole {
    return this.#role;
  }

  /** The 64-bit tiebreaker (it changes when a 487 makes the agent switch roles, §7.2.5.1). */
  get tiebreaker(): bigint {
    return this.#tiebreaker;
  }

  /** The connection state, as last reported by a `state` event. */
  get state(): IceConnectionState {
    return this.#state;
  }

  /** Gathering progress. */
  get gatheringState(): IceGatheringState {
    return this.#gathering;
  }

  /** True for a lite agent. */
  get lite(): boolean {
    return this.#config.lite;
  }

  /**
   * The Ta to signal as `a=ice-pacing` (RFC 8839 §5.5): the `ta` option. Undefined for a lite
   * agent, which "MUST NOT include the ice-pacing attribute" (RFC 8839 §4.3.1).
   */
  get localPacing(): number | undefined {
    return this.#config.lite ? undefined : this.#config.ta;
  }

  /** The Ta in force (RFC 8445 §14.2): the higher of ours and the peer's once it is known. */
  get ta(): number {
    return this.#ta;
  }

  /**
   * True when this agent, lite and controlling with a lite peer, selected among several pairs of
   * a component (RFC 8445 §8.2): it "MUST send an updated candidate list to reconcile different
   * agents selecting different candidate pairs" — signal the local candidates of
   * {@link selectedPair} as the new list. (icekit's controlled side selects by the same rule.)
   */
  get candidateUpdateRequired(): boolean {
    return this.#config.lite && this.#role === "controlling" && this.#session.liteChoseAmongSeveral;
  }

  /**
   * The selected pair of `component` (RFC 8445 §8.1.1), or during a restart the previous
   * session's, which still carries data (§12.1).
   */
  selectedPair(component = 1): { local: IceCandidate; remote: IceCandidate } | undefined {
    const p = this.#session.selected(component) ?? this.#previous?.selected(component);
    return p === undefined ? undefined : { local: p.local.candidate, remote: p.remote.candidate };
  }

  /** The local candidates signaled so far in this session (what a restart re-signals). */
  localCandidates(): IceCandidate[] {
    return this.#locals.filter((l) => l.candidate.type !== "prflx").map((l) => this.#withUfrag(l));
  }

  /** Counters, table sizes and per-pair statistics of the current session. */
  stats(): IceAgentStats {
    return {
      ...this.#counters,
      state: this.#state,
      gatheringState: this.#gathering,
      role: this.#role,
      localCandidates: this.#locals.length,
      remoteCandidates: this.#session.remoteCount,
      pairs: this.#session.pairStats(),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Input

  /**
   * Hands in a datagram that arrived on one of the agent's sockets, or a framed message from a
   * TURN server over TCP/TLS. STUN goes to the checks, the TURN and STUN clients; anything else
   * (RFC 7983: DTLS, RTP, ...) from a remote candidate is reported as `data`.
   *
   * @returns false when the datagram is not the agent's (an unknown local address or transport)
   */
  handleReceive(now: number, received: Received): boolean {
    this.#advance(now);
    if (this.#gatherer.handleReceive(now, received)) {
      this.#after(now);
      return true;
    }
    if (this.#closed) return false;
    if (received.transport !== "udp") return false;
    // A socket becomes a base when its host candidate is signaled (startGathering).
    const base = this.#hosts.find((h) => sameTransportAddress(h.address, received.local));
    if (base === undefined) return false;
    this.#onPacket(now, base, received.remote, received.data);
    this.#after(now);
    return true;
  }

  /** Runs whatever is due: checks at Ta, retransmissions, nominations, consent, keepalives, refreshes. */
  handleTimeout(now: number): void {
    this.#advance(now);
    this.#gatherer.handleTimeout(now);
    this.#gatherer.drain(now);
    if (!this.#closed) {
      this.#session.handleTimeout(now);
      const prev = this.#previous;
      if (prev !== undefined) {
        prev.handleTimeout(now);
        for (const [c, p] of prev.selectedPairs) if (p.consentLost) prev.release(c);
        if (prev.selectedPairs.size === 0) this.#previous = undefined;
      }
    }
    this.#after(now);
  }

  /**
   * The driver reports a transport failure (a TCP connection to a TURN server closed, a hard
   * ICMP error): the TURN and STUN clients act on it.
   */
  handleTransportError(now: number, remote: TransportAddress, transport: TransportProtocol, detail = "transport error"): void {
    this.#advance(now);
    this.#gatherer.handleTransportError(now, remote, transport, detail);
    this.#after(now);
  }

  // -------------------------------------------------------------------------------------------
  // Mutators

  /**
   * The driver bound a UDP socket on `local` for `component`: it becomes a host candidate's base
   * (RFC 8445 §5.1.1.1). Before {@link startGathering} the candidate waits (its local preference
   * is set then, RFC 8421, across all sockets); after, it is signaled at once and server-reflexive
   * and relayed gathering starts from it.
   *
   * RFC 8445 §5.1.1.1 decides which addresses become host candidates: loopback ones only when the
   * application opts in (`info.explicit`, or the `loopback` option), IPv4-mapped ones only for an
   * IPv6-only application (`info.explicit` or `ipv6Only`), IPv4-compatible and site-local ones
   * never, and when a temporary IPv6 address is gathered, neither link-local addresses nor stable
   * ones of its interface and prefix. The others are ignored and counted
   * (`stats().excludedHostAddresses`).
   *
   * @param local - the socket's address and port (not a wildcard)
   * @param component - the component ID, 1 to `components` (default 1)
   * @param info - whether the application chose the address itself, whether it is a temporary
   *   IPv6 address, its interface
   * @returns false when the address is excluded (nothing was added)
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for a bad address or component
   * @example
   * ```ts
   * agent.addLocalSocket(now, { family: "IPv4", address: "127.0.0.1", port: 5000 }, 1, { explicit: true });
   * ```
   */
  addLocalSocket(now: number, local: TransportAddress, component = 1, info: HostAddressInfo = {}): boolean {
    this.#advance(now);
    if (this.#closed) throw new IcekitError("INVALID_STATE", "addLocalSocket on a closed agent");
    const address = checkedAddress(local, "local");
    if (address.port === 0) throw new IcekitError("INVALID_ARGUMENT", "local port 0: pass the port the socket is bound to");
    if (address.address === "0.0.0.0" || address.address === "::") {
      throw new IcekitError("INVALID_ARGUMENT", `local ${address.address}: pass the address the socket is bound to, not a wildcard (each address is a base, RFC 8445 §5.1.1.1)`);
    }
    if (!Number.isInteger(component) || component < 1 || component > this.#config.components) {
      throw new IcekitError("INVALID_ARGUMENT", `component ${component}: pass 1 to ${this.#config.components} (the components option)`);
    }
    if (this.#sockets.some((s) => s.component === component && sameTransportAddress(s.address, address))) return true;
    const why = hostAddressExclusion(address.address);
    const optedIn = (why === "loopback" && (info.explicit === true || this.#loopback)) || (why === "ipv4-mapped" && (info.explicit === true || this.#ipv6Only));
    if (why !== undefined && !optedIn) {
      this.#counters.excludedHostAddresses++;
      return false;
    }
    this.#socketInfo.set(address.address, info);
    if (this.#gathering !== "new" && this.#trackingExcluded(address.address)) {
      this.#counters.excludedHostAddresses++;
      return false;
    }
    this.#sockets.push({ address, component });
    if (this.#gathering !== "new") {
      const rank = this.#hosts.filter((h) => h.component === component).length;
      this.#addHost(now, address, component, rank);
    }
    this.#after(now);
    return true;
  }

  /**
   * Says that a port mapping (PCP, NAT-PMP, UPnP IGD) is being requested: gathering does not
   * complete (no end-of-candidates, RFC 8838 §13) until {@link addPortMappedCandidate} or
   * {@link portMappingFailed} answers it, so that the mapped candidate can still trickle.
   */
  expectPortMapping(now: number): void {
    this.#advance(now);
    if (this.#closed) return;
    this.#portMappingsPending++;
  }

  /** An expected port mapping ({@link expectPortMapping}) failed: gathering may complete. */
  portMappingFailed(now: number): void {
    this.#advance(now);
    if (this.#portMappingsPending > 0) this.#portMappingsPending--;
    this.#after(now);
  }

  /**
   * Adds a local candidate learned from a port mapping (PCP, NAT-PMP, UPnP IGD; Tailscale's
   * "portmapped" endpoint): the gateway forwards `mapped` to the socket `base`. RFC 8445 has no
   * type for it: it is server-reflexive, with `raddr`/`rport` naming the base (RFC 8839 §5.1).
   *
   * Priority: §5.1.2.1 says the type preference "MUST be identical for all candidates of the same
   * type", so it keeps srflx's 100; its local preference is the top of its base's range, one
   * above the STUN-learned server-reflexive candidates of the same base: a mapped port is
   * endpoint-independent (it works from any peer), which a STUN-learned one behind an
   * address-dependent mapping is not. Redundancy (§5.1.3, RFC 8838 §9): equal to an existing
   * candidate (same address and base) it is ignored, and a later equal STUN one is.
   *
   * It trickles like any candidate while gathering runs (hold gathering open with
   * {@link expectPortMapping}); after end-of-candidates or a selection it waits for the next
   * {@link restart} (RFC 8838 §13).
   *
   * @param base - the local socket the mapping forwards to (a host candidate's address)
   * @param mapped - the external address and port of the mapping
   * @returns true when the candidate is new (signaled now, or at the next restart)
   * @throws {@link IcekitError} `INVALID_ARGUMENT` when `base` is not a socket of the component
   * @example
   * ```ts
   * agent.expectPortMapping(now);
   * const m = await pcp.map(socket);                // the application's port-mapping client
   * agent.addPortMappedCandidate(now, socket.local, m.external, { gateway: "192.168.1.1" });
   * ```
   */
  addPortMappedCandidate(now: number, base: TransportAddress, mapped: TransportAddress, options: PortMappedCandidateOptions = {}): boolean {
    this.#advance(now);
    if (this.#closed) throw new IcekitError("INVALID_STATE", "addPortMappedCandidate on a closed agent");
    const b = checkedAddress(base, "base");
    const m = checkedAddress(mapped, "mapped");
    const component = options.component ?? 1;
    if (m.port === 0) throw new IcekitError("INVALID_ARGUMENT", "mapped port 0: pass the external port the gateway assigned");
    if (m.family !== b.family) throw new IcekitError("INVALID_ARGUMENT", `mapped ${m.address} and base ${b.address}: pass addresses of one family`);
    if (options.gateway !== undefined && ipFamily(options.gateway) === undefined) {
      throw new IcekitError("INVALID_ARGUMENT", `gateway ${String(options.gateway)}: pass the gateway's IP address`);
    }
    if (this.#portMappingsPending > 0) this.#portMappingsPending--;
    const host = this.#hosts.find((h) => h.component === component && sameTransportAddress(h.address, b));
    if (host === undefined) {
      if (this.#sockets.some((s) => s.component === component && sameTransportAddress(s.address, b))) {
        throw new IcekitError("INVALID_STATE", "addPortMappedCandidate before startGathering: the base is not a host candidate yet");
      }
      throw new IcekitError("INVALID_ARGUMENT", `base ${b.address}:${b.port}: pass the address of a socket added with addLocalSocket (component ${component})`);
    }
    // A lite agent has host candidates only (RFC 8445 §5.2).
    if (this.#config.lite) {
      this.#after(now);
      return false;
    }
    const added = this.#addLocal(now, portMappedCandidate(this.#foundations, host, m, options.gateway));
    this.#after(now);
    return added;
  }

  /**
   * Starts gathering (RFC 8445 §5.1.1): host candidates for the sockets added so far, then a
   * Binding request per STUN server and an Allocate per TURN server, one per Ta; each candidate
   * is a `local-candidate` event, and `gathering: complete` ends it (signal end-of-candidates
   * then). A lite agent gathers host candidates only (§5.2).
   */
  startGathering(now: number): void {
    this.#advance(now);
    if (this.#closed) throw new IcekitError("INVALID_STATE", "startGathering on a closed agent");
    if (this.#gathering !== "new") return;
    this.#setGathering("gathering");
    // §5.1.1.1: with a temporary IPv6 address, link-local and trackable addresses of its prefix go.
    for (let i = this.#sockets.length - 1; i >= 0; i--) {
      if (this.#trackingExcluded(this.#sockets[i]!.address.address)) {
        this.#sockets.splice(i, 1);
        this.#counters.excludedHostAddresses++;
      }
    }
    for (let component = 1; component <= this.#config.components; component++) {
      const sockets = this.#sockets.filter((s) => s.component === component);
      const ranks = dualStackRanks(sockets.map((s) => s.address.family));
      const order = sockets.map((s, i) => ({ s, rank: ranks[i]! })).sort((a, b) => a.rank - b.rank);
      for (const { s, rank } of order) this.#addHost(now, s.address, component, rank);
    }
    this.#session.replayEarly(now);
    this.#after(now);
  }

  /**
   * The peer's username fragment and password (RFC 8445 §5.3). Checks that arrived before them
   * are processed now (§7.3). New values while a session has others are the peer's ICE restart
   * (§9): the session is replaced, its selected pair carrying data until the new one selects;
   * call {@link restart} too, as JSEP answers a restart with new credentials.
   *
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for values outside RFC 8839's ice-char grammar
   */
  setRemoteCredentials(ufrag: string, pwd: string, options: RemoteCredentialsOptions = {}): void {
    checkIceCredential(ufrag, "ufrag", 1);
    checkIceCredential(pwd, "pwd", 1);
    const pacing = options.pacing;
    if (pacing !== undefined && (typeof pacing !== "number" || !Number.isInteger(pacing) || pacing < 0 || pacing > 9_999_999_999)) {
      throw new IcekitError("INVALID_ARGUMENT", `pacing ${String(pacing)}: pass the peer's ice-pacing, a whole number of ms (RFC 8839 §5.5)`);
    }
    if (this.#closed) return;
    const now = this.#now === -Infinity ? 0 : this.#now;
    const peerLite = options.lite === true;
    // RFC 8445 §6.1.1: "One agent full, one lite: The full agent MUST take the controlling role,
    // and the lite agent MUST take the controlled role."
    if (peerLite && !this.#config.lite && this.#role === "controlled") this.#switchRole("controlling", false);
    if (!peerLite && this.#config.lite && this.#role === "controlling") this.#switchRole("controlled", false);
    // §14.2: "Both agents MUST use the higher value of the proposed values"; a peer that proposes
    // none counts as the default. A lite peer performs no checks (RFC 8839 §4.3.1): same rule.
    this.#ta = Math.max(this.#config.ta, pacing ?? DEFAULT_TA);
    if (!this.#session.setRemoteCredentials(now, ufrag, pwd)) {
      this.#replaceSession(this.#session.local.ufrag, this.#session.local.pwd);
      this.#session.setRemoteCredentials(now, ufrag, pwd);
    }
    if (peerLite && this.#config.lite) this.#session.setRemoteLite();
    this.#after(now);
  }

  /**
   * A remote candidate (Trickle ICE, RFC 8838 §11): an {@link IceCandidate} or its line, with or
   * without `a=` and `candidate:`. Pairs form and checks start at once. Candidates after
   * end-of-candidates, of another session (`ufrag`), TCP ones and FQDNs other than resolvable
   * mDNS names are ignored and counted; so is any beyond `maxRemoteCandidates`.
   *
   * @throws {@link StunDecodeError} `BAD_TEXT` for a malformed line; {@link IcekitError} for a
   *   malformed object
   */
  addRemoteCandidate(now: number, candidate: IceCandidate | string): void {
    this.#advance(now);
    const c = typeof candidate === "string" ? parseCandidate(candidate) : checkedCandidate(candidate);
    if (this.#closed) return;
    this.#session.addRemoteCandidate(now, c);
    this.#after(now);
  }

  /** The peer has no more candidates for this session (RFC 8838 §14): ICE may now fail. */
  endOfRemoteCandidates(now: number): void {
    this.#advance(now);
    if (this.#closed) return;
    this.#session.endOfRemoteCandidates(now);
    this.#after(now);
  }

  /**
   * Sends application data on the component's selected pair (RFC 8445 §12.1), before selection on
   * its best valid pair, during a restart on the previous session's selected pair: from the
   * pair's base, through TURN (ChannelData once bound) for a relayed candidate.
   *
   * @param data - the payload; handed to the driver as is (do not modify it afterwards)
   * @returns false when nothing was sent: no usable pair, consent lost, the agent closed
   */
  send(now: number, data: Uint8Array, component = 1): boolean {
    this.#advance(now);
    // §12.1: without a pair for every component (a failed checklist), no data at all.
    if (this.#closed || this.#session.failed) return false;
    let owner = this.#session;
    let pair = owner.selected(component);
    if (pair === undefined && this.#previous !== undefined) {
      pair = this.#previous.selected(component);
      if (pair !== undefined) owner = this.#previous;
    }
    // §12.1.1: a lite agent sends only on nominated pairs.
    if (pair === undefined && !this.#config.lite) {
      pair = owner.bestValid(component);
      // RFC 7675 §5.1: a valid pair has consent from its last success response for 30 s; only
      // selected pairs renew it with consent checks.
      const c = this.#config.consent;
      if (pair !== undefined && c.interval !== false && now - pair.consentAt >= c.timeout) return false;
    }
    if (pair === undefined || pair.consentLost) return false;
    const relay = pair.local.base.relay;
    if (relay !== undefined && !relay.alive) return false;
    owner.sendData(now, pair, data);
    this.#counters.dataSent++;
    this.#gatherer.drain(now);
    return true;
  }

  /**
   * ICE restart (RFC 8445 §9): new ufrag and password, a fresh session (remote candidates and
   * credentials must be signaled again), the local candidates re-signaled as `local-candidate`
   * events with the new ufrag, then `gathering: complete`. Data keeps flowing on the old selected
   * pairs, under consent, until the new session selects (§12.1, RFC 7675 §5.1). The role stays.
   *
   * @returns the new credentials to signal
   */
  restart(now: number): { ufrag: string; pwd: string } {
    this.#advance(now);
    if (this.#closed) throw new IcekitError("INVALID_STATE", "restart on a closed agent: create a new one");
    const ufrag = randomIceString(this.#random, 8);
    const pwd = randomIceString(this.#random, 24);
    this.#replaceSession(ufrag, pwd);
    if (this.#gathering !== "new") {
      this.#setGathering("gathering");
      for (const l of this.#locals) if (l.candidate.type !== "prflx") this.#emitCandidate(l);
      for (const l of this.#unsignaled.splice(0)) {
        this.#signal(now, l);
        if (l.candidate.type === "host" && !this.#config.lite) this.#gatherer.addBase(l);
      }
    }
    this.#after(now);
    return { ufrag, pwd };
  }

  /**
   * Closes the agent: no more checks, data or events but the final `state: closed`; TURN
   * allocations are deleted (RFC 8656 §8.1), so keep driving until `pollTimeout` is undefined.
   */
  close(now: number): void {
    this.#advance(now);
    if (this.#closed) return;
    this.#closed = true;
    this.#gatherer.close(now);
    this.#session.retire();
    this.#previous = undefined;
    this.#after(now);
  }

  // -------------------------------------------------------------------------------------------
  // Output

  /** Next datagram to send; `local` names the base (socket) to send it from. */
  pollTransmit(): Transmit | undefined {
    return this.#transmits.shift() ?? this.#gatherer.pollTransmit();
  }

  /** Next event. */
  pollEvent(): IceAgentEvent | undefined {
    return this.#events.shift();
  }

  /** When to call {@link handleTimeout} next, or undefined when nothing is pending. */
  pollTimeout(): number | undefined {
    let t = this.#gatherer.pollTimeout() ?? Infinity;
    const now = this.#now;
    // The reserved pacer slot, also once closed (TURN deallocations wait for slots too).
    if (this.#slot !== undefined) t = Math.min(t, this.#slot);
    else if (this.#gatherer.turnWaiting) t = Math.min(t, now); // e.g. a permission send() asked for
    if (!this.#closed) {
      if (this.#slot === undefined && (this.#gatherer.hasPending || this.#session.wantsTick())) t = Math.min(t, Math.max(this.#nextTaAt, now));
      t = Math.min(t, this.#session.pollTimeout(now) ?? Infinity, this.#previous?.pollTimeout(now) ?? Infinity);
    }
    return t === Infinity ? undefined : t;
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  #makeContext(): SessionContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const agent = this;
    return {
      config: this.#config,
      get ta() {
        return agent.#ta;
      },
      get role() {
        return agent.#role;
      },
      get tiebreaker() {
        return agent.#tiebreaker;
      },
      random: this.#random,
      builder: this.#builder,
      counters: this.#counters,
      get gatheringComplete() {
        return agent.#gathering === "complete";
      },
      localCandidates: this.#locals,
      newPairId: () => ++this.#pairIds,
      learnLocalPrflx: (_now, base, mapped, priority) => this.#learnLocalPrflx(base, mapped, priority),
      sendFrom: (now, base, remote, data) => this.#sendFrom(now, base, remote, data),
      switchRole: (_now, role) => this.#switchRole(role, true),
      onSelected: (now, component, pair) => this.#onSelected(now, component, pair),
      emit: (event) => this.#events.push(event),
    };
  }

  #newSession(ufrag: string, pwd: string): IceSession {
    return new IceSession(this.#ctx, { ufrag, pwd, keys: shortTermCredential(ufrag, pwd, this.#config.hmac) });
  }

  /** RFC 8445 §9: flush the session; the old one keeps its selected pairs while they carry data. */
  #replaceSession(ufrag: string, pwd: string): void {
    const old = this.#session;
    old.retire();
    if (old.selectedPairs.size > 0) {
      const prev = this.#previous;
      if (prev !== undefined) for (const c of [...prev.selectedPairs.keys()]) prev.release(c);
      this.#previous = old;
    }
    this.#session = this.#newSession(ufrag, pwd);
    this.#completedOnce = false;
  }

  #advance(now: number): void {
    if (typeof now !== "number" || Number.isNaN(now)) throw new IcekitError("INVALID_ARGUMENT", `now ${String(now)}: pass milliseconds from a monotonic clock`);
    if (now > this.#now) this.#now = now;
  }

  /** After every input: send checks that are due, finish gathering, report the state. */
  #after(now: number): void {
    if (!this.#closed) {
      this.#pace(now);
      this.#gatherer.drain(now);
      if (this.#gathering === "gathering" && !this.#gatherer.busy && this.#portMappingsPending === 0) this.#setGathering("complete");
      this.#session.evaluate(now);
    }
    // Closed too: the Refreshes that delete the allocations (RFC 8656 §8.1) are transactions.
    this.#pace(now);
    this.#updateState(now);
  }

  /**
   * Starts the transactions that are due, each in a slot of the pacer (RFC 8445 §14.2: all
   * agents together at most one per 5 ms): the relays' TURN transactions (see
   * {@link Gatherer.releaseTurn}; after close too, for the deallocations), and one gathering
   * transaction or connectivity check per Ta (§6.1.4.2, §5.1.1.2), gathering and checks taking
   * turns. Without a free slot, the slot reserved is the agent's next timeout.
   *
   * Consent checks (RFC 7675) go when due, outside the pacer. RFC 7675 §5.1 gives them their own
   * rate: each interval MUST be 0.8 to 1.2 times the period (5 s). One 5 ms pacer per process
   * allows 200 transactions a second, which consent alone reaches at 1000 connected agents;
   * beyond, pacing them would stretch every interval past 6 s and let consent expire. They start
   * after ICE processing concluded (§14.2 paces that processing, Appendix B.1) and are sent once,
   * never retransmitted, so they do not burst.
   */
  #pace(now: number): void {
    for (;;) {
      const closed = this.#closed;
      const prev = this.#previous;
      // TURN transactions of the relays (Refresh, CreatePermission, ChannelBind, a check that
      // waited for its permission): not bound to Ta, which paces gathering and checks, but each
      // in a slot of the pacer (§14.2 counts "all transactions").
      const turn = this.#gatherer.turnWaiting;
      if (!closed && (this.#session.consentDue(now) || (prev !== undefined && prev.consentDue(now)))) {
        if (!this.#session.sendConsent(now)) prev?.sendConsent(now);
        continue;
      }
      const gather = !closed && this.#gatherer.hasPending;
      const check = !closed && this.#session.wantsTick();
      const taDue = now >= this.#nextTaAt && (gather || check);
      if (!turn && !taDue) {
        this.#slot = undefined; // nothing left to send: give the slot up
        return;
      }
      if (!this.#takeSlot(now)) return;
      // A permission or channel before the checks that need it (they wait in the TURN client
      // until it is installed, then come back here for a slot of their own).
      if (turn) {
        this.#gatherer.releaseTurn(now);
        continue;
      }
      const useGather = gather && (this.#preferGathering || !check);
      const sent = useGather ? this.#gatherer.startNext(now) : this.#session.tick(now);
      this.#preferGathering = !useGather;
      if (sent) this.#nextTaAt = now + this.#ta;
      return;
    }
  }

  /** A pacer slot for one transaction now: true when it may be sent (see {@link IcePacer}). */
  #takeSlot(now: number): boolean {
    const pacer = this.#pacer;
    this.#slot ??= pacer.reserve(now);
    if (pacer.claim(now, this.#slot)) {
      this.#slot = undefined;
      return true;
    }
    // Woken after the slot, too close to another agent's transaction: queue again.
    if (now >= this.#slot) this.#slot = pacer.reserve(now);
    return false;
  }

  /** RFC 8445 §5.1.1.1: a temporary IPv6 address is gathered and `address` would track it. */
  #trackingExcluded(address: string): boolean {
    const info = this.#socketInfo.get(address) ?? {};
    const temporaries: { address: string; interface?: string | undefined }[] = [];
    for (const [a, i] of this.#socketInfo) if (i.temporary === true && a !== address) temporaries.push({ address: a, interface: i.interface });
    return trackingExclusion(address, info, temporaries) !== undefined;
  }

  #setGathering(state: "gathering" | "complete"): void {
    if (this.#gathering === state) return;
    this.#gathering = state;
    this.#events.push({ type: "gathering", state });
  }

  #withUfrag(l: LocalCandidate): IceCandidate {
    return { ...l.candidate, ufrag: this.#session.local.ufrag };
  }

  #emitCandidate(l: LocalCandidate): void {
    const candidate = this.#withUfrag(l);
    this.#events.push({ type: "local-candidate", candidate, line: formatCandidate(candidate) });
  }

  /**
   * True while new local candidates may be signaled in this session. RFC 8838 §13: "an agent
   * MUST NOT convey any more candidates after it has conveyed an end-of-candidates indication"
   * and "MUST NOT trickle any new candidates within an ICE session after nomination"; they wait
   * for the next restart ("adding new candidates [...] is possible only through an ICE restart").
   */
  #maySignal(): boolean {
    return this.#gathering === "gathering" && this.#session.selectedPairs.size === 0;
  }

  /** Adds a local candidate: redundancy (§5.1.3, RFC 8838 §9), signaling, pairing. */
  #addLocal(now: number, l: LocalCandidate): boolean {
    // "A candidate is redundant if and only if its transport address and base equal those of
    // another candidate"; Trickle ICE drops the newcomer whatever its priority.
    const same = (o: LocalCandidate) => o.base === l.base && sameTransportAddress(o.address, l.address) && o.component === l.component;
    if (this.#locals.some(same) || this.#unsignaled.some(same)) return false;
    if (!this.#maySignal()) {
      this.#unsignaled.push(l);
      return true;
    }
    this.#signal(now, l);
    return true;
  }

  #signal(now: number, l: LocalCandidate): void {
    this.#locals.push(l);
    this.#emitCandidate(l);
    this.#session.onLocalCandidate(now, l);
  }

  #addHost(now: number, address: TransportAddress, component: number, rank: number): void {
    const host = hostCandidate(this.#foundations, address, component, rank);
    this.#hosts.push(host);
    this.#addLocal(now, host);
    // A host that could not be signaled gathers when the restart signals it.
    if (!this.#config.lite && this.#locals.includes(host)) this.#gatherer.addBase(host);
  }

  #onReflexive(now: number, base: LocalCandidate, mapped: TransportAddress, server: TransportAddress, serverIndex: number): void {
    if (!this.#closed) this.#addLocal(now, reflexiveCandidate(this.#foundations, base, mapped, server, serverIndex));
  }

  #onRelayed(now: number, relay: RelaySession, relayed: readonly TransportAddress[], mapped: TransportAddress | undefined): void {
    if (this.#closed) return;
    for (const address of relayed) {
      // §5.1.1.2: "If a relayed candidate is identical to a host candidate [...] MUST be discarded."
      if (this.#hosts.some((h) => sameTransportAddress(h.address, address))) continue;
      const local = relayedCandidate(this.#foundations, address, relay.base.component, relay.server.address, relay.serverIndex, mapped ?? relay.base.address, relay);
      relay.candidates.push(local);
      this.#addLocal(now, local);
    }
  }

  #onRelayData(now: number, relay: RelaySession, peer: TransportAddress, data: Uint8Array): void {
    if (this.#closed) return;
    const base = relay.candidates.find((c) => c.address.family === peer.family);
    if (base !== undefined) this.#onPacket(now, base, peer, data);
  }

  #learnLocalPrflx(base: LocalCandidate, mapped: TransportAddress, priority: number): LocalCandidate {
    const local = peerReflexiveCandidate(this.#foundations, base, mapped, priority);
    // §7.2.5.3.1: "added to the list of local candidates"; bounded, since each needs a NAT mapping.
    if (this.#prflxCount < MAX_LOCAL_PRFLX) {
      this.#prflxCount++;
      this.#locals.push(local);
    }
    return local;
  }

  #sendFrom(now: number, base: LocalCandidate, remote: TransportAddress, data: Uint8Array): void {
    if (base.relay !== undefined) base.relay.send(now, remote, data);
    else this.#transmits.push({ local: base.address, remote, transport: "udp", data });
  }

  #switchRole(role: IceRole, newTiebreaker: boolean): void {
    if (this.#role === role) return;
    this.#role = role;
    // §7.2.5.1: "The agent MUST change the tiebreaker value."
    if (newTiebreaker) this.#tiebreaker = randomTiebreaker(this.#random);
    this.#counters.roleSwitches++;
    this.#session.onRoleChange();
    this.#previous?.onRoleChange();
    this.#events.push({ type: "role", role });
  }

  #onSelected(now: number, component: number, pair: CandidatePair): void {
    const prev = this.#previous;
    if (prev !== undefined) {
      prev.release(component);
      if (prev.selectedPairs.size === 0) this.#previous = undefined;
    }
    // RFC 8445 §12.1: "it is RECOMMENDED that an agent creates a channel" for a relayed pair.
    const relay = pair.local.base.relay;
    if (relay !== undefined && relay.alive) {
      try {
        (relay as RelaySession).turn.bindChannel(now, pair.remote.address);
      } catch {
        // No channel number left: Send indications keep working.
      }
    }
  }

  /** A datagram on a base (a host socket, or a relayed address through TURN). */
  #onPacket(now: number, base: LocalCandidate, remote: TransportAddress, data: Uint8Array): void {
    if (classifyPacket(data, 0, { fromTurnServer: false }) === "stun") {
      if (!isStunMessage(data)) {
        this.#counters.droppedMalformed++;
        return;
      }
      let msg: StunMessage;
      try {
        msg = decodeStunMessage(data);
      } catch {
        this.#counters.droppedMalformed++;
        return;
      }
      this.#onStun(now, base, remote, msg);
      return;
    }
    const component = base.component;
    const owner = this.#session.knowsRemote(component, remote) ? this.#session : this.#previous?.knowsRemote(component, remote) ? this.#previous : undefined;
    if (owner === undefined) {
      this.#counters.droppedDataUnknownSource++;
      return;
    }
    const pair = owner.pairFor(base, remote);
    if (pair !== undefined) {
      pair.packetsReceived++;
      pair.bytesReceived += data.length;
      pair.lastReceivedAt = now;
    }
    this.#counters.dataReceived++;
    this.#events.push({ type: "data", component, data, from: remote });
  }

  #onStun(now: number, base: LocalCandidate, remote: TransportAddress, msg: StunMessage): void {
    switch (msg.messageClass) {
      case MessageClass.Request:
        if (msg.method === Method.Binding) this.#onRequest(now, base, remote, msg);
        else this.#counters.droppedMalformed++;
        return;
      case MessageClass.Indication:
        this.#counters.indicationsReceived++;
        return;
      default:
        if (!this.#session.handleResponse(now, base, remote, msg) && !this.#previous?.handleResponse(now, base, remote, msg)) {
          this.#counters.unmatchedResponses++;
        }
    }
  }

  /** RFC 8445 §7.3: answer a Binding request, repair role conflicts, then let the session act. */
  #onRequest(now: number, base: LocalCandidate, source: TransportAddress, msg: StunMessage): void {
    const sessions: IceSession[] = [this.#session];
    if (this.#previous !== undefined) sessions.push(this.#previous);
    const creds: ResponderCredentials[] = sessions.map((s) => ({ ufrag: s.local.ufrag, keys: s.local.keys }));
    const v = verifyRequest(msg, creds);
    const software = this.#config.software;
    const c = this.#counters;
    if (v.kind === "drop") {
      if (v.reason === "fingerprint") c.droppedFingerprint++;
      else c.droppedMalformed++;
      return;
    }
    if (v.kind === "error") {
      if (v.code === 400) c.badRequests++;
      else if (v.code === 401) c.unauthenticated++;
      else c.unknownAttributes++;
      this.#sendFrom(now, base, source, encodeError(this.#builder, msg.transactionId, v.code, v.reason, undefined, software, v.unknown));
      return;
    }
    const session = sessions[v.session]!;
    const key = session.local.keys.sha1;
    // §7.3.1.1 (full agents).
    if (!this.#config.lite && session === this.#session) {
      const outcome = resolveRoleConflict(this.#role, this.#tiebreaker, v);
      if (outcome === "487") {
        c.roleConflictsSent++;
        this.#sendFrom(now, base, source, encodeError(this.#builder, msg.transactionId, 487, "Role Conflict", key, software));
        return;
      }
      if (outcome !== "none") this.#switchRole(outcome, false);
    }
    // §7.3.1.5: a nomination the session cannot record (no room for the pair it concerns) is
    // not answered, so the controlling agent does not take the pair for nominated.
    const check = { remoteUfrag: v.remoteUfrag, priority: v.priority, useCandidate: v.useCandidate };
    if (session === this.#session && !session.admit(now, base, source, check)) {
      c.droppedNominations++;
      return;
    }
    // §7.3.1.2: the mapped address is the source as the agent saw it (for a relayed base, the
    // peer address the TURN server reported).
    const response = encodeSuccess(this.#builder, msg.transactionId, source, key, software);
    const pair = session.pairFor(base, source);
    if (pair !== undefined) {
      pair.responsesSent++;
      pair.lastSentAt = now;
    }
    this.#sendFrom(now, base, source, response);
    if (session === this.#session) {
      session.handleRequest(now, base, source, check);
    } else if (pair !== undefined) {
      pair.requestsReceived++;
      pair.lastReceivedAt = now;
    }
  }

  #updateState(now: number): void {
    const next = this.#computeState(now);
    if (next === this.#state) return;
    const from = PROGRESS.indexOf(this.#state);
    const to = PROGRESS.indexOf(next);
    // Report the steps a browser would (checking, connected) when several pass at once.
    if (from >= 0 && to > from + 1) for (let i = Math.max(from + 1, 1); i < to; i++) this.#events.push({ type: "state", state: PROGRESS[i]! });
    this.#state = next;
    this.#events.push({ type: "state", state: next });
    if (next === "completed" && !this.#completedOnce) {
      this.#completedOnce = true;
      // §5.1.1.4: server-reflexive bindings are kept alive "until ICE processing has completed".
      this.#gatherer.stopBindingRefreshes();
    }
  }

  #computeState(now: number): IceConnectionState {
    if (this.#closed) return "closed";
    const s = this.#session;
    if (s.failed) return "failed";
    const prev = this.#previous;
    let allSelected = true;
    let allValid = true;
    let stale = false;
    const consent = this.#config.consent;
    for (let c = 1; c <= s.components; c++) {
      const p = s.selected(c) ?? prev?.selected(c);
      if (p === undefined) {
        allSelected = false;
        if (s.bestValid(c) === undefined) allValid = false;
        continue;
      }
      if (p.consentLost) return "failed";
      if (consent.interval !== false && !this.#config.lite && now - p.consentAt >= consent.disconnectedAfter) stale = true;
    }
    if (allSelected) return stale ? "disconnected" : "completed";
    if (allValid) return "connected";
    return s.started || prev !== undefined ? "checking" : "new";
  }
}


/** Validates a candidate object from the application (a parsed line is valid by construction). */
function checkedCandidate(c: IceCandidate): IceCandidate {
  if (typeof c !== "object" || c === null) throw new IcekitError("INVALID_ARGUMENT", "addRemoteCandidate: pass an IceCandidate or a candidate line");
  try {
    // The grammar is the one authority: what formats and parses back is a candidate.
    return parseCandidate(formatCandidate(c));
  } catch (e) {
    throw new IcekitError("INVALID_ARGUMENT", `addRemoteCandidate: ${(e as Error).message}`);
  }
}
