/**
 * fast-check generators shared by the STUN codec tests: one value generator per known attribute
 * type (what its codec's `encode` accepts and its `decode` gives back), generators for attributes
 * icekit does not know, and for whole messages.
 *
 * Every generated value is in the canonical form the decoder produces (IPv6 addresses as RFC 5952
 * text, strings of whole code points, empty `parameters` as a zero-length array), so that
 * `decode(encode(v))` deep-equals `v`.
 *
 * @module
 */
import fc from "fast-check";
import type { TransportAddress } from "../../src/bytes/ip";
import { formatIPv4, formatIPv6 } from "../../src/bytes/ip";
import type { MessageClass } from "../../src/stun/constants";
import { AttributeType } from "../../src/stun/constants";
import { codecForType } from "../../src/stun/attributes/registry";

/** A byte array of exactly `n` bytes. */
export const bytesOf = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });

/** A 96-bit transaction id. */
export const transactionIdArb: fc.Arbitrary<Uint8Array> = bytesOf(12);

/** A 12-bit method, 0 to 0xFFF. */
export const methodArb: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xfff });

/** One of the four message classes. */
export const messageClassArb: fc.Arbitrary<MessageClass> = fc.constantFrom<MessageClass>(0, 1, 2, 3);

/** A port, 0 to 65535. */
export const portArb: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xffff });

/** IPv4 text, from any 4 bytes. */
export const ipv4Arb: fc.Arbitrary<string> = bytesOf(4).map((b) => formatIPv4(b));

/**
 * IPv6 text in RFC 5952 form, from any 16 bytes, biased toward the shapes that exercise `::`
 * compression and the IPv4-mapped form.
 */
export const ipv6Arb: fc.Arbitrary<string> = fc
  .oneof(
    bytesOf(16),
    // Each 16-bit group either zero or random: long and tied zero runs.
    fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }).map((groups) => {
      const b = new Uint8Array(16);
      groups.forEach((g, k) => {
        b[2 * k] = g >>> 8;
        b[2 * k + 1] = g & 0xff;
      });
      return b;
    }),
    // IPv4-mapped ::ffff:a.b.c.d
    bytesOf(4).map((v4) => {
      const b = new Uint8Array(16);
      b[10] = 0xff;
      b[11] = 0xff;
      b.set(v4, 12);
      return b;
    }),
  )
  .map((b) => formatIPv6(b));

/** A transport address of either family. */
export const transportAddressArb: fc.Arbitrary<TransportAddress> = fc.oneof(
  fc.record({ family: fc.constant("IPv4" as const), address: ipv4Arb, port: portArb }),
  fc.record({ family: fc.constant("IPv6" as const), address: ipv6Arb, port: portArb }),
);

/** An address family name. */
export const familyArb = fc.constantFrom("IPv4" as const, "IPv6" as const);

/**
 * Text of at most `maxChars` code points, any of them (4-byte ones included), or long ASCII up to
 * `maxAsciiBytes`.
 */
export function textArb(maxChars: number, maxAsciiBytes: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: "binary", maxLength: maxChars }),
    fc.string({ unit: "grapheme", maxLength: Math.min(maxChars, 40) }).filter((s) => [...s].length <= maxChars),
    fc.string({ unit: "binary-ascii", maxLength: maxAsciiBytes }),
  );
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const smallBytes = fc.uint8Array({ maxLength: 64 });
const algorithmEntry = fc.record({ algorithm: u16, parameters: fc.uint8Array({ maxLength: 11 }) });
const errorCodeArb = fc.integer({ min: 300, max: 699 });

/**
 * A value generator for every attribute type icekit has a codec for, keyed by type number. The
 * attributes test checks that the keys are exactly the registry's types.
 */
