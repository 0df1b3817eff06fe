/**
 * The shapes of the STUN server's API: its options, the method-handler interface a TURN server
 * plugs into, its events and its counters. The engine is in `server.ts`.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import type { HmacFactory } from "../crypto/types";
import type { RandomSource, Received, TransportProtocol } from "../engine";
import type { AttributeEntry } from "./client";
import type { StunMessage } from "./message";
import type { StunAuthFailure, StunServerAuth } from "./server-auth";

/**
 * An IP address and port in options, the family read from the address.
 *
 * @example
 * ```ts
 * const primary: StunServerAddress = { address: "192.0.2.1", port: 3478 };
 * new StunServer({ primary, alternate: { address: "192.0.2.2", port: 3479 } });
 * ```
 */
export interface StunServerAddress {
  /** IPv4 or IPv6 text. */
  readonly address: string;
  /** 0-65535. */
  readonly port: number;
}

/**
 * Configuration of a `StunServer`.
 *
 * @example
 * ```ts
 * const options: StunServerOptions = {
 *   primary: { address: "192.0.2.1", port: 3478 },
 *   alternate: { address: "192.0.2.2", port: 3479 },
 *   software: "icekit",
 *   fingerprint: "always",
 * };
 * const server = new StunServer(options);
 * ```
 */
export interface StunServerOptions {
  /**
   * The primary address and port (A1:P1 in RFC 5780 §6.1). Needed with `alternate`;
   * alone it only tells {@link stunServerSockets} what to bind.
   */
  readonly primary?: StunServerAddress;
  /**
   * The alternate address and port (A2:P2), both different from the primary's and of the same
   * family. With it the server runs the NAT Behavior Discovery usage (RFC 5780 §6): it answers
   * from (A1|A2) × (P1|P2) as CHANGE-REQUEST asks and adds MAPPED-ADDRESS, RESPONSE-ORIGIN and
   * OTHER-ADDRESS. Without it, CHANGE-REQUEST gets 420 as §6 requires.
   */
  readonly alternate?: StunServerAddress;
  /** SOFTWARE for every response (RFC 8489 §14.14: fewer than 128 characters). */
  readonly software?: string;
  /**
   * Authentication for every request (RFC 8489 §9). Default none: RFC 8489 §12 says a basic
   * server SHOULD NOT authenticate.
   */
  readonly auth?: StunServerAuth;
  /** Random source for nonces (default `crypto.getRandomValues`). */
  readonly random?: RandomSource;
  /** HMAC capability for MESSAGE-INTEGRITY(-SHA256) and nonces (default: icekit's pure one). */
  readonly hmac?: HmacFactory;
  /**
   * FINGERPRINT on responses: `"mirror"` (default) when the request had one, `"always"`, or
   * `"never"`. RFC 8489 §12: a basic server MAY use it but MUST NOT require it; requests with a
   * wrong one are dropped either way (§6.3).
   */
  readonly fingerprint?: "mirror" | "always" | "never";
  /**
   * Redirect every request with 300 Try Alternate (RFC 8489 §10): the ALTERNATE-SERVER of the
   * request's family first, then one of the other family if given. A request whose family has
   * no alternate is served normally.
   */
  readonly alternateServer?: TransportAddress | readonly TransportAddress[];
  /**
   * Answer RFC 3489 clients, whose requests lack the magic cookie (RFC 5389 §12.2): a Binding
   * response with the cookie field copied and MAPPED-ADDRESS instead of XOR-MAPPED-ADDRESS;
   * with an alternate address also CHANGE-REQUEST, SOURCE-ADDRESS and CHANGED-ADDRESS (RFC 3489
   * §8.1). Default true without `auth`: RFC 8489 §12 says a stand-alone server SHOULD
   * support them. RFC 5780 §3 says a behaviour-discovery server SHOULD NOT; icekit still does
   * with an alternate address, because the classic NAT tests ask the same questions and old
   * tools (Vovida `stun`) still ask them: pass `false` to follow RFC 5780. It cannot be
   * combined with `auth`.
   */
  readonly rfc3489?: boolean;
  /**
   * Bytes of PADDING in a response to a request that had PADDING (RFC 5780 §6.1: "SHOULD use a
   * length of PADDING equal to the MTU on the outgoing interface"), rounded up to a multiple of
   * 4. The engine cannot know the MTU: default 1500. Note that a spoofed request with PADDING
   * then gets a response some 40 times its size; a public server wary of reflection can pass a
   * smaller length (RFC 5780 forbids only RESPONSE-PORT with PADDING, §10).
   */
  readonly paddingLength?: number;
  /**
   * Handlers for methods other than Binding, or one that replaces the built-in Binding handler,
   * by method number. Requests and indications of a method without a handler are discarded
   * (RFC 8489 §6.3: "checks that the method value is a supported method").
   */
  readonly methods?: ReadonlyMap<number, StunMethodHandler>;
}

