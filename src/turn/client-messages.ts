/**
 * What a {@link TurnClient} checks and parses, kept apart from its state machine: the option
 * rules of RFC 8656 §7.1 and RFC 6062 §4.1, the Allocate request's attributes, and the parsers for
 * what the server sends (Allocate success, Data and ConnectionAttempt indications, challenges).
 * Pure functions; the parsers never throw on bad bytes.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { transportAddress } from "../bytes/ip";
import { IcekitError } from "../errors";
import { XorMappedAddress, XorPeerAddress, XorRelayedAddress } from "../stun/attributes/address";
import { AddressErrorCode, ErrorCode } from "../stun/attributes/error";
import type { AddressErrorCodeValue } from "../stun/attributes/error";
import {
  AdditionalAddressFamily,
  ConnectionId,
  Data,
  EvenPort,
  Icmp,
  IpProtocol,
  Lifetime,
  RequestedAddressFamily,
  RequestedTransport,
  ReservationToken,
} from "../stun/attributes/turn";
import type { IcmpValue } from "../stun/attributes/turn";
import { attr } from "../stun/client";
import type { AttributeEntry } from "../stun/client";
import { AttributeType } from "../stun/constants";
import { checkFingerprint } from "../stun/integrity";
import { decodeStunMessage } from "../stun/message";
import type { StunMessage } from "../stun/message";
import type { TurnClient } from "./client"; // for {@link}s only
import type { TurnAddressFamily, TurnClientOptions } from "./client-types";

/**
 * {@link TurnClientOptions} checked, with the defaults filled in.
 *
 * @example
 * ```ts
 * const checked: CheckedTurnOptions = checkTurnOptions({ server, username: "user", password: "pass" });
 * // → { server, transport: "udp", family: "IPv4", tcpRelay: false, marginMs: 60000, maxQueued: 64 }
 * ```
 */
export interface CheckedTurnOptions {
  /** The server, in canonical form. */
  readonly server: TransportAddress;
  /** Client-to-server transport. */
  readonly transport: "udp" | "tcp" | "tls";
  /** Relayed family or families to ask for. */
  readonly family: TurnAddressFamily;
  /** True for an RFC 6062 TCP allocation. */
  readonly tcpRelay: boolean;
  /** Refresh margin, ms. */
  readonly marginMs: number;
  /** Datagrams held per peer while its permission is installed. */
  readonly maxQueued: number;
}

/**
 * Checks a {@link TurnClientOptions} and fills in the defaults.
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for a bad server address, transport, family,
 *   lifetime, margin or queue size, and the combinations RFC 8656 §7.1 and RFC 6062 §4.1 forbid;
 *   `MISSING_CREDENTIAL` without a username or password
 *
 * @example
 * ```ts
 * checkTurnOptions({ server, username: "user", password: "pass" }).marginMs; // → 60000
 * checkTurnOptions({ server, transport: "udp", username: "user", password: "pass", requestedTransport: "tcp" });
 * // → throws IcekitError INVALID_ARGUMENT: a TCP allocation needs transport "tcp" or "tls" (RFC 6062 §4.1)
 * ```
 */
