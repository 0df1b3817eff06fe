/**
 * The STUN client: request/response transactions as a sans-IO engine (RFC 8489 §6.2, §6.3,
 * §9, §10).
 *
 * One {@link StunClient} runs any number of transactions to any number of servers. It owns the
 * retransmission schedule (§6.2.1: RTO doubling, Rc = 7 sends, Rm = 16 RTOs after the last; one
 * send and a 39.5 s timeout on TCP/TLS, §6.2.2), the per-server RTO estimate carried between
 * transactions, response matching by transaction id, the receive checks of §6.3, the long-term
 * credential flow of §9.2 (401 → REALM/NONCE, 438 → fresh nonce, PASSWORD-ALGORITHMS with its
 * bid-down protection, USERHASH), short-term integrity (§9.1), and 300 Try Alternate (§10).
 *
 * ```ts
 * const client = new StunClient();
 * const id = client.request(now, { remote: { family: "IPv4", address: "192.0.2.10", port: 3478 } });
 * // drive it (see src/engine.ts), then:
 * for (let e; (e = client.pollEvent()); ) {
 *   if (e.type === "success") console.log(e.response.get(XorMappedAddress), e.rttMs);
 *   else console.log("failed:", e.reason, e.errorCode);
 * }
 * ```
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { formatTransportAddress } from "../bytes/ip";
import { toHex } from "../bytes/hex";
import type { HmacFactory } from "../crypto/types";
import { createHmacKey } from "../crypto/hmac";
import { IcekitError } from "../errors";
import { Queue, defaultRandom } from "../engine";
import type { Engine, RandomSource, Received, Transmit, TransportProtocol } from "../engine";
import type { AttributeCodec } from "./attribute";
import { AlternateServer } from "./attributes/address";
import { ErrorCode, UnknownAttributes } from "./attributes/error";
import { Software } from "./attributes/text";
import { StunMessageBuilder } from "./builder";
import { AttributeType, MessageClass, Method } from "./constants";
import { checkFingerprint, checkIntegrity } from "./integrity";
import type { IntegrityKeys } from "./integrity";
import { decodeStunMessage } from "./message";
import type { StunMessage } from "./message";
import { RtoCache } from "./rto";
import type { RtoOptions } from "./rto";
import { LongTermAuth } from "./long-term-auth";
import type { AuthDecision } from "./long-term-auth";
import { Username } from "./attributes/text";
import type { StunCredential } from "./credentials";

/**
 * An attribute and its value, typed together. Build with {@link attr}.
 *
 * @example
 * ```ts
 * const attributes: AttributeEntry[] = [attr(Software, "icekit"), attr(Priority, 0x6e0001ff)];
 * client.request(now, { remote: server, attributes });
 * ```
 */
export interface AttributeEntry<T = unknown> {
  readonly codec: AttributeCodec<T>;
  readonly value: T;
}

/**
 * Pairs an attribute codec with a value, checking the value's type against the codec.
 *
 * @example
 * ```ts
 * client.request(now, { remote: server, attributes: [attr(ChangeRequest, { changeIp: true, changePort: true })] });
 * attr(Priority, "high"); // compile error: PRIORITY takes a number
 * ```
 */
export function attr<T>(codec: AttributeCodec<T>, value: T): AttributeEntry<T> {
  return { codec, value };
}

/**
 * How a request authenticates.
 *
 * @example
 * ```ts
 * const ice: StunAuth = { kind: "short-term", credential: shortTermCredential("evtj:h6vY", "VOkJxbRl1RmTxUk/WvJxBt") };
 * const turn: StunAuth = { kind: "long-term", username: "alice", password: "s3cret" };
 * client.request(now, { remote: server, method: Method.Allocate, auth: turn });
 * ```
 */
export type StunAuth =
  /** Short-term (§9.1): USERNAME and MESSAGE-INTEGRITY with the credential's key on every request. */
  | { readonly kind: "short-term"; readonly credential: StunCredential }
  /** Long-term (§9.2): the first request goes bare; the server's 401 supplies REALM and NONCE. */
  | { readonly kind: "long-term"; readonly username: string; readonly password: string };

