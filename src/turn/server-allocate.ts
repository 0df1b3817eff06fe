/**
 * Reading an Allocate request the way RFC 8656 §7.2 lists its checks, and writing the success
 * response; the TURN server's state changes stay in `server.ts`.
 *
 * @module
 */
import type { AddressFamily } from "../bytes/ip";
import { XorMappedAddress, XorRelayedAddress } from "../stun/attributes/address";
import { AddressErrorCode } from "../stun/attributes/error";
import { AdditionalAddressFamily, EvenPort, IpProtocol, Lifetime, RequestedAddressFamily, RequestedTransport, ReservationToken } from "../stun/attributes/turn";
import type { AttributeEntry } from "../stun/client";
import { attr } from "../stun/client";
import { AttributeType } from "../stun/constants";
import type { StunMessage } from "../stun/message";
import type { StunServerReply } from "../stun/server-types";
import type { Allocation } from "./allocation";

/**
 * An error reply with its reason phrase.
 *
 * @example
 * ```ts
 * errorReply(486, "Allocation Quota Reached"); // → { kind: "error", code: 486, reason: "Allocation Quota Reached" }
 * ```
 */
export function errorReply(code: number, reason: string): StunServerReply {
  return { kind: "error", code, reason };
}

/**
 * What an Allocate asks for, once its attributes passed §7.2 checks 3 and 5-9.
 *
 * @example
 * ```ts
 * const req = readAllocate(msg, checks);
 * if (isAllocateRequest(req)) console.log(req.families, req.evenPort, req.lifetime); // → ["IPv4"] "any" 1200
 * ```
 */
export interface AllocateRequest {
  /** RESERVATION-TOKEN, valid (check 5). */
  readonly token: Uint8Array | undefined;
  /** The relayed families: `[family]`, or `["IPv4", "IPv6"]` for ADDITIONAL-ADDRESS-FAMILY. */
  readonly families: readonly AddressFamily[];
  /** EVEN-PORT: absent, R = 0, or R = 1. */
  readonly evenPort: "any" | "even" | "pair";
  /** LIFETIME as requested, if present. */
  readonly lifetime: number | undefined;
}

/**
 * The server state the checks consult.
 *
 * @example
 * ```ts
 * const checks: AllocateChecks = {
 *   reservationFamily: (token) => reservations.get(toHex(token))?.slot.address.family,
 *   supports: (family) => family === "IPv4", // an IPv4-only server: REQUESTED-ADDRESS-FAMILY IPv6 gets 440
 * };
 * ```
 */
export interface AllocateChecks {
  /** The family of the reservation `token` names, or undefined when it is unknown or expired. */
  reservationFamily(token: Uint8Array): AddressFamily | undefined;
  /** Whether the server relays `family`. */
  supports(family: AddressFamily): boolean;
}

/**
 * RFC 8656 §7.2 checks 3 to 9, in order (1, authentication, and 2, the 5-tuple, come first;
 * 10, quotas, after):
 *
 * 3. REQUESTED-TRANSPORT missing → 400 (malformed: the attribute decoder throws, the STUN layer
 *    answers 400); not UDP → 442.
 * 4. DONT-FRAGMENT: the STUN layer's 420 unless the server sets DF.
 * 5. RESERVATION-TOKEN with EVEN-PORT or a family attribute → 400; not valid → 508.
 * 6. REQUESTED-ADDRESS-FAMILY with ADDITIONAL-ADDRESS-FAMILY → 400.
 * 7. A family the server does not relay (IPv4 when none is named) → 440.
 * 8. EVEN-PORT with R and ADDITIONAL-ADDRESS-FAMILY → 400.
 * 9. ADDITIONAL-ADDRESS-FAMILY other than IPv6 → 400.
 *
 * @returns the request, or the error reply
 *
 * @example
 * ```ts
 * const checks: AllocateChecks = { reservationFamily: () => undefined, supports: (f) => f === "IPv4" };
 * readAllocate(allocate, checks); // REQUESTED-TRANSPORT 17, LIFETIME 1200:
 * // → { token: undefined, families: ["IPv4"], evenPort: "any", lifetime: 1200 }
 * readAllocate(allocateIPv6, checks); // REQUESTED-ADDRESS-FAMILY IPv6:
 * // → { kind: "error", code: 440, reason: "Address Family not Supported: no IPv6 relay address" }
 * ```
 */
