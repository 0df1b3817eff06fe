/**
 * ICE (RFC 8445) with Trickle ICE (RFC 8838), consent freshness (RFC 7675) and the RFC 8839
 * candidate grammar: the {@link IceAgent} engine and the candidate, priority and pair helpers.
 *
 * @module
 */
export * from "./agent";
export * from "./candidate";
export { TYPE_PREFERENCE, MAX_LOCAL_PREFERENCE, LOCAL_PREFERENCE_STEP, dualStackRanks, localPreference } from "./priority";
export { Foundations } from "./foundation";
export { checkIceCredential, randomIceString, randomTiebreaker } from "./credentials";
export { IcePacer, MIN_PACING_INTERVAL } from "./pacer";
export { hostAddressExclusion, isLinkLocalIPv6, trackingExclusion } from "./host-addresses";
export type { HostAddressExclusion, HostAddressInfo } from "./host-addresses";
export * from "./sdp-attributes";
