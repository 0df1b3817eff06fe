/**
 * Address attributes: MAPPED-ADDRESS and the XOR family (XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS,
 * XOR-RELAYED-ADDRESS), plus the plain-address attributes that share MAPPED-ADDRESS's format
 * (ALTERNATE-SERVER, RESPONSE-ORIGIN, OTHER-ADDRESS).
 *
 * One codec serves every attribute of a format; only the type number differs.
 *
 * @module
 */
import type { AddressFamily, TransportAddress } from "../../bytes/ip";
import { formatIPv4, formatIPv6, parseIPv4Into, parseIPv6Into } from "../../bytes/ip";
import { AttributeType } from "../constants";
import type { AttributeCodec } from "../attribute";
import { attributeError, valueError, checkInteger, checkObject, readU16, writeU16 } from "../attribute";

/**
 * RFC 8489 §14.1: family 0x01 is IPv4, 0x02 is IPv6.
 *
 * @example
 * ```ts
 * msg.raw[valueOffset + 1] === FAMILY_IPV4 // the family byte of an address attribute: 0x01
 * ```
 */
export const FAMILY_IPV4 = 0x01;
/**
 * RFC 8489 §14.1: family 0x02 is IPv6.
 *
 * @example
 * ```ts
 * familyCode("IPv6") === FAMILY_IPV6 // → true (0x02)
 * ```
 */
export const FAMILY_IPV6 = 0x02;

/**
 * Wire family number of an {@link AddressFamily}.
 *
 * @example
 * ```ts
 * familyCode("IPv4") // → 0x01
 * familyCode("IPv6") // → 0x02
 * ```
 */
export function familyCode(family: AddressFamily): number {
  return family === "IPv4" ? FAMILY_IPV4 : FAMILY_IPV6;
}

const scratch = new Uint8Array(16);

function checkedAddress(name: string, a: TransportAddress): number {
  checkObject(name, a, "{ family, address, port }");
  checkInteger(`${name} port`, a.port, 0, 65535);
  if (a.family === "IPv4") {
    if (!parseIPv4Into(a.address, scratch)) throw valueError(name, `'${a.address}' is not an IPv4 address`);
    return 8;
  }
  if (a.family === "IPv6") {
    if (!parseIPv6Into(a.address, scratch)) throw valueError(name, `'${a.address}' is not an IPv6 address`);
    return 20;
  }
  throw valueError(name, `family must be "IPv4" or "IPv6", got ${String((a as { family: unknown }).family)}`);
}

function decodeAddress(name: string, msg: Uint8Array, offset: number, length: number, xor: boolean): TransportAddress {
  if (length < 4) throw attributeError("BAD_LENGTH", name, offset, `length is ${length}, must be 8 (IPv4) or 20 (IPv6)`);
  // RFC 8489 §14.1: the first byte MUST be ignored by receivers.
  const family = msg[offset + 1]!;
  let port = readU16(msg, offset + 2);
  if (xor) port ^= 0x2112; // §14.2: X-Port is XOR'ed with the cookie's most significant 16 bits.
  if (family === FAMILY_IPV4) {
    if (length !== 8) throw attributeError("BAD_LENGTH", name, offset, `IPv4 value length is ${length}, must be 8`);
    if (!xor) return { family: "IPv4", address: formatIPv4(msg, offset + 4), port };
    // X-Address is XOR'ed with the magic cookie, which sits at msg[4..8).
    for (let i = 0; i < 4; i++) scratch[i] = msg[offset + 4 + i]! ^ msg[4 + i]!;
    return { family: "IPv4", address: formatIPv4(scratch), port };
  }
  if (family === FAMILY_IPV6) {
    if (length !== 20) throw attributeError("BAD_LENGTH", name, offset, `IPv6 value length is ${length}, must be 20`);
    if (!xor) return { family: "IPv6", address: formatIPv6(msg, offset + 4), port };
    // IPv6: XOR'ed with the cookie followed by the transaction id, i.e. msg[4..20).
    for (let i = 0; i < 16; i++) scratch[i] = msg[offset + 4 + i]! ^ msg[4 + i]!;
    return { family: "IPv6", address: formatIPv6(scratch), port };
  }
  throw attributeError("BAD_FAMILY", name, offset, `family 0x${family.toString(16).padStart(2, "0")} is not IPv4 (0x01) or IPv6 (0x02)`);
}

function encodeAddress(a: TransportAddress, out: Uint8Array, offset: number, xor: boolean): void {
  out[offset] = 0;
  const v6 = a.family === "IPv6";
  out[offset + 1] = v6 ? FAMILY_IPV6 : FAMILY_IPV4;
  writeU16(out, offset + 2, xor ? a.port ^ 0x2112 : a.port);
  const n = v6 ? 16 : 4;
  if (v6) parseIPv6Into(a.address, out, offset + 4);
  else parseIPv4Into(a.address, out, offset + 4);
  if (xor) for (let i = 0; i < n; i++) out[offset + 4 + i]! ^= out[4 + i]!;
}

/**
 * A codec for an attribute with MAPPED-ADDRESS's format (RFC 8489 §14.1).
 *
 * @param type - attribute type number
 * @param name - IANA name
 * @example
 * ```ts
 * const SourceAddress = plainAddressCodec(0x0004, "SOURCE-ADDRESS"); // RFC 3489 §11.2.3
 * classicResponse.get(SourceAddress) // → { family: "IPv4", address: "192.0.2.1", port: 3478 }
 * ```
 */
export function plainAddressCodec(type: number, name: string): AttributeCodec<TransportAddress> {
  return {
    type,
    name,
    decode: (msg, offset, length) => decodeAddress(name, msg, offset, length, false),
    encodedLength: (v) => checkedAddress(name, v),
    encode: (v, out, offset) => encodeAddress(v, out, offset, false),
  };
}

