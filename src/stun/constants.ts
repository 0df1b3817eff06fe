/**
 * STUN numbers: the magic cookie, methods, classes and the attribute types of the IANA
 * "STUN Attributes" registry that STUN, TURN, ICE and NAT behaviour discovery define.
 *
 * @module
 */

/**
 * RFC 8489 §5: the fixed value in bytes 4-7 of every STUN message since RFC 5389.
 *
 * @example
 * ```ts
 * readU32(datagram, 4) === MAGIC_COOKIE // → true from RFC 5389/8489 peers, false from RFC 3489 ones
 * ```
 */
export const MAGIC_COOKIE = 0x2112a442;

/**
 * RFC 8489 §5: the STUN header is 20 bytes: type, length, magic cookie, 96-bit transaction id.
 *
 * @example
 * ```ts
 * const whole = datagram.length === HEADER_LENGTH + readU16(datagram, 2); // the length field excludes the header
 * ```
 */
export const HEADER_LENGTH = 20;

/**
 * RFC 8489 §14: each attribute starts with a 4-byte type and length.
 *
 * @example
 * ```ts
 * ATTRIBUTE_HEADER_LENGTH + 9 + paddingLength(9) // → 16: the bytes USERNAME "evtj:h6vY" takes
 * ```
 */
export const ATTRIBUTE_HEADER_LENGTH = 4;

/**
 * The 96-bit transaction id is 12 bytes.
 *
 * @example
 * ```ts
 * datagram.subarray(8, 8 + TRANSACTION_ID_LENGTH) // the transaction id, after the magic cookie
 * ```
 */
export const TRANSACTION_ID_LENGTH = 12;

/**
 * RFC 8489 §14.7: FINGERPRINT is the CRC-32 XOR'ed with this ("STUN" in ASCII).
 *
 * @example
 * ```ts
 * // What checkFingerprint computes, FINGERPRINT being the last 8 bytes:
 * (crc32(msg.raw, 0, msg.raw.length - 8) ^ FINGERPRINT_XOR) >>> 0 === msg.get(Fingerprint) // → true
 * ```
 */
export const FINGERPRINT_XOR = 0x5354554e;

/**
 * The four message classes (RFC 8489 §5), as the 2-bit C1C0 value.
 *
 * @example
 * ```ts
 * builder.begin(Method.Binding, MessageClass.Request, newTransactionId());
 * msg.messageClass === MessageClass.SuccessResponse // → true for a Binding success (type 0x0101)
 * ```
 */
export const MessageClass = {
  Request: 0b00,
  Indication: 0b01,
  SuccessResponse: 0b10,
  ErrorResponse: 0b11,
} as const;
/**
 * A message class value: 0 request, 1 indication, 2 success response, 3 error response.
 *
 * @example
 * ```ts
 * function className(c: MessageClass): string {
 *   return MESSAGE_CLASS_NAMES[c];
 * }
 * className(MessageClass.ErrorResponse) // → "error"
 * ```
 */
export type MessageClass = (typeof MessageClass)[keyof typeof MessageClass];

/**
 * Lower-case names of the classes, as the CLI's JSON prints them.
 *
 * @example
 * ```ts
 * MESSAGE_CLASS_NAMES[msg.messageClass] // → "success" for a success response
 * ```
 */
export const MESSAGE_CLASS_NAMES: readonly ["request", "indication", "success", "error"] = [
  "request",
  "indication",
  "success",
  "error",
];

/**
 * STUN methods: Binding (RFC 8489 §18.2), the TURN methods (RFC 8656 §18) and the TCP
 * allocation methods (RFC 6062 §6.1).
 *
 * @example
 * ```ts
 * Method.Allocate // → 0x003
 * msg.method === Method.Binding && msg.messageClass === MessageClass.Request
 * ```
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
/**
 * A 12-bit STUN method number. Unknown methods are plain numbers.
 *
 * @example
 * ```ts
 * const method: Method = msg.method;
 * methodName(method) // → "binding", or "0x0ab" for a method icekit does not know
 * ```
 */
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

/**
 * Lower-case kebab name of a method (`"create-permission"`), or `"0x0ab"` for unknown ones.
 *
 * @example
 * ```ts
 * methodName(Method.CreatePermission) // → "create-permission"
 * methodName(0x0ab)                   // → "0x0ab"
 * ```
 */
export function methodName(method: number): string {
  return METHOD_NAMES.get(method) ?? `0x${method.toString(16).padStart(3, "0")}`;
}

/**
 * The method number for a name that {@link methodName} prints, or undefined.
 *
 * @example
 * ```ts
 * methodFromName("channel-bind") // → 0x009 (Method.ChannelBind)
 * methodFromName("ChannelBind")  // → undefined
 * ```
 */
export function methodFromName(name: string): number | undefined {
  for (const [k, v] of METHOD_NAMES) if (v === name) return k;
  return undefined;
}

/**
 * Attribute types. Names are the IANA registry names in PascalCase so a reader can hold the code
 * against the RFC (`XOR-MAPPED-ADDRESS` → `XorMappedAddress`).
 *
 * @example
 * ```ts
 * AttributeType.XorMappedAddress // → 0x0020
 * msg.has(AttributeType.MessageIntegrity) // is the request signed?
 * ```
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

/**
 * RFC 8489 §14: types 0x0000-0x7FFF must be understood for the message to be processed.
 *
 * @example
 * ```ts
 * isComprehensionRequired(AttributeType.Username) // → true (0x0006)
 * isComprehensionRequired(AttributeType.Software) // → false (0x8022): may be ignored
 * ```
 */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

/**
 * Names of the registry's error codes (RFC 8489 §18.4, RFC 8656 §18, RFC 6062 §6.3).
 *
 * @example
 * ```ts
 * ERROR_REASONS.get(438) // → "Stale Nonce"
 * builder.add(ErrorCode, { code: 487, reason: ERROR_REASONS.get(487)! }); // "Role Conflict"
 * ```
 */
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
