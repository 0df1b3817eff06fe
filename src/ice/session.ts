/**
 * One ICE session (RFC 8445 §6-§8): everything an ICE restart flushes (§9). It holds the remote
 * candidates and credentials, the checklist and its triggered-check queue, the connectivity-check
 * transactions, the valid list, nominations and selected pairs, and consent freshness on the
 * selected pairs (RFC 7675).
 *
 * The {@link IceAgent} owns what survives a restart (local candidates, role, tiebreaker, sockets,
 * TURN allocations) and gives the session a {@link SessionContext} to reach it. After a restart
 * the old session is retired: it sends no more checks but keeps its selected pairs alive with
 * consent checks until the new session selects (RFC 7675 §5.1; RFC 8445 §12.1).
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { sameTransportAddress } from "../bytes/ip";
import type { HmacFactory } from "../crypto/types";
import type { RandomSource } from "../engine";
import { XorMappedAddress } from "../stun/attributes/address";
import { ErrorCode } from "../stun/attributes/error";
import type { StunMessageBuilder } from "../stun/builder";
import { MessageClass } from "../stun/constants";
import type { StunCredential } from "../stun/credentials";
import { shortTermCredential } from "../stun/credentials";
import { checkIntegrity } from "../stun/integrity";
import type { StunMessage } from "../stun/message";
import type { IceAgentCounters, IceAgentEvent, IceCandidatePairStats } from "./agent-types";
import type { IceCandidate } from "./candidate";
import { Checklist } from "./checklist";
import type { CheckKind, CheckTransaction, IceRole } from "./checks";
import { Transactions, encodeCheck, encodeKeepalive, transactionId } from "./checks";
import type { ConsentConfig } from "./consent";
import { consentDelay, consentStatus, nextConsentChange } from "./consent";
import type { LocalCandidate, RemoteCandidate } from "./pair";
import { CandidatePair, canPair, pairKey, pairStats, remoteKey } from "./pair";
import { RemoteCandidates } from "./remote-candidates";
import type { RemoteAddResult } from "./remote-candidates";
import { candidatePriority } from "./priority";

/**
 * The agent's settings a session reads.
 *
 * @example
 * ```ts
 * const config: SessionConfig = resolveOptions({ role: "controlling" }).config;
 * config.maxPairs; // → 100
 * config.rc;       // → 7
 * ```
 */
export interface SessionConfig {
  readonly components: number;
  readonly lite: boolean;
  readonly ta: number;
  readonly maxPairs: number;
  readonly maxRemoteCandidates: number;
  readonly nominationDelay: number;
  /** Rc for connectivity checks. */
  readonly rc: number;
  readonly consent: ConsentConfig;
  readonly software: string | undefined;
  readonly hmac: HmacFactory | undefined;
  readonly resolveMdns: ((name: string) => string | undefined) | undefined;
}

/**
 * What a session needs from the agent.
 *
 * @example
 * ```ts
 * const ctx: SessionContext = agentContext(); // the IceAgent builds one and hands it to every session
 * const session = new IceSession(ctx, local);
 * // The session sends through ctx.sendFrom(now, base, remote, data) and reports through ctx.emit(event).
 * ```
 */
export interface SessionContext {
  readonly config: SessionConfig;
  /** Ta in force: the higher of ours and the peer's (RFC 8445 §14.2). */
  readonly ta: number;
  readonly role: IceRole;
  readonly tiebreaker: bigint;
  readonly random: RandomSource;
  readonly builder: StunMessageBuilder;
  readonly counters: IceAgentCounters;
  /** Local gathering is over: no new local candidates are expected (RFC 8838 §8). */
  readonly gatheringComplete: boolean;
  /** Local candidates signaled so far, every type. */
  readonly localCandidates: readonly LocalCandidate[];
  /** A fresh pair id. */
  newPairId(): number;
  /** A peer-reflexive local candidate learned from a check response (RFC 8445 §7.2.5.3.1). */
  learnLocalPrflx(now: number, base: LocalCandidate, mapped: TransportAddress, priority: number): LocalCandidate;
  /** Sends from a base (a host socket, or through its TURN allocation). */
  sendFrom(now: number, base: LocalCandidate, remote: TransportAddress, data: Uint8Array): void;
  /** A 487 told us to switch roles (RFC 8445 §7.2.5.1). */
  switchRole(now: number, role: IceRole): void;
  /** The session selected `pair` for `component`. */
  onSelected(now: number, component: number, pair: CandidatePair): void;
  emit(event: IceAgentEvent): void;
}

/**
 * The local side of a session's credentials.
 *
 * @example
 * ```ts
 * const local: LocalCredentials = { ufrag: "alcU", pwd: "8hhYkLoPq9cXzA1bC2dE3f", keys: shortTermCredential("alcU", "8hhYkLoPq9cXzA1bC2dE3f") };
 * const session = new IceSession(ctx, local);
 * ```
 */
export interface LocalCredentials {
  readonly ufrag: string;
  readonly pwd: string;
  /** Keys of `pwd`: requests are checked and responses signed with them. */
  readonly keys: StunCredential;
}

interface RemoteCredentials {
  readonly ufrag: string;
  readonly pwd: string;
  /** USERNAME "<remote ufrag>:<local ufrag>" and the remote password's keys (RFC 8445 §7.2.2). */
  readonly credential: StunCredential;
}

/** A check that arrived before the session could act on it (RFC 8445 §7.3: "Once the answer is received..."). */
interface EarlyCheck {
  readonly base: LocalCandidate;
  readonly source: TransportAddress;
  readonly remoteUfrag: string;
  readonly priority: number;
  readonly useCandidate: boolean;
}

/**
 * What a valid request (RFC 8445 §7.3) tells the session.
 *
 * @example
 * ```ts
 * const v = verifyRequest(msg, sessions);
 * if (v.kind === "ok") {
 *   const check: IncomingCheck = { remoteUfrag: v.remoteUfrag, priority: v.priority, useCandidate: v.useCandidate };
 *   session.handleRequest(now, base, source, check);
 * }
 * ```
 */
