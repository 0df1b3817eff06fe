/**
 * IPv4 and IPv6 addresses: text ⇄ bytes, and the transport-address shape every icekit API uses.
 *
 * Formatting follows RFC 5952 (lower case, longest zero run compressed, IPv4-mapped addresses in
 * dotted form), so that two equal addresses always print the same way and compare as strings.
 *
 * @module
 */
import { IcekitError, StunDecodeError } from "../errors";

/**
 * Address family, spelled as Node's `dgram` and the CLI's JSON spell it.
 *
 * @example
 * ```ts
 * const family: AddressFamily = ipFamily("2001:db8::1") ?? "IPv4"; // → "IPv6"
 * const wildcard = family === "IPv6" ? "::" : "0.0.0.0";
 * ```
 */
export type AddressFamily = "IPv4" | "IPv6";

/**
 * An IP address and port: what STUN calls a transport address (RFC 8489 §3). `address` is in
 * canonical text form (RFC 5952 for IPv6).
 *
 * @example
 * ```ts
 * const server: TransportAddress = { family: "IPv4", address: "192.0.2.10", port: 3478 };
 * client.request(now, { remote: server });
 * formatTransportAddress(server) // → "192.0.2.10:3478"
 * ```
 */
export interface TransportAddress {
  readonly family: AddressFamily;
  readonly address: string;
  readonly port: number;
}

/**
 * Parses dotted-quad IPv4 text into `out[offset..offset+4)`.
 *
 * @returns true on success, false if `text` is not exactly four decimal octets 0-255 (leading
 *   zeros are refused, since some stacks read them as octal).
 * @example
 * ```ts
 * const out = new Uint8Array(4);
 * parseIPv4Into("192.0.2.1", out)  // → true; out is [192, 0, 2, 1]
 * parseIPv4Into("192.0.2.01", out) // → false: leading zero
 * ```
 */
export function parseIPv4Into(text: string, out: Uint8Array, offset = 0): boolean {
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; /* a final '.' closes the last part */
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[offset + part] = value;
      part++;
      digits = 0;
      value = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false; // leading zero
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

/**
 * Parses IPv6 text (RFC 4291 §2.2, including `::` and a trailing dotted IPv4 part) into
 * `out[offset..offset+16)`. A zone (`%eth0`) is ignored; brackets are not accepted here.
 *
 * @returns true on success, false if `text` is not an IPv6 address.
 * @example
 * ```ts
 * const out = new Uint8Array(16);
 * parseIPv6Into("2001:db8::1", out)   // → true; out is 20 01 0d b8 00 … 00 01
 * parseIPv6Into("[2001:db8::1]", out) // → false: no brackets here
 * ```
 */
export function parseIPv6Into(text: string, out: Uint8Array, offset = 0): boolean {
  const pct = text.indexOf("%");
  if (pct >= 0) text = text.slice(0, pct);
  if (text.length < 2 || text.length > 45) return false;
  const groups: number[] = [];
  let gap = -1; // index in `groups` where `::` stands
  let i = 0;
  if (text.startsWith("::")) {
    gap = 0;
    i = 2;
    if (i === text.length) {
      out.fill(0, offset, offset + 16);
      return true;
    }
  } else if (text[0] === ":") {
    return false;
  }
  while (i < text.length) {
    // A dotted IPv4 tail fills the last 32 bits. Only the last group can be one: "::ffff:1.2.3.4"
    // has a '.' in the rest at every group, but a ':' too until the tail.
    const rest = text.slice(i);
    if (rest.includes(".") && !rest.includes(":")) {
      const v4 = new Uint8Array(4);
      if (!parseIPv4Into(rest, v4)) return false;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      i = text.length;
      break;
    }
    let value = 0;
    let digits = 0;
    while (i < text.length && text[i] !== ":") {
      const c = text.charCodeAt(i);
      let n: number;
      if (c >= 48 && c <= 57) n = c - 48;
      else if ((c | 0x20) >= 97 && (c | 0x20) <= 102) n = (c | 0x20) - 87;
      else return false;
      value = (value << 4) | n;
      if (++digits > 4) return false;
      i++;
    }
    if (digits === 0) return false;
    groups.push(value);
    if (i < text.length) {
      // at a ':'
      i++;
      if (text[i] === ":") {
        if (gap >= 0) return false; // two '::'
        gap = groups.length;
        i++;
      } else if (i === text.length) {
        return false; // trailing single ':'
      }
    }
  }
  if (groups.length > 8 || (gap < 0 && groups.length !== 8) || (gap >= 0 && groups.length > 7)) return false;
  const fill = 8 - groups.length;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    let v: number;
    if (gap >= 0 && k >= gap && k < gap + fill) v = 0;
    else v = groups[g++]!;
    out[offset + 2 * k] = v >>> 8;
    out[offset + 2 * k + 1] = v & 0xff;
  }
  return true;
}

/**
 * Which family `text` is, or undefined if it is neither an IPv4 nor an IPv6 address.
 *
 * @example
 * ```ts
 * ipFamily("192.0.2.1")        // → "IPv4"
 * ipFamily("::ffff:192.0.2.1") // → "IPv6"
 * ipFamily("example.org")      // → undefined: a name, resolve it first
 * ```
 */
export function ipFamily(text: string): AddressFamily | undefined {
  const scratch = new Uint8Array(16);
  if (parseIPv4Into(text, scratch)) return "IPv4";
  if (parseIPv6Into(text, scratch)) return "IPv6";
  return undefined;
}

