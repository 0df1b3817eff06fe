/**
 * Telling STUN apart from the other protocols that share its socket, by the first byte
 * (RFC 7983 §7 as updated by RFC 9443 §3) and by the STUN header's invariants (RFC 8489 §5).
 *
 * WebRTC and ICE multiplex STUN, TURN ChannelData, DTLS, SRTP/SRTCP, ZRTP and, since RFC 9443,
 * QUIC on one port. The receiver's algorithm (RFC 9443 §3, Figure 3):
 *
 * | first byte | protocol                                                         |
 * |-----------:|------------------------------------------------------------------|
 * |       0-3  | STUN                                                             |
 * |      4-15  | none: drop                                                       |
 * |     16-19  | ZRTP                                                             |
 * |     20-63  | DTLS                                                             |
 * |     64-79  | TURN channel if it comes from a responding TURN server, else QUIC |
 * |    80-127  | QUIC                                                             |
 * |   128-191  | RTP/RTCP                                                         |
 * |   192-255  | QUIC                                                             |
 *
 * These functions only look at bytes and never throw: a packet that fits nowhere is
 * `"unknown"` (or `false`), and RFC 9443 §3 says to drop it.
 *
 * @example
 * ```ts
 * switch (classifyPacket(datagram, 0, { fromTurnServer: isTurnServer(source) })) {
 *   case "stun": if (isStunMessage(datagram)) stun.handleReceive(now, packet); break;
 *   case "turn-channel": turn.handleReceive(now, packet); break;
 *   case "unknown": stats.dropped++; break;
 * }
 * ```
 *
 * @module
 */

/**
 * What a packet is, judged by its first byte (RFC 9443 §3). `"rtp"` covers RTCP as well, since
 * the two share 128-191; `"unknown"` is an empty packet or a first byte in 4-15, which RFC 9443
 * §3 says MUST be dropped.
 *
 * @example
 * ```ts
 * const kind: PacketKind = classifyPacket(datagram);
 * if (kind === "dtls") dtls.receive(datagram); // first byte 20-63
 * ```
 */
export type PacketKind = "stun" | "zrtp" | "dtls" | "turn-channel" | "rtp" | "quic" | "unknown";

/**
 * Options for {@link classifyPacket}.
 *
 * @example
 * ```ts
 * const options: ClassifyOptions = { fromTurnServer: sameTransportAddress(source, turnServer) };
 * classifyPacket(datagram, 0, options) // first byte 64-79: "turn-channel" from the server, else "quic"
 * ```
 */
export interface ClassifyOptions {
  /**
   * Whether the packet's source IP address and port are those of a TURN server that has
   * answered this endpoint's Allocate or ChannelBind requests. RFC 9443 §2-3 classifies first
   * bytes 64-79 as TURN channel only from such a source and as QUIC from any other, because a
   * QUIC short header may start with any byte in 64-127.
   *
   * Default `true`: the RFC 7983 §7 reading, right for every endpoint that does not use QUIC.
   * Pass `false` for packets from peers when QUIC shares the socket.
   */
  readonly fromTurnServer?: boolean;
}

/** STUN's magic cookie, bytes 4-7 of every RFC 5389/8489 message (RFC 8489 §5). */
const MAGIC_COOKIE = 0x2112a442;

/** The fixed STUN header; its Length field counts the bytes after it (RFC 8489 §5). */
const STUN_HEADER_LENGTH = 20;

/**
 * The allowed channel numbers (RFC 8656 §12). Repeated here rather than imported from
 * `turn/channel-data` because `stun/` sits below `turn/` and must not import it.
 */
const CHANNEL_NUMBER_MIN = 0x4000;
const CHANNEL_NUMBER_MAX = 0x4fff;

/**
 * Classifies a packet by its first byte, following the demultiplexing algorithm of RFC 7983 §7
 * as replaced by RFC 9443 §3 (see the module table). It reads one byte and decodes nothing, so
 * the result says which handler to try, not that the packet is valid: confirm STUN with
 * {@link isStunMessage} and ChannelData with {@link isChannelData} or its decoder.
 *
 * @param buf - the received datagram
 * @param offset - where the packet starts (default 0)
 * @param options - whether the packet came from a TURN server, which decides 64-79
 * @returns the packet's kind; `"unknown"` for an empty packet, an offset past the end, or a
 *   first byte in 4-15
 *
 * @example
 * ```ts
 * classifyPacket(Uint8Array.of(0x00, 0x01));                         // "stun"
 * classifyPacket(Uint8Array.of(0x40, 0x00), 0, { fromTurnServer: false }); // "quic"
 * ```
 */