/**
 * One request.
 *
 * @example
 * ```ts
 * const request: StunRequest = {
 *   remote: { family: "IPv4", address: "192.0.2.10", port: 3478 },
 *   transport: "tcp",
 *   attributes: [attr(Software, "icekit")],
 * };
 * const id = client.request(now, request);
 * ```
 */
export interface StunRequest {
  /** The server. */
  readonly remote: TransportAddress;
  /** Transport, default `"udp"`. On TCP/TLS the driver frames and connects. */
  readonly transport?: TransportProtocol;
  /** Which local socket to send from, when the driver has several. */
  readonly local?: TransportAddress;
  /** Method, default Binding. */
  readonly method?: number;
  /** The request's own attributes (authentication attributes are added by the client). */
  readonly attributes?: readonly AttributeEntry<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Authentication, if the server requires it. */
  readonly auth?: StunAuth;
  /** Append FINGERPRINT; default from the client options (true). */
  readonly fingerprint?: boolean;
}

/**
 * Why a transaction failed.
 *
 * @example
 * ```ts
 * function worthRetrying(reason: StunFailureReason): boolean {
 *   return reason === "timeout" || reason === "transport"; // "auth" or "integrity" would fail again
 * }
 * ```
 */
export type StunFailureReason =
  /** No response after Rc sends and Rm × RTO (UDP), or Ti (TCP/TLS). */
  | "timeout"
  /** An error response the client does not recover from; see `errorCode`. */
  | "error-response"
  /** Responses came but none passed the integrity check (§9.1.4, §9.2.5). */
  | "integrity"
  /** The response had comprehension-required attributes the client does not know (§6.3.3, §6.3.4). */
  | "unknown-attributes"
  /** The long-term credential flow cannot go on (wrong password, no common algorithm, bid-down). */
  | "auth"
  /** A 300 sent the client back to a server it already tried in the last five minutes (§10). */
  | "redirect-loop"
  /** The driver reported that the transport failed (TCP reset, ICMP error). */
  | "transport"
  /** {@link StunClient.cancel} was called. */
  | "cancelled";

/**
 * What a {@link StunClient} reports.
 *
 * @example
 * ```ts
 * for (let e: StunClientEvent | undefined; (e = client.pollEvent()); ) {
 *   if (e.type === "success") mapped.set(e.id, e.response.get(XorMappedAddress));
 *   else console.warn(`transaction ${e.id}: ${e.reason}`, e.errorCode, e.detail); // e.g. "timeout"
 * }
 * ```
 */
export type StunClientEvent =
  | {
      readonly type: "success";
      readonly id: number;
      /** The response; its bytes are a copy, valid for as long as you keep it. */
      readonly response: StunMessage;
      /** The server that answered (after any 300 redirection). */
      readonly remote: TransportAddress;
      readonly transport: TransportProtocol;
      /** Time from the attempt's first send to the response. */
      readonly rttMs: number;
      /** True when the request was sent more than once (the RTT is then ambiguous). */
      readonly retransmitted: boolean;
    }
  | {
      readonly type: "failure";
      readonly id: number;
      readonly reason: StunFailureReason;
      readonly remote: TransportAddress;
      /** For `error-response` (and `auth` when a 401 ended it): the ERROR-CODE. */
      readonly errorCode?: number;
      readonly errorReason?: string;
      /** For 420 and `unknown-attributes`: the types not understood. */
      readonly unknownAttributes?: readonly number[];
      /** The error response, when one ended the transaction. */
      readonly response?: StunMessage;
      /** A sentence for logs. */
      readonly detail: string;
    };

/**
 * Counters for {@link StunClient.stats}.
 *
 * @example
 * ```ts
 * const { transmissions, retransmissions } = client.stats();
 * const lossHint = retransmissions / transmissions; // e.g. 0.05
 * ```
 */
export interface StunClientStats {
  requestsStarted: number;
  transmissions: number;
  retransmissions: number;
  succeeded: number;
  failed: number;
  timeouts: number;
  /** Datagrams handed in that were not STUN or not a response to a live transaction. */
  unmatched: number;
  /** Responses dropped: bad FINGERPRINT. */
  droppedFingerprint: number;
  /** Responses dropped: integrity missing or wrong (UDP keeps waiting, §9.2.5). */
  droppedIntegrity: number;
  /** Responses ignored for the bid-down rule of §9.2.5. */
  droppedBidDown: number;
  /** 400 responses without integrity to authenticated requests, discarded per §9.2.5. */
  droppedUnauthenticated400: number;
}

