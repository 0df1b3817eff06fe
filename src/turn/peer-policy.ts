/**
 * Which peer addresses a TURN server relays to: CIDR allow and deny lists, secure by default.
 *
 * RFC 8656 §21.1.4 warns that a TURN server "may be situated in the network such that it is able
 * to send to hosts to which the client cannot directly send", and lets the administrator
 * "restrict the range of IP addresses and ports to which it will relay data" (§10.2, §12.2:
 * 403 Forbidden; §11.2: discard). §21.4 says a server "MUST NOT accept Teredo or 6to4
 * addresses". coturn's CVE history (CVE-2020-26262: `0.0.0.0` and `[::]` reached loopback
 * services; the IPv4-mapped forms that bypassed deny lists) shows the other half: a deny list
 * is only as good as its address normalisation.
 *
 * So every address is first **normalised**: an IPv6 address that embeds an IPv4 address and
 * reaches it when used as a destination (RFC 4291 §2.5.5 IPv4-compatible `::a.b.c.d` and
 * IPv4-mapped `::ffff:a.b.c.d`, RFC 6052 SIIT `::ffff:0:a.b.c.d`, RFC 6052 NAT64 well-known
 * prefix `64:ff9b::a.b.c.d`) is treated as that IPv4 address. Rules are normalised the same way
 * (`::ffff:127.0.0.0/104` is `127.0.0.0/8`), then:
 *
 * - an address matching any **allow** CIDR is allowed (allow wins over every deny, as coturn's
 *   `--allowed-peer-ip` does), otherwise
 * - an address matching any **deny** CIDR ({@link DEFAULT_DENIED_PEERS} plus the operator's
 *   own) is refused, otherwise
 * - it is allowed.
 *
 * `::` and `::1` fall inside the IPv4-compatible range and normalise to `0.0.0.0` and
 * `0.0.0.1`; both stay refused by `0.0.0.0/8`, and an allow rule `::1/128` is normalised the same
 * way, so it still means what it says. A rule with a prefix shorter than 96 bits written in
 * IPv6 form (`::/0`) is compared with normalised addresses too, so `::/0` allows everything.
 *
 * @example
 * ```ts
 * const policy = new PeerPolicy({ allow: ["127.0.0.0/8"] });
 * policy.allows("127.0.0.1");         // true: allowed explicitly
 * policy.allows("::ffff:127.0.0.1");  // true: the same address
 * policy.allows("10.0.0.1");          // false: RFC 1918, denied by default
 * policy.allows("64:ff9b::a00:1");    // false: NAT64 form of 10.0.0.1
 * ```
 *
 * @module
 */
import { formatIPv4, formatIPv6, parseIPv4Into, parseIPv6Into } from "../bytes/ip";
import { IcekitError } from "../errors";

/**
 * The peers a TURN server refuses unless an allow rule says otherwise: every special-purpose
 * range of the IANA registries (RFC 6890) that is not globally reachable, plus the tunnelling
 * prefixes RFC 8656 §21.4 forbids. The documentation ranges (192.0.2.0/24, 198.51.100.0/24,
 * 203.0.113.0/24, 2001:db8::/32) are not on the list: nothing routes them, and examples use them.
 *
 * @example
 * ```ts
 * DEFAULT_DENIED_PEERS.includes("2001::/32"); // → true: Teredo (RFC 8656 §21.4)
 * new PeerPolicy().denyRules.length === DEFAULT_DENIED_PEERS.length; // → true: on unless defaults: false
 * ```
 */