export interface IncomingCheck {
  readonly remoteUfrag: string;
  readonly priority: number;
  readonly useCandidate: boolean;
}

/** Checks kept while waiting for the peer's credentials (RFC 8445 §7.3). */
const MAX_EARLY = 32;

/**
 * How many times in a row the session follows a peer that answers from a new port (see
 * {@link IceSession} `#chase`): a peer-reflexive source that is the `MAX_CHASE + 1`-th link of
 * such a chain is not learned from an ordinary check. One link is what an address-dependent
 * mapping needs to converge (its second mapping is the one it keeps); two leave a margin.
 */
const MAX_CHASE = 2;

/**
 * One ICE session; see the module comment.
 *
 * @example
 * ```ts
 * const session = new IceSession(ctx, local); // ctx.localCandidates holds a host candidate
 * session.setRemoteCredentials(now, "bobU", "asd88fgpdd777uzjYhagZg"); // → true
 * session.addRemoteCandidate(now, parseCandidate("candidate:1 1 udp 2130706431 192.0.2.30 40000 typ host"));
 * session.checklist.size; // → 1: paired with the host candidate
 * session.tick(now);      // → true: a check went out through ctx.sendFrom
 * ```
 */
export class IceSession {
  readonly #ctx: SessionContext;
  readonly local: LocalCredentials;
  #remote: RemoteCredentials | undefined;
  readonly #remotes: RemoteCandidates;
  readonly checklist: Checklist;
  /** Every pair, by key: checklist pairs, pairs removed from it, and valid pairs. */
  readonly #pairs = new Map<string, CandidatePair>();
  readonly #valid: CandidatePair[] = [];
  readonly #selected = new Map<number, CandidatePair>();
  readonly #nominating = new Map<number, CandidatePair>();
  readonly #firstValidAt = new Map<number, number>();
  readonly txs: Transactions;
  #early: EarlyCheck[] = [];
  /**
   * Sources of non-symmetric responses (RFC 8445 §7.2.5.2.1), by remote key: how many such
   * answers in a row led there. A check to remote R answered from S (the peer's NAT mapped our
   * new source to a new port) gives S the depth of R plus one; the peer's triggered check then
   * comes from S. Behind address-and-port-dependent mappings on both sides every check goes out
   * through a new mapping and is answered from a new one, so the two agents' triggered checks
   * chase each other's newest port indefinitely (§7.3.1.4 puts them before every ordinary check),
   * each one a new peer-reflexive candidate, and no ordinary check (the relayed pairs, say) is
   * sent until the remote-candidate cap ends the chase. Bounded by `maxRemoteCandidates`.
   */
  readonly #chase = new Map<string, number>();
  #remoteEnded = false;
  /** Checklist failed (RFC 8445 §7.2.5.4, §7.2.5.3.4). */
  #failed = false;
  #retired = false;
  /** A check was sent or accepted: the agent is `checking`. */
  #started = false;
  /** The peer is lite too (RFC 8445 §6.1.1 "Both lite"): pairs are chosen without checks. */
  #remoteLite = false;
  /** A lite-lite selection chose among several pairs of a component (§8.2). */
  #liteChoseAmongSeveral = false;

  constructor(ctx: SessionContext, local: LocalCredentials) {
    this.#ctx = ctx;
    this.local = local;
    this.checklist = new Checklist(ctx.config.maxPairs, (p) => {
      // A discarded pair is forgotten unless the valid list or a selection still needs it.
      if (!p.valid) this.#pairs.delete(p.key);
    });
    this.txs = new Transactions({ rc: ctx.config.rc, rm: 16 });
    this.#remotes = new RemoteCandidates(ctx.config.maxRemoteCandidates, ctx.config.resolveMdns);
  }

  // -----------------------------------------------------------------------------------------
  // Getters

  /**
   * True once a lite-lite selection (RFC 8445 §8.2) chose among several pairs of a component:
   * "the controlling agent MUST send an updated candidate list to reconcile different agents
   * selecting different candidate pairs".
   */
  get liteChoseAmongSeveral(): boolean {
    return this.#liteChoseAmongSeveral;
  }

  /** The peer's ufrag, once known. */
  get remoteUfrag(): string | undefined {
    return this.#remote?.ufrag;
  }

  /** True once the checklist failed. */
  get failed(): boolean {
    return this.#failed;
  }

  /** True after a restart replaced this session. */
  get retired(): boolean {
    return this.#retired;
  }

  /** True once checks began (sent or received). */
  get started(): boolean {
    return this.#started;
  }

  /** Remote candidates known (signaled and peer-reflexive). */
  get remoteCount(): number {
    return this.#remotes.size;
  }

  /** True once the peer signaled end-of-candidates. */
  get remoteEnded(): boolean {
    return this.#remoteEnded;
  }

  /** The components ICE runs for: §6.1.2.2, the smaller of ours and the peer's highest. */
  get components(): number {
    const own = this.#ctx.config.components;
    const theirs = this.#remotes.maxComponent;
    return theirs === 0 ? own : Math.min(own, theirs);
  }

  /** The selected pair of `component`. */
  selected(component: number): CandidatePair | undefined {
    return this.#selected.get(component);
  }

  /** Selected pairs by component. */
  get selectedPairs(): ReadonlyMap<number, CandidatePair> {
    return this.#selected;
  }

  /** The highest-priority valid pair of `component` whose consent holds (RFC 8445 §12.1). */
  bestValid(component: number): CandidatePair | undefined {
    let best: CandidatePair | undefined;
    for (const p of this.#valid) {
      if (p.component !== component || p.consentLost) continue;
      if (best === undefined || p.priority > best.priority) best = p;
    }
    return best;
  }

  /** True when `address` is a remote candidate of `component` (data from it is accepted). */
  knowsRemote(component: number, address: TransportAddress): boolean {
    return this.#remotes.get(component, address) !== undefined;
  }