/**
 * Client configuration.
 *
 * @example
 * ```ts
 * const options: StunClientOptions = { software: "icekit", rc: 3, rto: { initialRto: 250 }, followRedirects: false };
 * const client = new StunClient(options);
 * ```
 */
export interface StunClientOptions {
  /** Random source for transaction ids. */
  readonly random?: RandomSource;
  /** SOFTWARE attribute to add to every request (§14.14), if any. */
  readonly software?: string;
  /** RTO estimation (§6.2.1). */
  readonly rto?: RtoOptions;
  /** Rc: total sends on UDP (default 7). */
  readonly rc?: number;
  /** Rm: multiple of the RTO to wait after the last send (default 16). */
  readonly rm?: number;
  /** Ti: TCP/TLS transaction timeout, ms (default 39 500). */
  readonly tcpTimeout?: number;
  /** FINGERPRINT on requests by default (default true). */
  readonly fingerprint?: boolean;
  /** HMAC capability (default: icekit's pure implementation). */
  readonly hmac?: HmacFactory;
  /** Retries after 438 Stale Nonce before giving up (default 3). */
  readonly maxStaleNonceRetries?: number;
  /**
   * Follow 300 Try Alternate (RFC 8489 §10; default true). Usages that must ignore
   * ALTERNATE-SERVER turn it off: ICE gathering (RFC 8445 §5.1.1.2) and NAT behaviour discovery
   * (RFC 5780 §5); a 300 then fails the transaction as an error response.
   */
  readonly followRedirects?: boolean;
  /**
   * Hold every new attempt until the owner releases it (default false). An attempt is what puts
   * a new transaction id on the wire: the first send of a request, the signed retry after 401 or
   * 438 (§9.2.5) and the retry at an alternate server (§10). A held attempt has no timer; the
   * owner hands out send times with {@link StunClient.releaseAttempt}, one at a time, which is
   * how an ICE agent fits the TURN requests of its relays into its global pacing (RFC 8445
   * §14.2). Retransmissions are never held: Appendix B.1 of RFC 8445 leaves them to the RTO.
   */
  readonly holdAttempts?: boolean;
}

interface Transaction {
  readonly id: number;
  readonly request: StunRequest;
  remote: TransportAddress;
  readonly transport: TransportProtocol;
  tid: Uint8Array;
  tidKey: string;
  bytes: Uint8Array;
  /** First send of the current attempt. */
  attemptStart: number;
  /** Sends of the current attempt so far. */
  sends: number;
  /** RTO of the current attempt's first interval. */
  rto: number;
  /** Current interval (doubles). */
  interval: number;
  /** When to retransmit or give up. */
  nextAt: number;
  /** Keys to check the response with, when the request was signed. */
  keys: IntegrityKeys | undefined;
  /** Some response was dropped for integrity during this attempt. */
  integrityDropped: boolean;
  /** The long-term session this request authenticates with, if any. */
  auth: LongTermAuth | undefined;
  /** Whether this attempt was signed with long-term credentials. */
  signedLongTerm: boolean;
  staleRetries: number;
  /** Servers this request was sent to, with the time, for the §10 loop rule. */
  readonly visited: { key: string; at: number }[];
  /** Waiting in the held queue for {@link StunClient.releaseAttempt} (no timer meanwhile). */
  held: boolean;
}

/**
 * Sans-IO STUN client: see the module comment.
 *
 * @example
 * ```ts
 * const client = new StunClient({ software: "icekit" });
 * const id = client.request(now, { remote: transportAddress("192.0.2.10", 3478) });
 * client.pollTransmit() // → { local: undefined, remote: 192.0.2.10:3478, transport: "udp", data: the request }
 * client.pollTimeout()  // → now + 500: the first retransmission (RFC 8489 §6.2.1)
 * ```
 */