export const DEFAULT_DENIED_PEERS: readonly string[] = [
  "0.0.0.0/8", // "this network"; 0.0.0.0 reaches the local host (RFC 1122 §3.2.1.3, CVE-2020-26262)
  "10.0.0.0/8", // private (RFC 1918)
  "100.64.0.0/10", // shared address space, carrier-grade NAT (RFC 6598)
  "127.0.0.0/8", // loopback (RFC 1122)
  "169.254.0.0/16", // link-local (RFC 3927)
  "172.16.0.0/12", // private (RFC 1918)
  "192.0.0.0/24", // IETF protocol assignments: DS-Lite, NAT64 discovery (RFC 6890)
  "192.88.99.0/24", // 6to4 relay anycast (RFC 7526): a tunnel endpoint, RFC 8656 §21.4
  "192.168.0.0/16", // private (RFC 1918)
  "198.18.0.0/15", // benchmarking (RFC 2544)
  "224.0.0.0/4", // multicast (RFC 5771)
  "240.0.0.0/4", // reserved, and 255.255.255.255 limited broadcast (RFC 1112, RFC 919)
  "64:ff9b:1::/48", // local-use NAT64 (RFC 8215): may translate to private IPv4
  "100::/64", // discard-only (RFC 6666)
  "2001::/32", // Teredo (RFC 4380): RFC 8656 §21.4 "MUST NOT accept Teredo"
  "2001:2::/48", // benchmarking (RFC 5180)
  "2001:10::/28", // ORCHID (RFC 4843)
  "2002::/16", // 6to4 (RFC 3056): RFC 8656 §21.4 "MUST NOT accept ... 6to4"
  "fc00::/7", // unique local (RFC 4193)
  "fe80::/10", // link-local (RFC 4291)
  "fec0::/10", // site-local, deprecated (RFC 3879)
  "ff00::/8", // multicast (RFC 4291)
];

/**
 * A parsed CIDR block in the normalised 128-bit space (IPv4 as `::ffff:a.b.c.d`).
 *
 * @example
 * ```ts
 * const cidr: PeerCidr = parsePeerCidr("::ffff:127.0.0.0/104");
 * cidr.canonical; // → "127.0.0.0/8"
 * cidr.prefix;    // → 104, in the 128-bit space
 * ```
 */
export interface PeerCidr {
  /** The rule as written. */
  readonly text: string;
  /** The block in canonical text, after normalisation (`127.0.0.0/8`, `fe80::/10`). */
  readonly canonical: string;
  /** The network, 16 bytes, bits past the prefix zeroed. */
  readonly network: Uint8Array;
  /** Prefix length in the 128-bit space (an IPv4 /8 is 104). */
  readonly prefix: number;
}

/**
 * Options of {@link PeerPolicy}.
 *
 * @example
 * ```ts
 * const options: PeerPolicyOptions = { allow: ["127.0.0.0/8"], deny: ["203.0.113.0/24"] };
 * new PeerPolicy(options).allows("203.0.113.9"); // → false
 * ```
 */
export interface PeerPolicyOptions {
  /** CIDRs relayed to whatever the deny rules say (`"127.0.0.0/8"`, `"fd00::/8"`, or a bare address). */
  readonly allow?: readonly string[];
  /** CIDRs refused in addition to {@link DEFAULT_DENIED_PEERS}. */
  readonly deny?: readonly string[];
  /** Apply {@link DEFAULT_DENIED_PEERS} (default true). `false` leaves only `deny`: not secure. */
  readonly defaults?: boolean;
}

/**
 * Why {@link PeerPolicy.check} decided as it did.
 *
 * @example
 * ```ts
 * const verdict: PeerVerdict = new PeerPolicy().check("::ffff:10.0.0.1");
 * // → { allowed: false, normalized: "10.0.0.1", rule: "10.0.0.0/8" }
 * ```
 */
export interface PeerVerdict {
  readonly allowed: boolean;
  /** The address after normalisation (`::ffff:127.0.0.1` → `127.0.0.1`). */
  readonly normalized: string;
  /** The rule that decided, when one matched (the first allow rule, else the first deny rule). */
  readonly rule?: string;
}

/**
 * Parses IPv4 or IPv6 text into 16 normalised bytes (see the module comment), or returns false.
 * `out` receives the address; IPv4 lands as `::ffff:a.b.c.d`.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(16);
 * normalizePeerAddress("64:ff9b::a00:1", out); // → true; out holds ::ffff:10.0.0.1 (NAT64 → IPv4-mapped)
 * normalizePeerAddress("not an address", out); // → false
 * ```
 */