export function checkTurnOptions(options: TurnClientOptions): CheckedTurnOptions {
  if (typeof options !== "object" || options === null) throw new IcekitError("INVALID_ARGUMENT", "pass { server, username, password }");
  const s = options.server;
  if (typeof s !== "object" || s === null) throw new IcekitError("INVALID_ARGUMENT", "server: pass a transport address { family, address, port }");
  const server = transportAddress(s.address, s.port);
  if (server.port === 0) throw new IcekitError("INVALID_ARGUMENT", "server port 0: pass the TURN server's port (3478, or 5349 for TLS)");
  const transport = options.transport ?? "udp";
  if (transport !== "udp" && transport !== "tcp" && transport !== "tls") {
    throw new IcekitError("INVALID_ARGUMENT", `transport ${String(transport)}: pass "udp", "tcp" or "tls"`);
  }
  if (typeof options.username !== "string" || options.username === "") {
    throw new IcekitError("MISSING_CREDENTIAL", "username: pass the TURN username (for coturn's REST secret, see turnRestCredentials)");
  }
  if (typeof options.password !== "string") throw new IcekitError("MISSING_CREDENTIAL", "password: pass the TURN password as a string");
  const family = options.family ?? "IPv4";
  if (family !== "IPv4" && family !== "IPv6" && family !== "dual") {
    throw new IcekitError("INVALID_ARGUMENT", `family ${String(family)}: pass "IPv4", "IPv6" or "dual"`);
  }
  if (options.lifetime !== undefined && (!Number.isInteger(options.lifetime) || options.lifetime < 1 || options.lifetime > 0xffffffff)) {
    throw new IcekitError("INVALID_ARGUMENT", `lifetime ${options.lifetime}: pass whole seconds >= 1 (the server's default is 600)`);
  }
  const margin = options.refreshMargin ?? 60;
  if (!(margin > 0) || !Number.isFinite(margin)) throw new IcekitError("INVALID_ARGUMENT", `refreshMargin ${margin}: pass seconds > 0 (RFC 8656 §8 suggests 60)`);
  const maxQueued = options.maxQueuedPerPeer ?? 64;
  if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new IcekitError("INVALID_ARGUMENT", `maxQueuedPerPeer ${maxQueued}: pass an integer >= 0`);
  // RFC 8656 §7.1: the combinations a client MUST NOT send.
  if (options.reservationToken !== undefined) {
    if (family !== "IPv4") throw new IcekitError("INVALID_ARGUMENT", "reservationToken cannot be combined with family IPv6 or dual (RFC 8656 §7.1)");
    if (options.evenPort !== undefined) throw new IcekitError("INVALID_ARGUMENT", "reservationToken cannot be combined with evenPort (RFC 8656 §7.1)");
  }
  if (family === "dual" && options.evenPort?.reserve === true) {
    throw new IcekitError("INVALID_ARGUMENT", "a dual allocation cannot reserve the next port: drop evenPort.reserve or ask for one family (RFC 8656 §7.1)");
  }
  if (options.local !== undefined) transportAddress(options.local.address, options.local.port);
  const requested = options.requestedTransport ?? "udp";
  if (requested !== "udp" && requested !== "tcp") throw new IcekitError("INVALID_ARGUMENT", `requestedTransport ${String(requested)}: pass "udp" or "tcp"`);
  if (requested === "tcp") {
    // RFC 6062 §4.1: only over TCP or TLS, and without the UDP-only attributes.
    if (transport === "udp") throw new IcekitError("INVALID_ARGUMENT", 'a TCP allocation needs transport "tcp" or "tls" to the server (RFC 6062 §4.1)');
    if (options.evenPort !== undefined || options.reservationToken !== undefined) {
      throw new IcekitError("INVALID_ARGUMENT", "a TCP allocation cannot use evenPort or reservationToken (RFC 6062 §4.1)");
    }
  }
  return { server, transport, family, tcpRelay: requested === "tcp", marginMs: margin * 1000, maxQueued };
}

/**
 * The Allocate request's own attributes (RFC 8656 §7.1; RFC 6062 §4.1), before authentication.
 *
 * @example
 * ```ts
 * const options: TurnClientOptions = { server, username: "user", password: "pass", family: "IPv6", lifetime: 1200 };
 * allocateAttributes(options, checkTurnOptions(options));
 * // → REQUESTED-TRANSPORT 17 (UDP), REQUESTED-ADDRESS-FAMILY IPv6, LIFETIME 1200
 * ```
 */
export function allocateAttributes(options: TurnClientOptions, checked: CheckedTurnOptions): AttributeEntry<any>[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  // REQUESTED-TRANSPORT: 17 (UDP) or 6 (TCP, RFC 6062 §4.1).
  const out: AttributeEntry<any>[] = [attr(RequestedTransport, checked.tcpRelay ? IpProtocol.TCP : IpProtocol.UDP)]; // eslint-disable-line @typescript-eslint/no-explicit-any
  // No family attribute means IPv4; REQUESTED-ADDRESS-FAMILY only for IPv6, so that an RFC 5766
  // server (which would answer 420 to it) still serves IPv4 clients.
  if (checked.family === "IPv6") out.push(attr(RequestedAddressFamily, "IPv6"));
  // "The attribute value in the ADDITIONAL-ADDRESS-FAMILY MUST be set to 0x02 (IPv6 address family)."
  if (checked.family === "dual") out.push(attr(AdditionalAddressFamily, "IPv6"));
  if (options.lifetime !== undefined) out.push(attr(Lifetime, options.lifetime));
  if (options.evenPort !== undefined) out.push(attr(EvenPort, options.evenPort));
  if (options.reservationToken !== undefined) out.push(attr(ReservationToken, options.reservationToken));
  return out;
}

/**
 * What an Allocate success response says (RFC 8656 §7.3).
 *
 * @example
 * ```ts
 * const ok: AllocateSuccess | string = parseAllocateSuccess(response);
 * if (typeof ok !== "string") console.log(ok.relayed[0], ok.lifetime);
 * // → { family: "IPv4", address: "203.0.113.1", port: 60533 } 600
 * ```
 */
export interface AllocateSuccess {
  /** XOR-RELAYED-ADDRESS, one or two (dual). */
  readonly relayed: TransportAddress[];
  /** XOR-MAPPED-ADDRESS. */
  readonly mapped: TransportAddress | undefined;
  /** LIFETIME, seconds. */
  readonly lifetime: number | undefined;
  /** RESERVATION-TOKEN, copied. */
  readonly reservationToken: Uint8Array | undefined;
  /** ADDRESS-ERROR-CODE: the families a dual request could not get. */
  readonly addressErrors: AddressErrorCodeValue[];
}

/**
 * Reads an Allocate success response; a string says why it cannot be used.
 *
 * @example
 * ```ts
 * const parsed = parseAllocateSuccess(e.response); // e: the StunClient's success event for the Allocate
 * if (typeof parsed === "string") console.error(parsed);
 * // → "Allocate success response without XOR-RELAYED-ADDRESS (RFC 8656 §7.3)"
 * ```
 */
