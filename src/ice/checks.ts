/**
 * Connectivity-check transactions (RFC 8445 §7.2) and the STUN messages of ICE: Binding
 * requests with USERNAME, PRIORITY, ICE-CONTROLLING/ICE-CONTROLLED, USE-CANDIDATE,
 * MESSAGE-INTEGRITY and FINGERPRINT (§7.1, §7.2.2, §7.2.4), their responses (§7.3), and the
 * Binding indications of keepalives (§11).
 *
 * The agent keeps its own small transaction table rather than a `StunClient`: each check's RTO
 * depends on the checklist (§14.3), a triggered check cancels the retransmissions of an earlier
 * one without forgetting it (§7.3.1.4: "will not retransmit ... but will wait the duration of
 * the transaction timeout for a response"), consent requests are sent once (RFC 7675 §5.1), and
 * a response must come back on the 5-tuple the request left on (§7.2.5.2.1).
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { toHex } from "../bytes/hex";
import type { HmacKey } from "../crypto/types";
import type { RandomSource } from "../engine";
import { XorMappedAddress } from "../stun/attributes/address";
import { ErrorCode, UnknownAttributes } from "../stun/attributes/error";
import { IceControlled, IceControlling, Priority, UseCandidate } from "../stun/attributes/ice";
import { Software, Username } from "../stun/attributes/text";
import type { StunMessageBuilder } from "../stun/builder";
import { MessageClass, Method } from "../stun/constants";
import type { IntegrityKeys } from "../stun/integrity";
import type { CandidatePair, LocalCandidate } from "./pair";

/**
 * The two roles of RFC 8445 §6.1.1.
 *
 * @example
 * ```ts
 * const role: IceRole = "controlled";
 * new IceAgent({ role }).role; // → "controlled", until a role conflict (487) or a lite peer switches it
 * ```
 */
export type IceRole = "controlling" | "controlled";

/**
 * What a transaction is for.
 *
 * @example
 * ```ts
 * for (const tx of txs.due(now).expired) {
 *   if (tx.kind === "check" && !tx.cancelled) failCheck(now, tx); // a consent request only ages consent (RFC 7675 §5.1)
 * }
 * ```
 */
export type CheckKind = "check" | "consent";

/**
 * One connectivity-check or consent transaction.
 *
 * @example
 * ```ts
 * const tx: CheckTransaction = txs.start(0, {
 *   tid, kind: "check", pair, base: pair.local, remote: pair.remote.address, data, priority: 1862270975,
 *   useCandidate: false, role: "controlling", keys: remoteCredential, rto: 500,
 * });
 * tx.nextAt;   // → 500: the second send, one RTO later
 * tx.deadline; // → 39500 = ((2^6 - 1) + 16) × 500, with Rc 7 and Rm 16
 * ```
 */
export interface CheckTransaction {
  readonly tid: Uint8Array;
  readonly tidKey: string;
  readonly kind: CheckKind;
  /** The pair checked: its local base sends, its remote candidate receives. */
  readonly pair: CandidatePair;
  /** The base the request left from. */
  readonly base: LocalCandidate;
  /** The destination. */
  readonly remote: TransportAddress;
  readonly data: Uint8Array;
  /** The PRIORITY sent: a peer-reflexive candidate learned from the response gets it (§7.2.5.3.1). */
  readonly priority: number;
  readonly useCandidate: boolean;
  /** The role the request claimed, to act on a 487 only once (§7.2.5.1). */
  readonly role: IceRole;
  /** Keys the response must be signed with (the peer's password). */
  readonly keys: IntegrityKeys;
  readonly startedAt: number;
  /** RTO of the first interval. */
  readonly rto: number;
  /** Sends so far. */
  sends: number;
  /** Next retransmission, or the deadline when no more sends remain. */
  nextAt: number;
  /** When the transaction times out. */
  readonly deadline: number;
  /** Cancelled (§7.3.1.4, §8.1.2): no retransmissions, and its timeout is not a failure. */
  cancelled: boolean;
}

/**
 * Retransmission parameters (RFC 8489 §6.2.1).
 *
 * @example
 * ```ts
 * const policy: RetransmitPolicy = { rc: 7, rm: 16 }; // the RFC 8489 §6.2.1 defaults
 * const txs = new Transactions(policy);
 * ```
 */
export interface RetransmitPolicy {
  /** Rc: total sends (default 7). */
  readonly rc: number;
  /** Rm: multiple of the RTO to wait after the last send (default 16). */
  readonly rm: number;
}

/**
 * The transactions of one ICE session, by transaction id.
 *
 * @example
 * ```ts
 * const txs = new Transactions({ rc: 7, rm: 16 });
 * const tx = txs.start(0, { ...init, kind: "check", rto: 500 }); // its first send is now
 * txs.due(500).retransmit; // → [tx]: the second send, at RTO
 * txs.nextTimeout();       // → 1500: the third, at 3·RTO
 * ```
 */
