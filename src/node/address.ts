/**
 * Conversions between Node's socket address shapes and icekit's {@link TransportAddress}.
 *
 * @module
 */
import type { AddressInfo } from "node:net";
import type { TransportAddress } from "../bytes/ip";
import { canonicalIp, ipFamily } from "../bytes/ip";

/**
 * A {@link TransportAddress} from an address and port as Node reports them. IPv4-mapped IPv6
 * addresses from dual-stack sockets (`::ffff:192.0.2.1`) become plain IPv4, so that they compare
 * equal to what STUN servers report.
 *
 * @example
 * ```ts
 * fromNode("::ffff:192.0.2.1", 3478); // → { family: "IPv4", address: "192.0.2.1", port: 3478 }
 * fromNode("fe80::1%eth0", 5000);     // → { family: "IPv6", address: "fe80::1", port: 5000 }
 * ```
 */
export function fromNode(address: string, port: number): TransportAddress {
  const pct = address.indexOf("%");
  const bare = pct >= 0 ? address.slice(0, pct) : address;
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(bare)) return { family: "IPv4", address: bare.slice(7), port };
  const family = ipFamily(bare) ?? "IPv4";
  return { family, address: canonicalIp(bare), port };
}

/**
 * A {@link TransportAddress} from a bound socket's `address()`.
 *
 * @example
 * ```ts
 * const socket = await bindUdp("127.0.0.1");
 * fromAddressInfo(socket.address()); // → { family: "IPv4", address: "127.0.0.1", port: 50123 }
 * ```
 */
export function fromAddressInfo(info: AddressInfo): TransportAddress {
  return fromNode(info.address, info.port);
}