/**
 * A request or indication as a {@link StunMethodHandler} sees it. Valid only during the call.
 *
 * @example
 * ```ts
 * const whoAmI: StunMethodHandler = {
 *   request: (ctx: StunServerRequestContext) =>
 *     ({ kind: "success", attributes: [attr(XorMappedAddress, ctx.received.remote)] }),
 * };
 * ```
 */
export interface StunServerRequestContext {
  /** The time passed to `handleReceive`. */
  readonly now: number;
  /** The decoded message: a view into `received.data`. */
  readonly message: StunMessage;
  /** The datagram as the driver handed it in. */
  readonly received: Received;
  /** The authenticated username, when the server authenticates requests of this method. */
  readonly user: string | undefined;
  /** True for an RFC 3489 request (no magic cookie; Binding only). */
  readonly classic: boolean;
  /**
   * Postpones the response, for a method whose answer waits on something outside the engine
   * (a TURN server answers Allocate once the driver has bound the relay socket). Call it during
   * `request()`, return `{ kind: "deferred" }`, and later call the function it returns, once,
   * with the reply: the server then builds and queues the response as if `request()` had
   * returned it (same signing, SOFTWARE and FINGERPRINT), and the caller drains `pollTransmit`.
   * Set by `StunServer` for requests; absent for indications.
   */
  readonly defer?: () => StunDeferredReply;
}

/**
 * Sends a postponed response (see {@link StunServerRequestContext.defer}). Calls after the
 * first do nothing. A `"deferred"` reply is treated as `"drop"`.
 *
 * @example
 * ```ts
 * request(ctx) {
 *   const reply: StunDeferredReply = ctx.defer!();
 *   bindRelay().then((relayed) => reply({ kind: "success", attributes: [attr(XorRelayedAddress, relayed)] }));
 *   return { kind: "deferred" };
 * }
 * ```
 */
export type StunDeferredReply = (reply: StunServerReply) => void;

/**
 * What a {@link StunMethodHandler} answers a request with.
 *
 * @example
 * ```ts
 * const mismatch: StunServerReply = { kind: "error", code: 437 }; // reason: "Allocation Mismatch"
 * const ok: StunServerReply = { kind: "success", attributes: [attr(Lifetime, 600)] };
 * ```
 */
export type StunServerReply =
  | {
      readonly kind: "success";
      /** Attributes after the header; the server appends SOFTWARE, integrity and FINGERPRINT. */
      readonly attributes?: readonly AttributeEntry[];
      /** Send from this local socket instead of the one the request came on (UDP only). */
      readonly local?: TransportAddress;
      /** Send to this address instead of the request's source (UDP only). */
      readonly remote?: TransportAddress;
    }
  | {
      readonly kind: "error";
      /** 300-699. */
      readonly code: number;
      /** Reason phrase; default the registry's name of the code. */
      readonly reason?: string;
      /** Attributes after ERROR-CODE. */
      readonly attributes?: readonly AttributeEntry[];
    }
  /** Send nothing (counted as `handler-drop`). */
  | { readonly kind: "drop" }
  /** The handler called `context.defer()` and will answer through it. */
  | { readonly kind: "deferred" };

/**
 * One STUN method's processing, for {@link StunServerOptions.methods}. The server does the
 * basic checks, redirection, authentication and the 420 check before calling it, and adds
 * SOFTWARE, MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT to what it returns.
 *
 * @example
 * ```ts
 * const refresh: StunMethodHandler = {
 *   request: ({ message }) =>
 *     message.get(Lifetime) === 0 ? { kind: "success", attributes: [attr(Lifetime, 0)] } : { kind: "error", code: 437 },
 * };
 * const server = new StunServer({ methods: new Map([[Method.Refresh, refresh]]) });
 * ```
 */