export class Transactions {
  readonly #byTid = new Map<string, CheckTransaction>();
  readonly #policy: RetransmitPolicy;

  constructor(policy: RetransmitPolicy) {
    this.#policy = policy;
  }

  /** Transactions in flight. */
  get size(): number {
    return this.#byTid.size;
  }

  /**
   * Registers a transaction whose first send is happening now.
   *
   * @param kind - `"consent"` is sent once and waits `consentWait` ms (RFC 7675 §5.1)
   */
  start(
    now: number,
    init: Omit<CheckTransaction, "tidKey" | "sends" | "nextAt" | "deadline" | "cancelled" | "startedAt">,
    consentWait = 0,
  ): CheckTransaction {
    const { rc, rm } = this.#policy;
    // §6.2.1: sends at 0, RTO, 3·RTO, ..., (2^(Rc-1) - 1)·RTO; timeout Rm·RTO after the last.
    const deadline = init.kind === "consent" ? now + consentWait : now + ((2 ** (rc - 1) - 1) + rm) * init.rto;
    // Field by field: a spread of `init` showed up in the idle mux's profile (one per check).
    const tx: CheckTransaction = {
      tid: init.tid,
      tidKey: toHex(init.tid),
      kind: init.kind,
      pair: init.pair,
      base: init.base,
      remote: init.remote,
      data: init.data,
      priority: init.priority,
      useCandidate: init.useCandidate,
      role: init.role,
      keys: init.keys,
      startedAt: now,
      rto: init.rto,
      sends: 1,
      nextAt: init.kind === "consent" || rc <= 1 ? deadline : now + init.rto,
      deadline,
      cancelled: false,
    };
    this.#byTid.set(tx.tidKey, tx);
    return tx;
  }

  /** The transaction with this id, if any (it stays registered). */
  get(tid: Uint8Array): CheckTransaction | undefined {
    return this.#byTid.get(toHex(tid));
  }

  /** Forgets a transaction (answered or timed out). */
  delete(tx: CheckTransaction): void {
    this.#byTid.delete(tx.tidKey);
  }

  /**
   * Cancels the check transactions of `pair`: no more retransmissions; a late response is still
   * processed, and the timeout is not a failure (RFC 8445 §7.3.1.4, §8.1.2).
   */
  cancelPair(pair: CandidatePair): void {
    for (const tx of this.#byTid.values()) {
      if (tx.pair === pair && tx.kind === "check" && !tx.cancelled) {
        tx.cancelled = true;
        tx.nextAt = tx.deadline;
      }
    }
  }