  /**
   * The pair a datagram on `base` from `address` belongs to: the selected pair when it is that
   * 5-tuple, else a valid pair on it, else the checklist pair.
   */
  pairFor(base: LocalCandidate, address: TransportAddress): CandidatePair | undefined {
    const on = (p: CandidatePair | undefined) => p !== undefined && p.local.base === base && sameTransportAddress(p.remote.address, address);
    const selected = this.#selected.get(base.component);
    if (on(selected)) return selected;
    for (const p of this.#valid) if (on(p)) return p;
    const remote = this.#remotes.get(base.component, address);
    return remote === undefined ? undefined : this.#pairs.get(pairKey(base, remote));
  }

  /** Statistics of every pair. */
  pairStats(): IceCandidatePairStats[] {
    return [...this.#pairs.values()].map((p) => pairStats(p, this.#selected.get(p.component) === p));
  }

  /**
   * Where the session stands, for the agent's connection state: whether every component has a
   * valid pair, a selected pair, and whether a selected pair's consent is stale or lost.
   */
  status(now: number): { allValid: boolean; allSelected: boolean; stale: boolean; lost: boolean } {
    let allValid = true;
    let allSelected = true;
    let stale = false;
    let lost = false;
    for (let c = 1; c <= this.components; c++) {
      const s = this.#selected.get(c);
      if (s === undefined) allSelected = false;
      else {
        const st = consentStatus(s, now, this.#ctx.config.consent);
        if (st === "expired") lost = true;
        else if (st === "stale") stale = true;
      }
      if (s === undefined && this.bestValid(c) === undefined) allValid = false;
    }
    return { allValid, allSelected, stale, lost };
  }

  // -----------------------------------------------------------------------------------------
  // Input from signaling

  /**
   * The peer's credentials. Checks queued before them (RFC 8445 §7.3) are processed now.
   *
   * @returns false when the session already has different remote credentials (the agent then
   *   treats it as the peer's ICE restart)
   */
  setRemoteCredentials(now: number, ufrag: string, pwd: string): boolean {
    if (this.#remote !== undefined) return this.#remote.ufrag === ufrag && this.#remote.pwd === pwd;
    const username = `${ufrag}:${this.local.ufrag}`;
    this.#remote = { ufrag, pwd, credential: shortTermCredential(username, pwd, this.#ctx.config.hmac) };
    this.replayEarly(now);
    return true;
  }

  /**
   * A remote candidate (Trickle ICE, RFC 8838 §11). Resolves `.local` names through the
   * resolver, ignores FQDNs (RFC 8839 §5.1), refuses what exceeds the cap, and pairs it with
   * every local base of its component and family.
   */
  addRemoteCandidate(now: number, c: IceCandidate): void {
    const counters = this.#ctx.counters;
    // RFC 8838 §14: "After an agent has received an end-of-candidates indication, it MUST ignore
    // any newly received candidates"; §9: candidates of another session are stale.
    if (this.#remoteEnded || (c.ufrag !== undefined && this.#remote !== undefined && c.ufrag !== this.#remote.ufrag)) {
      counters.droppedRemoteCandidates++;
      return;
    }
    if (c.transport !== "udp" || c.component > this.#ctx.config.components) {
      counters.droppedRemoteCandidates++;
      return;
    }
    this.#onRemote(this.#remotes.add(now, c));
  }

  /** The peer is a lite agent too (RFC 8445 §6.1.1 "Both lite"). */
  setRemoteLite(): void {
    this.#remoteLite = true;
  }

  /** The peer's end-of-candidates (RFC 8838 §14). */
  endOfRemoteCandidates(now: number): void {
    this.#remoteEnded = true;
    this.#checkFailed();
  }

  /** A local candidate was signaled: pair it (RFC 8838 §10), if it is a base. */
  onLocalCandidate(now: number, local: LocalCandidate): void {
    if (this.#retired || local.base !== local || this.#ctx.config.lite) return;
    for (const remote of this.#remotes.values()) {
      if (canPair(local, remote) && !this.#selected.has(remote.component)) this.#formPair(local, remote);
    }
  }

  /** A relayed base died: its pairs fail (RFC 8445 §7.2.5.2). */
  onBaseLost(base: LocalCandidate): void {
    for (const p of this.#pairs.values()) {
      if (p.local.base !== base) continue;
      this.txs.cancelPair(p);
      if (p.inChecklist) this.checklist.remove(p);
      p.state = "failed";
      p.consentLost = true;
    }
  }

  // -----------------------------------------------------------------------------------------
  // Checks

  /** True when {@link tick} has a check to send. */
  wantsTick(): boolean {
    return this.#remote !== undefined && !this.#retired && !this.#failed && !this.#ctx.config.lite && this.checklist.canCheck();
  }

  /**
   * Ta fired (RFC 8445 §6.1.4.2): sends one check, from the triggered-check queue first.
   *
   * @returns true when a check was sent
   */
  tick(now: number): boolean {
    if (!this.wantsTick()) return false;
    const next = this.checklist.next();
    if (next === undefined) return false;
    this.#sendCheck(now, next.pair, "check");
    return true;
  }

  /**
   * A STUN response arrived on `base` from `source`.
   *
   * @returns false when it answers none of this session's transactions
   */
  handleResponse(now: number, base: LocalCandidate, source: TransportAddress, msg: StunMessage): boolean {
    const tx = this.txs.get(msg.transactionId);
    if (tx === undefined) return false;
    const counters = this.#ctx.counters;
    // RFC 8489 §9.1.4: a response without the right MESSAGE-INTEGRITY is discarded; keep waiting.
    if (checkIntegrity(msg, tx.keys) !== "valid") {
      counters.droppedResponseIntegrity++;
      return true;
    }
    this.txs.delete(tx);
    const pair = tx.pair;
    pair.responsesReceived++;
    pair.lastReceivedAt = now;
    // §7.2.5.2.1: the response must come from where the request went, to where it came from.
    if (!sameTransportAddress(source, tx.remote) || base !== tx.base) {
      counters.nonSymmetricResponses++;
      if (tx.kind === "check" && base === tx.base) this.#noteChase(pair, source);
      if (tx.kind === "check") this.#failCheck(now, tx);
      return true;
    }
    if (msg.messageClass === MessageClass.ErrorResponse) {
      this.#onErrorResponse(now, tx, msg);
      return true;
    }
    if (tx.sends === 1) pair.sampleRtt(now - tx.startedAt);
    if (tx.kind === "consent") {
      // RFC 7675 §5.1: "STUN consent responses received after consent expiry do not re-establish consent."
      if (!pair.consentLost) pair.consentAt = now;
      return true;
    }
    let mapped: TransportAddress | undefined;
    try {
      mapped = msg.get(XorMappedAddress);
    } catch {
      mapped = undefined;
    }
    if (mapped === undefined) {
      this.#failCheck(now, tx); // an unusable success response is an unrecoverable one
      return true;
    }
    this.#onCheckSuccess(now, tx, mapped);
    return true;
  }

  /**
   * Before a valid check is answered (RFC 8445 §7.3.1.5): a controlled agent answers a check
   * carrying USE-CANDIDATE with success only when it can record the nomination, i.e. when the
   * pair the check was received on exists or can be formed (its peer-reflexive remote candidate
   * learned, the pair added to the checklist). Otherwise the request is not answered: the
   * controlling agent retransmits it (and, failing that, sees the nomination fail) instead of
   * believing a pair nominated that this agent cannot select. Forms what is missing.
   *
   * @returns false when the check must be dropped unanswered
   */
  admit(now: number, base: LocalCandidate, source: TransportAddress, check: IncomingCheck): boolean {
    if (this.#retired || !check.useCandidate) return true;
    const lite = this.#ctx.config.lite;
    if (!lite && this.#ctx.role !== "controlled") return true;
    // Checks that wait for credentials or signaling (§7.3) are answered and replayed later.
    if (!lite && (this.#remote === undefined || check.remoteUfrag !== this.#remote.ufrag || !this.#ctx.localCandidates.includes(base))) return true;
    const component = base.component;
    const remote = this.#remotes.get(component, source) ?? this.#learnRemotePrflx(source, component, check.priority, true);
    if (remote === undefined) return false;
    const key = pairKey(base, remote);
    if (this.#pairs.has(key)) return true;
    const pair = this.#newPair(base, remote);
    if (pair === undefined) return false;
    // A lite agent keeps no checklist (§7.3.2): the pair only has to exist.
    if (lite) return true;
    if (this.checklist.add(pair) === "full") {
      this.#pairs.delete(pair.key);
      this.#ctx.counters.droppedPairs++;
      return false;
    }
    return true;
  }

  /**
   * A valid check arrived on `base` from `source` and was answered with success; now the
   * procedures of RFC 8445 §7.3.1.3-§7.3.1.5 (full) or §7.3.2 (lite).
   */
  handleRequest(now: number, base: LocalCandidate, source: TransportAddress, check: IncomingCheck): void {
    if (this.#retired) return;
    this.#started = true;
    if (this.#ctx.config.lite) {
      this.#liteRequest(now, base, source, check);
      return;
    }
    // §7.3: the peer's credentials (and, for Trickle ICE, our signaled base) come first.
    const baseSignaled = this.#ctx.localCandidates.includes(base);
    if (this.#remote === undefined || check.remoteUfrag !== this.#remote.ufrag || !baseSignaled) {
      if (this.#early.length >= MAX_EARLY) {
        this.#early.shift();
        this.#ctx.counters.droppedEarlyChecks++;
      }
      this.#early.push({ base, source, remoteUfrag: check.remoteUfrag, priority: check.priority, useCandidate: check.useCandidate });
      return;
    }
    const component = base.component;
    // §7.3.1.3: a source that is no remote candidate is a peer-reflexive one.
    const remote = this.#remotes.get(component, source) ?? this.#learnRemotePrflx(source, component, check.priority);
    if (remote === undefined) return;
    const controlledNomination = check.useCandidate && this.#ctx.role === "controlled";
    let pair = this.#pairs.get(pairKey(base, remote));
    if (pair !== undefined) {
      pair.requestsReceived++;
      pair.lastReceivedAt = now;
    }
    // §8.1.2: after nomination, requests are answered but trigger nothing, except further
    // nominations from a peer that nominates aggressively (§8.1.1, RFC 5245 peers).
    if (this.#selected.has(component) && !controlledNomination) return;
    if (pair === undefined) {
      pair = this.#newPair(base, remote);
      if (pair === undefined) return;
      pair.requestsReceived++;
      pair.lastReceivedAt = now;
      if (this.checklist.add(pair) === "full") {
        this.#pairs.delete(pair.key);
        this.#ctx.counters.droppedPairs++;
        return;
      }
      pair.state = "waiting";
      this.checklist.enqueueTriggered(pair);
    } else if (pair.state !== "succeeded") {
      // §7.3.1.4: In-Progress: cancel and retrigger; Waiting, Frozen, Failed: trigger.
      if (pair.state === "in-progress") this.txs.cancelPair(pair);
      if (!pair.inChecklist && !this.checklist.reinsert(pair)) {
        this.#ctx.counters.droppedPairs++;
        return;
      }
      pair.state = "waiting";
      this.checklist.enqueueTriggered(pair);
    }
    // §7.3.1.5.
    if (controlledNomination) {
      if (pair.state === "succeeded") {
        const valid = pair.validPair ?? pair;
        if (valid.valid && !valid.consentLost) {
          valid.nominated = true;
          this.#select(now, component);
        }
      } else {
        pair.nominate = true;
      }
    }
  }

  /** Processes the checks that waited for the peer's credentials or our gathering (RFC 8445 §7.3). */
  replayEarly(now: number): void {
    if (this.#early.length === 0) return;
    const early = this.#early;
    this.#early = [];
    for (const e of early) {
      this.handleRequest(now, e.base, e.source, { remoteUfrag: e.remoteUfrag, priority: e.priority, useCandidate: e.useCandidate });
    }
  }

  /** The role changed: recompute every pair's priority (RFC 8445 §7.2.5.1 NOTE, §7.3.1.1). */
  onRoleChange(): void {
    const controlling = this.#ctx.role === "controlling";
    for (const p of this.#pairs.values()) p.updatePriority(controlling);
    this.checklist.resort();
    // The controlled agent nominates nothing (§7.1.2 "MUST NOT include USE-CANDIDATE").
    if (!controlling) {
      for (const p of this.#nominating.values()) p.nominate = false;
      this.#nominating.clear();
    }
  }

  // -----------------------------------------------------------------------------------------
  // Time

  /** Retransmissions, timeouts, nomination, consent, keepalives, mDNS retries. */
  handleTimeout(now: number): void {
    const { retransmit, expired } = this.txs.due(now);
    for (const tx of retransmit) {
      tx.pair.retransmissionsSent++;
      this.#send(now, tx.pair, tx.base, tx.remote, tx.data);
    }
    for (const tx of expired) {
      // §7.2.5.2.3: a timeout fails the pair; a cancelled transaction's does not (§7.3.1.4).
      if (tx.kind === "check" && !tx.cancelled) this.#failCheck(now, tx);
    }
    this.#resolveMdns(now);
    this.#maybeNominate(now);
    this.#consentAndKeepalive(now);
    this.#checkFailed();
  }

  /**
   * Re-evaluates what inputs other than checks can change: a nomination that became possible
   * (end-of-candidates, gathering complete) and the checklist's failure (RFC 8838 §8).
   */
  evaluate(now: number): void {
    this.#liteConclude(now);
    this.#maybeNominate(now);
    this.#checkFailed();
  }

  /** The earliest time {@link handleTimeout} has something to do. */
  pollTimeout(now: number): number | undefined {
    let t = this.txs.nextTimeout() ?? Infinity;
    t = Math.min(t, this.#remotes.nextRetry());
    if (this.#ctx.role === "controlling" && !this.#retired && !this.#failed) {
      for (const [c, at] of this.#firstValidAt) {
        if (!this.#selected.has(c) && !this.#nominating.has(c)) t = Math.min(t, at + this.#ctx.config.nominationDelay);
      }
    }
    const cc = this.#ctx.config.consent;
    for (const p of this.#dataPairs()) {
      if (p.consentLost) continue;
      if (cc.interval !== false && !this.#ctx.config.lite && this.#selected.get(p.component) === p) {
        // Consent checks keep RFC 7675's schedule, outside the pacer: the agent sends one when due.
        t = Math.min(t, p.nextConsentAt);
        t = Math.min(t, nextConsentChange(p, now, cc));
      }
      t = Math.min(t, p.lastSentAt + cc.keepalive);
    }
    return t === Infinity ? undefined : t;
  }

  /**
   * An ICE restart replaced this session (RFC 8445 §9): no more checks or nominations; selected
   * pairs keep consent until the new session selects. Pairs without consent are dropped.
   */
  retire(): void {
    this.#retired = true;
    this.checklist.clear();
    this.#early = [];
    this.#remotes.clearPending();
    for (const tx of this.txs.all()) if (tx.kind === "check") this.txs.delete(tx);
    for (const [c, p] of this.#selected) if (p.consentLost) this.#selected.delete(c);
  }

  /** The new session selected a pair for `component`: this (retired) session lets its own go. */
  release(component: number): void {
    const p = this.#selected.get(component);
    if (p === undefined) return;
    this.#selected.delete(component);
    this.txs.dropConsent(p);
  }

  /** Sends application data on `pair`, counting it. */
  sendData(now: number, pair: CandidatePair, data: Uint8Array): void {
    pair.packetsSent++;
    pair.bytesSent += data.length;
    this.#send(now, pair, pair.local.base, pair.remote.address, data);
  }

  // -----------------------------------------------------------------------------------------
  // Internals

  /** Acts on what adding a remote candidate did: pairs a new one, re-sorts after an upgrade. */
  #onRemote(r: RemoteAddResult): void {
    if (r.kind === "dropped") {
      this.#ctx.counters.droppedRemoteCandidates++;
      return;
    }
    if (r.kind === "upgraded") {
      // RFC 8838 §11 step 4A: the pairs keep their states and take the signaled priority.
      const controlling = this.#ctx.role === "controlling";
      for (const p of this.#pairs.values()) if (p.remote === r.remote) p.updatePriority(controlling);
      this.checklist.resort();
      return;
    }
    if (r.kind !== "added") return;
    const remote = r.remote;
    if (this.#selected.has(remote.component) || this.#ctx.config.lite || this.#retired) return;
    for (const local of this.#ctx.localCandidates) {
      if (local.base === local && canPair(local, remote)) this.#formPair(local, remote);
    }
  }

  /**
   * §7.3.1.3. At the cap, only a nomination (`evict`) makes room by giving up an unused
   * peer-reflexive candidate: ordinary checks from ever new sources (a peer behind an
   * address-and-port-dependent mapping NAT) would otherwise churn the table and, with the
   * triggered checks each new candidate brings, starve the rest of the checklist.
   */
  #learnRemotePrflx(source: TransportAddress, component: number, priority: number, evict = false): RemoteCandidate | undefined {
    // A chase of the peer's ever new ports (see #chase): an ordinary check from its next port
    // is answered but teaches nothing, as at the cap. A nomination is still recorded.
    if (!evict && (this.#chase.get(remoteKey(component, source)) ?? 0) > MAX_CHASE) {
      this.#ctx.counters.droppedRemoteCandidates++;
      return undefined;
    }
    const remote = this.#remotes.learnPeerReflexive(source, component, priority, evict ? (r) => this.#releaseRemote(r) : undefined);
    if (remote === undefined) this.#ctx.counters.droppedRemoteCandidates++;
    return remote;
  }

  /**
   * A check on `pair` was answered from `source`, not from the remote it went to (§7.2.5.2.1):
   * the peer's next request will likely come from there. Records the chase depth of `source`.
   */
  #noteChase(pair: CandidatePair, source: TransportAddress): void {
    const key = remoteKey(pair.component, source);
    const depth = (this.#chase.get(pair.remote.key) ?? 0) + 1;
    const known = this.#chase.get(key);
    if (known !== undefined && known <= depth) return;
    if (known === undefined && this.#chase.size >= this.#ctx.config.maxRemoteCandidates) {
      const oldest = this.#chase.keys().next().value;
      if (oldest !== undefined) this.#chase.delete(oldest);
    }
    this.#chase.set(key, depth);
  }

  /**
   * At the remote-candidate cap: gives up a peer-reflexive remote candidate that nothing depends
   * on (no pair of it succeeded, is valid, nominated, being nominated or selected), removing its
   * pairs from the checklist, the triggered queue and their transactions.
   *
   * @returns false when the candidate must be kept
   */
  #releaseRemote(remote: RemoteCandidate): boolean {
    const pairs: CandidatePair[] = [];
    for (const p of this.#pairs.values()) {
      if (p.remote !== remote) continue;
      if (p.valid || p.nominated || p.nominate || p.state === "succeeded" || this.#selected.get(p.component) === p) return false;
      pairs.push(p);
    }
    for (const p of pairs) {
      for (const tx of this.txs.all()) if (tx.pair === p) this.txs.delete(tx);
      if (p.inChecklist) this.checklist.remove(p);
      this.#pairs.delete(p.key);
    }
    return true;
  }

  #newPair(local: LocalCandidate, remote: RemoteCandidate): CandidatePair | undefined {
    // A hard bound on memory: the checklist holds maxPairs, valid and removed pairs a few more.
    if (this.#pairs.size >= 4 * this.#ctx.config.maxPairs) {
      this.#ctx.counters.droppedPairs++;
      return undefined;
    }
    const pair = new CandidatePair(this.#ctx.newPairId(), local, remote);
    pair.updatePriority(this.#ctx.role === "controlling");
    this.#pairs.set(pair.key, pair);
    return pair;
  }

  #formPair(local: LocalCandidate, remote: RemoteCandidate): void {
    if (this.#pairs.has(pairKey(local, remote))) return; // §6.1.2.4: redundant
    const pair = this.#newPair(local, remote);
    if (pair === undefined) return;
    if (this.checklist.add(pair) === "full") {
      this.#pairs.delete(pair.key);
      this.#ctx.counters.droppedPairs++;
      return;
    }
    if (this.#remote !== undefined) this.#started = true;
  }

  #sendCheck(now: number, pair: CandidatePair, kind: CheckKind): void {
    const remote = this.#remote;
    if (remote === undefined) return;
    const base = pair.local.base;
    // §7.1.1: PRIORITY is the local candidate's priority with the peer-reflexive type preference.
    const priority = candidatePriority("prflx", base.localPreference, base.component);
    const role = this.#ctx.role;
    const useCandidate = kind === "check" && role === "controlling" && pair.nominate;
    const tid = transactionId(this.#ctx.random);
    const data = encodeCheck(this.#ctx.builder, tid, {
      username: remote.credential.username,
      priority,
      role,
      tiebreaker: this.#ctx.tiebreaker,
      useCandidate,
      key: remote.credential.sha1,
      software: this.#ctx.config.software,
    });
    if (kind === "check") {
      pair.state = "in-progress";
      this.#started = true;
    }
    // §14.3, read as RTO = MAX (500ms, Ta * (Num-Waiting + Num-In-Progress)): every pending check
    // gets its first send before any is retransmitted. (The RFC's extra factor N, the number of
    // checks, makes RTOs of minutes for a full checklist; §14.3 allows other mechanisms.)
    const rto = Math.max(500, this.#ctx.ta * this.checklist.pending());
    this.txs.start(
      now,
      { tid, kind, pair, base, remote: pair.remote.address, data, priority, useCandidate, role, keys: remote.credential, rto },
      // A consent response counts until the next one is due at the latest (RFC 7675 §5.1).
      kind === "consent" ? this.#ctx.config.consent.timeout : 0,
    );
    if (kind === "consent") pair.consentRequestsSent++;
    else pair.requestsSent++;
    this.#send(now, pair, base, pair.remote.address, data);
  }

  #send(now: number, pair: CandidatePair, base: LocalCandidate, remote: TransportAddress, data: Uint8Array): void {
    pair.lastSentAt = now;
    this.#ctx.sendFrom(now, base, remote, data);
  }

  #onErrorResponse(now: number, tx: CheckTransaction, msg: StunMessage): void {
    let code: number | undefined;
    try {
      code = msg.get(ErrorCode)?.code;
    } catch {
      code = undefined;
    }
    const pair = tx.pair;
    if (tx.kind === "consent") {
      // RFC 7675 §5.2: an authenticated 403 revokes consent at once.
      if (code === 403) this.#loseConsent(pair);
      return;
    }
    if (code === 487) {
      // §7.2.5.1: switch to the role opposite the one the request claimed (once: a stale 487
      // for a request sent before an earlier switch changes nothing), then retry the pair.
      if (this.#ctx.role === tx.role) this.#ctx.switchRole(now, tx.role === "controlling" ? "controlled" : "controlling");
      if (pair.inChecklist || this.checklist.reinsert(pair)) {
        pair.state = "waiting";
        this.checklist.enqueueTriggered(pair);
      }
      return;
    }
    // §7.2.5.2.4: any other error is unrecoverable for ICE.
    this.#failCheck(now, tx);
  }

  #onCheckSuccess(now: number, tx: CheckTransaction, mapped: TransportAddress): void {
    const pair = tx.pair;
    const component = pair.component;
    // §7.2.5.3.1: the mapped address is a local candidate, or a new peer-reflexive one.
    const local = this.#findLocal(mapped, pair.local.base) ?? this.#ctx.learnLocalPrflx(now, pair.local.base, mapped, tx.priority);
    // §7.2.5.3.2: the valid pair is (mapped local candidate, the remote the request went to).
    let valid = this.#pairs.get(pairKey(local, pair.remote));
    if (valid === undefined) {
      valid = this.#newPair(local, pair.remote) ?? pair;
    }
    if (valid !== pair) {
      valid.generator ??= pair;
      if (tx.sends === 1) valid.sampleRtt(now - tx.startedAt);
    }
    // §7.2.5.3.3.
    pair.state = "succeeded";
    valid.state = "succeeded";
    pair.validPair = valid;
    this.checklist.unfreezeFoundation(pair.foundation);
    pair.consentAt = now;
    valid.consentAt = now;
    if (!valid.valid) {
      valid.valid = true;
      this.#valid.push(valid);
      if (!this.#firstValidAt.has(component)) this.#firstValidAt.set(component, now);
    }
    // §7.2.5.3.4: a successful nomination (controlling), or a check triggered by one (controlled).
    const nominates = tx.useCandidate || (this.#ctx.role === "controlled" && pair.nominate);
    if (nominates && !valid.consentLost) {
      pair.nominate = false;
      this.#nominating.delete(component);
      valid.nominated = true;
      this.#select(now, component);
    }
    this.#maybeNominate(now);
    this.#checkFailed();
  }

  #failCheck(now: number, tx: CheckTransaction): void {
    const pair = tx.pair;
    pair.state = "failed";
    // §7.2.5.3.4 / §7.3.1.5: a failed nomination removes the pair from the valid list and fails
    // the checklist.
    const nomination = tx.useCandidate || (this.#ctx.role === "controlled" && pair.nominate);
    if (nomination) {
      pair.nominate = false;
      this.#nominating.delete(pair.component);
      const v = pair.validPair;
      if (v !== undefined && v.valid) {
        v.valid = false;
        v.state = "failed";
        const i = this.#valid.indexOf(v);
        if (i >= 0) this.#valid.splice(i, 1);
      }
      this.#failed = true;
      return;
    }
    this.#checkFailed();
  }

  /** The local candidate at `address`, preferring one on `base` (§7.2.5.3.1). */
  #findLocal(address: TransportAddress, base: LocalCandidate): LocalCandidate | undefined {
    let any: LocalCandidate | undefined;
    for (const l of this.#ctx.localCandidates) {
      if (l.component !== base.component || !sameTransportAddress(l.address, address)) continue;
      if (l.base === base) return l;
      any ??= l;
    }
    return any;
  }

  #liteRequest(now: number, base: LocalCandidate, source: TransportAddress, check: IncomingCheck): void {
    const component = base.component;
    let remote = this.#remotes.get(component, source);
    if (remote === undefined) {
      if (!check.useCandidate) return;
      remote = this.#learnRemotePrflx(source, component, check.priority);
      if (remote === undefined) return;
    }
    let pair = this.#pairs.get(pairKey(base, remote));
    if (pair !== undefined) {
      pair.requestsReceived++;
      pair.lastReceivedAt = now;
    }
    if (!check.useCandidate) return;
    // §7.3.2: a pair from the receiving address and the source, valid and nominated at once.
    if (pair === undefined) {
      pair = this.#newPair(base, remote);
      if (pair === undefined) return;
      pair.requestsReceived++;
      pair.lastReceivedAt = now;
    }
    pair.state = "succeeded";
    pair.consentAt = now;
    if (!pair.valid) {
      pair.valid = true;
      this.#valid.push(pair);
    }
    pair.nominated = true;
    this.#select(now, component);
  }

  /**
   * RFC 8445 §6.1.1 "Both lite": "no connectivity checks are ever sent. Rather, once the
   * candidates are exchanged, each agent performs the processing described in Section 8 without
   * connectivity checks." §8.2: pair the local and remote candidates "that are of the same data
   * stream and have the same component, transport protocol, and IP address family"; one pair goes
   * to the valid list; of several, "it is RECOMMENDED that an agent follow the procedures of RFC
   * 6724 to select a pair". icekit picks the pair of highest §6.1.2.3 priority: both agents
   * compute the same value for each pair (G is the controlling agent's candidate on both sides),
   * so given the same candidates they select the same pair. The exchange is over when the
   * peer's end-of-candidates arrived (Trickle ICE, RFC 8838 §14) and local gathering completed.
   */
  #liteConclude(now: number): void {
    if (!this.#ctx.config.lite || !this.#remoteLite || this.#retired || this.#remote === undefined) return;
    if (!this.#remoteEnded || !this.#ctx.gatheringComplete) return;
    for (let c = 1; c <= this.components; c++) {
      if (this.#selected.has(c)) continue;
      let best: CandidatePair | undefined;
      let count = 0;
      for (const local of this.#ctx.localCandidates) {
        if (local.base !== local || local.component !== c) continue;
        for (const remote of this.#remotes.values()) {
          if (!canPair(local, remote)) continue;
          const pair = this.#pairs.get(pairKey(local, remote)) ?? this.#newPair(local, remote);
          if (pair === undefined) continue;
          count++;
          if (best === undefined || pair.priority > best.priority) best = pair;
        }
      }
      if (best === undefined) {
        // Nothing to pair for a component after both exchanges: ICE fails (§8.2 has no pair).
        this.#failed = true;
        return;
      }
      if (count > 1) this.#liteChoseAmongSeveral = true;
      this.#started = true;
      best.state = "succeeded";
      best.consentAt = now;
      if (!best.valid) {
        best.valid = true;
        this.#valid.push(best);
      }
      best.nominated = true;
      this.#select(now, c);
    }
  }

  /**
   * Selects the highest-priority nominated valid pair of `component` (§8.1.1: with several
   * nominations, "use the pairs with the highest priority"), and concludes ICE for it (§8.1.2).
   */
  #select(now: number, component: number): void {
    let best: CandidatePair | undefined;
    for (const p of this.#valid) {
      if (p.component === component && p.nominated && !p.consentLost && (best === undefined || p.priority > best.priority)) best = p;
    }
    if (best === undefined || this.#selected.get(component) === best) return;
    this.#selected.set(component, best);
    const cc = this.#ctx.config.consent;
    // RFC 7675 §5.1: consent is maintained "after ICE concludes on a particular candidate pair";
    // the pair gained it when it succeeded (§5), so its 30 s start no earlier than the selection
    // (a controlled agent may be nominated long after its own check on the pair succeeded).
    best.consentAt = Math.max(best.consentAt, now);
    if (cc.interval !== false) best.nextConsentAt = now + consentDelay(cc.interval, this.#ctx.random);
    if (!Number.isFinite(best.lastSentAt)) best.lastSentAt = now;
    // §8.1.2: remove the component's pairs from the checklist and the triggered queue, and
    // cancel their In-Progress transactions.
    for (const p of this.checklist.removeComponent(component)) this.txs.cancelPair(p);
    this.#nominating.delete(component);
    this.#ctx.emit({ type: "selected-pair", component, local: best.local.candidate, remote: best.remote.candidate });
    this.#ctx.onSelected(now, component, best);
  }

  /**
   * §8.1.1, controlling agent: nominate the best valid pair of each component once no
   * higher-priority pair can still succeed and no candidate can still arrive, or
   * `nominationDelay` after the component's first valid pair.
   */
  #maybeNominate(now: number): void {
    if (this.#ctx.role !== "controlling" || this.#retired || this.#failed || this.#ctx.config.lite || this.#remote === undefined) return;
    const settled = this.#remoteEnded && this.#ctx.gatheringComplete;
    for (let c = 1; c <= this.components; c++) {
      // "the agent MUST NOT nominate another pair for same component" (§8.1.1).
      if (this.#selected.has(c) || this.#nominating.has(c)) continue;
      const best = this.bestValid(c);
      if (best === undefined) continue;
      const first = this.#firstValidAt.get(c) ?? now;
      let ready = now >= first + this.#ctx.config.nominationDelay;
      if (!ready && settled) {
        ready = !this.checklist.pairs.some(
          (p) => p.component === c && p.priority > best.priority && (p.state === "frozen" || p.state === "waiting" || p.state === "in-progress"),
        );
      }
      if (!ready) continue;
      // "repeats the connectivity check that produced this valid pair".
      const gen = best.generator ?? best;
      if (!gen.inChecklist && !this.checklist.reinsert(gen)) {
        this.#firstValidAt.set(c, now); // the checklist is full of checks in flight: try again later
        continue;
      }
      gen.nominate = true;
      if (gen.state === "in-progress") this.txs.cancelPair(gen);
      gen.state = "waiting";
      gen.validPair ??= best;
      this.#nominating.set(c, gen);
      this.checklist.enqueueTriggered(gen);
    }
  }

  /**
   * The pairs that carry data (§11): the selected pairs, and before a component has one, the
   * valid pairs {@link sendData} used.
   */
  *#dataPairs(): Generator<CandidatePair> {
    yield* this.#selected.values();
    for (const p of this.#valid) if (p.packetsSent > 0 && !this.#selected.has(p.component)) yield p;
  }

  /** RFC 7675 consent checks on the selected pairs and RFC 8445 §11 keepalives on the data pairs. */
  #consentAndKeepalive(now: number): void {
    const cc = this.#ctx.config.consent;
    for (const p of this.#dataPairs()) {
      if (p.consentLost) continue;
      if (this.#selected.get(p.component) !== p) {
        if (now - p.lastSentAt >= cc.keepalive) this.#keepalive(now, p);
        continue;
      }
      if (p.consentLost) continue;
      if (cc.interval !== false && !this.#ctx.config.lite) {
        if (consentStatus(p, now, cc) === "expired") {
          this.#loseConsent(p);
          continue;
        }
      }
      if (now - p.lastSentAt >= cc.keepalive) this.#keepalive(now, p);
    }
  }

  /** The selected pair whose consent check (RFC 7675 §5.1) is due, if any. */
  #consentDuePair(now: number): CandidatePair | undefined {
    const cc = this.#ctx.config.consent;
    if (cc.interval === false || this.#ctx.config.lite || this.#remote === undefined) return undefined;
    for (const p of this.#selected.values()) {
      if (!p.consentLost && now >= p.nextConsentAt && consentStatus(p, now, cc) !== "expired") return p;
    }
    return undefined;
  }

  /** True when a consent check is due (RFC 7675 §5.1: on its own schedule, not the pacer's). */
  consentDue(now: number): boolean {
    return this.#consentDuePair(now) !== undefined;
  }

  /**
   * Sends one due consent check (RFC 7675 §5.1); the agent calls it when due, outside the pacer.
   *
   * @returns true when one was sent
   */
  sendConsent(now: number): boolean {
    const p = this.#consentDuePair(now);
    if (p === undefined) return false;
    const cc = this.#ctx.config.consent;
    p.nextConsentAt = now + consentDelay(cc.interval === false ? 0 : cc.interval, this.#ctx.random);
    this.#sendCheck(now, p, "consent");
    return true;
  }

  #keepalive(now: number, p: CandidatePair): void {
    this.#ctx.counters.keepalivesSent++;
    this.#send(now, p, p.local.base, p.remote.address, encodeKeepalive(this.#ctx.builder, transactionId(this.#ctx.random)));
  }

  #loseConsent(pair: CandidatePair): void {
    pair.consentLost = true;
    pair.nextConsentAt = Infinity;
    this.txs.dropConsent(pair);
  }

  /**
   * §7.2.5.4 with RFC 8838 §8: the checklist fails when every pair is Failed or Succeeded, a
   * component lacks a valid pair, local gathering is over and the peer sent end-of-candidates.
   */
  #checkFailed(): void {
    if (this.#failed || this.#retired || this.#ctx.config.lite || this.#remote === undefined) return;
    if (!this.#remoteEnded || !this.#ctx.gatheringComplete || this.#remotes.pendingCount > 0) return;
    if (this.checklist.hasWork() || this.txs.anyInFlight()) return;
    if (this.checklist.pairs.some((p) => p.state === "in-progress")) return;
    for (let c = 1; c <= this.components; c++) {
      if (!this.#selected.has(c) && this.bestValid(c) === undefined) {
        this.#failed = true;
        return;
      }
    }
  }

  #resolveMdns(now: number): void {
    if (this.#remotes.pendingCount === 0) return;
    for (const r of this.#remotes.resolvePending(now)) this.#onRemote(r);
    this.#checkFailed();
  }
}