/**
 * A codec for an attribute with XOR-MAPPED-ADDRESS's format (RFC 8489 §14.2): port XOR'ed with
 * the top of the magic cookie, address with the cookie (IPv4) or cookie and transaction id
 * (IPv6).
 *
 * @param type - attribute type number
 * @param name - IANA name
 * @example
 * ```ts
 * // The type pre-RFC 5389 servers used for XOR-MAPPED-ADDRESS:
 * const XorMappedAddressOld = xorAddressCodec(0x8020, "XOR-MAPPED-ADDRESS-OLD");
 * response.get(XorMappedAddress) ?? response.get(XorMappedAddressOld)
 * ```
 */
export function xorAddressCodec(type: number, name: string): AttributeCodec<TransportAddress> {
  return {
    type,
    name,
    decode: (msg, offset, length) => decodeAddress(name, msg, offset, length, true),
    encodedLength: (v) => checkedAddress(name, v),
    encode: (v, out, offset) => encodeAddress(v, out, offset, true),
  };
}

/**
 * MAPPED-ADDRESS (RFC 8489 §14.1): the reflexive address in the clear, for RFC 3489 clients.
 *
 * @example
 * ```ts
 * classicResponse.get(MappedAddress) // → { family: "IPv4", address: "192.0.2.1", port: 32853 }
 * builder.add(MappedAddress, received.remote); // what a server answers an RFC 3489 client
 * ```
 */
export const MappedAddress = /* @__PURE__ */ plainAddressCodec(AttributeType.MappedAddress, "MAPPED-ADDRESS");
/**
 * XOR-MAPPED-ADDRESS (RFC 8489 §14.2): the client's reflexive transport address.
 *
 * @example
 * ```ts
 * response.get(XorMappedAddress) // → { family: "IPv4", address: "192.0.2.1", port: 32853 } (RFC 5769 §2.2)
 * builder.add(XorMappedAddress, received.remote);
 * ```
 */
export const XorMappedAddress = /* @__PURE__ */ xorAddressCodec(AttributeType.XorMappedAddress, "XOR-MAPPED-ADDRESS");
/**
 * XOR-PEER-ADDRESS (RFC 8656 §18.3): a peer's address as the TURN server sees it.
 *
 * @example
 * ```ts
 * builder.begin(Method.CreatePermission, MessageClass.Request, newTransactionId())
 *   .add(XorPeerAddress, transportAddress("198.51.100.7", 0));
 * request.getAll(XorPeerAddress) // → every peer the request names
 * ```
 */
export const XorPeerAddress = /* @__PURE__ */ xorAddressCodec(AttributeType.XorPeerAddress, "XOR-PEER-ADDRESS");
/**
 * XOR-RELAYED-ADDRESS (RFC 8656 §18.5): the relayed transport address the server allocated.
 *
 * @example
 * ```ts
 * allocateResponse.get(XorRelayedAddress) // → { family: "IPv4", address: "203.0.113.5", port: 49152 }
 * ```
 */
export const XorRelayedAddress = /* @__PURE__ */ xorAddressCodec(AttributeType.XorRelayedAddress, "XOR-RELAYED-ADDRESS");
/**
 * ALTERNATE-SERVER (RFC 8489 §14.15): where a 300 Try Alternate sends the client; MAPPED-ADDRESS format.
 *
 * @example
 * ```ts
 * if (errorResponse.get(ErrorCode)?.code === 300) {
 *   errorResponse.get(AlternateServer) // → { family: "IPv4", address: "192.0.2.20", port: 3478 }: retry there
 * }
 * ```
 */
export const AlternateServer = /* @__PURE__ */ plainAddressCodec(AttributeType.AlternateServer, "ALTERNATE-SERVER");
/**
 * RESPONSE-ORIGIN (RFC 5780 §7.3): the address the response was sent from.
 *
 * @example
 * ```ts
 * // After CHANGE-REQUEST { changeIp: true, changePort: true } to 192.0.2.1:3478:
 * response.get(ResponseOrigin) // → { family: "IPv4", address: "192.0.2.2", port: 3479 }
 * ```
 */
export const ResponseOrigin = /* @__PURE__ */ plainAddressCodec(AttributeType.ResponseOrigin, "RESPONSE-ORIGIN");
/**
 * OTHER-ADDRESS (RFC 5780 §7.4): the server's alternate address and port for behaviour tests.
 *
 * @example
 * ```ts
 * response.get(OtherAddress) // → { family: "IPv4", address: "192.0.2.2", port: 3479 }: A2:P2
 * // undefined: the server does not support RFC 5780 behaviour discovery
 * ```
 */
export const OtherAddress = /* @__PURE__ */ plainAddressCodec(AttributeType.OtherAddress, "OTHER-ADDRESS");

/**
 * Decodes a 1-byte family number (REQUESTED-ADDRESS-FAMILY and friends).
 *
 * @example
 * ```ts
 * familyFromCode("REQUESTED-ADDRESS-FAMILY", 0x02, offset) // → "IPv6"
 * familyFromCode("REQUESTED-ADDRESS-FAMILY", 0x03, offset) // throws StunDecodeError BAD_FAMILY
 * ```
 */
export function familyFromCode(name: string, code: number, offset: number): AddressFamily {
  if (code === FAMILY_IPV4) return "IPv4";
  if (code === FAMILY_IPV6) return "IPv6";
  throw attributeError("BAD_FAMILY", name, offset, `family 0x${code.toString(16).padStart(2, "0")} is not IPv4 (0x01) or IPv6 (0x02)`);
}
