/**
 * The two error types icekit throws.
 *
 * - {@link StunDecodeError}: bytes from the network are not a valid STUN message, attribute,
 *   ChannelData frame or SDP candidate. Decoders throw nothing else, whatever the input.
 * - {@link IcekitError}: the caller passed something icekit cannot use (a port of 70000, a
 *   malformed URI, a missing credential). Its message says what to pass instead.
 *
 * Both carry a machine-readable `code` and a `name`, so that type guards work across realms
 * (two copies of icekit in one process) without relying on `instanceof` alone.
 *
 * @module
 */

/**
 * Machine-readable reasons a decoder rejects its input.
 *
 * @example
 * ```ts
 * const drops: Partial<Record<DecodeErrorCode, number>> = {};
 * try {
 *   decodeStunMessage(datagram);
 * } catch (e) {
 *   if (isStunDecodeError(e)) drops[e.code] = (drops[e.code] ?? 0) + 1; // e.g. "NOT_STUN"
 * }
 * ```
 */
export type DecodeErrorCode =
  /** Fewer bytes than the structure needs (header, attribute header, fixed-size value). */
  | "TRUNCATED"
  /** A length field disagrees with the bytes present or with the structure's rules. */
  | "BAD_LENGTH"
  /** The first bits, magic cookie or message length say this is not a STUN message. */
  | "NOT_STUN"
  /** An attribute's value does not fit its declared length or runs past the message. */
  | "ATTRIBUTE_OVERRUN"
  /** An attribute's value breaks its RFC format (reserved values, bad UTF-8, out-of-range code). */
  | "BAD_ATTRIBUTE"
  /** An address attribute names a family other than IPv4 (0x01) or IPv6 (0x02). */
  | "BAD_FAMILY"
  /** A TURN ChannelData frame is malformed (channel number out of range, length overrun). */
  | "BAD_CHANNEL_DATA"
  /** A text form (hex, base64, IP address, SDP candidate line) does not parse. */
  | "BAD_TEXT";

/**
 * Thrown by every icekit decoder given bytes that are not valid. The message names the byte
 * offset and the field, e.g. `XOR-MAPPED-ADDRESS at offset 24: family 0x03 is not IPv4 (0x01)
 * or IPv6 (0x02)`.
 *
 * @example
 * ```ts
 * try { decodeStunMessage(bytes) } catch (e) { if (isStunDecodeError(e)) stats.drop(e.code) }
 * ```
 */
export class StunDecodeError extends Error {
  /** Always `"StunDecodeError"`, for cross-realm checks. */
  override readonly name = "StunDecodeError";
  /** Why the input was rejected. */
  readonly code: DecodeErrorCode;
  /** Byte offset in the input where the problem was found, when one applies. */
  readonly offset: number | undefined;

  /**
   * @param code - why the input was rejected
   * @param message - a sentence naming the field and what was wrong with it
   * @param offset - where in the input the problem lies
   */
  constructor(code: DecodeErrorCode, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (offset ${offset})`);
    this.code = code;
    this.offset = offset;
  }
}

/**
 * Machine-readable reasons an API call is refused.
 *
 * @example
 * ```ts
 * try {
 *   parseIceServerUri("stun:");
 * } catch (e) {
 *   const code: IcekitErrorCode | undefined = isIcekitError(e) ? e.code : undefined; // → "INVALID_URI"
 * }
 * ```
 */
export type IcekitErrorCode =
  | "INVALID_ARGUMENT"
  | "INVALID_URI"
  | "MISSING_CREDENTIAL"
  | "BUFFER_TOO_SMALL"
  | "INVALID_STATE";

/**
 * Thrown at the call when the caller passes something icekit cannot use. It is the equivalent of
 * a `TypeError`: fix the call, do not catch it in a loop.
 *
 * @example
 * ```ts
 * try {
 *   transportAddress("192.0.2.1", 70000);
 * } catch (e) {
 *   if (isIcekitError(e)) e.message; // → "port 70000 is out of range; pass an integer from 0 to 65535"
 * }
 * ```
 */
export class IcekitError extends Error {
  /** Always `"IcekitError"`, for cross-realm checks. */
  override readonly name = "IcekitError";
  /** Which kind of misuse this is. */
  readonly code: IcekitErrorCode;

  /**
   * @param code - which kind of misuse this is
   * @param message - what was passed and what to pass instead
   */
  constructor(code: IcekitErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * True when `e` is a {@link StunDecodeError}, from this copy of icekit or another.
 *
 * @example
 * ```ts
 * try {
 *   msg = decodeStunMessage(datagram);
 * } catch (e) {
 *   if (!isStunDecodeError(e)) throw e; // a bug, not bad input
 *   return; // drop the datagram; e.code says why
 * }
 * ```
 */
export function isStunDecodeError(e: unknown): e is StunDecodeError {
  return e instanceof StunDecodeError || (e instanceof Error && e.name === "StunDecodeError" && "code" in e);
}

/**
 * True when `e` is an {@link IcekitError}, from this copy of icekit or another.
 *
 * @example
 * ```ts
 * try {
 *   parseIceServers({ urls: "turn:turn.example.org" });
 * } catch (e) {
 *   if (isIcekitError(e)) e.code; // → "MISSING_CREDENTIAL"
 * }
 * ```
 */
export function isIcekitError(e: unknown): e is IcekitError {
  return e instanceof IcekitError || (e instanceof Error && e.name === "IcekitError" && "code" in e);
}

/**
 * A network operation of the async Node API failed: a STUN transaction timed out after its
 * retransmissions, was refused, or got an error response. Not a programming error: retry,
 * report, or fall back.
 *
 * @example
 * ```ts
 * try {
 *   await stunBinding("stun:stun.example.org"); // from icekit/node
 * } catch (e) {
 *   if (e instanceof TransactionError && e.code === "timeout") fallBackToRelay();
 * }
 * ```
 */
export class TransactionError extends Error {
  /** Always `"TransactionError"`, for cross-realm checks. */
  override readonly name = "TransactionError";
  /** Why: `"timeout"`, `"error-response"`, `"integrity"`, `"transport"`, `"auth"`, ... */
  readonly code: string;
  /** The STUN ERROR-CODE, when an error response ended it. */
  readonly errorCode: number | undefined;

  /**
   * @param code - why it failed
   * @param message - a sentence naming the server and the cause
   * @param errorCode - the STUN error code, if any
   */
  constructor(code: string, message: string, errorCode?: number) {
    super(message);
    this.code = code;
    this.errorCode = errorCode;
  }
}

/**
 * True when `e` is a {@link TransactionError}, from this copy of icekit or another.
 *
 * @example
 * ```ts
 * try {
 *   await stunBinding("stun:stun.example.org"); // from icekit/node
 * } catch (e) {
 *   if (isTransactionError(e) && e.code === "error-response") e.errorCode; // → e.g. 401
 * }
 * ```
 */
export function isTransactionError(e: unknown): e is TransactionError {
  return e instanceof TransactionError || (e instanceof Error && e.name === "TransactionError" && "code" in e);
}
