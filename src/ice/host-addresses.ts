/**
 * Which IP addresses may become host candidates (RFC 8445 §5.1.1.1):
 *
 * - "Addresses from a loopback interface MUST NOT be included in the candidate addresses."
 * - "Deprecated IPv4-compatible IPv6 addresses [RFC4291] and IPv6 site-local unicast addresses
 *   [RFC3879] MUST NOT be included in the address candidates."
 * - "IPv4-mapped IPv6 addresses SHOULD NOT be included in the address candidates unless the
 *   application using ICE does not support IPv4 (i.e., it is an IPv6-only application)."
 * - With an address "generated using a mechanism that prevents location tracking [RFC7721]"
 *   (a temporary, RFC 8981 privacy address), addresses "that do allow location tracking, are
 *   configured on the same interface, and are part of the same network prefix MUST NOT be
 *   gathered", nor "IPv6 link-local addresses".
 *
 * An address does not say whether it is temporary or which interface it is on: the driver says so
 * ({@link HostAddressInfo}). Loopback and IPv4-mapped addresses are accepted when the application
 * opts in (tests on 127.0.0.1, an IPv6-only application); the two MUST NOTs of the second rule
 * have no exception.
 *
 * @module
 */
import { parseIPv4Into, parseIPv6Into } from "../bytes/ip";

/**
 * Why an address is not gathered (RFC 8445 §5.1.1.1).
 *
 * @example
 * ```ts
 * const why: HostAddressExclusion | undefined = hostAddressExclusion("::1"); // "loopback"
 * ```
 */
export type HostAddressExclusion =
  /** 127.0.0.0/8 or ::1: MUST NOT, unless the application opts in. */
  | "loopback"
  /** ::a.b.c.d (RFC 4291 §2.5.5.1, deprecated): MUST NOT. */
  | "ipv4-compatible"
  /** fec0::/10 (RFC 3879): MUST NOT. */
  | "site-local"
  /** ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): SHOULD NOT, unless the application is IPv6-only. */
  | "ipv4-mapped"
  /** fe80::/10 while a temporary (privacy) IPv6 address is gathered: MUST NOT. */
  | "link-local"
  /** A stable IPv6 address on the interface and /64 of a gathered temporary one: MUST NOT. */
  | "location-tracking";

/**
 * What the driver knows about a host address beyond the address itself.
 *
 * @example
 * ```ts
 * agent.addLocalSocket(now, socket.local, 1, { explicit: true }); // an address the user named
 * agent.addLocalSocket(now, tmp.local, 1, { temporary: true, interface: "eth0" });
 * ```
 */
export interface HostAddressInfo {
  /**
   * The application chose this address on purpose (`--host 127.0.0.1`, `hosts: [...]`): it
   * counts as opting in to loopback and IPv4-mapped addresses.
   */
  readonly explicit?: boolean;
  /** An IPv6 address generated to prevent location tracking (RFC 7721; temporary, RFC 8981). */
  readonly temporary?: boolean;
  /** The interface's name, for the same-interface rule; unknown interfaces never match. */
  readonly interface?: string;
}

/**
 * The static part of RFC 8445 §5.1.1.1: why `address` on its own must not be a host candidate.
 *
 * @param address - an IPv4 or IPv6 address in text form
 * @returns the exclusion, or undefined when the address may be gathered (as far as the address
 *   alone tells; see {@link trackingExclusion} for the temporary-address rule)
 * @example
 * ```ts
 * hostAddressExclusion("127.0.0.1")        // "loopback"
 * hostAddressExclusion("fec0::1")          // "site-local"
 * hostAddressExclusion("::ffff:192.0.2.1") // "ipv4-mapped"
 * hostAddressExclusion("2001:db8::1")      // undefined
 * ```
 */
export function hostAddressExclusion(address: string): HostAddressExclusion | undefined {
  const b = new Uint8Array(16);
  if (parseIPv4Into(address, b)) return b[0] === 127 ? "loopback" : undefined;
  if (!parseIPv6Into(address, b)) return undefined;
  let zeros = 0;
  while (zeros < 16 && b[zeros] === 0) zeros++;
  if (zeros === 15 && b[15] === 1) return "loopback";
  if (zeros >= 12 && zeros < 16) return "ipv4-compatible"; // ::a.b.c.d, but not :: or ::1
  if (zeros === 10 && b[10] === 0xff && b[11] === 0xff) return "ipv4-mapped";
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return "site-local";
  return undefined;
}

/**
 * True for an IPv6 link-local unicast address (fe80::/10, RFC 4291 §2.5.6).
 *
 * @example
 * ```ts
 * isLinkLocalIPv6("fe80::1") // true
 * ```
 */
export function isLinkLocalIPv6(address: string): boolean {
  const b = new Uint8Array(16);
  return !parseIPv4Into(address, b) && parseIPv6Into(address, b) && b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
}

/** The /64 prefix of an IPv6 address as text, or undefined for anything else. */
function prefix64(address: string): string | undefined {
  const b = new Uint8Array(16);
  if (parseIPv4Into(address, b) || !parseIPv6Into(address, b)) return undefined;
  return Array.from(b.subarray(0, 8), (x) => x.toString(16)).join(":");
}

/**
 * The dynamic part of RFC 8445 §5.1.1.1: given the temporary (privacy) IPv6 addresses gathered,
 * whether `address` must not be.
 *
 * @param address - the address to gather
 * @param info - what the driver knows about it
 * @param temporaries - the temporary IPv6 addresses gathered (or about to be), with interfaces
 * @returns `"link-local"`, `"location-tracking"`, or undefined when it may be gathered
 * @example
 * ```ts
 * const tmp = [{ address: "2001:db8::5e1:9", interface: "eth0" }];
 * trackingExclusion("fe80::1", {}, tmp)                          // "link-local"
 * trackingExclusion("2001:db8::1", { interface: "eth0" }, tmp)   // "location-tracking"
 * trackingExclusion("2001:db8::1", { interface: "wlan0" }, tmp)  // undefined
 * ```
 */
export function trackingExclusion(address: string, info: HostAddressInfo, temporaries: readonly { address: string; interface?: string | undefined }[]): "link-local" | "location-tracking" | undefined {
  if (info.temporary === true || temporaries.length === 0) return undefined;
  if (isLinkLocalIPv6(address)) return "link-local";
  const p = prefix64(address);
  if (p === undefined || info.interface === undefined) return undefined;
  for (const t of temporaries) {
    if (t.interface === info.interface && prefix64(t.address) === p) return "location-tracking";
  }
  return undefined;
}
