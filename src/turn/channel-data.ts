/**
 * TURN ChannelData messages (RFC 8656 §12.4-12.6): a 4-byte header (channel number, length)
 * in front of application data, the cheap alternative to Send and Data indications once a
 * channel is bound.
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Channel Number        |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * /                       Application Data                        /
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Over UDP one datagram carries one frame and padding is optional; over TCP and TLS every
 * frame is padded to a multiple of 4 bytes, and {@link streamFrameLength} cuts a byte stream
 * that interleaves STUN messages and ChannelData into frames (RFC 8656 §12.5).
 *
 * Decoding allocates nothing: {@link ChannelData.data} is a view into the caller's buffer and
 * stays valid only as long as the caller leaves that buffer alone.
 *
 * @example
 * ```ts
 * const frame = encodeChannelData(0x4000, payload);          // UDP: no padding
 * const { channelNumber, data } = decodeChannelData(frame);  // data is a view into frame
 * ```
 *
 * @module
 */

import { IcekitError, StunDecodeError } from "../errors";

/**
 * Lowest channel number a client may bind (RFC 8656 §12, Table 2).
 *
 * @example
 * ```ts
 * let next = CHANNEL_NUMBER_MIN;   // 0x4000 = 16384
 * while (bound.has(next)) next++;  // the lowest free number, as TurnClient picks it
 * ```
 */
export const CHANNEL_NUMBER_MIN = 0x4000;

/**
 * Highest channel number a client may bind (RFC 8656 §12, Table 2). 0x5000-0xFFFF are reserved
 * so that the first byte stays within 64-79, the range RFC 7983 §7 gives TURN channels.
 *
 * @example
 * ```ts
 * CHANNEL_NUMBER_MAX - CHANNEL_NUMBER_MIN + 1; // → 4096 channels per allocation
 * ```
 */
export const CHANNEL_NUMBER_MAX = 0x4fff;

/** Size of the Channel Number and Length fields (RFC 8656 §12.4). */
const HEADER_LENGTH = 4;

/** The Length field is 16 bits wide, so no frame carries more application data. */
const MAX_DATA_LENGTH = 0xffff;

/** STUN header size: the STUN Length field excludes these 20 bytes (RFC 8489 §5). */
const STUN_HEADER_LENGTH = 20;

/**
 * True when `n` is a channel number a client may bind and a receiver accepts: an integer in
 * 0x4000-0x4FFF (RFC 8656 §12). RFC 5766 allowed 0x4000-0x7FFF; RFC 8656 narrowed the range,
 * so an RFC 5766 peer using 0x5000 or above is refused on purpose.
 *
 * @param n - a candidate channel number
 * @returns whether `n` is an allowed channel number
 *
 * @example
 * ```ts
 * isValidChannelNumber(0x4000); // → true
 * isValidChannelNumber(0x5000); // → false: RFC 5766 allowed it, RFC 8656 §12 does not
 * ```
 */
export function isValidChannelNumber(n: number): boolean {
  return Number.isInteger(n) && n >= CHANNEL_NUMBER_MIN && n <= CHANNEL_NUMBER_MAX;
}

/**
 * One decoded ChannelData message (RFC 8656 §12.4).
 *
 * @example
 * ```ts
 * const frame = new Uint8Array([0x40, 0x00, 0x00, 0x02, 0xaa, 0xbb]);
 * const { channelNumber, data }: ChannelData = decodeChannelData(frame);
 * // → channelNumber 0x4000 (16384), data Uint8Array [0xaa, 0xbb]: a view into frame
 * ```
 */
export interface ChannelData {
  /** The channel the data travels on, 0x4000-0x4FFF; it stands for the bound peer address. */
  readonly channelNumber: number;
  /**
   * The application data, without header or padding: a view into the decoded buffer, not a
   * copy, valid until the caller reuses that buffer. Its length may be 0 (RFC 8656 §12.4).
   */
  readonly data: Uint8Array;
}

