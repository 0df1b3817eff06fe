/**
 * The shapes of the TURN server's API: options, events and counters. The engine is in
 * `server.ts`.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import type { HmacFactory } from "../crypto/types";
import type { RandomSource, TransportProtocol } from "../engine";
import type { PasswordAlgorithmName } from "../stun/credentials";
import type { LongTermSecret, StunUserLookup } from "../stun/server-auth";
import type { StunServerEvent, StunServerStats } from "../stun/server-types";

/**
 * The connection between a client and the server that identifies an allocation (RFC 8656 §2:
 * client IP and port, server IP and port, transport).
 *
 * @example
 * ```ts
 * const tuple: TurnFiveTuple = {
 *   local: { family: "IPv4", address: "192.0.2.1", port: 3478 },
 *   remote: { family: "IPv4", address: "198.51.100.7", port: 54321 },
 *   transport: "tcp",
 * };
 * server.handleTransportClosed(now, tuple); // its allocation ends: "allocation-end", reason "transport-closed"
 * ```
 */
export interface TurnFiveTuple {
  /** The server's side: the socket the client's messages arrive on. */
  readonly local: TransportAddress;
  /** The client's server-reflexive transport address. */
  readonly remote: TransportAddress;
  /** `"udp"`, `"tcp"` or `"tls"` between the client and the server (RFC 8656 §3.1). */
  readonly transport: TransportProtocol;
}

/**
 * Configuration of a `TurnServer`.
 *
 * @example
 * ```ts
 * const options: TurnServerOptions = {
 *   realm: "example.org",
 *   users: { alice: "s3cret" },
 *   relayAddresses: ["192.0.2.1"],
 *   allowPeer: ["127.0.0.0/8"], // loopback peers, for tests
 * };
 * const server = new TurnServer(options);
 * // REST API credentials instead of users: secret: "north", unixTime: (now) => (now + offsetMs) / 1000
 * ```
 */