export interface StunMethodHandler {
  /** Whether requests of this method must pass the server's `auth` (default true). */
  readonly authenticate?: boolean;
  /**
   * Whether a comprehension-required attribute type is understood (RFC 8489 §6.3.1): return
   * true or false to decide, or undefined to let the server decide (understood when icekit
   * has a codec for it).
   */
  understands?(type: number, context: StunServerRequestContext): boolean | undefined;
  /**
   * Answers a request. A `StunDecodeError` thrown by `message.get()` (a malformed attribute) is
   * answered with 400; any other throw with 500 (Server Error), counted in `handlerErrors`.
   */
  request(context: StunServerRequestContext): StunServerReply;
  /** Processes an indication; without it, indications of this method are discarded. */
  indication?(context: StunServerRequestContext): void;
}

/**
 * What a `StunServer` reports. Cheap: one small object per answered request.
 *
 * @example
 * ```ts
 * for (let e: StunServerEvent | undefined; (e = server.pollEvent()); ) {
 *   if (e.type === "error-response") console.log(e.code, e.detail);
 *   else console.log("binding from", formatTransportAddress(e.remote));
 * }
 * ```
 */
export type StunServerEvent =
  | {
      /** A Binding request was answered with a success response. */
      readonly type: "binding";
      /** The request's source: the reflexive address the response reports. */
      readonly remote: TransportAddress;
      /** The local socket it arrived on. */
      readonly local: TransportAddress;
      readonly transport: TransportProtocol;
      /** Where the response was sent from (differs from `local` after CHANGE-REQUEST). */
      readonly responseLocal: TransportAddress;
      /** Where it was sent to (differs from `remote` after RESPONSE-PORT). */
      readonly responseRemote: TransportAddress;
      /** The authenticated user, when the server authenticates. */
      readonly user?: string;
      /** True for an RFC 3489 client. */
      readonly classic: boolean;
    }
  | {
      /** A request was answered with an error response. */
      readonly type: "error-response";
      readonly remote: TransportAddress;
      readonly local: TransportAddress;
      readonly transport: TransportProtocol;
      readonly method: number;
      readonly code: number;
      /** Why, in a sentence for logs. */
      readonly detail: string;
    };

/**
 * Why a datagram was dropped without a response; see {@link StunServerStats.dropped}.
 *
 * - `not-stun`: first bits, magic cookie or length say it is not STUN (`handleReceive` returns
 *   false).
 * - `malformed`: the magic cookie is there but the message does not parse (returns false).
 * - `bad-fingerprint`: FINGERPRINT present and wrong (RFC 8489 §6.3, §7; returns false).
 * - `response`: a success or error response; a server has no transactions.
 * - `unknown-method`: no handler for the method (§6.3).
 * - `indication-unknown-attributes`: an indication with unknown comprehension-required
 *   attributes (§6.3.2).
 * - `indication-auth`: an indication that failed short-term authentication (§9.1.3).
 * - `handler-drop`: a method handler chose to send nothing.
 * - `internal-error`: no response could be built, not even a 500.
 *
 * @example
 * ```ts
 * const reason: StunServerDropReason = "bad-fingerprint";
 * server.stats().dropped[reason] // → datagrams dropped for a wrong FINGERPRINT
 * ```
 */
export type StunServerDropReason =
  | "not-stun"
  | "malformed"
  | "bad-fingerprint"
  | "response"
  | "unknown-method"
  | "indication-unknown-attributes"
  | "indication-auth"
  | "handler-drop"
  | "internal-error";

/**
 * Counters since construction, from `StunServer.stats()`.
 *
 * @example
 * ```ts
 * const stats: StunServerStats = server.stats();
 * stats.errorResponses[401] ?? 0 // → how many 401s were sent
 * ```
 */
export interface StunServerStats {
  /** Datagrams handed to `handleReceive`. */
  received: number;
  /** Requests that passed the basic checks (a method with a handler). */
  requests: number;
  /** Of those, requests from RFC 3489 clients. */
  classicRequests: number;
  /** Indications processed. */
  indications: number;
  /** Success responses sent. */
  successResponses: number;
  /** Error responses sent, by code: `{ 401: 12, 420: 1 }`. */
  errorResponses: Record<number, number>;
  /** Requests that failed authentication, by reason (each also counts in `errorResponses`). */
  authFailures: Record<StunAuthFailure, number>;
  /** Datagrams dropped without a response, by reason. */
  dropped: Record<StunServerDropReason, number>;
  /**
   * Method handlers, and `users` / `userhash` lookup functions, that threw something other than
   * a decode error (requests answered with 500, indications dropped).
   */
  handlerErrors: number;
}
