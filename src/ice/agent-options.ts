/**
 * Checking and resolving {@link IceAgentOptions}: defaults from the RFCs, and the floors they set
 * (Ta ≥ 5 ms, RFC 8445 §14.2; Tr ≥ 15 s, §11; consent period ≥ 4 s, RFC 7675 §5.1).
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { transportAddress } from "../bytes/ip";
import { defaultRandom } from "../engine";
import type { RandomSource } from "../engine";
import { IcekitError } from "../errors";
import type { IceAgentOptions, IceRole, IceTurnServer } from "./agent-types";
import { MIN_CONSENT_INTERVAL, MIN_KEEPALIVE_INTERVAL } from "./consent";
import { checkIceCredential, randomIceString, randomTiebreaker } from "./credentials";
import { IcePacer } from "./pacer";
import type { SessionConfig } from "./session";

/**
 * The options with every default filled in and every value checked.
 *
 * @example
 * ```ts
 * const o: ResolvedOptions = resolveOptions({ role: "controlled" });
 * o.config.ta;      // → 50
 * o.ufrag.length;   // → 8 random ice-chars
 * o.config.consent; // → { interval: 5000, timeout: 30000, disconnectedAfter: 10000, keepalive: 15000 }
 * ```
 */
export interface ResolvedOptions {
  readonly config: SessionConfig;
  readonly role: IceRole;
  readonly random: RandomSource;
  readonly tiebreaker: bigint;
  readonly ufrag: string;
  readonly pwd: string;
  readonly stunServers: readonly TransportAddress[];
  readonly turnServers: readonly IceTurnServer[];
  readonly pacer: IcePacer;
  readonly loopback: boolean;
  readonly ipv6Only: boolean;
}

/**
 * A transport address from the options, in canonical form.
 *
 * @example
 * ```ts
 * checkedAddress({ family: "IPv6", address: "2001:DB8::0:1", port: 3478 }, "stunServers[0]");
 * // → { family: "IPv6", address: "2001:db8::1", port: 3478 }
 * ```
 */
export function checkedAddress(a: TransportAddress, what: string): TransportAddress {
  if (typeof a !== "object" || a === null) throw new IcekitError("INVALID_ARGUMENT", `${what}: pass a transport address { family, address, port }`);
  return transportAddress(a.address, a.port);
}

/**
 * Checks the options and fills in the defaults.
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` naming the option and what to pass instead
 *
 * @example
 * ```ts
 * resolveOptions({ role: "controlling", ta: 20 }).config.ta; // → 20
 * resolveOptions({ role: "controlling", ta: 2 }); // throws IcekitError INVALID_ARGUMENT: "ta 2: pass a number from 5 to 60000 (default 50)"
 * ```
 */
export function resolveOptions(options: IceAgentOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) throw new IcekitError("INVALID_ARGUMENT", 'pass options: { role: "controlling" | "controlled", ... }');
  if (options.role !== "controlling" && options.role !== "controlled") {
    throw new IcekitError("INVALID_ARGUMENT", `role ${String(options.role)}: pass "controlling" or "controlled" (RFC 8445 §6.1.1)`);
  }
  const lite = options.lite === true;
  // A lite agent may start controlling: RFC 8445 §6.1.1 "Both lite: The initiating agent [...]
  // MUST take the controlling role"; it turns controlled if the peer proves full.
  if (options.pacer !== undefined && !(options.pacer instanceof IcePacer)) {
    throw new IcekitError("INVALID_ARGUMENT", "pacer: pass an IcePacer shared by the agents (RFC 8445 §14.2)");
  }
  const num = (v: number | undefined, name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER, integer = true): number => {
    if (v === undefined) return def;
    if (typeof v !== "number" || Number.isNaN(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new IcekitError("INVALID_ARGUMENT", `${name} ${String(v)}: pass ${integer ? "an integer" : "a number"} from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ""} (default ${def})`);
    }
    return v;
  };
  const ta = num(options.ta, "ta", 50, 5, 60_000, false);
  const keepalive = num(options.keepaliveInterval, "keepaliveInterval", 15_000, MIN_KEEPALIVE_INTERVAL);
  const interval = options.consentInterval === false ? false : num(options.consentInterval, "consentInterval", 5000, MIN_CONSENT_INTERVAL);
  const stunServers = (options.stunServers ?? []).map((s, i) => checkedAddress(s, `stunServers[${i}]`));
  const turnServers = (options.turnServers ?? []).map((t, i) => {
    if (typeof t !== "object" || t === null) throw new IcekitError("INVALID_ARGUMENT", `turnServers[${i}]: pass { address, username, password, transport? }`);
    if (t.transport !== undefined && t.transport !== "udp" && t.transport !== "tcp" && t.transport !== "tls") {
      throw new IcekitError("INVALID_ARGUMENT", `turnServers[${i}].transport ${String(t.transport)}: pass "udp", "tcp" or "tls"`);
    }
    return { ...t, address: checkedAddress(t.address, `turnServers[${i}].address`) };
  });
  if (stunServers.length + turnServers.length > 31) {
    throw new IcekitError("INVALID_ARGUMENT", "pass at most 31 STUN and TURN servers in all: each needs its own local preference (RFC 8445 §5.1.2.2)");
  }
  if (options.resolveMdns !== undefined && typeof options.resolveMdns !== "function") {
    throw new IcekitError("INVALID_ARGUMENT", "resolveMdns: pass a function (name) => ip | undefined");
  }
  if (options.tiebreaker !== undefined && (typeof options.tiebreaker !== "bigint" || options.tiebreaker < 0n || options.tiebreaker > 0xffffffffffffffffn)) {
    throw new IcekitError("INVALID_ARGUMENT", "tiebreaker: pass a bigint from 0n to 2n**64n-1n (RFC 8445 §7.1.3)");
  }
  const random = options.random ?? defaultRandom;
  const tiebreaker = options.tiebreaker ?? randomTiebreaker(random);
  const ufrag = options.ufrag ?? randomIceString(random, 8);
  const pwd = options.pwd ?? randomIceString(random, 24);
  checkIceCredential(ufrag, "ufrag", 4);
  checkIceCredential(pwd, "pwd", 22);
  return {
    config: {
      components: num(options.components, "components", 1, 1, 256),
      lite,
      ta,
      maxPairs: num(options.maxPairs, "maxPairs", 100, 1, 10_000),
      maxRemoteCandidates: num(options.maxRemoteCandidates, "maxRemoteCandidates", 100, 1, 10_000),
      nominationDelay: num(options.nominationDelay, "nominationDelay", 1000, 0),
      rc: num(options.checkTransmissions, "checkTransmissions", 7, 1, 20),
      consent: {
        interval,
        timeout: num(options.consentTimeout, "consentTimeout", 30_000, 1),
        disconnectedAfter: num(options.disconnectedTimeout, "disconnectedTimeout", 10_000, 1),
        keepalive,
      },
      software: options.software,
      hmac: options.hmac,
      resolveMdns: options.resolveMdns,
    },
    role: options.role,
    random,
    tiebreaker,
    ufrag,
    pwd,
    stunServers,
    turnServers,
    // A private pacer paces at the 5 ms floor, below any Ta: alone, it never holds the agent back.
    pacer: options.pacer ?? new IcePacer(),
    loopback: options.loopback === true,
    ipv6Only: options.ipv6Only === true,
  };
}
