/**
 * The STUN server side of ICE (RFC 8445 §7.3): deciding whether a Binding request is a valid
 * connectivity check, and for which ICE session.
 *
 * Checks, in order: FINGERPRINT (a wrong one is dropped, RFC 8489 §7.3); unknown
 * comprehension-required attributes (420, RFC 8489 §6.3.1); USERNAME and MESSAGE-INTEGRITY
 * present (else 400, RFC 8489 §9.1.3); USERNAME "<local ufrag>:<remote ufrag>" naming a session in
 * progress (else 401, RFC 8445 §7.3); MESSAGE-INTEGRITY valid with that session's password
 * (else 401); PRIORITY present (else 400, RFC 8445 §7.1.1 "MUST be included").
 *
 * @module
 */
import type { IntegrityKeys } from "../stun/integrity";
import { checkFingerprint, checkIntegrity } from "../stun/integrity";
import { IceControlled, IceControlling, Priority } from "../stun/attributes/ice";
import { Username } from "../stun/attributes/text";
import { AttributeType } from "../stun/constants";
import type { StunMessage } from "../stun/message";

/**
 * The local credentials of one ICE session, as the responder needs them.
 *
 * @example
 * ```ts
 * const local: ResponderCredentials = { ufrag: "alcU", keys: shortTermCredential("alcU", "8hhYkLoPq9cXzA1bC2dE3f") };
 * verifyRequest(check, [local]).kind; // → "ok" for a check signed with that password
 * ```
 */
export interface ResponderCredentials {
  readonly ufrag: string;
  /** Keys of the local password: requests are checked and responses signed with them. */
  readonly keys: IntegrityKeys;
}

/**
 * The outcome of {@link verifyRequest}.
 *
 * @example
 * ```ts
 * const v: RequestVerdict = verifyRequest(msg, sessions);
 * if (v.kind === "error") send(encodeError(builder, msg.transactionId, v.code, v.reason, undefined, software, v.unknown));
 * ```
 */
export type RequestVerdict =
  /** Not answered: the counters say why. */
  | { readonly kind: "drop"; readonly reason: "fingerprint" | "malformed" }
  /** Answered with an error response, unsigned (400, 401, 420). */
  | { readonly kind: "error"; readonly code: 400 | 401 | 420; readonly reason: string; readonly unknown?: readonly number[] }
  /** A valid check. */
  | {
      readonly kind: "ok";
      /** Index of the session whose credentials matched (0 = current). */
      readonly session: number;
      /** The part of USERNAME after the colon: the peer's ufrag (§7.3.1.4). */
      readonly remoteUfrag: string;
      readonly priority: number;
      readonly useCandidate: boolean;
      /** ICE-CONTROLLING's tiebreaker, if present. */
      readonly controlling: bigint | undefined;
      /** ICE-CONTROLLED's tiebreaker, if present. */
      readonly controlled: bigint | undefined;
    };

/** Attribute types an ICE agent understands in a Binding request (RFC 8489, RFC 8445 §16.1). */
const KNOWN = new Set<number>([
  AttributeType.Username,
  AttributeType.MessageIntegrity,
  AttributeType.MessageIntegritySha256,
  AttributeType.Fingerprint,
  AttributeType.Priority,
  AttributeType.UseCandidate,
  AttributeType.IceControlled,
  AttributeType.IceControlling,
  AttributeType.Software,
  AttributeType.XorMappedAddress,
  AttributeType.MappedAddress,
  AttributeType.ErrorCode,
  AttributeType.UnknownAttributes,
  AttributeType.Realm,
  AttributeType.Nonce,
]);

/**
 * Decides what to do with a Binding request.
 *
 * @param msg - a decoded Binding request
 * @param sessions - the local credentials of the sessions in progress, current first (after an
 *   ICE restart the previous session still answers on its selected pair, RFC 7675 §5.1)
 *
 * @example
 * ```ts
 * verifyRequest(decodeStunMessage(datagram), [{ ufrag: "alcU", keys }]);
 * // → { kind: "ok", session: 0, remoteUfrag: "bobU", priority: 1862270975, useCandidate: false, controlling: 4660n, controlled: undefined }
 * verifyRequest(decodeStunMessage(datagram), [{ ufrag: "zzzz", keys }]);
 * // → { kind: "error", code: 401, reason: "Unauthenticated: unknown username fragment" }
 * ```
 */