/**
 * Decodes one ChannelData message starting at `buf[offset]`.
 *
 * The frame must fit in the bytes from `offset` to the end of `buf`. Bytes after the
 * application data are ignored, for two reasons: a UDP sender MAY pad the frame to a multiple
 * of 4 (RFC 8656 §12.5), and on a stream the bytes that follow belong to the next frame. The
 * bytes a frame occupies are therefore not reported here: they are
 * `channelDataLength(data.length, padded)`, or {@link streamFrameLength} on a stream.
 *
 * @param buf - the datagram, or a stream buffer holding at least one whole frame
 * @param offset - where the frame starts (default 0)
 * @returns the channel number and a view of the application data
 * @throws {@link StunDecodeError} `TRUNCATED` when fewer than 4 bytes remain or the Length field
 *   claims more data than remains (RFC 8656 §12.6: such a datagram is discarded);
 *   `BAD_CHANNEL_DATA` when the channel number is outside 0x4000-0x4FFF (RFC 8656 §12.6:
 *   reserved values are discarded)
 * @throws {@link IcekitError} `INVALID_ARGUMENT` when `offset` is not an integer in
 *   0..`buf.length`
 *
 * @example
 * ```ts
 * const { channelNumber, data } = decodeChannelData(datagram);
 * const peer = channels.get(channelNumber); // unbound channel: discard (RFC 8656 §12.6)
 * ```
 */
export function decodeChannelData(buf: Uint8Array, offset = 0): ChannelData {
  checkOffset(buf, offset);
  const remaining = buf.length - offset;
  if (remaining < HEADER_LENGTH) {
    throw new StunDecodeError(
      "TRUNCATED",
      `ChannelData header needs ${HEADER_LENGTH} bytes, only ${remaining} remain`,
      offset,
    );
  }
  // Indices are in range after the check above; `?? 0` only satisfies noUncheckedIndexedAccess.
  const channelNumber = ((buf[offset] ?? 0) << 8) | (buf[offset + 1] ?? 0);
  // RFC 8656 §12.6: values outside the allowed range are never channel numbers; the first byte
  // may also say STUN (0-3) or something else entirely, which the caller should have demuxed.
  if (channelNumber < CHANNEL_NUMBER_MIN || channelNumber > CHANNEL_NUMBER_MAX) {
    throw new StunDecodeError(
      "BAD_CHANNEL_DATA",
      `ChannelData channel number ${hex16(channelNumber)} is outside ${hex16(CHANNEL_NUMBER_MIN)}-${hex16(CHANNEL_NUMBER_MAX)} (RFC 8656 §12)`,
      offset,
    );
  }
  const length = ((buf[offset + 2] ?? 0) << 8) | (buf[offset + 3] ?? 0);
  // RFC 8656 §12.6: a datagram too short for the claimed length is discarded.
  if (length > remaining - HEADER_LENGTH) {
    throw new StunDecodeError(
      "TRUNCATED",
      `ChannelData Length ${length} exceeds the ${remaining - HEADER_LENGTH} bytes after the header`,
      offset + 2,
    );
  }
  const start = offset + HEADER_LENGTH;
  return { channelNumber, data: buf.subarray(start, start + length) };
}

/**
 * How many bytes the next framed message on a TURN TCP or TLS stream occupies, or `undefined`
 * while too few bytes have arrived to tell. Over TCP the client and server exchange STUN
 * messages and ChannelData interleaved, with no other framing; the first two bits tell them
 * apart (RFC 8656 §12.5, RFC 8489 §5):
 *
 * - `00`: a STUN message, 20 + the Length field bytes (already a multiple of 4);
 * - `01`: ChannelData, 4 + the Length field rounded up to a multiple of 4.
 *
 * The frame's contents are not validated: a ChannelData frame with a reserved channel number
 * still has a well-defined size, and RFC 8656 §12.6 says to discard that message, not the
 * connection. Pass the frame to the matching decoder for that.
 *
 * @param buf - bytes received so far on the stream
 * @param offset - where the next frame starts (default 0)
 * @returns the frame's size in bytes including padding, or `undefined` when fewer than 4 bytes
 *   are available; the frame itself may still be incomplete, compare with `buf.length - offset`
 * @throws {@link StunDecodeError} `BAD_CHANNEL_DATA` when the first two bits are `10` or `11`:
 *   the stream carries neither STUN nor ChannelData and has lost its framing, so close it
 * @throws {@link IcekitError} `INVALID_ARGUMENT` when `offset` is not an integer in
 *   0..`buf.length`
 *
 * @example
 * ```ts
 * let n: number | undefined;
 * while ((n = streamFrameLength(pending, pos)) !== undefined && pos + n <= pending.length) {
 *   handleFrame(pending.subarray(pos, pos + n));
 *   pos += n;
 * }
 * ```
 */
