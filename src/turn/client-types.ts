/**
 * The shapes a {@link TurnClient} takes and gives: options, events, failure reasons, counters,
 * and the RFC 8656 timing constants it keeps.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import type { RandomSource, TransportProtocol } from "../engine";
import type { AddressErrorCodeValue } from "../stun/attributes/error";
import type { EvenPortValue, IcmpValue } from "../stun/attributes/turn";
import type { StunClientOptions, StunClientStats, StunFailureReason } from "../stun/client";
import type { TurnClient } from "./client"; // for {@link}s only

/**
 * RFC 8656 §6: the lifetime a server gives an allocation when the client asks for none
 * (600 s). Used when a success response lacks LIFETIME.
 *
 * @example
 * ```ts
 * const lifetime = response.get(Lifetime) ?? TURN_DEFAULT_LIFETIME_S; // → 600 when the server sent no LIFETIME
 * ```
 */
export const TURN_DEFAULT_LIFETIME_S = 600;

/**
 * RFC 8656 §9: "The Permission Lifetime MUST be 300 seconds (= 5 minutes)."
 *
 * @example
 * ```ts
 * const expiresAt = installedAt + TURN_PERMISSION_LIFETIME_MS; // → 5 minutes later, unless refreshed
 * ```
 */
export const TURN_PERMISSION_LIFETIME_MS = 300_000;

/**
 * When a {@link TurnClient} refreshes a permission: 240 s after the request that installed or
 * last refreshed it, one minute before the 300 s Permission Lifetime runs out (RFC 8656 §9),
 * leaving a UDP transaction's 39.5 s of retransmissions (RFC 8489 §6.2.1) to complete in time.
 *
 * @example
 * ```ts
 * const refreshAt = requestedAt + TURN_PERMISSION_REFRESH_MS; // → 240 s later: 60 s before the permission lapses
 * ```
 */
export const TURN_PERMISSION_REFRESH_MS = 240_000;

/**
 * RFC 8656 §12: "A channel binding lasts for 10 minutes unless refreshed."
 *
 * @example
 * ```ts
 * const channelExpiresAt = lastChannelBindAt + TURN_CHANNEL_LIFETIME_MS; // → 10 minutes later
 * ```
 */
export const TURN_CHANNEL_LIFETIME_MS = 600_000;

/**
 * When a {@link TurnClient} rebinds a channel to its peer to refresh it: 540 s after the last
 * ChannelBind request, one minute before its 600 s lifetime ends (RFC 8656 §12, §12.1).
 *
 * @example
 * ```ts
 * const rebindAt = lastChannelBindAt + TURN_CHANNEL_REFRESH_MS; // → 540 s later: 60 s before the binding expires
 * ```
 */
export const TURN_CHANNEL_REFRESH_MS = 540_000;

/**
 * RFC 8656 §12: "the client MUST wait 5 minutes after the channel binding expires before
 * attempting to bind the channel number to a different transport address or the transport
 * address to a different channel number."
 *
 * @example
 * ```ts
 * // The earliest a number may go to another peer (or the peer to another number):
 * const reusableAt = lastChannelBindAt + TURN_CHANNEL_LIFETIME_MS + TURN_CHANNEL_REBIND_GUARD_MS; // → 15 minutes later
 * ```
 */
export const TURN_CHANNEL_REBIND_GUARD_MS = 300_000;

/**
 * The relayed address family a {@link TurnClient} asks for (RFC 8656 §7.1): `"IPv4"` (the
 * default: no attribute, the server allocates IPv4), `"IPv6"` (REQUESTED-ADDRESS-FAMILY
 * IPv6) or `"dual"` (ADDITIONAL-ADDRESS-FAMILY IPv6: one IPv4 and one IPv6 relayed address).
 *
 * @example
 * ```ts
 * const family: TurnAddressFamily = "dual"; // one IPv4 and one IPv6 relayed address
 * const turn = new TurnClient({ server, username: "user", password: "pass", family });
 * ```
 */
export type TurnAddressFamily = "IPv4" | "IPv6" | "dual";

/**
 * Configuration of a {@link TurnClient}.
 *
 * @example
 * ```ts
 * const options: TurnClientOptions = {
 *   server: { family: "IPv4", address: "203.0.113.1", port: 3478 },
 *   transport: "udp",
 *   username: "user",
 *   password: "pass",
 *   lifetime: 1200, // a hint (RFC 8656 §7.1): the granted lifetime comes in the allocated event
 * };
 * const turn = new TurnClient(options);
 * ```
 */