export function verifyRequest(msg: StunMessage, sessions: readonly ResponderCredentials[]): RequestVerdict {
  if (checkFingerprint(msg) === "invalid") return { kind: "drop", reason: "fingerprint" };
  const unknown = msg.unknownComprehensionRequired((t) => KNOWN.has(t));
  if (unknown.length > 0) return { kind: "error", code: 420, reason: "Unknown Attribute", unknown };
  let username: string | undefined;
  try {
    username = msg.get(Username);
  } catch {
    return { kind: "error", code: 400, reason: "Bad Request: malformed USERNAME" };
  }
  const hasMi = msg.has(AttributeType.MessageIntegrity) || msg.has(AttributeType.MessageIntegritySha256);
  if (username === undefined || !hasMi) return { kind: "error", code: 400, reason: "Bad Request: USERNAME and MESSAGE-INTEGRITY are required" };
  const colon = username.indexOf(":");
  if (colon < 0) return { kind: "error", code: 401, reason: "Unauthenticated: USERNAME is not <ufrag>:<ufrag>" };
  const localUfrag = username.slice(0, colon);
  const session = sessions.findIndex((s) => s.ufrag === localUfrag);
  if (session < 0) return { kind: "error", code: 401, reason: "Unauthenticated: unknown username fragment" };
  if (checkIntegrity(msg, sessions[session]!.keys) !== "valid") return { kind: "error", code: 401, reason: "Unauthenticated: MESSAGE-INTEGRITY mismatch" };
  let priority: number | undefined;
  let controlling: bigint | undefined;
  let controlled: bigint | undefined;
  try {
    priority = msg.get(Priority);
    controlling = msg.get(IceControlling);
    controlled = msg.get(IceControlled);
  } catch {
    return { kind: "error", code: 400, reason: "Bad Request: malformed ICE attribute" };
  }
  if (priority === undefined) return { kind: "error", code: 400, reason: "Bad Request: PRIORITY is required" };
  return {
    kind: "ok",
    session,
    remoteUfrag: username.slice(colon + 1),
    priority,
    useCandidate: msg.has(AttributeType.UseCandidate),
    controlling,
    controlled,
  };
}

/**
 * RFC 8445 §7.3.1.1, for a full agent: what a check's ICE-CONTROLLING or ICE-CONTROLLED
 * attribute means for an agent in `role` with `tiebreaker`.
 *
 * - controlling, and the request says controlling: "If the agent's tiebreaker value is larger
 *   than or equal to the contents of the ICE-CONTROLLING attribute, the agent generates a Binding
 *   error response [...] 487 (Role Conflict) but retains its role"; else it switches to controlled;
 * - controlled, and the request says controlled: "If the agent's tiebreaker value is larger than
 *   or equal to the contents of the ICE-CONTROLLED attribute, the agent switches to the
 *   controlling role"; else 487;
 * - otherwise there is no conflict.
 *
 * @returns `"487"`, the role to switch to, or `"none"`
 *
 * @example
 * ```ts
 * resolveRoleConflict("controlling", 5n, { controlling: 9n, controlled: undefined }); // → "controlled": the larger tiebreaker wins
 * resolveRoleConflict("controlling", 9n, { controlling: 5n, controlled: undefined }); // → "487"
 * resolveRoleConflict("controlled", 9n, { controlling: 5n, controlled: undefined });  // → "none"
 * ```
 */
export function resolveRoleConflict(
  role: "controlling" | "controlled",
  tiebreaker: bigint,
  check: { readonly controlling: bigint | undefined; readonly controlled: bigint | undefined },
): "487" | "controlling" | "controlled" | "none" {
  if (role === "controlling" && check.controlling !== undefined) return tiebreaker >= check.controlling ? "487" : "controlled";
  if (role === "controlled" && check.controlled !== undefined) return tiebreaker >= check.controlled ? "controlling" : "487";
  return "none";
}
