/**
 * The datagram as it travels through the simulated network.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import type { TransportProtocol } from "../engine";

/**
 * IPv4 header without options (RFC 791).
 *
 * @example
 * ```ts
 * 1500 - IPV4_HEADER_LENGTH - UDP_HEADER_LENGTH; // → 1472, the largest UDP payload on a 1500-byte link
 * ```
 */
export const IPV4_HEADER_LENGTH = 20;
/**
 * IPv6 fixed header (RFC 8200).
 *
 * @example
 * ```ts
 * 1500 - IPV6_HEADER_LENGTH - UDP_HEADER_LENGTH; // → 1452 over IPv6
 * ```
 */
export const IPV6_HEADER_LENGTH = 40;
/**
 * UDP header (RFC 768).
 *
 * @example
 * ```ts
 * 28 + UDP_HEADER_LENGTH + IPV4_HEADER_LENGTH; // → 56: a 28-byte Binding request on the wire
 * ```
 */
export const UDP_HEADER_LENGTH = 8;
/**
 * Hop limit given to every packet; a routing loop ends after this many routers.
 *
 * @example
 * ```ts
 * const fresh: Packet = { ...packet, ttl: INITIAL_TTL }; // 64, as Linux sends
 * ```
 */
export const INITIAL_TTL = 64;

/**
 * A datagram in flight. Immutable: translation makes a new one with the same `id`.
 *
 * @example
 * ```ts
 * const packet: Packet = { id: 1, transport: "udp", data: new Uint8Array(20), ttl: INITIAL_TTL,
 *   src: { family: "IPv4", address: "192.168.1.2", port: 5000 }, dst: { family: "IPv4", address: "192.0.2.10", port: 3478 } };
 * const translated: Packet = { ...packet, src: { family: "IPv4", address: "198.51.100.1", port: 5000 } }; // same id
 * ```
 */
export interface Packet {
  /** Number shared by all hops, translations and duplicates of this datagram (see the trace). */
  readonly id: number;
  readonly src: TransportAddress;
  readonly dst: TransportAddress;
  readonly transport: TransportProtocol;
  /** The payload: a private copy, never aliased with a sender's buffer. */
  readonly data: Uint8Array;
  /** Routers left before the packet is dropped as looping. */
  readonly ttl: number;
}

/**
 * Size on the wire at the IP layer: payload plus UDP and IP headers.
 *
 * @example
 * ```ts
 * wireSize(packet); // → 48 for a 20-byte payload over IPv4 (68 over IPv6)
 * ```
 */
export function wireSize(p: Packet): number {
  return p.data.length + UDP_HEADER_LENGTH + (p.dst.family === "IPv6" ? IPV6_HEADER_LENGTH : IPV4_HEADER_LENGTH);
}