  /** True when a check (not consent) transaction that is not cancelled is in flight for `pair`. */
  inFlight(pair: CandidatePair): boolean {
    for (const tx of this.#byTid.values()) if (tx.pair === pair && tx.kind === "check" && !tx.cancelled) return true;
    return false;
  }

  /** True when any check transaction that is not cancelled is in flight. */
  anyInFlight(): boolean {
    for (const tx of this.#byTid.values()) if (tx.kind === "check" && !tx.cancelled) return true;
    return false;
  }

  /** Drops every consent transaction of `pair` (RFC 7675 §5.1: discarded when consent expires). */
  dropConsent(pair: CandidatePair): void {
    for (const tx of [...this.#byTid.values()]) if (tx.pair === pair && tx.kind === "consent") this.#byTid.delete(tx.tidKey);
  }

  /**
   * The transactions due at `now`: to retransmit (their `sends` and `nextAt` already advanced)
   * and timed out (already removed).
   */
  due(now: number): { retransmit: CheckTransaction[]; expired: CheckTransaction[] } {
    const retransmit: CheckTransaction[] = [];
    const expired: CheckTransaction[] = [];
    const { rc } = this.#policy;
    for (const tx of this.#byTid.values()) {
      if (tx.nextAt > now) continue;
      if (tx.nextAt >= tx.deadline || tx.cancelled || tx.kind === "consent") {
        expired.push(tx);
        continue;
      }
      tx.sends++;
      // The interval doubles: the k-th send (1-based) goes at (2^(k-1) - 1)·RTO.
      tx.nextAt = tx.sends >= rc ? tx.deadline : tx.startedAt + (2 ** tx.sends - 1) * tx.rto;
      retransmit.push(tx);
    }
    for (const tx of expired) this.#byTid.delete(tx.tidKey);
    return { retransmit, expired };
  }

  /** The earliest `nextAt`, or undefined. */
  nextTimeout(): number | undefined {
    let t: number | undefined;
    for (const tx of this.#byTid.values()) if (t === undefined || tx.nextAt < t) t = tx.nextAt;
    return t;
  }

  /** Every transaction (for a restart's clean-up). */
  all(): CheckTransaction[] {
    return [...this.#byTid.values()];
  }
}

/**
 * The fields of a connectivity check (RFC 8445 §7.1, §7.2.2).
 *
 * @example
 * ```ts
 * const request: CheckRequest = {
 *   username: "bobU:alcU", priority: candidatePriority("prflx", 65535, 1), role: "controlling",
 *   tiebreaker: randomTiebreaker(defaultRandom), useCandidate: false,
 *   key: shortTermCredential("bobU:alcU", bobPwd).sha1, software: undefined,
 * };
 * encodeCheck(new StunMessageBuilder(), transactionId(defaultRandom), request).length; // → 88
 * ```
 */
export interface CheckRequest {
  /** "<remote ufrag>:<local ufrag>". */
  readonly username: string;
  /** Priority with the peer-reflexive type preference (§7.1.1). */
  readonly priority: number;
  readonly role: IceRole;
  readonly tiebreaker: bigint;
  readonly useCandidate: boolean;
  /** MESSAGE-INTEGRITY key: the peer's password. */
  readonly key: HmacKey;
  readonly software: string | undefined;
}

/**
 * A fresh 96-bit transaction id from `random`.
 *
 * @example
 * ```ts
 * transactionId(defaultRandom).length; // → 12
 * ```
 */
export function transactionId(random: RandomSource): Uint8Array {
  const tid = new Uint8Array(12);
  random(tid);
  return tid;
}

/**
 * Encodes a Binding request for a check; the bytes are a copy the caller keeps.
 *
 * @example
 * ```ts
 * const data = encodeCheck(builder, transactionId(random), request);
 * decodeStunMessage(data).get(Priority); // → 1862270975: the prflx priority, RFC 8445 §7.1.1
 * ```
 */
export function encodeCheck(b: StunMessageBuilder, tid: Uint8Array, r: CheckRequest): Uint8Array {
  b.begin(Method.Binding, MessageClass.Request, tid).add(Username, r.username).add(Priority, r.priority);
  if (r.role === "controlling") {
    b.add(IceControlling, r.tiebreaker);
    // §7.1.2: only the controlling agent, and only to nominate.
    if (r.useCandidate) b.add(UseCandidate, true);
  } else {
    b.add(IceControlled, r.tiebreaker);
  }
  if (r.software !== undefined) b.add(Software, r.software);
  return b.addMessageIntegrity(r.key).addFingerprint().finish().slice();
}

/**
 * Encodes a Binding success response (§7.3): XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT.
 *
 * @example
 * ```ts
 * const data = encodeSuccess(builder, check.transactionId, { family: "IPv4", address: "198.51.100.1", port: 61000 }, local.keys.sha1, undefined);
 * decodeStunMessage(data).get(XorMappedAddress); // → { family: "IPv4", address: "198.51.100.1", port: 61000 }
 * ```
 */
export function encodeSuccess(b: StunMessageBuilder, tid: Uint8Array, mapped: TransportAddress, key: HmacKey, software: string | undefined): Uint8Array {
  b.begin(Method.Binding, MessageClass.SuccessResponse, tid).add(XorMappedAddress, mapped);
  if (software !== undefined) b.add(Software, software);
  return b.addMessageIntegrity(key).addFingerprint().finish().slice();
}

/**
 * Encodes a Binding error response. 400 and 401 go unsigned (RFC 8489 §9.1.3: the request
 * could not be authenticated); 487 is signed, since the request was (RFC 8445 §7.3.1.1).
 *
 * @example
 * ```ts
 * const data = encodeError(builder, check.transactionId, 487, "Role Conflict", local.keys.sha1, undefined);
 * decodeStunMessage(data).get(ErrorCode); // → { code: 487, reason: "Role Conflict" }
 * ```
 */
export function encodeError(
  b: StunMessageBuilder,
  tid: Uint8Array,
  code: number,
  reason: string,
  key: HmacKey | undefined,
  software: string | undefined,
  unknown?: readonly number[],
): Uint8Array {
  b.begin(Method.Binding, MessageClass.ErrorResponse, tid).add(ErrorCode, { code, reason });
  if (unknown !== undefined && unknown.length > 0) b.add(UnknownAttributes, unknown);
  if (software !== undefined) b.add(Software, software);
  if (key !== undefined) b.addMessageIntegrity(key);
  return b.addFingerprint().finish().slice();
}

/**
 * A keepalive (RFC 8445 §11): a Binding indication "MUST NOT utilize any authentication
 * mechanism. It SHOULD contain the FINGERPRINT attribute [...] but it SHOULD NOT contain any
 * other attributes."
 *
 * @example
 * ```ts
 * encodeKeepalive(builder, transactionId(random)).length; // → 28: the header and FINGERPRINT
 * ```
 */
export function encodeKeepalive(b: StunMessageBuilder, tid: Uint8Array): Uint8Array {
  return b.begin(Method.Binding, MessageClass.Indication, tid).addFingerprint().finish().slice();
}
