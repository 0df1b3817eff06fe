/**
 * The STUN server: Binding requests answered as a sans-IO engine (RFC 8489 §6.3, §9, §10, §12),
 * with NAT behaviour discovery (RFC 5780 §6), RFC 3489 clients (RFC 5389 §12.2), optional
 * short-term or long-term authentication, and a method table a TURN server extends.
 *
 * For each request the {@link StunServer} runs RFC 8489 §6.3's order: the basic checks (first
 * bits, magic cookie, length, FINGERPRINT, a method it has a handler for), then the 300
 * redirection when `alternateServer` is set (§10), then authentication (§9.1.3 or §9.2.4, see
 * {@link StunServerAuthenticator}), then 420 for unknown comprehension-required attributes
 * (§6.3.1), then the method. A Binding success carries XOR-MAPPED-ADDRESS; with an alternate
 * address it also carries MAPPED-ADDRESS, RESPONSE-ORIGIN and OTHER-ADDRESS and honours
 * CHANGE-REQUEST; RESPONSE-PORT redirects the response and PADDING pads it (RFC 5780 §6.1).
 * Responses get SOFTWARE, the integrity attribute the request used, and FINGERPRINT when the
 * request had one. The server keeps no per-client state and no timers.
 *
 * With an alternate address, a driver binds the four sockets {@link stunServerSockets} lists
 * (A1:P1, A1:P2, A2:P1, A2:P2), says in `Received.local` which one a request came in on, and
 * sends each response from the socket `Transmit.local` names:
 *
 * ```ts
 * const options = { primary: { address: "192.0.2.1", port: 3478 }, alternate: { address: "192.0.2.2", port: 3479 } };
 * const server = new StunServer({ ...options, software: "icekit" });
 * const sockets = new Map<string, dgram.Socket>();
 * for (const local of stunServerSockets(options)) {
 *   const socket = dgram.createSocket("udp4").bind(local.port, local.address);
 *   sockets.set(formatTransportAddress(local), socket);
 *   socket.on("message", (data, rinfo) => {
 *     const remote = transportAddress(rinfo.address, rinfo.port);
 *     server.handleReceive(clock(), { local, remote, transport: "udp", data });
 *     for (let t; (t = server.pollTransmit()); ) {
 *       const from = sockets.get(formatTransportAddress(t.local ?? local)) ?? socket;
 *       from.send(t.data, t.remote.port, t.remote.address);
 *     }
 *     for (let e; (e = server.pollEvent()); ) console.log(e.type, formatTransportAddress(e.remote));
 *   });
 * }
 * // No timers: pollTimeout() is always undefined, so there is nothing else to drive.
 * ```
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { transportAddress } from "../bytes/ip";
import { IcekitError, isStunDecodeError } from "../errors";
import { Queue } from "../engine";
import type { Engine, Received, Transmit } from "../engine";
import { AlternateServer } from "./attributes/address";
import { ErrorCode, UnknownAttributes } from "./attributes/error";
import { codecForType } from "./attributes/registry";
import { Software } from "./attributes/text";
import { StunMessageBuilder } from "./builder";
import type { AttributeEntry } from "./client";
import { attr } from "./client";
import { ERROR_REASONS, HEADER_LENGTH, MessageClass, Method } from "./constants";
import { checkFingerprint } from "./integrity";
import type { IntegrityKeys } from "./integrity";
import { decodeStunMessage } from "./message";
import type { StunMessage } from "./message";
import { StunServerAuthenticator } from "./server-auth";
import type { StunAuthFailure, StunAuthOutcome } from "./server-auth";
import { createBindingHandler } from "./server-binding";
import type {
  StunDeferredReply,
  StunMethodHandler,
  StunServerDropReason,
  StunServerEvent,
  StunServerOptions,
  StunServerReply,
  StunServerRequestContext,
  StunServerStats,
} from "./server-types";

export * from "./server-auth";
export * from "./server-binding";
export * from "./server-types";

interface Signing {
  readonly keys: IntegrityKeys;
  readonly sha256: boolean;
}

function emptyDropped(): Record<StunServerDropReason, number> {
  return {
    "not-stun": 0,
    malformed: 0,
    "bad-fingerprint": 0,
    response: 0,
    "unknown-method": 0,
    "indication-unknown-attributes": 0,
    "indication-auth": 0,
    "handler-drop": 0,
    "internal-error": 0,
  };
}

function emptyAuthFailures(): Record<StunAuthFailure, number> {
  return { challenge: 0, "bad-request": 0, "bid-down": 0, "unknown-user": 0, integrity: 0, "stale-nonce": 0 };
}

function hasCookie(b: Uint8Array): boolean {
  return b[4] === 0x21 && b[5] === 0x12 && b[6] === 0xa4 && b[7] === 0x42;
}

/**
 * A sans-IO STUN server: see the module comment.
 *
 * Verbs: {@link StunServer.handleReceive} (datagrams in), {@link StunServer.pollTransmit}
 * (responses out), {@link StunServer.pollEvent} (what happened), {@link StunServer.stats}.
 * {@link StunServer.handleTimeout} and {@link StunServer.pollTimeout} exist for the
 * {@link Engine} contract; the server has no timers.
 *
 * @example
 * ```ts
 * const server = new StunServer({ software: "icekit" });
 * server.handleReceive(now, { local, remote: transportAddress("198.51.100.7", 50000), transport: "udp", data: request });
 * server.pollTransmit() // → { local, remote: 198.51.100.7:50000, transport: "udp", data: the success response }
 * server.pollEvent()    // → { type: "binding", remote: 198.51.100.7:50000, … }
 * ```
 */