export function streamFrameLength(buf: Uint8Array, offset = 0): number | undefined {
  checkOffset(buf, offset);
  const first = buf[offset];
  if (first === undefined) return undefined;
  // Reject on the first byte alone, so a desynchronized stream is noticed without waiting
  // for more bytes that may never come.
  const kind = first >> 6;
  if (kind > 1) {
    throw new StunDecodeError(
      "BAD_CHANNEL_DATA",
      `first byte 0x${first.toString(16).padStart(2, "0")} on a TURN stream starts neither a STUN message (bits 00) nor ChannelData (bits 01)`,
      offset,
    );
  }
  if (buf.length - offset < HEADER_LENGTH) return undefined;
  const length = ((buf[offset + 2] ?? 0) << 8) | (buf[offset + 3] ?? 0);
  return kind === 0 ? STUN_HEADER_LENGTH + length : pad4(HEADER_LENGTH + length);
}

/**
 * Size in bytes of a ChannelData message carrying `dataLength` bytes of application data:
 * 4 + `dataLength`, rounded up to a multiple of 4 when `padded` (required over TCP and TLS,
 * optional over UDP; RFC 8656 §12.5). Use it to size the buffer for
 * {@link encodeChannelDataInto}.
 *
 * @param dataLength - application data length, an integer in 0..65535
 * @param padded - whether the frame is padded to a multiple of 4
 * @returns the frame size in bytes
 * @throws {@link IcekitError} `INVALID_ARGUMENT` when `dataLength` is not an integer in 0..65535
 *
 * @example
 * ```ts
 * channelDataLength(5, false); // → 9: UDP, unpadded
 * channelDataLength(5, true);  // → 12: TCP and TLS, padded to a multiple of 4
 * ```
 */
export function channelDataLength(dataLength: number, padded: boolean): number {
  if (!Number.isInteger(dataLength) || dataLength < 0 || dataLength > MAX_DATA_LENGTH) {
    throw new IcekitError(
      "INVALID_ARGUMENT",
      `ChannelData length must be an integer from 0 to ${MAX_DATA_LENGTH} (a 16-bit field, RFC 8656 §12.4), got ${String(dataLength)}`,
    );
  }
  const size = HEADER_LENGTH + dataLength;
  return padded ? pad4(size) : size;
}

/**
 * Encodes a ChannelData message into `out` at `offset` without allocating, and returns the
 * number of bytes written. Padding bytes are written as zeros (RFC 8489 §14 asks for zero
 * padding), so nothing left over in a reused buffer leaks onto the wire.
 *
 * `data` may already sit at `out[offset + 4]` (write the payload first, then the header): the
 * copy is skipped then. Any other overlap between `data` and `out` is also handled correctly.
 *
 * @param out - the buffer to write into
 * @param offset - where the frame starts in `out`
 * @param channelNumber - a bound channel, 0x4000-0x4FFF (RFC 8656 §12)
 * @param data - the application data, at most 65535 bytes
 * @param padded - pad to a multiple of 4, as TCP and TLS require (RFC 8656 §12.5); default false
 * @returns bytes written, `channelDataLength(data.length, padded)`
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for a channel number outside 0x4000-0x4FFF,
 *   data longer than 65535 bytes or a bad offset; `BUFFER_TOO_SMALL` when the frame does not fit
 *
 * @example
 * ```ts
 * const out = new Uint8Array(channelDataLength(payload.length, true));
 * encodeChannelDataInto(out, 0, 0x4001, payload, true);
 * ```
 */