export function normalizePeerAddress(text: string, out: Uint8Array): boolean {
  if (parseIPv4Into(text, out, 12)) {
    out.fill(0, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    return true;
  }
  if (!parseIPv6Into(text, out, 0)) return false;
  normalizeBytes(out);
  return true;
}

/**
 * Rewrites, in place, a 16-byte IPv6 address that embeds an IPv4 destination to the
 * IPv4-mapped form `::ffff:a.b.c.d`; leaves others alone. Returns true when it rewrote.
 *
 * Recognised: IPv4-compatible `::/96` (RFC 4291 §2.5.5.1, deprecated, includes `::` and
 * `::1`), IPv4-mapped `::ffff:0:0/96` (§2.5.5.2), SIIT `::ffff:0:0:0/96` (RFC 6052 §2.1,
 * RFC 2765) and the NAT64 well-known prefix `64:ff9b::/96` (RFC 6052 §2.1).
 *
 * @example
 * ```ts
 * const b = new Uint8Array(16);
 * b[15] = 1;          // ::1, inside the IPv4-compatible ::/96
 * normalizeBytes(b);  // → true; b now holds ::ffff:0.0.0.1
 * ```
 */
export function normalizeBytes(b: Uint8Array): boolean {
  if (embeddedPrefix(b) === undefined) return false;
  b.fill(0, 0, 10);
  b[10] = 0xff;
  b[11] = 0xff;
  return true;
}

/** Which IPv4-embedding /96 the first 12 bytes of `b` are, or undefined. */
function embeddedPrefix(b: Uint8Array): "compatible" | "mapped" | "siit" | "nat64" | undefined {
  for (let i = 4; i < 8; i++) if (b[i] !== 0) return undefined;
  const w0 = (b[0]! << 8) | b[1]!;
  const w1 = (b[2]! << 8) | b[3]!;
  const w4 = (b[8]! << 8) | b[9]!;
  const w5 = (b[10]! << 8) | b[11]!;
  if (w0 === 0 && w1 === 0) {
    if (w4 === 0 && w5 === 0) return "compatible";
    if (w4 === 0 && w5 === 0xffff) return "mapped";
    if (w4 === 0xffff && w5 === 0) return "siit";
    return undefined;
  }
  if (w0 === 0x0064 && w1 === 0xff9b && w4 === 0 && w5 === 0) return "nat64";
  return undefined;
}

function isMapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * Parses a CIDR (`"10.0.0.0/8"`, `"fe80::/10"`) or a bare address (a /32 or /128), normalised
 * as the module comment says. Bits past the prefix must be zero in the text: `10.1.0.0/8` is
 * refused, since it usually means a typo.
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` when it is not a CIDR
 *
 * @example
 * ```ts
 * parsePeerCidr("fe80::/10").canonical; // → "fe80::/10"
 * parsePeerCidr("10.1.0.0/8");          // → throws INVALID_ARGUMENT: bits set past the /8 prefix
 * ```
 */
export function parsePeerCidr(text: string): PeerCidr {
  if (typeof text !== "string") throw new IcekitError("INVALID_ARGUMENT", `peer CIDR ${String(text)}: pass text such as "127.0.0.0/8" or "fd00::/8"`);
  const slash = text.indexOf("/");
  const addr = (slash < 0 ? text : text.slice(0, slash)).trim();
  const bytes = new Uint8Array(16);
  let v4 = false;
  if (parseIPv4Into(addr, bytes, 12)) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    v4 = true;
  } else if (!parseIPv6Into(addr, bytes, 0) || addr.includes("%")) {
    throw new IcekitError("INVALID_ARGUMENT", `peer CIDR ${JSON.stringify(text)}: ${JSON.stringify(addr)} is not an IP address; pass e.g. "127.0.0.0/8" or "fd00::/8"`);
  }
  const max = v4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) {
      throw new IcekitError("INVALID_ARGUMENT", `peer CIDR ${JSON.stringify(text)}: prefix length ${JSON.stringify(p)} must be 0-${max}`);
    }
    bits = Number(p);
  }
  const prefix = v4 ? 96 + bits : bits;
  for (let i = prefix; i < 128; i++) {
    if ((bytes[i >> 3]! >> (7 - (i & 7))) & 1) {
      throw new IcekitError("INVALID_ARGUMENT", `peer CIDR ${JSON.stringify(text)} has bits set past the /${bits} prefix; write the network address (e.g. "10.0.0.0/8")`);
    }
  }
  // An IPv6 rule inside an IPv4-embedding /96 means the IPv4 block it embeds.
  if (!v4 && prefix >= 96 && normalizeBytes(bytes)) v4 = true;
  const canonical = v4 ? `${formatIPv4(bytes, 12)}/${prefix - 96}` : `${formatIPv6(bytes)}/${prefix}`;
  return { text, canonical, network: bytes, prefix };
}

interface CompiledRule {
  readonly cidr: PeerCidr;
  /** Network as four 32-bit words, masked. */
  readonly w: Uint32Array;
  /** Mask as four 32-bit words. */
  readonly m: Uint32Array;
}

function compile(cidr: PeerCidr): CompiledRule {
  const w = new Uint32Array(4);
  const m = new Uint32Array(4);
  for (let k = 0; k < 4; k++) {
    const bitsHere = Math.max(0, Math.min(32, cidr.prefix - 32 * k));
    const mask = bitsHere === 0 ? 0 : bitsHere === 32 ? 0xffffffff : (0xffffffff << (32 - bitsHere)) >>> 0;
    m[k] = mask;
    w[k] = (word(cidr.network, k) & mask) >>> 0;
  }
  return { cidr, w, m };
}

function word(b: Uint8Array, k: number): number {
  const o = 4 * k;
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function matches(rule: CompiledRule, words: Uint32Array): boolean {
  const { w, m } = rule;
  return ((words[0]! & m[0]!) >>> 0) === w[0] && ((words[1]! & m[1]!) >>> 0) === w[1] && ((words[2]! & m[2]!) >>> 0) === w[2] && ((words[3]! & m[3]!) >>> 0) === w[3];
}

/**
 * A compiled allow/deny policy: see the module comment. Checks cost a parse and a scan of the
 * rules; a TURN server runs them when a permission or channel is installed, not per packet.
 *
 * @example
 * ```ts
 * const policy = new PeerPolicy({ allow: ["127.0.0.0/8"] }); // loopback peers, for tests
 * policy.check("10.0.0.1"); // → { allowed: false, normalized: "10.0.0.1", rule: "10.0.0.0/8" }
 * policy.allows("203.0.113.5"); // → true
 * ```
 */
export class PeerPolicy {
  readonly #allow: CompiledRule[];
  readonly #deny: CompiledRule[];
  readonly #scratch = new Uint8Array(16);
  readonly #words = new Uint32Array(4);

  /**
   * @param options - allow and deny CIDRs
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for a CIDR that does not parse
   */
  constructor(options: PeerPolicyOptions = {}) {
    const list = (name: string, v: readonly string[] | undefined): readonly string[] => {
      if (v === undefined) return [];
      if (!Array.isArray(v)) throw new IcekitError("INVALID_ARGUMENT", `${name}: pass an array of CIDRs such as ["127.0.0.0/8"]`);
      return v;
    };
    this.#allow = list("allowPeer", options.allow).map((t) => compile(parsePeerCidr(t)));
    const deny = [...(options.defaults === false ? [] : DEFAULT_DENIED_PEERS), ...list("denyPeer", options.deny)];
    this.#deny = deny.map((t) => compile(parsePeerCidr(t)));
  }

  /** The allow rules, normalised (`127.0.0.0/8`). */
  get allowRules(): string[] {
    return this.#allow.map((r) => r.cidr.canonical);
  }

  /** The deny rules, normalised, defaults first. */
  get denyRules(): string[] {
    return this.#deny.map((r) => r.cidr.canonical);
  }

  /** True when relaying to `address` (IPv4 or IPv6 text) is allowed; false for non-addresses. */
  allows(address: string): boolean {
    return this.#decide(address)?.allowed === true;
  }

  /** Like {@link PeerPolicy.allows}, saying which rule decided and what the address normalised to. */
  check(address: string): PeerVerdict {
    const d = this.#decide(address);
    if (d === undefined) return { allowed: false, normalized: address };
    const b = this.#scratch;
    const normalized = isMapped(b) ? formatIPv4(b, 12) : formatIPv6(b);
    return d.rule === undefined ? { allowed: d.allowed, normalized } : { allowed: d.allowed, normalized, rule: d.rule };
  }

  /** The decision and the deciding rule; undefined for text that is not an address. */
  #decide(address: string): { readonly allowed: boolean; readonly rule?: string } | undefined {
    const b = this.#scratch;
    if (!normalizePeerAddress(address, b)) return undefined;
    const words = this.#words;
    for (let k = 0; k < 4; k++) words[k] = word(b, k);
    for (const r of this.#allow) if (matches(r, words)) return { allowed: true, rule: r.cidr.canonical };
    for (const r of this.#deny) if (matches(r, words)) return { allowed: false, rule: r.cidr.canonical };
    return ALLOWED;
  }
}

const ALLOWED = { allowed: true } as const;