export function parseAllocateSuccess(res: StunMessage): AllocateSuccess | string {
  let out: AllocateSuccess;
  try {
    out = {
      relayed: res.getAll(XorRelayedAddress),
      mapped: res.get(XorMappedAddress),
      lifetime: res.get(Lifetime),
      reservationToken: res.get(ReservationToken)?.slice(),
      addressErrors: res.getAll(AddressErrorCode),
    };
  } catch (err) {
    return `malformed Allocate success response: ${(err as Error).message}`;
  }
  if (out.relayed.length === 0) return "Allocate success response without XOR-RELAYED-ADDRESS (RFC 8656 §7.3)";
  return out;
}

/**
 * A Data indication that passed the receive checks (RFC 8656 §11.4, §11.6).
 *
 * @example
 * ```ts
 * const ind: DataIndication | undefined = parseDataIndication(datagram);
 * if (ind?.data !== undefined) deliver(ind.peer, ind.data);
 * else if (ind?.icmp !== undefined) console.warn("bounced", ind.peer, ind.icmp); // RFC 8656 §11.6
 * ```
 */
export interface DataIndication {
  /** XOR-PEER-ADDRESS. */
  readonly peer: TransportAddress;
  /** DATA, a view into the datagram; undefined when the indication reports ICMP instead. */
  readonly data: Uint8Array | undefined;
  /** ICMP, when the indication reports a bounced datagram (RFC 8656 §11.6). */
  readonly icmp: IcmpValue | undefined;
}

/**
 * Parses a Data indication: XOR-PEER-ADDRESS and either DATA or ICMP (RFC 8656 §11.4), a
 * FINGERPRINT that is right if present, and no unknown comprehension-required attribute (RFC 8489
 * §6.3.2: such an indication is discarded).
 *
 * @returns the indication, or undefined when it must be discarded
 *
 * @example
 * ```ts
 * parseDataIndication(datagram);
 * // → { peer: { family: "IPv4", address: "198.51.100.4", port: 5000 }, data: Uint8Array(5), icmp: undefined }
 * parseDataIndication(new Uint8Array([1, 2, 3])); // → undefined: discarded, never thrown
 * ```
 */
export function parseDataIndication(d: Uint8Array): DataIndication | undefined {
  try {
    const msg = decodeStunMessage(d);
    const peer = msg.get(XorPeerAddress);
    if (peer === undefined || checkFingerprint(msg) === "invalid" || msg.unknownComprehensionRequired().length > 0) return undefined;
    const data = msg.get(Data);
    const icmp = data === undefined ? msg.get(Icmp) : undefined;
    if (data === undefined && icmp === undefined) return undefined;
    return { peer, data, icmp };
  } catch {
    return undefined;
  }
}

/**
 * A ConnectionAttempt indication's content (RFC 6062 §4.4).
 *
 * @example
 * ```ts
 * const attempt: ConnectionAttempt | undefined = parseConnectionAttempt(indication);
 * // → { peer: { family: "IPv4", address: "198.51.100.4", port: 40000 }, connectionId: 305441741 }
 * ```
 */
export interface ConnectionAttempt {
  /** XOR-PEER-ADDRESS: the peer that connected. */
  readonly peer: TransportAddress;
  /** CONNECTION-ID to bind. */
  readonly connectionId: number;
}

/**
 * Parses a ConnectionAttempt indication (RFC 6062 §4.4): XOR-PEER-ADDRESS and CONNECTION-ID.
 *
 * @returns the peer and connection id, or undefined when it must be discarded
 *
 * @example
 * ```ts
 * const attempt = parseConnectionAttempt(datagram);
 * if (attempt !== undefined) events.push({ type: "connection", ...attempt, direction: "incoming" });
 * ```
 */
export function parseConnectionAttempt(d: Uint8Array): ConnectionAttempt | undefined {
  try {
    const msg = decodeStunMessage(d);
    const peer = msg.get(XorPeerAddress);
    const connectionId = msg.get(ConnectionId);
    if (peer === undefined || connectionId === undefined || checkFingerprint(msg) === "invalid") return undefined;
    return { peer, connectionId };
  } catch {
    return undefined;
  }
}

/**
 * True when `d` is a 401 or 438 error response with a NONCE: what teaches a client the realm
 * and nonce to sign with (RFC 8489 §9.2.5), and so what {@link TurnClient.authChallenge} keeps.
 *
 * @example
 * ```ts
 * if (isChallenge(datagram)) challenge = datagram.slice(); // a 401 or 438 with NONCE: it signs ConnectionBinds
 * isChallenge(dataIndication); // → false
 * ```
 */
export function isChallenge(d: Uint8Array): boolean {
  try {
    const msg = decodeStunMessage(d);
    const code = msg.get(ErrorCode)?.code;
    return (code === 401 || code === 438) && msg.has(AttributeType.Nonce);
  } catch {
    return false;
  }
}
