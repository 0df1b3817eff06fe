/**
 * The datagram as it travels through the simulated network.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import type { TransportProtocol } from "../engine";

/** IPv4 header without options (RFC 791). */
export const IPV4_HEADER_LENGTH = 20;
/** IPv6 fixed header (RFC 8200). */
export const IPV6_HEADER_LENGTH = 40;
/** UDP header (RFC 768). */
export const UDP_HEADER_LENGTH = 8;
/** Hop limit given to every packet; a routing loop ends after this many routers. */
export const INITIAL_TTL = 64;

/** A datagram in flight. Immutable: translation makes a new one with the same `id`. */
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

/** Size on the wire at the IP layer: payload plus UDP and IP headers. */
export function wireSize(p: Packet): number {
  return p.data.length + UDP_HEADER_LENGTH + (p.dst.family === "IPv6" ? IPV6_HEADER_LENGTH : IPV4_HEADER_LENGTH);
}
