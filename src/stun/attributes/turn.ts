/**
 * TURN attributes (RFC 8656 §18, RFC 6062 §6.2): CHANNEL-NUMBER, LIFETIME, DATA,
 * REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY, EVEN-PORT, REQUESTED-TRANSPORT,
 * DONT-FRAGMENT, RESERVATION-TOKEN, ICMP and CONNECTION-ID. The XOR address attributes are in
 * `address.ts`, ADDRESS-ERROR-CODE in `error.ts`.
 *
 * @module
 */
import type { AddressFamily } from "../../bytes/ip";
import { AttributeType } from "../constants";
import type { AttributeCodec } from "../attribute";
import { checkInteger, checkObject, expectLength, readU16, readU32, valueError, writeU16, writeU32 } from "../attribute";
import { familyCode, familyFromCode } from "./address";
import { flagCodec } from "./ice";

/**
 * A codec for a 32-bit unsigned integer attribute.
 *
 * @param type - attribute type number
 * @param name - IANA name
 * @example
 * ```ts
 * const Lifetime = u32Codec(AttributeType.Lifetime, "LIFETIME"); // how LIFETIME is made
 * builder.add(Lifetime, 600);
 * ```
 */
export function u32Codec(type: number, name: string): AttributeCodec<number> {
  return {
    type,
    name,
    decode(msg, offset, length) {
      expectLength(name, offset, length, 4);
      return readU32(msg, offset);
    },
    encodedLength(v) {
      checkInteger(name, v, 0, 0xffffffff);
      return 4;
    },
    encode(v, out, offset) {
      writeU32(out, offset, v);
    },
  };
}

/**
 * CHANNEL-NUMBER (RFC 8656 §18.1): a 16-bit channel number and 16 reserved bits. The decoder
 * returns any 16-bit value; whether it is in 0x4000-0x4FFF is the TURN server's check (it answers
 * 400), not a format error.
 *
 * @example
 * ```ts
 * builder.add(ChannelNumber, 0x4000); // in a ChannelBind request
 * request.get(ChannelNumber) // → 0x4000
 * ```
 */
export const ChannelNumber: AttributeCodec<number> = {
  type: AttributeType.ChannelNumber,
  name: "CHANNEL-NUMBER",
  decode(msg, offset, length) {
    expectLength("CHANNEL-NUMBER", offset, length, 4);
    return readU16(msg, offset);
  },
  encodedLength(v) {
    checkInteger("CHANNEL-NUMBER", v, 0, 0xffff);
    return 4;
  },
  encode(v, out, offset) {
    writeU16(out, offset, v);
    out[offset + 2] = 0;
    out[offset + 3] = 0;
  },
};

/**
 * LIFETIME (RFC 8656 §18.2): seconds until the allocation expires without a refresh.
 *
 * @example
 * ```ts
 * allocateResponse.get(Lifetime) // → 600 (seconds)
 * builder.add(Lifetime, 0); // in a Refresh: delete the allocation
 * ```
 */
export const Lifetime = /* @__PURE__ */ u32Codec(AttributeType.Lifetime, "LIFETIME");

/**
 * DATA (RFC 8656 §18.4): application data of a Send or Data indication; a view into the message.
 *
 * @example
 * ```ts
 * builder.begin(Method.Send, MessageClass.Indication, newTransactionId())
 *   .add(XorPeerAddress, peer).add(Data, payload);
 * dataIndication.get(Data) // → the peer's datagram, a view into the indication
 * ```
 */
export const Data: AttributeCodec<Uint8Array> = {
  type: AttributeType.Data,
  name: "DATA",
  decode: (msg, offset, length) => msg.subarray(offset, offset + length),
  encodedLength(v) {
    if (!(v instanceof Uint8Array)) throw valueError("DATA", "pass a Uint8Array");
    return v.length;
  },
  encode(v, out, offset) {
    out.set(v, offset);
  },
};