export const valueArbitraries: ReadonlyMap<number, fc.Arbitrary<unknown>> = new Map<number, fc.Arbitrary<unknown>>([
  // RFC 8489
  [AttributeType.MappedAddress, transportAddressArb],
  [AttributeType.XorMappedAddress, transportAddressArb],
  [AttributeType.AlternateServer, transportAddressArb],
  [AttributeType.Username, textArb(127, 508)], // fewer than 509 bytes: 127 four-byte code points fit
  [AttributeType.Realm, textArb(127, 127)],
  [AttributeType.Nonce, textArb(127, 127)],
  [AttributeType.Software, textArb(127, 127)],
  [AttributeType.AlternateDomain, fc.oneof(fc.string({ unit: "binary-ascii", maxLength: 255 }), fc.string({ unit: "binary", maxLength: 63 }))],
  [AttributeType.MessageIntegrity, bytesOf(20)],
  [AttributeType.MessageIntegritySha256, fc.constantFrom(16, 20, 24, 28, 32).chain(bytesOf)],
  [AttributeType.Userhash, bytesOf(32)],
  [AttributeType.Fingerprint, u32],
  [AttributeType.ErrorCode, fc.record({ code: errorCodeArb, reason: textArb(127, 127) })],
  [AttributeType.UnknownAttributes, fc.array(u16, { maxLength: 16 })],
  [AttributeType.PasswordAlgorithms, fc.array(algorithmEntry, { maxLength: 4 })],
  [AttributeType.PasswordAlgorithm, algorithmEntry],
  // RFC 8656, RFC 6062
  [AttributeType.ChannelNumber, u16],
  [AttributeType.Lifetime, u32],
  [AttributeType.XorPeerAddress, transportAddressArb],
  [AttributeType.XorRelayedAddress, transportAddressArb],
  [AttributeType.Data, smallBytes],
  [AttributeType.RequestedAddressFamily, familyArb],
  [AttributeType.AdditionalAddressFamily, familyArb],
  [AttributeType.EvenPort, fc.record({ reserve: fc.boolean() })],
  [AttributeType.RequestedTransport, fc.integer({ min: 0, max: 255 })],
  [AttributeType.DontFragment, fc.constant(true)],
  [AttributeType.ReservationToken, bytesOf(8)],
  [AttributeType.AddressErrorCode, fc.record({ family: familyArb, code: errorCodeArb, reason: textArb(127, 127) })],
  [AttributeType.Icmp, fc.record({ type: fc.integer({ min: 0, max: 255 }), code: fc.integer({ min: 0, max: 255 }), errorData: u32 })],
  [AttributeType.ConnectionId, u32],
  // RFC 8445
  [AttributeType.Priority, u32],
  [AttributeType.UseCandidate, fc.constant(true)],
  [AttributeType.IceControlled, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })],
  [AttributeType.IceControlling, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })],
  // RFC 5780
  [AttributeType.ChangeRequest, fc.record({ changeIp: fc.boolean(), changePort: fc.boolean() })],
  [AttributeType.Padding, smallBytes],
  [AttributeType.ResponsePort, u16],
  [AttributeType.CacheTimeout, u32],
  [AttributeType.ResponseOrigin, transportAddressArb],
  [AttributeType.OtherAddress, transportAddressArb],
]);

/** The value generator for `type`; throws if the type has none (a test bug). */
export function valueArbitrary(type: number): fc.Arbitrary<unknown> {
  const a = valueArbitraries.get(type);
  if (a === undefined) throw new Error(`no value arbitrary for attribute 0x${type.toString(16)}`);
  return a;
}

/** An attribute as `StunMessageInit` and `StunMessage.attributes()` spell it. */
export interface AttributeInit {
  readonly type: number;
  readonly value: unknown;
}

/** A known attribute with a valid value. */
export const knownAttributeArb: fc.Arbitrary<AttributeInit> = fc.oneof(
  ...[...valueArbitraries].map(([type, arb]) => arb.map((value): AttributeInit => ({ type, value }))),
);

/** An attribute type icekit does not know, from either range (comprehension-required or optional). */
export const unknownTypeArb: fc.Arbitrary<number> = fc
  .oneof(fc.integer({ min: 0, max: 0x7fff }), fc.integer({ min: 0x8000, max: 0xffff }), fc.constantFrom(0x0000, 0x0002, 0x7fff, 0x8030, 0xffff))
  .filter((t) => codecForType(t) === undefined);

/** An unknown attribute carrying raw bytes of any length, odd ones included. */
export const unknownAttributeArb: fc.Arbitrary<AttributeInit> = fc.record({
  type: unknownTypeArb,
  value: fc.uint8Array({ maxLength: 41 }),
});

/** A message as `encodeStunMessage` takes it, with a mix of known and unknown attributes. */
export interface MessageInit {
  readonly method: number;
  readonly messageClass: MessageClass;
  readonly transactionId: Uint8Array;
  readonly attributes: readonly AttributeInit[];
}

/** A whole message: random method, class, transaction id and attribute list. */
export const messageArb: fc.Arbitrary<MessageInit> = fc.record({
  method: methodArb,
  messageClass: messageClassArb,
  transactionId: transactionIdArb,
  attributes: fc.array(fc.oneof({ weight: 4, arbitrary: knownAttributeArb }, { weight: 1, arbitrary: unknownAttributeArb }), { maxLength: 10 }),
});
