/**
 * One-call encoding of a message described as a plain object, for code that is not on a hot path
 * (tests, tools, the CLI). Hot paths keep a {@link StunMessageBuilder}.
 *
 * @module
 */
import { IcekitError } from "../errors";
import type { HmacKey } from "../crypto/types";
import { StunMessageBuilder } from "./builder";
import type { MessageClass } from "./constants";
import { codecForType, rawCodec } from "./attributes/registry";

/**
 * A message as a plain object.
 *
 * @example
 * ```ts
 * const init: StunMessageInit = {
 *   method: Method.Binding,
 *   messageClass: MessageClass.SuccessResponse,
 *   transactionId: request.transactionId,
 *   attributes: [{ type: AttributeType.XorMappedAddress, value: transportAddress("192.0.2.1", 32853) }],
 * };
 * ```
 */
export interface StunMessageInit {
  /** 12-bit method. */
  readonly method: number;
  /** Message class. */
  readonly messageClass: MessageClass;
  /** 12-byte transaction id. */
  readonly transactionId: Uint8Array;
  /**
   * Attributes in order. A known type's value has that codec's type (`TransportAddress` for
   * XOR-MAPPED-ADDRESS, `string` for USERNAME...); an unknown type's value is its raw bytes. This
   * is the shape {@link StunMessage.attributes} returns, so a decoded message re-encodes as is.
   */
  readonly attributes?: readonly { readonly type: number; readonly value: unknown }[];
}

/**
 * What to append after the attributes.
 *
 * @example
 * ```ts
 * const options: EncodeOptions = { integrity: cred.sha1, fingerprint: true };
 * encodeStunMessage(init, options); // ends with MESSAGE-INTEGRITY, then FINGERPRINT
 * ```
 */
export interface EncodeOptions {
  /** Append MESSAGE-INTEGRITY computed with this key. */
  readonly integrity?: HmacKey;
  /** Append MESSAGE-INTEGRITY-SHA256 computed with this key (after MESSAGE-INTEGRITY, if both). */
  readonly integritySha256?: HmacKey;
  /** Append FINGERPRINT. */
  readonly fingerprint?: boolean;
  /** The padding byte; see {@link BuilderOptions.paddingByte}. */
  readonly paddingByte?: number;
}

/**
 * Encodes a message into a new `Uint8Array`.
 *
 * @throws {@link IcekitError} when an attribute value does not fit its type.
 * @example
 * ```ts
 * const bytes = encodeStunMessage(
 *   { method: Method.Binding, messageClass: MessageClass.Request, transactionId: newTransactionId(),
 *     attributes: [{ type: AttributeType.Software, value: "icekit" }] },
 *   { fingerprint: true },
 * );
 * bytes.length // → 40: header 20, SOFTWARE 12 (padded), FINGERPRINT 8
 * ```
 */
export function encodeStunMessage(init: StunMessageInit, options?: EncodeOptions): Uint8Array {
  const b = new StunMessageBuilder(options?.paddingByte === undefined ? undefined : { paddingByte: options.paddingByte });
  b.begin(init.method, init.messageClass, init.transactionId);
  for (const a of init.attributes ?? []) {
    const codec = codecForType(a.type);
    if (codec !== undefined) b.add(codec, a.value);
    else if (a.value instanceof Uint8Array) b.add(rawCodec(a.type), a.value);
    else throw new IcekitError("INVALID_ARGUMENT", `attribute 0x${a.type.toString(16)} is unknown to icekit; pass its value as a Uint8Array`);
  }
  if (options?.integrity) b.addMessageIntegrity(options.integrity);
  if (options?.integritySha256) b.addMessageIntegritySha256(options.integritySha256);
  if (options?.fingerprint) b.addFingerprint();
  return b.finish().slice();
}