export class StunClient implements Engine<StunClientEvent> {
  readonly #random: RandomSource;
  readonly #software: string | undefined;
  readonly #rtos: RtoCache;
  readonly #rc: number;
  readonly #rm: number;
  readonly #ti: number;
  readonly #fingerprint: boolean;
  readonly #hmac: HmacFactory;
  readonly #maxStale: number;
  readonly #followRedirects: boolean;
  readonly #holdAttempts: boolean;
  /** Held attempts in the order they were made (cancelled ones are skipped on release). */
  readonly #held = new Queue<Transaction>();
  #heldCount = 0;
  readonly #builder = new StunMessageBuilder();
  readonly #byTid = new Map<string, Transaction>();
  readonly #byId = new Map<number, Transaction>();
  readonly #auth = new Map<string, LongTermAuth>();
  readonly #transmits = new Queue<Transmit>();
  readonly #events = new Queue<StunClientEvent>();
  readonly #stats: StunClientStats = {
    requestsStarted: 0,
    transmissions: 0,
    retransmissions: 0,
    succeeded: 0,
    failed: 0,
    timeouts: 0,
    unmatched: 0,
    droppedFingerprint: 0,
    droppedIntegrity: 0,
    droppedBidDown: 0,
    droppedUnauthenticated400: 0,
  };
  #nextId = 1;

  /** @param options - see {@link StunClientOptions} */
  constructor(options: StunClientOptions = {}) {
    this.#random = options.random ?? defaultRandom;
    this.#software = options.software;
    this.#rtos = new RtoCache(options.rto);
    this.#rc = options.rc ?? 7;
    this.#rm = options.rm ?? 16;
    this.#ti = options.tcpTimeout ?? 39_500;
    this.#fingerprint = options.fingerprint ?? true;
    this.#hmac = options.hmac ?? createHmacKey;
    this.#maxStale = options.maxStaleNonceRetries ?? 3;
    this.#followRedirects = options.followRedirects ?? true;
    this.#holdAttempts = options.holdAttempts ?? false;
    if (!Number.isInteger(this.#rc) || this.#rc < 1) throw new IcekitError("INVALID_ARGUMENT", `rc ${this.#rc}: pass an integer >= 1 (RFC 8489 default 7)`);
    if (!(this.#rm > 0)) throw new IcekitError("INVALID_ARGUMENT", `rm ${this.#rm}: pass a number > 0 (RFC 8489 default 16)`);
  }

  /**
   * Starts a transaction and queues its first transmission.
   *
   * @returns the transaction's id, which its event carries
   * @throws {@link IcekitError} when an attribute value cannot be encoded
   */
  request(now: number, request: StunRequest): number {
    const transport = request.transport ?? "udp";
    const auth = request.auth?.kind === "long-term" ? this.#authFor(request.remote, request.auth) : undefined;
    const tx: Transaction = {
      id: this.#nextId++,
      request,
      remote: request.remote,
      transport,
      tid: new Uint8Array(12),
      tidKey: "",
      bytes: new Uint8Array(0),
      attemptStart: now,
      sends: 0,
      rto: 0,
      interval: 0,
      nextAt: now,
      keys: undefined,
      integrityDropped: false,
      auth,
      signedLongTerm: false,
      staleRetries: 0,
      visited: [{ key: serverKey(request.remote), at: now }],
      held: false,
    };
    this.#byId.set(tx.id, tx);
    this.#stats.requestsStarted++;
    this.#startAttempt(tx, now);
    return tx.id;
  }

  /** Ends a transaction without waiting for it; its event is a `cancelled` failure. */
  cancel(id: number): void {
    const tx = this.#byId.get(id);
    if (tx) this.#fail(tx, "cancelled", "cancelled by the caller");
  }

  /** True while transaction `id` is in progress. */
  isPending(id: number): boolean {
    return this.#byId.has(id);
  }

  /**
   * Hands in a datagram. Returns true when it was a response to one of this client's
   * transactions (consumed), false otherwise, so that a caller multiplexing several protocols
   * on one socket can pass it on.
   */
  handleReceive(now: number, received: Received): boolean {
    let msg: StunMessage;
    try {
      msg = decodeStunMessage(received.data);
    } catch {
      this.#stats.unmatched++;
      return false;
    }
    if (msg.messageClass !== MessageClass.SuccessResponse && msg.messageClass !== MessageClass.ErrorResponse) {
      this.#stats.unmatched++;
      return false;
    }
    const tx = this.#byTid.get(toHex(msg.transactionId));
    if (tx === undefined || msg.method !== (tx.request.method ?? Method.Binding)) {
      this.#stats.unmatched++;
      return false;
    }
    // §6.3 and §7: a response whose FINGERPRINT is wrong is silently discarded.
    if (checkFingerprint(msg) === "invalid") {
      this.#stats.droppedFingerprint++;
      return true;
    }
    // Keep the response beyond this call: copy it once, now that it is known to be ours.
    msg = decodeStunMessage(received.data.slice());
    this.#onResponse(tx, msg, now);
    return true;
  }

  /** Attempts held for {@link releaseAttempt} (with `holdAttempts`); 0 otherwise. */
  get heldAttempts(): number {
    return this.#heldCount;
  }

  /**
   * Sends the oldest held attempt now (`holdAttempts`): its transaction id, signature and RTO
   * are made at this moment, so the retransmission schedule runs from the real first send.
   *
   * @returns false when no attempt was held
   */
  releaseAttempt(now: number): boolean {
    for (let tx = this.#held.shift(); tx !== undefined; tx = this.#held.shift()) {
      if (!tx.held) continue; // ended (cancelled, failed) while it waited
      tx.held = false;
      this.#heldCount--;
      this.#attempt(tx, now);
      return true;
    }
    return false;
  }

  /** Retransmits and times out transactions whose time has come. */
  handleTimeout(now: number): void {
    for (const tx of [...this.#byId.values()]) {
      if (tx.nextAt > now) continue;
      if (tx.transport === "udp" && tx.sends < this.#rc) {
        this.#stats.retransmissions++;
        this.#send(tx, now);
      } else {
        this.#timeout(tx);
      }
    }
  }

  /**
   * The driver reports that the transport to `remote` failed (TCP connection refused or reset,
   * a hard ICMP error): every transaction to it over that transport fails (§6.2.1, §6.2.2).
   */
  handleTransportError(_now: number, remote: TransportAddress, transport: TransportProtocol, detail = "transport error"): void {
    const key = serverKey(remote);
    for (const tx of [...this.#byId.values()]) {
      if (tx.transport === transport && serverKey(tx.remote) === key) this.#fail(tx, "transport", detail);
    }
  }

  /** Next datagram to send. */
  pollTransmit(): Transmit | undefined {
    return this.#transmits.shift();
  }

  /** Earliest retransmission or timeout. */
  pollTimeout(): number | undefined {
    let t: number | undefined;
    for (const tx of this.#byId.values()) if (!tx.held && (t === undefined || tx.nextAt < t)) t = tx.nextAt;
    return t;
  }

  /** Next event. */
  pollEvent(): StunClientEvent | undefined {
    return this.#events.shift();
  }

  /** Counters since construction. */
  stats(): Readonly<StunClientStats> {
    return { ...this.#stats };
  }

  /** The RTO this client would start a transaction to `server` with now (for diagnostics). */
  currentRto(server: TransportAddress, now: number): number {
    return this.#rtos.rto(server.address, now);
  }

  #authFor(remote: TransportAddress, a: { username: string; password: string }): LongTermAuth {
    // §9.2.3: the server is identified by its IP address (the driver resolves names first).
    const key = `${serverKey(remote)}|${a.username}`;
    let s = this.#auth.get(key);
    if (s === undefined || !s.matches(a.username, a.password)) {
      s = new LongTermAuth(a.username, a.password, this.#hmac);
      this.#auth.set(key, s);
    }
    return s;
  }

  /** A fresh attempt (new transaction id): sent now, or held for {@link releaseAttempt}. */
  #startAttempt(tx: Transaction, now: number): void {
    if (tx.tidKey) this.#byTid.delete(tx.tidKey);
    if (this.#holdAttempts) {
      // No tid, no timer: nothing of it is on the wire until the owner releases it.
      tx.tidKey = "";
      tx.held = true;
      tx.nextAt = Infinity;
      this.#held.push(tx);
      this.#heldCount++;
      return;
    }
    this.#attempt(tx, now);
  }

  /** Builds the attempt (new transaction id) and sends it. */
  #attempt(tx: Transaction, now: number): void {
    this.#random(tx.tid);
    tx.tidKey = toHex(tx.tid);
    this.#byTid.set(tx.tidKey, tx);
    const req = tx.request;
    const b = this.#builder.begin(req.method ?? Method.Binding, MessageClass.Request, tx.tid);
    for (const a of req.attributes ?? []) b.add(a.codec, a.value);
    if (this.#software !== undefined) b.add(Software, this.#software);
    tx.keys = undefined;
    tx.signedLongTerm = false;
    if (req.auth?.kind === "short-term") {
      // §9.1.2: USERNAME and MESSAGE-INTEGRITY on every request.
      b.add(Username, req.auth.credential.username);
      b.addMessageIntegrity(req.auth.credential.sha1);
      tx.keys = req.auth.credential;
    } else if (tx.auth?.ready) {
      tx.keys = tx.auth.sign(b);
      tx.signedLongTerm = true;
    }
    if (req.fingerprint ?? this.#fingerprint) b.addFingerprint();
    tx.bytes = b.finish().slice();
    tx.attemptStart = now;
    tx.sends = 0;
    tx.integrityDropped = false;
    tx.rto = this.#rtos.rto(tx.remote.address, now);
    tx.interval = tx.rto;
    this.#send(tx, now);
  }

  #send(tx: Transaction, now: number): void {
    this.#transmits.push({ local: tx.request.local, remote: tx.remote, transport: tx.transport, data: tx.bytes });
    this.#stats.transmissions++;
    tx.sends++;
    if (tx.transport !== "udp") {
      tx.nextAt = now + this.#ti; // §6.2.2: no retransmission; Ti.
    } else if (tx.sends < this.#rc) {
      // §6.2.1: first interval RTO, doubling after each retransmission.
      tx.nextAt = now + tx.interval;
      tx.interval *= 2;
    } else {
      // After the last send, wait Rm × RTO (39.5 s in total with the defaults).
      tx.nextAt = now + this.#rm * tx.rto;
    }
  }

  #timeout(tx: Transaction): void {
    this.#rtos.timedOut(tx.remote.address);
    if (tx.integrityDropped) {
      // §9.2.5: when every response was discarded for integrity, say so rather than "timeout".
      this.#fail(tx, "integrity", "every response failed the integrity check");
    } else {
      this.#stats.timeouts++;
      this.#fail(tx, "timeout", `no response from ${formatTransportAddress(tx.remote)} after ${tx.sends} ${tx.sends === 1 ? "send" : "sends"}`);
    }
  }

  #onResponse(tx: Transaction, msg: StunMessage, now: number): void {
    const reliable = tx.transport !== "udp";
    const isError = msg.messageClass === MessageClass.ErrorResponse;
    let error: { code: number; reason: string } | undefined;
    try {
      error = isError ? msg.get(ErrorCode) : undefined;
    } catch {
      error = undefined;
    }

    // §9.2.5: 401 and 438 drive the long-term flow before any integrity check.
    if (tx.auth && error && (error.code === 401 || error.code === 438)) {
      this.#sampleRtt(tx, now);
      const decision = tx.auth.onChallenge(msg, error.code, tx.signedLongTerm, tx.staleRetries < this.#maxStale);
      this.#applyAuthDecision(tx, msg, error, decision, now);
      return;
    }

    // Bid-down protection (§9.2.5): ignore responses whose nonce promises PASSWORD-ALGORITHMS
    // but that do not carry it.
    if (tx.auth && tx.auth.isBidDown(msg)) {
      this.#stats.droppedBidDown++;
      return;
    }

    if (tx.keys !== undefined) {
      // §9.2.5: a 400 without integrity to an authenticated request is discarded outright.
      if (tx.signedLongTerm && error?.code === 400 && !msg.has(AttributeType.MessageIntegrity) && !msg.has(AttributeType.MessageIntegritySha256)) {
        this.#stats.droppedUnauthenticated400++;
        return;
      }
      // §9.1.4 / §9.2.5: the response must be signed with the same key.
      if (checkIntegrity(msg, tx.keys) !== "valid") {
        this.#stats.droppedIntegrity++;
        if (reliable) this.#fail(tx, "integrity", "the response failed the integrity check", msg);
        else tx.integrityDropped = true;
        return;
      }
    }

    this.#sampleRtt(tx, now);
    // §6.3.3, §6.3.4: unknown comprehension-required attributes fail the transaction.
    const unknown = msg.unknownComprehensionRequired();
    if (unknown.length > 0) {
      this.#fail(tx, "unknown-attributes", `the response has unknown comprehension-required attributes ${unknown.map(hex4).join(", ")}`, msg, { unknownAttributes: unknown });
      return;
    }
    if (!isError) {
      this.#finish(tx);
      this.#stats.succeeded++;
      this.#events.push({
        type: "success",
        id: tx.id,
        response: msg,
        remote: tx.remote,
        transport: tx.transport,
        rttMs: now - tx.attemptStart,
        retransmitted: tx.sends > 1,
      });
      return;
    }
    if (error === undefined) {
      this.#fail(tx, "error-response", "an error response without a valid ERROR-CODE", msg);
      return;
    }
    if (error.code === 300 && this.#followRedirects) {
      this.#redirect(tx, msg, now);
      return;
    }
    const extra: { unknownAttributes?: readonly number[] } = {};
    if (error.code === 420) {
      try {
        const list = msg.get(UnknownAttributes);
        if (list) extra.unknownAttributes = list;
      } catch {
        // A malformed UNKNOWN-ATTRIBUTES still fails the transaction with 420.
      }
    }
    this.#fail(tx, "error-response", `${error.code} ${error.reason}`, msg, { errorCode: error.code, errorReason: error.reason, ...extra });
  }

  #applyAuthDecision(tx: Transaction, msg: StunMessage, error: { code: number; reason: string }, d: AuthDecision, now: number): void {
    if (d.kind === "retry") {
      if (error.code === 438) tx.staleRetries++;
      this.#startAttempt(tx, now);
      return;
    }
    this.#fail(tx, "auth", d.detail, msg, { errorCode: error.code, errorReason: error.reason });
  }

  #redirect(tx: Transaction, msg: StunMessage, now: number): void {
    let alternates: TransportAddress[];
    try {
      alternates = msg.getAll(AlternateServer);
    } catch {
      alternates = [];
    }
    // §10: the ALTERNATE-SERVER of the request's own family; the first one matches it.
    const target = alternates.find((a) => a.family === tx.remote.family);
    if (target === undefined) {
      this.#fail(tx, "error-response", "300 Try Alternate without a usable ALTERNATE-SERVER", msg, { errorCode: 300, errorReason: "Try Alternate" });
      return;
    }
    const key = serverKey(target);
    if (tx.visited.some((v) => v.key === key && now - v.at < 300_000)) {
      this.#fail(tx, "redirect-loop", `redirected back to ${formatTransportAddress(target)}, already tried`, msg, { errorCode: 300, errorReason: "Try Alternate" });
      return;
    }
    tx.visited.push({ key, at: now });
    tx.remote = target;
    // §10: the same credentials; a long-term session is per server, so start one for the new server.
    if (tx.request.auth?.kind === "long-term") tx.auth = this.#authFor(target, tx.request.auth);
    this.#startAttempt(tx, now);
  }

  #sampleRtt(tx: Transaction, now: number): void {
    // Karn's algorithm (§6.2.1): only transactions sent once give a sample.
    if (tx.transport === "udp" && tx.sends === 1) this.#rtos.sample(tx.remote.address, now - tx.attemptStart, now);
    else this.#rtos.touch(tx.remote.address, now);
  }

  #finish(tx: Transaction): void {
    this.#byId.delete(tx.id);
    this.#byTid.delete(tx.tidKey);
    if (tx.held) {
      tx.held = false;
      this.#heldCount--;
    }
  }

  #fail(
    tx: Transaction,
    reason: StunFailureReason,
    detail: string,
    response?: StunMessage,
    extra: { errorCode?: number; errorReason?: string; unknownAttributes?: readonly number[] } = {},
  ): void {
    this.#finish(tx);
    this.#stats.failed++;
    this.#events.push({
      type: "failure",
      id: tx.id,
      reason,
      remote: tx.remote,
      detail,
      ...(response ? { response } : {}),
      ...extra,
    });
  }
}

function serverKey(a: TransportAddress): string {
  return `${a.address}|${a.port}`;
}

function hex4(t: number): string {
  return `0x${t.toString(16).padStart(4, "0")}`;
}