export function encodeChannelDataInto(
  out: Uint8Array,
  offset: number,
  channelNumber: number,
  data: Uint8Array,
  padded = false,
): number {
  checkEncodeArguments(channelNumber, data);
  if (!Number.isInteger(offset) || offset < 0) {
    throw new IcekitError("INVALID_ARGUMENT", `offset must be a non-negative integer, got ${String(offset)}`);
  }
  const size = channelDataLength(data.length, padded);
  if (offset + size > out.length) {
    throw new IcekitError(
      "BUFFER_TOO_SMALL",
      `ChannelData needs ${size} bytes at offset ${offset} but the buffer has ${out.length} bytes; allocate channelDataLength(${data.length}, ${String(padded)}) bytes after the offset`,
    );
  }
  const length = data.length;
  const start = offset + HEADER_LENGTH;
  // Payload first, header and padding after: if `data` overlaps the header or padding bytes of
  // `out`, it has been read before they are overwritten. TypedArray.prototype.set copies
  // through a temporary when both views share a buffer, so the payload copy itself is safe.
  const inPlace = data.buffer === out.buffer && data.byteOffset === out.byteOffset + start;
  if (!inPlace) out.set(data, start);
  out.fill(0, start + length, offset + size);
  out[offset] = channelNumber >> 8;
  out[offset + 1] = channelNumber & 0xff;
  out[offset + 2] = length >> 8;
  out[offset + 3] = length & 0xff;
  return size;
}

/**
 * Encodes a ChannelData message into a fresh buffer. Prefer {@link encodeChannelDataInto} on hot
 * paths, where one buffer can be reused for every frame.
 *
 * @param channelNumber - a bound channel, 0x4000-0x4FFF (RFC 8656 §12)
 * @param data - the application data, at most 65535 bytes
 * @param padded - pad to a multiple of 4, as TCP and TLS require (RFC 8656 §12.5); default false
 * @returns the encoded frame
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for a channel number outside 0x4000-0x4FFF or
 *   data longer than 65535 bytes
 *
 * @example
 * ```ts
 * encodeChannelData(0x4001, new Uint8Array([1, 2, 3]), true);
 * // → Uint8Array [0x40, 0x01, 0x00, 0x03, 1, 2, 3, 0]: header, data, one byte of zero padding
 * ```
 */
export function encodeChannelData(channelNumber: number, data: Uint8Array, padded = false): Uint8Array {
  // Validate before sizing the buffer, so a bad argument gets the message that names it.
  checkEncodeArguments(channelNumber, data);
  const out = new Uint8Array(channelDataLength(data.length, padded));
  encodeChannelDataInto(out, 0, channelNumber, data, padded);
  return out;
}

/** Refuses what no ChannelData frame can carry: a reserved channel or more than 16 bits of length. */
function checkEncodeArguments(channelNumber: number, data: Uint8Array): void {
  if (!isValidChannelNumber(channelNumber)) {
    throw new IcekitError(
      "INVALID_ARGUMENT",
      `channel number must be an integer from ${hex16(CHANNEL_NUMBER_MIN)} to ${hex16(CHANNEL_NUMBER_MAX)} (RFC 8656 §12), got ${describeNumber(channelNumber)}`,
    );
  }
  if (data.length > MAX_DATA_LENGTH) {
    throw new IcekitError(
      "INVALID_ARGUMENT",
      `ChannelData carries at most ${MAX_DATA_LENGTH} bytes (a 16-bit Length, RFC 8656 §12.4), got ${data.length}; split the data or send it another way`,
    );
  }
}

/** Rounds up to a multiple of 4, the alignment of STUN and padded ChannelData (RFC 8489 §14). */
function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Formats a 16-bit value as RFC 8656 writes channel numbers, e.g. `0x4000`. */
function hex16(n: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Shows a caller's number in hex when it is a plausible 16-bit value, else as JavaScript would. */
function describeNumber(n: number): string {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff ? hex16(n) : String(n);
}

/** An offset is the caller's own bookkeeping, so a bad one is misuse, not bad network input. */
function checkOffset(buf: Uint8Array, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.length) {
    throw new IcekitError(
      "INVALID_ARGUMENT",
      `offset must be an integer from 0 to the buffer length ${buf.length}, got ${String(offset)}`,
    );
  }
}