export class StunServer implements Engine<StunServerEvent> {
  readonly #software: string | undefined;
  readonly #fingerprint: "mirror" | "always" | "never";
  readonly #auth: StunServerAuthenticator | undefined;
  readonly #alternateServers: readonly TransportAddress[];
  readonly #classic: boolean;
  readonly #methods = new Map<number, StunMethodHandler>();
  readonly #builder = new StunMessageBuilder();
  readonly #transmits = new Queue<Transmit>();
  readonly #events = new Queue<StunServerEvent>();
  readonly #stats: StunServerStats = {
    received: 0,
    requests: 0,
    classicRequests: 0,
    indications: 0,
    successResponses: 0,
    errorResponses: {},
    authFailures: emptyAuthFailures(),
    dropped: emptyDropped(),
    handlerErrors: 0,
  };

  /**
   * @param options - see {@link StunServerOptions}
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for bad addresses, an alternate without a
   *   primary or equal to it in address or port, SOFTWARE that cannot be encoded, an unknown
   *   fingerprint policy, `rfc3489` with `auth`, a bad padding length or method number, or a
   *   bad `auth` (see {@link StunServerAuthenticator}).
   */
  constructor(options: StunServerOptions = {}) {
    if (options.software !== undefined) Software.encodedLength(options.software);
    this.#software = options.software;
    const fp = options.fingerprint ?? "mirror";
    if (fp !== "mirror" && fp !== "always" && fp !== "never") {
      throw new IcekitError("INVALID_ARGUMENT", `fingerprint ${JSON.stringify(fp)}: pass "mirror", "always" or "never"`);
    }
    this.#fingerprint = fp;
    const alt = options.alternateServer;
    const alts = alt === undefined ? [] : Array.isArray(alt) ? (alt as readonly TransportAddress[]) : [alt as TransportAddress];
    this.#alternateServers = alts.map((a, i) => {
      if (typeof a !== "object" || a === null) throw new IcekitError("INVALID_ARGUMENT", `alternateServer[${i}]: pass { family, address, port }`);
      const t = transportAddress(a.address, a.port);
      if (a.family !== undefined && a.family !== t.family) throw new IcekitError("INVALID_ARGUMENT", `alternateServer[${i}]: family ${a.family} does not match ${a.address}`);
      return t;
    });
    this.#auth = options.auth === undefined ? undefined : new StunServerAuthenticator(options.auth, { ...(options.random ? { random: options.random } : {}), ...(options.hmac ? { hmac: options.hmac } : {}) });
    if (options.rfc3489 === true && this.#auth !== undefined) {
      throw new IcekitError("INVALID_ARGUMENT", "rfc3489: RFC 3489 clients cannot authenticate; leave rfc3489 out or drop auth");
    }
    this.#classic = options.rfc3489 ?? this.#auth === undefined;
    this.#methods.set(Method.Binding, createBindingHandler(options));
    for (const [method, handler] of options.methods ?? []) {
      if (!Number.isInteger(method) || method < 0 || method > 0xfff) {
        throw new IcekitError("INVALID_ARGUMENT", `methods: ${method} is not a method number; pass 0-0xfff (Method.Allocate, ...)`);
      }
      if (typeof handler?.request !== "function") throw new IcekitError("INVALID_ARGUMENT", `methods: the handler for ${method} needs a request(context) function`);
      this.#methods.set(method, handler);
    }
  }

  /**
   * Hands in a datagram (or one framed TCP/TLS message). Never throws on its content.
   *
   * @returns true when it was STUN and the server consumed it (answered or dropped as STUN),
   *   false when it is not STUN (bad first bits, cookie, length or FINGERPRINT), so that a
   *   driver multiplexing protocols on one socket can try another parser (RFC 8489 §6.3).
   */
  handleReceive(now: number, received: Received): boolean {
    this.#stats.received++;
    const data = received.data;
    if (data.length < HEADER_LENGTH || (data[0]! & 0xc0) !== 0) {
      this.#stats.dropped["not-stun"]++;
      return false;
    }
    if (!hasCookie(data)) return this.#receiveClassic(now, received);
    let msg: StunMessage;
    try {
      msg = decodeStunMessage(data);
    } catch {
      this.#stats.dropped.malformed++;
      return false;
    }
    const fingerprint = checkFingerprint(msg);
    if (fingerprint === "invalid") {
      this.#stats.dropped["bad-fingerprint"]++;
      return false;
    }
    const hadFingerprint = fingerprint === "valid";
    switch (msg.messageClass) {
      case MessageClass.Request:
        this.#request(now, received, msg, false, hadFingerprint);
        return true;
      case MessageClass.Indication:
        this.#indication(now, received, msg);
        return true;
      default:
        this.#stats.dropped.response++;
        return true;
    }
  }

  /** Does nothing: the server has no timers. */
  handleTimeout(_now: number): void {}

  /** Next response to send. `local` is the socket to send it from. */
  pollTransmit(): Transmit | undefined {
    return this.#transmits.shift();
  }

  /** Always undefined: the server has no timers. */
  pollTimeout(): number | undefined {
    return undefined;
  }

  /** Next event. */
  pollEvent(): StunServerEvent | undefined {
    return this.#events.shift();
  }

  /** A snapshot of the counters since construction. */
  stats(): StunServerStats {
    const s = this.#stats;
    return { ...s, errorResponses: { ...s.errorResponses }, authFailures: { ...s.authFailures }, dropped: { ...s.dropped } };
  }

  /** RFC 5389 §12.2: a request without the magic cookie is an RFC 3489 client's, if anything. */
  #receiveClassic(now: number, received: Received): boolean {
    let msg: StunMessage | undefined;
    if (this.#classic && received.transport === "udp") {
      try {
        msg = decodeStunMessage(received.data, 0, { allowMissingCookie: true });
      } catch {
        msg = undefined;
      }
    }
    // RFC 3489 had Binding and Shared Secret; only a Binding request is answered.
    if (msg === undefined || msg.method !== Method.Binding || msg.messageClass !== MessageClass.Request) {
      this.#stats.dropped["not-stun"]++;
      return false;
    }
    this.#request(now, received, msg, true, false);
    return true;
  }

  #indication(now: number, received: Received, msg: StunMessage): void {
    const handler = this.#methods.get(msg.method);
    if (handler?.indication === undefined) {
      this.#stats.dropped["unknown-method"]++;
      return;
    }
    let user: string | undefined;
    // §9.1.3 covers indications; long-term credentials cannot protect them (§9.2).
    if (this.#auth?.kind === "short-term" && handler.authenticate !== false) {
      const outcome = this.#authenticate(now, received, msg);
      if (outcome === undefined || !outcome.ok) {
        this.#stats.dropped["indication-auth"]++;
        return;
      }
      user = outcome.user;
    }
    const ctx: StunServerRequestContext = { now, message: msg, received, user, classic: false };
    // §6.3.2: unknown comprehension-required attributes → discard.
    if (this.#unknownAttributes(handler, ctx).length > 0) {
      this.#stats.dropped["indication-unknown-attributes"]++;
      return;
    }
    this.#stats.indications++;
    try {
      handler.indication(ctx);
    } catch {
      this.#stats.handlerErrors++;
    }
  }

  /** Runs the authenticator; undefined when a `users` or `userhash` function threw. */
  #authenticate(now: number, received: Received, msg: StunMessage): StunAuthOutcome | undefined {
    try {
      return this.#auth!.check(now, msg, received.remote, received.transport);
    } catch {
      this.#stats.handlerErrors++;
      return undefined;
    }
  }

  #unknownAttributes(handler: StunMethodHandler, ctx: StunServerRequestContext): number[] {
    const understands = handler.understands;
    return ctx.message.unknownComprehensionRequired((t) => {
      const verdict = understands?.call(handler, t, ctx);
      return verdict ?? defaultUnderstands(t);
    });
  }

  #request(now: number, received: Received, msg: StunMessage, classic: boolean, hadFingerprint: boolean): void {
    const handler = this.#methods.get(msg.method);
    if (handler === undefined) {
      this.#stats.dropped["unknown-method"]++;
      return;
    }
    this.#stats.requests++;
    if (classic) this.#stats.classicRequests++;
    const out: Outgoing = { received, msg, classic, fingerprint: hadFingerprint, signing: undefined };

    // §10: redirect before doing any work (§12 notes that authenticating costs more than answering).
    if (!classic && this.#alternateServers.length > 0) {
      const family = received.remote.family;
      const same = this.#alternateServers.find((a) => a.family === family);
      if (same !== undefined) {
        const other = this.#alternateServers.find((a) => a.family !== family);
        const list = [attr(AlternateServer, same), ...(other ? [attr(AlternateServer, other)] : [])];
        this.#error(out, 300, undefined, list, "redirected with 300 Try Alternate");
        return;
      }
    }

    let user: string | undefined;
    if (this.#auth !== undefined && !classic && handler.authenticate !== false) {
      const outcome = this.#authenticate(now, received, msg);
      if (outcome === undefined) {
        this.#error(out, 500, undefined, [], "the users lookup threw");
        return;
      }
      if (!outcome.ok) {
        this.#stats.authFailures[outcome.failure]++;
        // §9.1.3, §9.2.4: these error responses carry no integrity attribute.
        this.#error(out, outcome.code, undefined, outcome.attributes, outcome.detail);
        return;
      }
      user = outcome.user;
      out.signing = { keys: outcome.keys, sha256: outcome.sha256 };
    }

    const ctx: StunServerRequestContext = { now, message: msg, received, user, classic, defer: () => this.#defer(out, user) };
    // §6.3.1: after authentication, 420 listing each unknown comprehension-required type once.
    let unknown: number[];
    try {
      unknown = this.#unknownAttributes(handler, ctx);
    } catch {
      this.#stats.handlerErrors++;
      this.#error(out, 500, undefined, [], "the method handler's understands() threw");
      return;
    }
    if (unknown.length > 0) {
      this.#error(out, 420, undefined, [attr(UnknownAttributes, unknown)], `unknown comprehension-required attributes ${unknown.map(hex4).join(", ")}`);
      return;
    }

    let reply: StunServerReply;
    try {
      reply = handler.request(ctx);
    } catch (e) {
      // A malformed attribute the handler read is the client's fault: 400. Anything else is a
      // bug in the handler: 500, and counted.
      if (isStunDecodeError(e)) {
        this.#error(out, 400, undefined, [], `malformed attribute: ${e.message}`);
      } else {
        this.#stats.handlerErrors++;
        this.#error(out, 500, undefined, [], `the method handler threw: ${e instanceof Error ? e.message : String(e)}`);
      }
      return;
    }
    if (reply.kind === "deferred") return;
    this.#reply(out, reply, user);
  }

  /**
   * A responder for a request answered later: the request's bytes are copied (the caller's
   * buffer is only valid during `handleReceive`), everything else is kept as it was.
   */
  #defer(out: Outgoing, user: string | undefined): StunDeferredReply {
    const r = out.received;
    const raw = out.msg.raw.slice();
    const saved: Outgoing = {
      ...out,
      received: { local: r.local, remote: r.remote, transport: r.transport, data: raw },
      msg: decodeStunMessage(raw, 0, { allowMissingCookie: out.classic }),
    };
    let done = false;
    return (reply) => {
      if (done) return;
      done = true;
      this.#reply(saved, reply.kind === "deferred" ? { kind: "drop" } : reply, user);
    };
  }

  /** Builds and queues the response a handler asked for. */
  #reply(out: Outgoing, reply: Exclude<StunServerReply, { kind: "deferred" }>, user: string | undefined): void {
    const { received, msg, classic } = out;
    if (reply.kind === "drop") {
      this.#stats.dropped["handler-drop"]++;
      return;
    }
    if (reply.kind === "error") {
      this.#error(out, reply.code, reply.reason, reply.attributes ?? [], reply.reason ?? `${reply.code} from the ${hex3(msg.method)} handler`);
      return;
    }
    const udp = received.transport === "udp";
    const from = (udp ? reply.local : undefined) ?? received.local;
    const to = (udp ? reply.remote : undefined) ?? received.remote;
    if (!this.#send(out, MessageClass.SuccessResponse, undefined, reply.attributes ?? [], from, to)) {
      this.#error(out, 500, undefined, [], "the success response could not be encoded");
      return;
    }
    this.#stats.successResponses++;
    if (msg.method === Method.Binding) {
      this.#events.push({
        type: "binding",
        remote: received.remote,
        local: received.local,
        transport: received.transport,
        responseLocal: from,
        responseRemote: to,
        ...(user === undefined ? {} : { user }),
        classic,
      });
    }
  }

  /** Sends an error response to the request's source, from the socket it came in on. */
  #error(out: Outgoing, code: number, reason: string | undefined, attributes: readonly AttributeEntry[], detail: string): void {
    const r = out.received;
    const error = { code, reason: reason ?? ERROR_REASONS.get(code) ?? "Error" };
    if (!this.#send(out, MessageClass.ErrorResponse, error, attributes, r.local, r.remote)) {
      this.#stats.dropped["internal-error"]++;
      return;
    }
    this.#stats.errorResponses[code] = (this.#stats.errorResponses[code] ?? 0) + 1;
    this.#events.push({ type: "error-response", remote: r.remote, local: r.local, transport: r.transport, method: out.msg.method, code, detail });
  }

  /** Builds and queues a response; false when it cannot be encoded (bad handler attributes). */
  #send(
    out: Outgoing,
    cls: MessageClass,
    error: { code: number; reason: string } | undefined,
    attributes: readonly AttributeEntry[],
    from: TransportAddress,
    to: TransportAddress,
  ): boolean {
    const msg = out.msg;
    let data: Uint8Array;
    try {
      const b = this.#builder.begin(msg.method, cls, msg.transactionId);
      if (error) b.add(ErrorCode, error);
      for (const a of attributes) b.add(a.codec, a.value);
      if (this.#software !== undefined) b.add(Software, this.#software);
      if (!out.classic) {
        // §9.1.3, §9.2.4: sign with the key and the attribute that authenticated the request.
        if (out.signing) {
          if (out.signing.sha256) b.addMessageIntegritySha256(out.signing.keys.sha256);
          else b.addMessageIntegrity(out.signing.keys.sha1);
        }
        if (this.#fingerprint === "always" || (this.#fingerprint === "mirror" && out.fingerprint)) b.addFingerprint();
      }
      data = b.finish().slice();
    } catch {
      return false;
    }
    // RFC 5389 §12.2: copy the classic client's "magic cookie" bytes, the head of its 128-bit id.
    if (out.classic) data.set(msg.raw.subarray(4, 8), 4);
    this.#transmits.push({ local: from, remote: to, transport: out.received.transport, data });
    return true;
  }
}

/** A response in the making: the request it answers and how to finish it. */
interface Outgoing {
  readonly received: Received;
  readonly msg: StunMessage;
  readonly classic: boolean;
  /** The request had a valid FINGERPRINT (for the "mirror" policy). */
  readonly fingerprint: boolean;
  /** Set once the request is authenticated: responses are signed from then on. */
  signing: Signing | undefined;
}

/**
 * By default a comprehension-required type is understood when icekit has a codec for it: one
 * that another usage defines (PRIORITY, XOR-PEER-ADDRESS...) is "known-but-unexpected", which
 * RFC 8489 §6.3 says to ignore rather than refuse.
 */
function defaultUnderstands(type: number): boolean {
  return codecForType(type) !== undefined;
}

function hex4(t: number): string {
  return `0x${t.toString(16).padStart(4, "0")}`;
}

function hex3(t: number): string {
  return `0x${t.toString(16).padStart(3, "0")}`;
}
