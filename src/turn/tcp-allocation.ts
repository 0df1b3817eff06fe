/**
 * The client data connection of a TURN TCP allocation (RFC 6062 §4.3, §4.4): a new TCP or TLS
 * connection to the server that a ConnectionBind request ties to one peer connection, after
 * which it carries the peer's bytes as they are.
 *
 * A TCP allocation is a {@link TurnClient} with `requestedTransport: "tcp"` on the control
 * connection. Its `connection` event (after {@link TurnClient.connect}, or when a peer connects
 * to the relayed address) carries a CONNECTION-ID; the application then opens a second
 * connection to the same server address from another local port (§4.3: "This connection MUST be
 * made using a different local transport address") and runs a {@link TurnConnectionBind} on it.
 * §4.3: "Authentication of the client by the server MUST use the same method and credentials as
 * for the control connection." Pass the control client's {@link TurnClient.authChallenge} as
 * `challenge`: the request is then signed from the first try with the control connection's realm,
 * nonce and password algorithm, which coturn requires (it checks the ConnectionBind against the
 * allocation's nonce and closes a data connection whose bind gets 401). Without it, the first
 * request goes bare and a 401 or 438 is answered, for servers that keep the connection open.
 *
 * TCP has no retransmissions (RFC 8489 §6.2.2): one send, and the transaction times out after Ti
 * (39.5 s).
 *
 * The engine only speaks while the connection is still STUN-framed. Once it reports `bound`, the
 * connection is the peer's raw byte stream: stop feeding it, and hand any bytes that arrived after
 * the response (the peer may have sent first; the server buffers them, §5.2) to the application.
 * `streamFrameLength` cuts the response off the stream.
 *
 * ```ts
 * // on the control connection's `connection` event:
 * const sock = net.connect(server.port, server.address);
 * const bind = new TurnConnectionBind({ server, transport: "tcp", username, password, connectionId: e.connectionId, challenge: turn.authChallenge });
 * bind.start(now());
 * const pump = () => {
 *   for (let t; (t = bind.pollTransmit()); ) sock.write(t.data);
 *   for (let ev; (ev = bind.pollEvent()); ) if (ev.type === "bound") useRawStream(sock, leftover);
 * };
 * let buf = new Uint8Array(0);
 * sock.on("data", (chunk) => {
 *   buf = concat(buf, chunk);
 *   const n = streamFrameLength(buf);
 *   if (n !== undefined && buf.length >= n) {
 *     bind.handleReceive(now(), { local, remote: server, transport: "tcp", data: buf.subarray(0, n) });
 *     leftover = buf.subarray(n);
 *   }
 *   pump();
 * });
 * pump(); // and arm a timer from bind.pollTimeout() as for any engine
 * ```
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { formatTransportAddress, transportAddress } from "../bytes/ip";
import { toHex } from "../bytes/hex";
import { createHmacKey } from "../crypto/hmac";
import { IcekitError } from "../errors";
import { Queue, defaultRandom } from "../engine";
import type { Engine, RandomSource, Received, Transmit } from "../engine";
import { ErrorCode } from "../stun/attributes/error";
import { Software } from "../stun/attributes/text";
import { ConnectionId } from "../stun/attributes/turn";
import { StunMessageBuilder } from "../stun/builder";
import type { StunClientOptions, StunFailureReason } from "../stun/client";
import { MessageClass, Method } from "../stun/constants";
import { checkFingerprint, checkIntegrity } from "../stun/integrity";
import type { IntegrityKeys } from "../stun/integrity";
import { LongTermAuth } from "../stun/long-term-auth";
import { decodeStunMessage } from "../stun/message";
import type { StunMessage } from "../stun/message";
import type { TurnClient } from "./client"; // for {@link}s only

/**
 * Configuration of a {@link TurnConnectionBind}.
 *
 * @example
 * ```ts
 * const options: TurnConnectionBindOptions = {
 *   server, transport: "tcp", username: "user", password: "pass", // as on the control connection
 *   connectionId: e.connectionId,  // from the control client's "connection" event
 *   challenge: turn.authChallenge, // signs the first request, as coturn requires
 * };
 * const bind = new TurnConnectionBind(options);
 * ```
 */
export interface TurnConnectionBindOptions {
  /** The TURN server: the same address the control connection goes to (RFC 6062 §4.3). */
  readonly server: TransportAddress;
  /** `"tcp"` or `"tls"`, as the control connection. */
  readonly transport: "tcp" | "tls";
  /** The control connection's username (RFC 6062 §4.3: same method and credentials). */
  readonly username: string;
  /** Its password. */
  readonly password: string;
  /** CONNECTION-ID from the Connect response or the ConnectionAttempt indication. */
  readonly connectionId: number;
  /**
   * The control connection's last challenge ({@link TurnClient.authChallenge}): a 401 or 438
   * response whose REALM, NONCE and PASSWORD-ALGORITHMS sign the first request.
   */
  readonly challenge?: Uint8Array | undefined;
  /** The data connection's local address, if the driver needs it named on transmits. */
  readonly local?: TransportAddress;
  /** Random source for transaction ids. */
  readonly random?: RandomSource;
  /** SOFTWARE attribute for the request. */
  readonly software?: string;
  /** `tcpTimeout` (Ti, default 39 500 ms), `fingerprint` (default true), `hmac`, `maxStaleNonceRetries` (3). */
  readonly stun?: StunClientOptions;
}