export function classifyPacket(buf: Uint8Array, offset = 0, options?: ClassifyOptions): PacketKind {
  // An offset that is negative, fractional or past the end reads `undefined`: no packet.
  const b = buf[offset];
  if (b === undefined) return "unknown";
  // RFC 9443 §3, Figure 3, in byte order.
  if (b <= 3) return "stun";
  if (b <= 15) return "unknown";
  if (b <= 19) return "zrtp";
  if (b <= 63) return "dtls";
  if (b <= 79) return options?.fromTurnServer === false ? "quic" : "turn-channel";
  if (b <= 127) return "quic";
  if (b <= 191) return "rtp";
  return "quic";
}

/**
 * True when the bytes at `buf[offset]` have the shape of a STUN message (RFC 8489 §5): at least
 * the 20-byte header, the two most significant bits zero, the magic cookie 0x2112A442 in bytes
 * 4-7, and a Length field that is a multiple of 4 (attributes are 4-byte aligned) and agrees with
 * the bytes present. It checks no attribute and no FINGERPRINT, so it costs a few comparisons and
 * suits the hot path between {@link classifyPacket} and the full decoder. RFC 3489 messages,
 * which have no magic cookie, are deliberately not recognized.
 *
 * It accepts first bytes 0-63, as RFC 8489 §5 allows, not only the 0-3 that RFC 7983 §3
 * leaves STUN on a multiplexed port (methods 0x100-0xFFF are reserved there, not invalid): on a
 * socket shared with DTLS or QUIC, call {@link classifyPacket} first.
 *
 * @param buf - a datagram, or a stream buffer when `exact` is false
 * @param offset - where the message starts (default 0)
 * @param exact - `true` (default, datagrams): the message must end exactly at the end of `buf`;
 *   `false` (streams): it must fit in `buf`, and bytes after it are the next frame's
 * @returns whether the bytes look like a whole STUN message; never throws
 * @example
 * ```ts
 * isStunMessage(fromHex("000100002112a442b7e7a701bc34d686fa87dfae")) // → true: a bare Binding request
 * isStunMessage(Uint8Array.of(0x40, 0x00, 0x00, 0x00))              // → false
 * ```
 */
export function isStunMessage(buf: Uint8Array, offset = 0, exact = true): boolean {
  if (!Number.isInteger(offset) || offset < 0) return false;
  const remaining = buf.length - offset;
  if (remaining < STUN_HEADER_LENGTH) return false;
  // Indices are in range after the check above; `?? 0` only satisfies noUncheckedIndexedAccess.
  if (((buf[offset] ?? 0xff) & 0xc0) !== 0) return false;
  const cookie =
    (((buf[offset + 4] ?? 0) << 24) | ((buf[offset + 5] ?? 0) << 16) | ((buf[offset + 6] ?? 0) << 8) | (buf[offset + 7] ?? 0)) >>> 0;
  if (cookie !== MAGIC_COOKIE) return false;
  const length = ((buf[offset + 2] ?? 0) << 8) | (buf[offset + 3] ?? 0);
  if ((length & 3) !== 0) return false;
  const available = remaining - STUN_HEADER_LENGTH;
  return exact ? length === available : length <= available;
}

/**
 * True when the bytes at `buf[offset]` form a ChannelData message that
 * `decodeChannelData(buf, offset)` accepts (RFC 8656 §12.4, §12.6): a 4-byte header, a channel
 * number in 0x4000-0x4FFF, and a Length no larger than the bytes after the header. Bytes after
 * the data are allowed, as padding over UDP or the next frame on a stream (RFC 8656 §12.5).
 *
 * @param buf - the datagram or stream buffer
 * @param offset - where the message starts (default 0)
 * @returns whether a ChannelData message starts at `offset`; never throws
 * @example
 * ```ts
 * isChannelData(Uint8Array.of(0x40, 0x00, 0x00, 0x02, 0x68, 0x69)) // → true: channel 0x4000, "hi"
 * isChannelData(Uint8Array.of(0x50, 0x00, 0x00, 0x00))             // → false: 0x5000 is no channel
 * ```
 */
export function isChannelData(buf: Uint8Array, offset = 0): boolean {
  if (!Number.isInteger(offset) || offset < 0) return false;
  const remaining = buf.length - offset;
  if (remaining < 4) return false;
  const channelNumber = ((buf[offset] ?? 0) << 8) | (buf[offset + 1] ?? 0);
  if (channelNumber < CHANNEL_NUMBER_MIN || channelNumber > CHANNEL_NUMBER_MAX) return false;
  const length = ((buf[offset + 2] ?? 0) << 8) | (buf[offset + 3] ?? 0);
  return length <= remaining - 4;
}