export interface TurnServerOptions {
  /**
   * The REALM (RFC 8489 §14.9); RFC 8656 §5: it "will uniquely identify the username and
   * password combination that the client must use".
   */
  readonly realm: string;
  /**
   * Long-term credentials: username → password (or precomputed MD5/SHA-256 keys), as a `Map`, an
   * object or a function. At least one of `users` and `secret` is required: the server never
   * allocates without authentication (RFC 8656 §7.2 step 1, §21).
   */
  readonly users?: StunUserLookup<LongTermSecret>;
  /**
   * The shared secret of the TURN REST API (coturn's `--use-auth-secret`): a username
   * `"<unix expiry>:<user>"` is valid until that second, with password
   * `base64(HMAC-SHA1(secret, username))`. Needs `unixTime`. Tried after `users`.
   */
  readonly secret?: string | Uint8Array;
  /**
   * The wall clock for REST usernames: seconds since 1970 at engine time `now`. The engine reads
   * no clock; `icekit/node` passes `(now) => (now + offset) / 1000`. Required with `secret`.
   */
  readonly unixTime?: (now: number) => number;
  /** Between expiry and user in REST usernames: coturn's `--rest-api-separator` (default `":"`). */
  readonly restSeparator?: string;
  /**
   * The relayed transport addresses' IP addresses, at most one IPv4 and one IPv6 (RFC 6156):
   * what XOR-RELAYED-ADDRESS reports and the driver binds relay sockets on. Not a wildcard.
   */
  readonly relayAddresses: readonly string[];
  /** Relay port range, inclusive (default 49152-65535, RFC 8656 §7.2). */
  readonly ports?: readonly [number, number];
  /** The lifetime an Allocate or Refresh gets when it asks for less, in seconds (default 600, RFC 8656 §6). */
  readonly defaultLifetime?: number;
  /** The longest lifetime granted, in seconds (default 3600, RFC 8656 §7.2 "no more than 3600"). */
  readonly maxLifetime?: number;
  /**
   * Peer CIDRs relayed to even though the default deny list covers them, e.g. `["127.0.0.0/8"]`
   * for tests on loopback (see `PeerPolicy`).
   */
  readonly allowPeer?: readonly string[];
  /** Peer CIDRs refused in addition to the defaults. */
  readonly denyPeer?: readonly string[];
  /**
   * Allocations one user may hold at once, ports held for their RESERVATION-TOKENs included;
   * more get 486 (RFC 8656 §5, §7.2 step 10). Default 16.
   */
  readonly userQuota?: number;
  /** Allocations (and reservations) the server holds at once; more get 508 (RFC 8656 §21.3.1). Default 1000. */
  readonly maxAllocations?: number;
  /** Permissions one allocation may hold (more get 508, RFC 8656 §10.2). Default 64. */
  readonly maxPermissions?: number;
  /** Channels one allocation may bind (more get 508, RFC 8656 §12.2). Default 256. */
  readonly maxChannels?: number;
  /**
   * How long a reserved port (EVEN-PORT with the R bit) is held for its RESERVATION-TOKEN, in
   * ms (default 30 000; RFC 8656 §7.2 "at least 30 seconds").
   */
  readonly reservationLifetimeMs?: number;
  /**
   * How long an Allocate waits for the driver to report its relay sockets bound before it is
   * answered 508 (default 5000 ms).
   */
  readonly relayBindTimeoutMs?: number;
  /**
   * Whether the driver sets the DF bit on relayed datagrams (RFC 8656 §14). When false
   * (default), DONT-FRAGMENT is not understood: an Allocate carrying it gets 420 and a Send
   * indication carrying it is discarded (RFC 8656 §7.2 step 4, §11.2).
   */
  readonly dontFragment?: boolean;
  /**
   * Which channel numbers ChannelBind accepts: `"rfc8656"` (default) 0x4000-0x4FFF as RFC 8656
   * §12.2 requires, or `"rfc5766"` 0x4000-0x7FFF, the older range some clients still pick from
   * (coturn's `turnutils_uclient` does; coturn accepts it). RFC 8656 §12 notes the narrower range
   * "could prevent a client compliant with RFC 5766 from establishing channel bindings".
   */
  readonly channelNumbers?: "rfc8656" | "rfc5766";
  /** Answer Binding requests without credentials, as a STUN server (default true). */
  readonly binding?: boolean;
  /** SOFTWARE in every response (RFC 8656 §5: SHOULD in Allocate and Refresh responses). */
  readonly software?: string;
  /** FINGERPRINT on responses (default `"mirror"`); `"always"` also signs Data indications. */
  readonly fingerprint?: "mirror" | "always" | "never";
  /** How long a nonce lasts, in ms (default 600 000); older ones get 438 (RFC 8656 §5). */
  readonly nonceLifetimeMs?: number;
  /** PASSWORD-ALGORITHMS to offer (RFC 8489 §9.2.4); absent: RFC 5389 MD5 only. */
  readonly passwordAlgorithms?: readonly PasswordAlgorithmName[];
  /** Key nonces are MAC'd with (default random); share it between servers behind one name. */
  readonly nonceSecret?: Uint8Array;
  /** Random source: nonces, ports, reservation tokens (default `crypto.getRandomValues`). */
  readonly random?: RandomSource;
  /** HMAC capability (default icekit's pure one). */
  readonly hmac?: HmacFactory;
}

/**
 * Why an allocation ended.
 *
 * @example
 * ```ts
 * if (e.type === "allocation-end") {
 *   const why: TurnAllocationEndReason = e.reason; // → "refresh" when the client deleted it, "expired", ...
 *   console.log(server.stats().allocationsEnded[why]); // how many ended that way
 * }
 * ```
 */
export type TurnAllocationEndReason =
  /** A Refresh with LIFETIME 0 (RFC 8656 §8.2). */
  | "refresh"
  /** Its lifetime ran out (RFC 8656 §6). */
  | "expired"
  /** The TCP or TLS connection of its 5-tuple closed. */
  | "transport-closed"
  /** The driver could not bind its relay socket, or did not say in time: answered 508. */
  | "bind-failed"
  /** `TurnServer.close()`. */
  | "closed";

/**
 * What a `TurnServer` reports. The relay events are orders for the driver.
 *
 * @example
 * ```ts
 * for (let e: TurnServerEvent | undefined; (e = server.pollEvent()); ) {
 *   if (e.type === "relay-open") bindRelaySocket(e.relayed); // then handleRelayBound or handleRelayBindFailed
 *   else if (e.type === "relay-close") closeRelaySocket(e.relayed);
 *   else if (e.type === "allocation") console.log(e.user, e.relayed[0]);
 *   // → "alice" { family: "IPv4", address: "192.0.2.1", port: 60533 }
 * }
 * ```
 */