/**
 * What a {@link TurnConnectionBind} reports: once, then it is done.
 *
 * @example
 * ```ts
 * const ev: TurnConnectionBindEvent | undefined = bind.pollEvent();
 * if (ev?.type === "bound") useRawStream(sock, leftover); // the peer's bytes from here on
 * else if (ev?.type === "bind-failed") sock.destroy();    // e.g. code 400: unknown CONNECTION-ID
 * ```
 */
export type TurnConnectionBindEvent =
  | {
      /** ConnectionBind succeeded: the connection now carries the peer's bytes as they are. */
      readonly type: "bound";
      /** The CONNECTION-ID now bound to this connection. */
      readonly connectionId: number;
    }
  | {
      /**
       * ConnectionBind failed: 400 when the CONNECTION-ID is unknown (the server closes peer
       * connections nobody binds within 30 s, RFC 6062 §5.2-§5.4). Close the connection.
       */
      readonly type: "bind-failed";
      /** The CONNECTION-ID that could not be bound. */
      readonly connectionId: number;
      /** Why, as the STUN transaction layer names it. */
      readonly reason: StunFailureReason;
      /** The ERROR-CODE of the error response, if one ended it. */
      readonly code: number | undefined;
      /** A sentence for logs. */
      readonly detail: string;
    };

/**
 * Sans-IO ConnectionBind on one data connection: see the module comment.
 *
 * @example
 * ```ts
 * // on the control client's { type: "connection", connectionId } event e:
 * const bind = new TurnConnectionBind({ server, transport: "tcp", username, password,
 *   connectionId: e.connectionId, challenge: turn.authChallenge });
 * bind.start(now);
 * bind.pollTransmit(); // → { remote: server, transport: "tcp", data: <ConnectionBind> }: write it on the new connection
 * ```
 */
export class TurnConnectionBind implements Engine<TurnConnectionBindEvent> {
  readonly #options: TurnConnectionBindOptions;
  readonly #server: TransportAddress;
  readonly #auth: LongTermAuth;
  readonly #random: RandomSource;
  readonly #ti: number;
  readonly #fingerprint: boolean;
  readonly #maxStale: number;
  readonly #tid = new Uint8Array(12);
  readonly #transmits = new Queue<Transmit>();
  readonly #events = new Queue<TurnConnectionBindEvent>();
  #tidKey: string | undefined;
  #keys: IntegrityKeys | undefined;
  #deadline: number | undefined;
  #staleRetries = 0;
  #done = false;

  /**
   * @param options - server, transport, credentials, the CONNECTION-ID and the control challenge
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for a bad server, transport or connection id;
   *   `MISSING_CREDENTIAL` without username and password
   */
  constructor(options: TurnConnectionBindOptions) {
    if (options.transport !== "tcp" && options.transport !== "tls") {
      throw new IcekitError("INVALID_ARGUMENT", `transport ${String(options.transport)}: a data connection is "tcp" or "tls" (RFC 6062 §4.3)`);
    }
    if (!Number.isInteger(options.connectionId) || options.connectionId < 0 || options.connectionId > 0xffffffff) {
      throw new IcekitError("INVALID_ARGUMENT", `connectionId ${options.connectionId}: pass the 32-bit CONNECTION-ID from the connection event`);
    }
    if (typeof options.username !== "string" || options.username === "" || typeof options.password !== "string") {
      throw new IcekitError("MISSING_CREDENTIAL", "pass the control connection's username and password (RFC 6062 §4.3)");
    }
    this.#server = transportAddress(options.server.address, options.server.port);
    this.#options = options;
    this.#random = options.random ?? options.stun?.random ?? defaultRandom;
    this.#ti = options.stun?.tcpTimeout ?? 39_500;
    this.#fingerprint = options.stun?.fingerprint ?? true;
    this.#maxStale = options.stun?.maxStaleNonceRetries ?? 3;
    this.#auth = new LongTermAuth(options.username, options.password, options.stun?.hmac ?? createHmacKey);
    if (options.challenge !== undefined) {
      // Learn the control connection's realm, nonce and algorithm as if this request had been
      // challenged (RFC 8489 §9.2.3.2); a challenge that does not parse leaves the request bare.
      try {
        const msg = decodeStunMessage(options.challenge);
        const code = msg.get(ErrorCode)?.code;
        if (code === 401 || code === 438) this.#auth.onChallenge(msg, 401, false, true);
      } catch {
        // ignore: the first request goes bare
      }
    }
  }