function familyAttrCodec(type: number, name: string): AttributeCodec<AddressFamily> {
  return {
    type,
    name,
    decode(msg, offset, length) {
      expectLength(name, offset, length, 4);
      return familyFromCode(name, msg[offset]!, offset);
    },
    encodedLength(v) {
      if (v !== "IPv4" && v !== "IPv6") throw valueError(name, 'pass "IPv4" or "IPv6"');
      return 4;
    },
    encode(v, out, offset) {
      out[offset] = familyCode(v);
      out[offset + 1] = 0;
      out[offset + 2] = 0;
      out[offset + 3] = 0;
    },
  };
}

/**
 * REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6): the family of relayed address the client asks for.
 *
 * @example
 * ```ts
 * builder.add(RequestedAddressFamily, "IPv6"); // an IPv6 relayed address instead of IPv4
 * ```
 */
export const RequestedAddressFamily = /* @__PURE__ */ familyAttrCodec(AttributeType.RequestedAddressFamily, "REQUESTED-ADDRESS-FAMILY");
/**
 * ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.11): ask for an IPv6 relayed address besides the IPv4 one.
 *
 * @example
 * ```ts
 * builder.add(AdditionalAddressFamily, "IPv6"); // an IPv6 relayed address besides the IPv4 one
 * ```
 */
export const AdditionalAddressFamily = /* @__PURE__ */ familyAttrCodec(AttributeType.AdditionalAddressFamily, "ADDITIONAL-ADDRESS-FAMILY");

/**
 * The value of EVEN-PORT.
 *
 * @example
 * ```ts
 * const v: EvenPortValue = { reserve: true }; // an even port, and keep port + 1 for RTCP
 * builder.add(EvenPort, v);
 * ```
 */
export interface EvenPortValue {
  /** R bit: reserve the next-higher port too. */
  readonly reserve: boolean;
}

/**
 * EVEN-PORT (RFC 8656 §18.7): ask for an even relayed port, optionally reserving the next one.
 *
 * @example
 * ```ts
 * builder.add(EvenPort, { reserve: true });
 * allocateResponse.get(ReservationToken) // → the token for port + 1
 * ```
 */
export const EvenPort: AttributeCodec<EvenPortValue> = {
  type: AttributeType.EvenPort,
  name: "EVEN-PORT",
  decode(msg, offset, length) {
    expectLength("EVEN-PORT", offset, length, 1);
    return { reserve: (msg[offset]! & 0x80) !== 0 };
  },
  encodedLength(v) {
    if (typeof v?.reserve !== "boolean") throw valueError("EVEN-PORT", "pass { reserve: boolean }");
    return 1;
  },
  encode(v, out, offset) {
    out[offset] = v.reserve ? 0x80 : 0;
  },
};

/**
 * IP protocol numbers REQUESTED-TRANSPORT carries.
 *
 * @example
 * ```ts
 * builder.add(RequestedTransport, IpProtocol.UDP); // 17
 * ```
 */
export const IpProtocol = { UDP: 17, TCP: 6 } as const;

/**
 * REQUESTED-TRANSPORT (RFC 8656 §18.8, RFC 6062 §6.1): IP protocol number of the relayed
 * transport, 17 for UDP, 6 for TCP allocations.
 *
 * @example
 * ```ts
 * builder.add(RequestedTransport, IpProtocol.TCP); // an RFC 6062 TCP allocation
 * request.get(RequestedTransport) // → 6
 * ```
 */
export const RequestedTransport: AttributeCodec<number> = {
  type: AttributeType.RequestedTransport,
  name: "REQUESTED-TRANSPORT",
  decode(msg, offset, length) {
    expectLength("REQUESTED-TRANSPORT", offset, length, 4);
    return msg[offset]!;
  },
  encodedLength(v) {
    checkInteger("REQUESTED-TRANSPORT", v, 0, 255);
    return 4;
  },
  encode(v, out, offset) {
    out[offset] = v;
    out[offset + 1] = 0;
    out[offset + 2] = 0;
    out[offset + 3] = 0;
  },
};