export interface TurnClientOptions {
  /** The TURN server's transport address (resolve names first; `icekit/node` does). */
  readonly server: TransportAddress;
  /**
   * Client-to-server transport (RFC 8656 §3.1): `"udp"` (default), `"tcp"` or `"tls"`. On TCP and
   * TLS the driver opens the connection on the first transmit and frames what it receives
   * (RFC 8656 §12.5); the client pads ChannelData to a multiple of 4.
   */
  readonly transport?: TransportProtocol;
  /** Long-term credential username (RFC 8489 §9.2); see `turnRestCredentials` for coturn's REST scheme. */
  readonly username: string;
  /** Long-term credential password. */
  readonly password: string;
  /**
   * The local socket to send from, when the driver has several (an ICE agent's base). When set,
   * UDP datagrams that arrived on another local address are not this client's.
   */
  readonly local?: TransportAddress;
  /** Random source for transaction ids (default `crypto.getRandomValues`). */
  readonly random?: RandomSource;
  /** SOFTWARE on every request (RFC 8656 §5: SHOULD on Allocate and Refresh). */
  readonly software?: string;
  /**
   * Requested allocation lifetime in seconds, sent as LIFETIME in Allocate and Refresh
   * (RFC 8656 §7.1: a hint; the server's answer is what counts). Default: none (600 s).
   */
  readonly lifetime?: number;
  /** Relayed address family or families to ask for (RFC 8656 §7.1); default `"IPv4"`. */
  readonly family?: TurnAddressFamily;
  /**
   * The relay's transport towards peers: `"udp"` (default, RFC 8656) or `"tcp"` for a TCP
   * allocation (RFC 6062 §4.1), which needs `transport` `"tcp"` or `"tls"`. A TCP allocation
   * relays over data connections instead of Send/ChannelData: see {@link TurnClient.connect},
   * the `connection` event and `TurnConnectionBind`.
   */
  readonly requestedTransport?: "udp" | "tcp";
  /** EVEN-PORT (RFC 8656 §7.1, §18.7): an even relayed port, optionally reserving the next one. */
  readonly evenPort?: EvenPortValue;
  /** RESERVATION-TOKEN (RFC 8656 §7.1, §18.10): allocate the port another allocation reserved. */
  readonly reservationToken?: Uint8Array;
  /**
   * Seconds before the allocation expires at which to refresh it (RFC 8656 §8: "roughly 1
   * minute before it expires"); default 60. Lifetimes shorter than twice this are refreshed
   * at half their length.
   */
  readonly refreshMargin?: number;
  /**
   * Datagrams {@link TurnClient.send} keeps per peer while the permission towards it is being
   * installed (default 64); more are dropped and counted.
   */
  readonly maxQueuedPerPeer?: number;
  /**
   * Copy the bytes of `data` events (default false). By default `data` is a view into the bytes
   * handed to `handleReceive`, valid for as long as the caller does not reuse that buffer;
   * the Node driver never does (each datagram and framed TCP message is a fresh buffer). Drivers
   * that read into one reused buffer set this.
   */
  readonly copyData?: boolean;
  /** Retransmission and HMAC knobs of the {@link StunClient} the TURN client runs its requests on. */
  readonly stun?: StunClientOptions;
  /**
   * Let the owner pace new transactions (default false): for an ICE agent that must keep all its
   * transactions at least 5 ms apart (RFC 8445 §14.2). Every new request (Allocate, Refresh,
   * CreatePermission, ChannelBind, Connect, and the signed retry after a 401 or 438) and every STUN
   * request that waited for a permission (an ICE check sent before CreatePermission succeeded)
   * then waits until the owner calls {@link TurnClient.releasePaced} while
   * {@link TurnClient.pacedWaiting} is true. Retransmissions, Send indications and ChannelData
   * are never held.
   */
  readonly paced?: boolean;
}

/**
 * Why a TURN operation failed: a {@link StunFailureReason} of the transaction, or
 * - `"bad-response"`: a success response without what the RFC requires (XOR-RELAYED-ADDRESS);
 * - `"family"`: the peer's address family has no relayed address in this allocation (RFC 8656
 *   §10.1, §12.1), decided locally without a request;
 * - `"expired"`: the allocation's lifetime ran out without a successful Refresh;
 * - `"closed"`: {@link TurnClient.close} was called, or the allocation is gone.
 *
 * @example
 * ```ts
 * if (e.type === "allocation-failed") {
 *   const reason: TurnFailureReason = e.reason; // → "error-response" with e.code 401, "timeout", ...
 *   if (e.code === 437) retryFromAnotherLocalPort(); // RFC 8656 §7.4
 * }
 * ```
 */
export type TurnFailureReason = StunFailureReason | "bad-response" | "family" | "expired" | "closed";