  /** True once `bound` or `bind-failed` was reported. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Sends the ConnectionBind request (RFC 6062 §4.3) on the new connection.
   *
   * @throws {@link IcekitError} `INVALID_STATE` when called twice
   */
  start(now: number): void {
    if (this.#tidKey !== undefined || this.#done) throw new IcekitError("INVALID_STATE", "start() was already called; one ConnectionBind per data connection");
    this.#send(now);
  }

  /**
   * Hands in one framed STUN message from the data connection. Returns false when it is not the
   * response to this ConnectionBind (after `bound`, the stream is the peer's: stop calling this).
   */
  handleReceive(now: number, received: Received): boolean {
    if (this.#done || this.#tidKey === undefined) return false;
    let msg: StunMessage;
    try {
      msg = decodeStunMessage(received.data);
    } catch {
      return false;
    }
    const isResponse = msg.messageClass === MessageClass.SuccessResponse || msg.messageClass === MessageClass.ErrorResponse;
    if (!isResponse || msg.method !== Method.ConnectionBind || toHex(msg.transactionId) !== this.#tidKey) return false;
    if (checkFingerprint(msg) === "invalid") {
      this.#fail("integrity", undefined, "the response's FINGERPRINT is wrong");
      return true;
    }
    let error: { code: number; reason: string } | undefined;
    try {
      error = msg.messageClass === MessageClass.ErrorResponse ? msg.get(ErrorCode) : undefined;
    } catch {
      error = undefined;
    }
    // RFC 8489 §9.2.5: 401 and 438 drive the long-term flow.
    if (error !== undefined && (error.code === 401 || error.code === 438)) {
      const d = this.#auth.onChallenge(msg, error.code, this.#keys !== undefined, this.#staleRetries < this.#maxStale);
      if (d.kind === "retry") {
        if (error.code === 438) this.#staleRetries++;
        this.#send(now);
      } else {
        this.#fail("auth", error.code, d.detail);
      }
      return true;
    }
    // §9.2.5: a response to a signed request must be signed with the same key (TCP: no waiting).
    if (this.#keys !== undefined && checkIntegrity(msg, this.#keys) !== "valid") {
      this.#fail("integrity", error?.code, "the response failed the integrity check");
      return true;
    }
    if (msg.messageClass === MessageClass.SuccessResponse) {
      this.#done = true;
      this.#deadline = undefined;
      this.#events.push({ type: "bound", connectionId: this.#options.connectionId });
    } else {
      this.#fail("error-response", error?.code, error ? `${error.code} ${error.reason}` : "an error response without a valid ERROR-CODE");
    }
    return true;
  }

  /** Times the transaction out after Ti (RFC 8489 §6.2.2). */
  handleTimeout(now: number): void {
    if (this.#done || this.#deadline === undefined || now < this.#deadline) return;
    this.#fail("timeout", undefined, `no response from ${formatTransportAddress(this.#server)} within ${this.#ti} ms`);
  }

  /** The driver reports that the data connection failed (coturn closes it after a 401). */
  handleTransportError(_now: number, _remote: TransportAddress, _transport: "tcp" | "tls", detail = "transport error"): void {
    if (!this.#done) this.#fail("transport", undefined, detail);
  }

  /** The request, for the data connection. */
  pollTransmit(): Transmit | undefined {
    return this.#transmits.shift();
  }

  /** When the transaction times out. */
  pollTimeout(): number | undefined {
    return this.#done ? undefined : this.#deadline;
  }

  /** `bound` or `bind-failed`, once. */
  pollEvent(): TurnConnectionBindEvent | undefined {
    return this.#events.shift();
  }

  #send(now: number): void {
    this.#random(this.#tid);
    this.#tidKey = toHex(this.#tid);
    const b = new StunMessageBuilder().begin(Method.ConnectionBind, MessageClass.Request, this.#tid).add(ConnectionId, this.#options.connectionId);
    if (this.#options.software !== undefined) b.add(Software, this.#options.software);
    this.#keys = this.#auth.ready ? this.#auth.sign(b) : undefined;
    if (this.#fingerprint) b.addFingerprint();
    this.#transmits.push({ local: this.#options.local, remote: this.#server, transport: this.#options.transport, data: b.finish().slice() });
    this.#deadline = now + this.#ti;
  }

  #fail(reason: StunFailureReason, code: number | undefined, detail: string): void {
    this.#done = true;
    this.#deadline = undefined;
    this.#events.push({ type: "bind-failed", connectionId: this.#options.connectionId, reason, code, detail: `ConnectionBind failed: ${detail}` });
  }
}
