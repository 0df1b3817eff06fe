/**
 * What Node's `os.networkInterfaces()` does not say about IPv6 addresses and RFC 8445 §5.1.1.1
 * needs: which are temporary (RFC 8981 privacy addresses) and on which interface. Linux lists
 * them in `/proc/net/if_inet6`; elsewhere nothing is known and no address counts as temporary.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { canonicalIp } from "../bytes/ip";
import type { HostAddressInfo } from "../ice/host-addresses";

/** `IFA_F_TEMPORARY` (linux/if_addr.h): the kernel made this address for privacy. */
const IFA_F_TEMPORARY = 0x01;

/**
 * The IPv6 addresses of `/proc/net/if_inet6` (columns: 32 hex digits of address, interface
 * index, prefix length, scope, flags, name, all hex but the name) with whether each is
 * temporary and its interface, keyed by canonical address text. Empty when the file cannot be
 * read (not Linux) or does not parse.
 *
 * @param table - the file's text, for tests; default: read `/proc/net/if_inet6`
 *
 * @example
 * ```ts
 * ipv6AddressInfo().get("2001:db8::5e1:9"); // → { temporary: true, interface: "eth0" }
 * ```
 */
export function ipv6AddressInfo(table?: string): Map<string, HostAddressInfo> {
  const out = new Map<string, HostAddressInfo>();
  let text = table;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/net/if_inet6", "utf8");
    } catch {
      return out;
    }
  }
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 6 || !/^[0-9a-f]{32}$/i.test(f[0]!) || !/^[0-9a-f]+$/i.test(f[4]!)) continue;
    const hex = f[0]!;
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    out.set(canonicalIp(groups.join(":")), { temporary: (parseInt(f[4]!, 16) & IFA_F_TEMPORARY) !== 0, interface: f[5]! });
  }
  return out;
}