/**
 * What a {@link TurnClient} reports, in the order it happened.
 *
 * @example
 * ```ts
 * for (let e: TurnClientEvent | undefined; (e = turn.pollEvent()); ) {
 *   if (e.type === "allocated") console.log(e.relayed[0]); // → { family: "IPv4", address: "203.0.113.1", port: 60533 }
 *   else if (e.type === "data") console.log(e.peer, e.data, e.channel); // channel: undefined for a Data indication
 *   else if (e.type === "allocation-lost") console.error(e.reason, e.code, e.detail);
 * }
 * ```
 */
export type TurnClientEvent =
  | {
      /** The Allocate transaction succeeded (RFC 8656 §7.3). */
      readonly type: "allocated";
      /** XOR-RELAYED-ADDRESS: one address, or two for a dual allocation (IPv4 first as sent). */
      readonly relayed: readonly TransportAddress[];
      /** XOR-MAPPED-ADDRESS: the client's server-reflexive address, if the server sent it. */
      readonly mapped: TransportAddress | undefined;
      /** The lifetime the server granted, seconds. */
      readonly lifetime: number;
      /** The server holding the allocation (differs from the configured one after a 300). */
      readonly server: TransportAddress;
      /** RESERVATION-TOKEN, when EVEN-PORT with R asked the server to reserve the next port. */
      readonly reservationToken: Uint8Array | undefined;
      /**
       * ADDRESS-ERROR-CODE: for a dual allocation, the family the server could not allocate and
       * why (440 or 508, RFC 8656 §7.3); empty otherwise.
       */
      readonly addressErrors: readonly AddressErrorCodeValue[];
    }
  | {
      /** The Allocate transaction failed; the client is done (create another to retry). */
      readonly type: "allocation-failed";
      /** Why, as a machine-readable reason. */
      readonly reason: TurnFailureReason;
      /**
       * ERROR-CODE of the final error response: 401 (wrong credentials after the challenge),
       * 403, 437 (5-tuple in use: retry from another local port, RFC 8656 §7.4), 440 (family),
       * 441, 442, 486 (quota: wait a minute), 508 (capacity: wait a minute)...
       */
      readonly code: number | undefined;
      /** A sentence for logs. */
      readonly detail: string;
    }
  | {
      /** A Refresh succeeded (RFC 8656 §8.3). */
      readonly type: "refreshed";
      /** The lifetime the server granted, seconds. */
      readonly lifetime: number;
    }
  | {
      /** The server installed the permission for `peer` (CreatePermission or ChannelBind). */
      readonly type: "permission-created";
      /** The peer's IP address (permissions ignore ports, RFC 8656 §9). */
      readonly peer: string;
    }
  | {
      /**
       * Installing or refreshing the permission for `peer` failed; data queued for it is
       * dropped and it is no longer refreshed. Call `createPermission` again to retry.
       */
      readonly type: "permission-failed";
      /** The peer's IP address. */
      readonly peer: string;
      /** Why, as a machine-readable reason. */
      readonly reason: TurnFailureReason;
      /** 403 (peer address forbidden), 443 (family mismatch), 508 (capacity)... */
      readonly code: number | undefined;
      /** A sentence for logs. */
      readonly detail: string;
    }
  | {
      /** The server bound `channel` to `peer` (RFC 8656 §12.3); sends to `peer` now use ChannelData. */
      readonly type: "channel-bound";
      /** The peer, as the server sees it (its server-reflexive address). */
      readonly peer: TransportAddress;
      /** The channel number, 0x4000-0x4FFF. */
      readonly channel: number;
    }
  | {
      /**
       * Binding or refreshing a channel failed. The number stays reserved for `peer` for the
       * channel lifetime plus five minutes (RFC 8656 §12). A 400 here means the client's and the
       * server's channel tables disagree; RFC 8656 §12.3 recommends a new allocation.
       */
      readonly type: "channel-failed";
      /** The peer, as the server sees it (its server-reflexive address). */
      readonly peer: TransportAddress;
      /** The channel number, 0x4000-0x4FFF. */
      readonly channel: number;
      /** Why, as a machine-readable reason. */
      readonly reason: TurnFailureReason;
      /** The STUN ERROR-CODE of the final error response, if one ended it. */
      readonly code: number | undefined;
      /** A sentence for logs. */
      readonly detail: string;
    }
  | {
      /** Application data from `peer`, relayed in a Data indication or a ChannelData message. */
      readonly type: "data";
      /** The peer, as the server sees it (its server-reflexive address). */
      readonly peer: TransportAddress;
      /**
       * The bytes. Without the `copyData` option, a view into the buffer passed to
       * `handleReceive`: valid until the driver reuses that buffer (the Node driver never does).
       */
      readonly data: Uint8Array;
      /** The channel it arrived on, or undefined for a Data indication. */
      readonly channel: number | undefined;
    }
  | {
      /**
       * RFC 6062, TCP allocations: a TCP connection with `peer` waits for the client to bind it.
       * `outgoing`: the server connected to the peer after {@link TurnClient.connect} (§4.3);
       * `incoming`: the peer connected to the relayed address and the server sent a
       * ConnectionAttempt indication (§4.4). Either way, open a new TCP/TLS connection to the
       * server and send ConnectionBind with `connectionId` on it (`TurnConnectionBind`) within
       * 30 seconds (§5.2, §5.3); that connection then carries the peer's bytes as they are.
       */
      readonly type: "connection";
      /** The peer, as the server sees it (its server-reflexive address). */
      readonly peer: TransportAddress;
      /** CONNECTION-ID (RFC 6062 §6.2.1): what the ConnectionBind names. */
      readonly connectionId: number;
      /** Who opened it: the server on our Connect, or the peer. */
      readonly direction: "outgoing" | "incoming";
    }
  | {
      /**
       * RFC 6062 §4.3: a Connect request failed; 447 means the server could not reach the peer
       * (wait at least 10 s before trying again), 446 that a connection to it already exists.
       */
      readonly type: "connection-failed";
      /** The peer, as the server sees it (its server-reflexive address). */
      readonly peer: TransportAddress;
      /** Why, as a machine-readable reason. */
      readonly reason: TurnFailureReason;
      /** The STUN ERROR-CODE of the final error response, if one ended it. */
      readonly code: number | undefined;
      /** A sentence for logs. */
      readonly detail: string;
    }
  | {
      /** A Data indication with an ICMP attribute (RFC 8656 §11.6): a datagram to `peer` bounced. */
      readonly type: "icmp";
      /** The peer, as the server sees it (its server-reflexive address). */
      readonly peer: TransportAddress;
      /** The ICMP type and code the server saw (RFC 8656 §18.13). */
      readonly icmp: IcmpValue;
    }
  | {
      /**
       * The allocation is gone: a Refresh failed (437 means the server no longer has it, RFC
       * 8656 §5, §8.3), another request got 437, the lifetime ran out, or the TCP/TLS connection
       * to the server closed. Nothing more is relayed; create a new client to allocate again.
       */
      readonly type: "allocation-lost";
      /** Why, as a machine-readable reason. */
      readonly reason: TurnFailureReason;
      /** The STUN ERROR-CODE of the final error response, if one ended it. */
      readonly code: number | undefined;
      /** A sentence for logs. */
      readonly detail: string;
    }
  | {
      /** {@link TurnClient.close} finished: the allocation is deleted (or never existed). */
      readonly type: "closed";
      /** How: `"deleted"` (Refresh LIFETIME 0 succeeded or got 437), else a sentence. */
      readonly detail: string;
    };