/**
 * DONT-FRAGMENT (RFC 8656 §18.9): set DF when relaying; an empty flag.
 *
 * @example
 * ```ts
 * builder.add(DontFragment, true); // relay with DF set
 * ```
 */
export const DontFragment = /* @__PURE__ */ flagCodec(AttributeType.DontFragment, "DONT-FRAGMENT");

/**
 * RESERVATION-TOKEN (RFC 8656 §18.10): an 8-byte token naming a reserved relayed address; a view.
 *
 * @example
 * ```ts
 * const token = allocateResponse.get(ReservationToken)?.slice(); // 8 bytes; slice() to keep it
 * if (token) nextAllocate.add(ReservationToken, token); // claims the reserved port
 * ```
 */
export const ReservationToken: AttributeCodec<Uint8Array> = {
  type: AttributeType.ReservationToken,
  name: "RESERVATION-TOKEN",
  decode(msg, offset, length) {
    expectLength("RESERVATION-TOKEN", offset, length, 8);
    return msg.subarray(offset, offset + 8);
  },
  encodedLength(v) {
    if (!(v instanceof Uint8Array) || v.length !== 8) throw valueError("RESERVATION-TOKEN", "pass a Uint8Array of 8 bytes");
    return 8;
  },
  encode(v, out, offset) {
    out.set(v, offset);
  },
};

/**
 * The value of ICMP.
 *
 * @example
 * ```ts
 * const tooBig: IcmpValue = { type: 3, code: 4, errorData: 1400 }; // ICMPv4 fragmentation needed, MTU 1400
 * builder.add(Icmp, tooBig);
 * ```
 */
export interface IcmpValue {
  /** ICMP (v4 or v6) type. */
  readonly type: number;
  /** ICMP code. */
  readonly code: number;
  /** The next-hop MTU for "packet too big" / "fragmentation needed", else 0. */
  readonly errorData: number;
}

/**
 * ICMP (RFC 8656 §18.13): why a relayed datagram was dropped. The figure in the RFC draws the
 * type and code fields across odd bit positions; as deployed TURN servers do, icekit reads two
 * reserved bytes, then one byte of type and one of code.
 *
 * @example
 * ```ts
 * dataIndication.get(Icmp) // → { type: 3, code: 4, errorData: 1400 }
 * ```
 */
export const Icmp: AttributeCodec<IcmpValue> = {
  type: AttributeType.Icmp,
  name: "ICMP",
  decode(msg, offset, length) {
    expectLength("ICMP", offset, length, 8);
    return { type: msg[offset + 2]!, code: msg[offset + 3]!, errorData: readU32(msg, offset + 4) };
  },
  encodedLength(v) {
    checkObject("ICMP", v, "{ type, code, errorData }");
    checkInteger("ICMP type", v.type, 0, 255);
    checkInteger("ICMP code", v.code, 0, 255);
    checkInteger("ICMP error data", v.errorData, 0, 0xffffffff);
    return 8;
  },
  encode(v, out, offset) {
    out[offset] = 0;
    out[offset + 1] = 0;
    out[offset + 2] = v.type;
    out[offset + 3] = v.code;
    writeU32(out, offset + 4, v.errorData);
  },
};

/**
 * CONNECTION-ID (RFC 6062 §6.2.1): names a TCP connection between the server and a peer.
 *
 * @example
 * ```ts
 * const id = connectionAttempt.get(ConnectionId)!; // RFC 6062 ConnectionAttempt indication
 * builder.begin(Method.ConnectionBind, MessageClass.Request, newTransactionId()).add(ConnectionId, id);
 * ```
 */
export const ConnectionId = /* @__PURE__ */ u32Codec(AttributeType.ConnectionId, "CONNECTION-ID");
