/**
 * TURN (RFC 8656): ChannelData framing, the sans-IO client (UDP allocations and RFC 6062 TCP
 * allocations) and REST API credentials. The TURN attributes live with the other STUN attribute
 * codecs in `stun/attributes`.
 *
 * @module
 */
export * from "./channel-data";
export * from "./client";
export * from "./client-types";
export * from "./tcp-allocation";
export * from "./rest-credentials";
export * from "./server";
export * from "./peer-policy";
export * from "./server-rest";
