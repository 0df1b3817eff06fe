/**
 * The IPv4 default gateway, the address PCP, NAT-PMP and UPnP requests go to.
 *
 * @module
 */
import { readFileSync } from "node:fs";

/**
 * The IPv4 default gateway from Linux's `/proc/net/route` (little-endian hex columns: Iface,
 * Destination, Gateway, Flags, ...; RTF_GATEWAY is 0x2). Undefined when there is none, or
 * elsewhere than Linux (pass the gateway yourself there).
 *
 * @param table - the table's text, for tests; default: read `/proc/net/route`
 *
 * @example
 * ```ts
 * defaultGateway(); // → "192.168.1.1"
 * ```
 */
export function defaultGateway(table?: string): string | undefined {
  let text = table;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/net/route", "utf8");
    } catch {
      return undefined;
    }
  }
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[1] !== "00000000" || f[7] !== "00000000") continue;
    const flags = parseInt(f[3]!, 16);
    if ((flags & 0x2) === 0 || (flags & 0x1) === 0) continue; // RTF_UP | RTF_GATEWAY
    const g = parseInt(f[2]!, 16);
    if (!Number.isFinite(g) || g === 0) continue;
    return [g & 0xff, (g >>> 8) & 0xff, (g >>> 16) & 0xff, g >>> 24].join(".");
  }
  return undefined;
}