/**
 * Parses an IPv4 or IPv6 address into 4 or 16 bytes.
 *
 * @throws {@link StunDecodeError} `BAD_TEXT` if `text` is not an IP address.
 * @example
 * ```ts
 * parseIp("192.0.2.1")  // → Uint8Array [192, 0, 2, 1]
 * parseIp("::1").length // → 16
 * ```
 */
export function parseIp(text: string): Uint8Array {
  const v4 = new Uint8Array(4);
  if (parseIPv4Into(text, v4)) return v4;
  const v6 = new Uint8Array(16);
  if (parseIPv6Into(text, v6)) return v6;
  throw new StunDecodeError("BAD_TEXT", `'${text}' is not an IPv4 or IPv6 address`);
}

/**
 * Dotted-quad text of `bytes[offset..offset+4)`.
 *
 * @example
 * ```ts
 * formatIPv4(Uint8Array.of(192, 0, 2, 1)) // → "192.0.2.1"
 * ```
 */
export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * RFC 5952 canonical text of `bytes[offset..offset+16)`.
 *
 * @example
 * ```ts
 * formatIPv6(parseIp("2001:0db8:0:0:0:0:0:1")) // → "2001:db8::1"
 * formatIPv6(parseIp("::ffff:c000:201"))       // → "::ffff:192.0.2.1"
 * ```
 */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted tail.
  let mapped = bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
  for (let k = 0; k < 10 && mapped; k++) if (bytes[offset + k] !== 0) mapped = false;
  if (mapped) return `::ffff:${formatIPv4(bytes, offset + 12)}`;
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first if tied.
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let k = 0; k <= 8; k++) {
    const zero = k < 8 && bytes[offset + 2 * k] === 0 && bytes[offset + 2 * k + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = k;
    } else if (runStart >= 0) {
      if (k - runStart > bestLen) {
        bestLen = k - runStart;
        bestStart = runStart;
      }
      runStart = -1;
    }
  }
  let s = "";
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      s += k === 0 ? "::" : ":";
      k += bestLen - 1;
      continue;
    }
    s += ((bytes[offset + 2 * k]! << 8) | bytes[offset + 2 * k + 1]!).toString(16);
    if (k < 7) s += ":";
  }
  return s;
}

/**
 * Text of a 4- or 16-byte address.
 *
 * @example
 * ```ts
 * formatIp(Uint8Array.of(192, 0, 2, 1)) // → "192.0.2.1"
 * formatIp(parseIp("2001:DB8::0:1"))    // → "2001:db8::1"
 * ```
 */
export function formatIp(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
}

/**
 * Canonical form of an address given as text: `"0:0::1"` → `"::1"`.
 *
 * @throws {@link IcekitError} if `text` is not an IP address.
 * @example
 * ```ts
 * canonicalIp("2001:DB8:0::1")    // → "2001:db8::1"
 * canonicalIp("stun.example.org") // throws IcekitError INVALID_ARGUMENT
 * ```
 */
export function canonicalIp(text: string): string {
  const scratch = new Uint8Array(16);
  if (parseIPv4Into(text, scratch)) return formatIPv4(scratch);
  if (parseIPv6Into(text, scratch)) return formatIPv6(scratch);
  throw new IcekitError("INVALID_ARGUMENT", `'${text}' is not an IP address; pass e.g. "192.0.2.1" or "2001:db8::1"`);
}

/**
 * Builds a checked {@link TransportAddress}, putting the address in canonical form.
 *
 * @throws {@link IcekitError} if `address` is not an IP address or `port` is not an integer
 *   0-65535.
 * @example
 * ```ts
 * transportAddress("2001:DB8::1", 3478) // → { family: "IPv6", address: "2001:db8::1", port: 3478 }
 * transportAddress("192.0.2.1", 70000)  // throws IcekitError: port 70000 is out of range
 * ```
 */
export function transportAddress(address: string, port: number): TransportAddress {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new IcekitError("INVALID_ARGUMENT", `port ${port} is out of range; pass an integer from 0 to 65535`);
  }
  const scratch = new Uint8Array(16);
  if (parseIPv4Into(address, scratch)) return { family: "IPv4", address: formatIPv4(scratch), port };
  if (parseIPv6Into(address, scratch)) return { family: "IPv6", address: formatIPv6(scratch), port };
  throw new IcekitError("INVALID_ARGUMENT", `'${address}' is not an IP address; pass e.g. "192.0.2.1" or "2001:db8::1"`);
}

/**
 * `192.0.2.1:3478` or `[2001:db8::1]:3478`, the form URIs and logs use.
 *
 * @example
 * ```ts
 * formatTransportAddress(transportAddress("192.0.2.1", 3478))   // → "192.0.2.1:3478"
 * formatTransportAddress(transportAddress("2001:db8::1", 3478)) // → "[2001:db8::1]:3478"
 * ```
 */
export function formatTransportAddress(a: TransportAddress): string {
  return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/**
 * True when two transport addresses name the same address and port.
 *
 * @example
 * ```ts
 * const a = transportAddress("2001:db8:0::1", 3478);
 * sameTransportAddress(a, transportAddress("2001:db8::1", 3478)) // → true
 * sameTransportAddress(a, { ...a, port: 3479 })                  // → false
 * ```
 */
export function sameTransportAddress(a: TransportAddress, b: TransportAddress): boolean {
  return a.port === b.port && a.family === b.family && a.address === b.address;
}