export type TurnServerEvent =
  | {
      /**
       * Bind a UDP socket on `relayed` and call `handleRelayBound(now, relayed)`, or
       * `handleRelayBindFailed(now, relayed)` if the bind fails. Datagrams arriving on it go to
       * `handleReceive` with `local` = `relayed`; transmits with `local` = `relayed` leave from it.
       */
      readonly type: "relay-open";
      readonly relayed: TransportAddress;
    }
  | {
      /** Close the socket on `relayed` (if it is still binding, close it once bound). */
      readonly type: "relay-close";
      readonly relayed: TransportAddress;
    }
  | {
      /** An Allocate succeeded (RFC 8656 §7.2). */
      readonly type: "allocation";
      readonly id: number;
      readonly user: string;
      readonly client: TurnFiveTuple;
      readonly relayed: readonly TransportAddress[];
      /** Seconds. */
      readonly lifetime: number;
    }
  | {
      /** An allocation (or the last relayed address of a dual one) was deleted. */
      readonly type: "allocation-end";
      readonly id: number;
      readonly user: string;
      readonly client: TurnFiveTuple;
      readonly reason: TurnAllocationEndReason;
    }
  | {
      /**
       * A permission was installed, not refreshed (RFC 8656 §9). RFC 8656 §21.3.2: logging
       * every permission lets abuse be traced to its client.
       */
      readonly type: "permission";
      readonly id: number;
      readonly user: string;
      readonly peer: string;
    }
  | {
      /** A channel was bound, not refreshed (RFC 8656 §12.2). */
      readonly type: "channel";
      readonly id: number;
      readonly user: string;
      readonly channel: number;
      readonly peer: TransportAddress;
    }
  | StunServerEvent;

/**
 * Why a datagram was dropped on the relay path; see {@link TurnServerStats.dropped}.
 *
 * - `no-allocation`: ChannelData or a Send indication on a 5-tuple without an allocation
 *   (RFC 8656 §5: "silently ignored").
 * - `bad-channel-data`: too short for its Length field, or a reserved channel number (§12.6).
 * - `no-channel`: ChannelData on a channel that is not bound (§12.6).
 * - `send-invalid`: a Send indication without XOR-PEER-ADDRESS or DATA, or with a malformed
 *   one, or of a family the allocation has no relayed address for (§11.2).
 * - `no-permission`: a Send indication or ChannelData to, or a datagram from, a peer without a
 *   permission (§9, §11.2, §11.3).
 * - `forbidden-port`: a Send indication to port 0.
 * - `too-big`: a peer's datagram too big to fit in a Data indication.
 * - `no-relay`: a datagram on a relay socket no allocation owns (yet, or any more).
 *
 * @example
 * ```ts
 * const reason: TurnDropReason = "no-permission";
 * server.stats().dropped[reason]; // → datagrams to or from peers without a permission
 * ```
 */
export type TurnDropReason = "no-allocation" | "bad-channel-data" | "no-channel" | "send-invalid" | "no-permission" | "forbidden-port" | "too-big" | "no-relay";

/**
 * Packets and bytes of application data relayed in one direction.
 *
 * @example
 * ```ts
 * const { packets, bytes }: TurnTraffic = server.stats().toPeer; // client → peer
 * console.log(`${packets} datagrams, ${bytes} bytes relayed to peers`);
 * ```
 */
export interface TurnTraffic {
  packets: number;
  /** Application data bytes (without ChannelData or STUN framing). */
  bytes: number;
}

/**
 * Counters from `TurnServer.stats()`: current counts, then totals since construction.
 *
 * @example
 * ```ts
 * const s: TurnServerStats = server.stats();
 * console.log(s.allocations, s.users, s.toClient.bytes, s.stun.errorResponses); // → 1 1 4800 { 401: 1 }
 * ```
 */
export interface TurnServerStats {
  /** Allocations in place (answered with success). */
  allocations: number;
  /** Allocates waiting for their relay sockets. */
  pendingAllocations: number;
  /** Relayed transport addresses in use (a dual allocation has two). */
  relays: number;
  /** Ports held for RESERVATION-TOKENs. */
  reservations: number;
  /** Permissions installed (not yet swept; some may have expired in the last second). */
  permissions: number;
  /** Channels bound (not yet swept). */
  channels: number;
  /** Users holding at least one allocation. */
  users: number;
  /** Allocations created since construction. */
  allocationsCreated: number;
  /** Allocations ended since construction, by reason. */
  allocationsEnded: Record<TurnAllocationEndReason, number>;
  /** Client → peer: Send indications and ChannelData relayed. */
  toPeer: TurnTraffic;
  /** Peer → client: Data indications and ChannelData sent. */
  toClient: TurnTraffic;
  /** Of `toClient`, how many went as ChannelData. */
  toClientChannelData: number;
  /** Relay-path drops by reason. */
  dropped: Record<TurnDropReason, number>;
  /** Relay sockets the driver could not bind. */
  relayBindFailures: number;
  /** The STUN layer's counters: requests, error responses by code, authentication failures. */
  stun: StunServerStats;
}
