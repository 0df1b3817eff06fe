/**
 * TURN (RFC 8656): ChannelData framing. The TURN attributes live with the other STUN attribute
 * codecs in `stun/attributes`.
 *
 * @module
 */
export * from "./channel-data";
