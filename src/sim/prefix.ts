/**
 * IP prefixes (`10.0.0.0/8`, `2001:db8::/32`): parsing, matching and numbering addresses inside
 * one, for the simulator's routing tables and address allocation.
 *
 * @module
 */
import type { AddressFamily } from "../bytes/ip";
import { formatIp, parseIPv4Into, parseIPv6Into } from "../bytes/ip";
import { IcekitError } from "../errors";

/**
 * A parsed prefix.
 *
 * @example
 * ```ts
 * const lan: Prefix = parsePrefix("192.168.1.0/24");
 * lan.text; // → "192.168.1.0/24"; lan.bytes → Uint8Array [192, 168, 1, 0], lan.length → 24
 * ```
 */
export interface Prefix {
  readonly family: AddressFamily;
  /** Network bytes (4 or 16), host bits zeroed. */
  readonly bytes: Uint8Array;
  /** Prefix length in bits. */
  readonly length: number;
  /** Canonical text, e.g. `10.0.0.0/8`. */
  readonly text: string;
}

/**
 * Parses an address into 4 or 16 bytes, or undefined.
 *
 * @example
 * ```ts
 * addressBytes("192.0.2.1");   // → Uint8Array [192, 0, 2, 1]
 * addressBytes("::1")?.length; // → 16
 * addressBytes("nope");        // → undefined
 * ```
 */
export function addressBytes(text: string): Uint8Array | undefined {
  const v4 = new Uint8Array(4);
  if (parseIPv4Into(text, v4)) return v4;
  const v6 = new Uint8Array(16);
  if (parseIPv6Into(text, v6)) return v6;
  return undefined;
}

/**
 * Parses `address/length`; a bare address is a host prefix (/32 or /128).
 *
 * @example
 * ```ts
 * parsePrefix("10.1.2.3/8").text;     // → "10.0.0.0/8": host bits are zeroed
 * parsePrefix("2001:db8::1/32").text; // → "2001:db8::/32"
 * parsePrefix("192.0.2.7").text;      // → "192.0.2.7/32"
 * ```
 *
 * @throws {@link IcekitError} for anything else.
 */
export function parsePrefix(cidr: string): Prefix {
  const slash = cidr.indexOf("/");
  const addr = slash < 0 ? cidr : cidr.slice(0, slash);
  const bytes = addressBytes(addr);
  const max = bytes?.length === 4 ? 32 : 128;
  const length = slash < 0 ? max : Number(cidr.slice(slash + 1));
  if (bytes === undefined || !Number.isInteger(length) || length < 0 || length > max || (slash >= 0 && cidr.slice(slash + 1) === "")) {
    throw new IcekitError("INVALID_ARGUMENT", `'${cidr}' is not an IP prefix; pass e.g. "10.0.0.0/24" or "fd00::/64"`);
  }
  for (let bit = length; bit < max; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { family: bytes.length === 4 ? "IPv4" : "IPv6", bytes, length, text: `${formatIp(bytes)}/${length}` };
}

/**
 * True when `address` (4 or 16 bytes) lies inside `prefix`.
 *
 * @example
 * ```ts
 * prefixContains(parsePrefix("192.168.1.0/24"), addressBytes("192.168.1.20")!); // → true
 * prefixContains(parsePrefix("192.168.1.0/24"), addressBytes("192.168.2.1")!);  // → false
 * ```
 */
export function prefixContains(prefix: Prefix, address: Uint8Array): boolean {
  if (address.length !== prefix.bytes.length) return false;
  const full = prefix.length >> 3;
  for (let i = 0; i < full; i++) if (address[i] !== prefix.bytes[i]) return false;
  const rest = prefix.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[full]! & mask) === prefix.bytes[full];
}

/**
 * The `n`th address of a prefix (n = 0 is the network address), or undefined when the prefix
 * has fewer than n + 1 addresses.
 *
 * @example
 * ```ts
 * nthAddress(parsePrefix("192.168.1.0/24"), 2);   // → "192.168.1.2", a NAT's first host
 * nthAddress(parsePrefix("100.64.0.0/10"), 300);  // → "100.64.1.44"
 * nthAddress(parsePrefix("192.168.1.0/24"), 256); // → undefined: the /24 is full
 * ```
 */
export function nthAddress(prefix: Prefix, n: number): string | undefined {
  const max = prefix.bytes.length * 8;
  const hostBits = max - prefix.length;
  if (hostBits < 53 && n >= 2 ** hostBits) return undefined;
  const out = prefix.bytes.slice();
  let carry = n;
  for (let i = out.length - 1; i >= 0 && carry > 0; i--) {
    const v = out[i]! + (carry % 256);
    out[i] = v & 0xff;
    carry = Math.floor(carry / 256) + (v >> 8);
  }
  return formatIp(out);
}
