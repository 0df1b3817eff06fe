/**
 * STUN numbers: the magic cookie, methods, classes and the attribute types of the IANA
 * "STUN Attributes" registry that STUN, TURN, ICE and NAT behaviour discovery define.
 *
 * @module
 */

/** RFC 8489 §5: the fixed value in bytes 4-7 of every STUN message since RFC 5389. */
export const MAGIC_COOKIE = 0x2112a442;

/** RFC 8489 §5: the STUN header is 20 bytes: type, length, magic cookie, 96-bit transaction id. */
export const HEADER_LENGTH = 20;

/** RFC 8489 §14: each attribute starts with a 4-byte type and length. */
export const ATTRIBUTE_HEADER_LENGTH = 4;

/** The 96-bit transaction id is 12 bytes. */
export const TRANSACTION_ID_LENGTH = 12;

/** RFC 8489 §14.7: FINGERPRINT is the CRC-32 XOR'ed with this ("STUN" in ASCII). */
export const FINGERPRINT_XOR = 0x5354554e;

/**
 * The four message classes (RFC 8489 §5), as the 2-bit C1C0 value.
 */
export const MessageClass = {
  Request: 0b00,
  Indication: 0b01,
  SuccessResponse: 0b10,
  ErrorResponse: 0b11,
} as const;
/** A message class value: 0 request, 1 indication, 2 success response, 3 error response. */
export type MessageClass = (typeof MessageClass)[keyof typeof MessageClass];

/** Lower-case names of the classes, as the CLI's JSON prints them. */
export const MESSAGE_CLASS_NAMES: readonly ["request", "indication", "success", "error"] = [
  "request",
  "indication",
  "success",
  "error",
];

/**
 * STUN methods: Binding (RFC 8489 §18.2), the TURN methods (RFC 8656 §18) and the TCP
 * allocation methods (RFC 6062 §6.1).
 */
export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
  Connect: 0x00a,
  ConnectionBind: 0x00b,
  ConnectionAttempt: 0x00c,
} as const;
/** A 12-bit STUN method number. Unknown methods are plain numbers. */
export type Method = number;

const METHOD_NAMES: ReadonlyMap<number, string> = new Map([
  [Method.Binding, "binding"],
  [Method.Allocate, "allocate"],
  [Method.Refresh, "refresh"],
  [Method.Send, "send"],
  [Method.Data, "data"],
  [Method.CreatePermission, "create-permission"],
  [Method.ChannelBind, "channel-bind"],
  [Method.Connect, "connect"],
  [Method.ConnectionBind, "connection-bind"],
  [Method.ConnectionAttempt, "connection-attempt"],
]);

/** Lower-case kebab name of a method (`"create-permission"`), or `"0x0ab"` for unknown ones. */
export function methodName(method: number): string {
  return METHOD_NAMES.get(method) ?? `0x${method.toString(16).padStart(3, "0")}`;
}

/** The method number for a name that {@link methodName} prints, or undefined. */
export function methodFromName(name: string): number | undefined {
  for (const [k, v] of METHOD_NAMES) if (v === name) return k;
  return undefined;
}

/**
 * Attribute types. Names are the IANA registry names in PascalCase so a reader can hold the code
 * against the RFC (`XOR-MAPPED-ADDRESS` → `XorMappedAddress`).
 */
export const AttributeType = {
  // RFC 8489 §18.3
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorMappedAddress: 0x0020,
  MessageIntegritySha256: 0x001c,
  PasswordAlgorithm: 0x001d,
  Userhash: 0x001e,
  PasswordAlgorithms: 0x8002,
  AlternateDomain: 0x8003,
  Software: 0x8022,
  AlternateServer: 0x8023,
  Fingerprint: 0x8028,
  // RFC 8656 §18 (TURN), RFC 6156 and RFC 8656 (address families)
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  EvenPort: 0x0018,
  RequestedTransport: 0x0019,
  DontFragment: 0x001a,
  ReservationToken: 0x0022,
  AdditionalAddressFamily: 0x8000,
  AddressErrorCode: 0x8001,
  Icmp: 0x8004,
  // RFC 6062 §6.2
  ConnectionId: 0x002a,
  // RFC 8445 §16.1
  Priority: 0x0024,
  UseCandidate: 0x0025,
  IceControlled: 0x8029,
  IceControlling: 0x802a,
  // RFC 5780 §7
  ChangeRequest: 0x0003,
  Padding: 0x0026,
  ResponsePort: 0x0027,
  CacheTimeout: 0x8027,
  ResponseOrigin: 0x802b,
  OtherAddress: 0x802c,
} as const;

/** RFC 8489 §14: types 0x0000-0x7FFF must be understood for the message to be processed. */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

/** Names of the registry's error codes (RFC 8489 §18.4, RFC 8656 §18, RFC 6062 §6.3). */
export const ERROR_REASONS: ReadonlyMap<number, string> = new Map([
  [300, "Try Alternate"],
  [400, "Bad Request"],
  [401, "Unauthenticated"],
  [403, "Forbidden"],
  [405, "Mobility Forbidden"],
  [420, "Unknown Attribute"],
  [437, "Allocation Mismatch"],
  [438, "Stale Nonce"],
  [440, "Address Family not Supported"],
  [441, "Wrong Credentials"],
  [442, "Unsupported Transport Protocol"],
  [443, "Peer Address Family Mismatch"],
  [446, "Connection Already Exists"],
  [447, "Connection Timeout or Failure"],
  [486, "Allocation Quota Reached"],
  [487, "Role Conflict"],
  [500, "Server Error"],
  [508, "Insufficient Capacity"],
]);