/**
 * Lifecycle of a {@link TurnClient}.
 *
 * @example
 * ```ts
 * turn.allocate(now);
 * const state: TurnClientState = turn.state; // → "allocating"; then "allocated", and after close(now) "closing", "closed"
 * ```
 */
export type TurnClientState = "idle" | "allocating" | "allocated" | "closing" | "closed" | "failed";

/**
 * Counters and table sizes for {@link TurnClient.stats}.
 *
 * @example
 * ```ts
 * const s: TurnClientStats = turn.stats();
 * console.log(s.state, s.channels, s.bytesSent, s.droppedSends); // → "allocated" 1 1200 0
 * ```
 */
export interface TurnClientStats {
  /** Where the allocation is in its life. */
  readonly state: TurnClientState;
  /** Refresh transactions that succeeded (deallocation not counted). */
  readonly refreshes: number;
  /** Permissions the server has, as far as the client knows. */
  readonly permissions: number;
  /** Channels bound. */
  readonly channels: number;
  /** Send indications sent. */
  readonly sendIndications: number;
  /** ChannelData messages sent. */
  readonly channelDataSent: number;
  /** Application bytes sent (payloads only). */
  readonly bytesSent: number;
  /** Data indications delivered as `data` events. */
  readonly dataIndications: number;
  /** ChannelData messages delivered as `data` events. */
  readonly channelDataReceived: number;
  /** Application bytes received (payloads only). */
  readonly bytesReceived: number;
  /** Datagrams passed to `handleReceive` that were not this client's (it returned false). */
  readonly foreign: number;
  /** TURN messages from the server that were malformed or broke the RFC's receive checks. */
  readonly droppedMalformed: number;
  /** ChannelData on a channel the client has not bound (RFC 8656 §12.6). */
  readonly droppedUnknownChannel: number;
  /** Data indications from peers without a permission (RFC 8656 §11.4). */
  readonly droppedNoPermission: number;
  /** Datagrams `send` dropped: queue full, permission failed, or no allocation. */
  readonly droppedSends: number;
  /** The STUN transaction layer's own counters. */
  readonly stun: Readonly<StunClientStats>;
}
