/**
 * Internal: the IP address a URL's host names, for the same-host checks of SSDP LOCATIONs and
 * description URLs. Not exported from the package.
 *
 * @module
 */
import { canonicalIp, ipFamily } from "../bytes/ip";

/**
 * The canonical IP of a URL's host (brackets removed, IPv4-mapped IPv6 unmapped), or undefined
 * for a host name.
 *
 * @example
 * ```ts
 * urlHostIp(new URL("http://[::ffff:10.0.0.1]/")); // "10.0.0.1"
 * ```
 */
export function urlHostIp(url: URL): string | undefined {
  const h = url.hostname.startsWith("[") && url.hostname.endsWith("]") ? url.hostname.slice(1, -1) : url.hostname;
  if (ipFamily(h) === undefined) return undefined;
  return unmapV4(canonicalIp(h));
}

/**
 * `::ffff:192.0.2.1` → `192.0.2.1`, so that a dual-stack socket's view matches an IPv4 host.
 *
 * @example
 * ```ts
 * unmapV4("::ffff:10.0.0.1"); // "10.0.0.1"
 * ```
 */
export function unmapV4(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