export function readAllocate(msg: StunMessage, checks: AllocateChecks): AllocateRequest | StunServerReply {
  // 3.
  if (!msg.has(AttributeType.RequestedTransport)) return errorReply(400, "Bad Request: no REQUESTED-TRANSPORT");
  const protocol = msg.get(RequestedTransport)!;
  if (protocol !== IpProtocol.UDP) return errorReply(442, `Unsupported Transport Protocol: ${protocol} (this server relays UDP, 17)`);
  // 5.
  const token = msg.get(ReservationToken);
  const even = msg.get(EvenPort);
  const requested = msg.get(RequestedAddressFamily);
  const additional = msg.get(AdditionalAddressFamily);
  if (token !== undefined && (even !== undefined || requested !== undefined || additional !== undefined)) {
    return errorReply(400, "Bad Request: RESERVATION-TOKEN with EVEN-PORT or an address family");
  }
  let reserved: AddressFamily | undefined;
  if (token !== undefined) {
    reserved = checks.reservationFamily(token);
    if (reserved === undefined) return errorReply(508, "Insufficient Capacity: no such reservation (expired or never issued)");
  }
  // 6.
  if (requested !== undefined && additional !== undefined) return errorReply(400, "Bad Request: REQUESTED-ADDRESS-FAMILY with ADDITIONAL-ADDRESS-FAMILY");
  // 7. "If the REQUESTED-ADDRESS-FAMILY attribute is absent and the server supports the IPv4
  // address family, the server MUST allocate an IPv4 relayed transport address".
  const primary: AddressFamily = reserved ?? requested ?? "IPv4";
  if (!checks.supports(primary)) return errorReply(440, `Address Family not Supported: no ${primary} relay address`);
  // 8.
  if (even?.reserve === true && additional !== undefined) return errorReply(400, "Bad Request: EVEN-PORT with the R bit and ADDITIONAL-ADDRESS-FAMILY");
  // 9. "The attribute value of 0x02 (IPv6 address) is the only valid value" (§18.11).
  if (additional === "IPv4") return errorReply(400, "Bad Request: ADDITIONAL-ADDRESS-FAMILY must be IPv6");
  return {
    token,
    families: additional !== undefined ? ["IPv4", "IPv6"] : [primary],
    evenPort: even === undefined ? "any" : even.reserve ? "pair" : "even",
    lifetime: msg.get(Lifetime),
  };
}

/**
 * True for an {@link AllocateRequest}, false for an error reply.
 *
 * @example
 * ```ts
 * isAllocateRequest(errorReply(440, "Address Family not Supported")); // → false
 * isAllocateRequest(readAllocate(msg, checks)); // → true when checks 3 to 9 passed
 * ```
 */
export function isAllocateRequest(x: AllocateRequest | StunServerReply): x is AllocateRequest {
  return (x as AllocateRequest).families !== undefined;
}

/**
 * RFC 8656 §7.2, §8.2: "the minimum of the client's proposed lifetime and the server's maximum
 * allowed lifetime. If this computed value is greater than the default lifetime, then the
 * server uses the computed lifetime ... Otherwise, the server uses the default lifetime."
 *
 * @example
 * ```ts
 * grantLifetime(undefined, 600, 3600); // → 600
 * grantLifetime(300, 600, 3600);       // → 600: less than the default gets the default
 * grantLifetime(7200, 600, 3600);      // → 3600: capped at the maximum
 * ```
 */
export function grantLifetime(requested: number | undefined, defaultLifetime: number, maxLifetime: number): number {
  if (requested === undefined) return defaultLifetime;
  const capped = Math.min(requested, maxLifetime);
  return capped > defaultLifetime ? capped : defaultLifetime;
}

/**
 * The Allocate success response (RFC 8656 §7.2): XOR-RELAYED-ADDRESS (one or two), LIFETIME
 * (the time left, so that a retransmission gets it too), RESERVATION-TOKEN, XOR-MAPPED-ADDRESS
 * and ADDRESS-ERROR-CODE for a dual allocation half granted.
 *
 * @example
 * ```ts
 * respond({ kind: "success", attributes: allocateSuccess(allocation, now) });
 * // → XOR-RELAYED-ADDRESS 192.0.2.1:60533, LIFETIME 600 (seconds left), XOR-MAPPED-ADDRESS of the client
 * ```
 */
export function allocateSuccess(a: Allocation, now: number): AttributeEntry[] {
  const out: AttributeEntry[] = a.relays.map((x) => attr(XorRelayedAddress, x.address));
  const first = a.relays[0];
  out.push(attr(Lifetime, first === undefined ? 0 : Math.max(0, Math.ceil((first.expiresAt - now) / 1000))));
  if (a.reservationToken !== undefined) out.push(attr(ReservationToken, a.reservationToken));
  out.push(attr(XorMappedAddress, a.fiveTuple.remote));
  if (a.addressError !== undefined) out.push(attr(AddressErrorCode, a.addressError));
  return out;
}
