/**
 * The table of every attribute codec icekit knows, by type number, and the raw codec that
 * carries unknown attributes through a decode/encode round trip unchanged.
 *
 * @module
 */
import type { AttributeCodec } from "../attribute";
import { valueError } from "../attribute";
import { AlternateServer, MappedAddress, OtherAddress, ResponseOrigin, XorMappedAddress, XorPeerAddress, XorRelayedAddress } from "./address";
import { Fingerprint, MessageIntegrity, MessageIntegritySha256, PasswordAlgorithmAttr, PasswordAlgorithms, Userhash } from "./auth";
import { AddressErrorCode, ErrorCode, UnknownAttributes } from "./error";
import { IceControlled, IceControlling, Priority, UseCandidate } from "./ice";
import { CacheTimeout, ChangeRequest, Padding, ResponsePort } from "./nat-behavior";
import { AlternateDomain, Nonce, Realm, Software, Username } from "./text";
import {
  AdditionalAddressFamily,
  ChannelNumber,
  ConnectionId,
  Data,
  DontFragment,
  EvenPort,
  Icmp,
  Lifetime,
  RequestedAddressFamily,
  RequestedTransport,
  ReservationToken,
} from "./turn";

/**
 * Every attribute codec icekit implements, in type-number order.
 *
 * @example
 * ```ts
 * KNOWN_ATTRIBUTES.length // → 40
 * KNOWN_ATTRIBUTES.map((c) => c.name) // → ["MAPPED-ADDRESS", "CHANGE-REQUEST", "USERNAME", …]
 * ```
 */
export const KNOWN_ATTRIBUTES: readonly AttributeCodec<unknown>[] = [
  MappedAddress,
  ChangeRequest,
  Username,
  MessageIntegrity,
  ErrorCode,
  UnknownAttributes,
  ChannelNumber,
  Lifetime,
  XorPeerAddress,
  Data,
  Realm,
  Nonce,
  XorRelayedAddress,
  RequestedAddressFamily,
  EvenPort,
  RequestedTransport,
  DontFragment,
  MessageIntegritySha256,
  PasswordAlgorithmAttr,
  Userhash,
  XorMappedAddress,
  ReservationToken,
  Priority,
  UseCandidate,
  Padding,
  ResponsePort,
  ConnectionId,
  AdditionalAddressFamily,
  AddressErrorCode,
  PasswordAlgorithms,
  AlternateDomain,
  Icmp,
  Software,
  AlternateServer,
  CacheTimeout,
  Fingerprint,
  IceControlled,
  IceControlling,
  ResponseOrigin,
  OtherAddress,
] as readonly AttributeCodec<unknown>[];

let byType: Map<number, AttributeCodec<unknown>> | undefined;

/**
 * The codec for attribute `type`, or undefined when icekit does not know the type.
 *
 * @example
 * ```ts
 * codecForType(0x0020)?.name // → "XOR-MAPPED-ADDRESS"
 * codecForType(0x8030)       // → undefined
 * ```
 */
export function codecForType(type: number): AttributeCodec<unknown> | undefined {
  // Built on first use so that importing the module has no side effects.
  if (byType === undefined) byType = new Map(KNOWN_ATTRIBUTES.map((c) => [c.type, c]));
  return byType.get(type);
}

/**
 * IANA name of attribute `type`, or its hex form (`"0x8030"`) when unknown.
 *
 * @example
 * ```ts
 * attributeName(0x8022) // → "SOFTWARE"
 * attributeName(0x8030) // → "0x8030"
 * ```
 */
export function attributeName(type: number): string {
  return codecForType(type)?.name ?? `0x${type.toString(16).padStart(4, "0")}`;
}

/**
 * The type number of an IANA attribute name, or undefined.
 *
 * @example
 * ```ts
 * attributeTypeFromName("XOR-MAPPED-ADDRESS") // → 0x0020
 * attributeTypeFromName("ORIGIN")             // → undefined
 * ```
 */
export function attributeTypeFromName(name: string): number | undefined {
  for (const c of KNOWN_ATTRIBUTES) if (c.name === name) return c.type;
  return undefined;
}

/**
 * A codec that carries any attribute's value as raw bytes (a view into the message), so that
 * attributes icekit does not know survive a decode/encode round trip byte for byte.
 *
 * @param type - attribute type number
 * @example
 * ```ts
 * builder.add(rawCodec(0x8030), Uint8Array.of(1, 2, 3, 4));
 * msg.get(rawCodec(0x8030)) // → the 4 value bytes, a view into the message
 * ```
 */
export function rawCodec(type: number): AttributeCodec<Uint8Array> {
  const name = attributeName(type);
  return {
    type,
    name,
    decode: (msg, offset, length) => msg.subarray(offset, offset + length),
    encodedLength(v) {
      if (!(v instanceof Uint8Array) || v.length > 0xffff) throw valueError(name, "pass a Uint8Array of at most 65535 bytes");
      return v.length;
    },
    encode(v, out, offset) {
      out.set(v, offset);
    },
  };
}
