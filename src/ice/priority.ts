/**
 * Candidate and pair priorities (RFC 8445 §5.1.2, §6.1.2.3) and the local preferences of a
 * multihomed, dual-stack agent (RFC 8421).
 *
 * ```ts
 * candidatePriority("host", 65535, 1)          // 2130706431 = 126·2^24 + 65535·2^8 + 255
 * pairPriority(2130706431, 1694498815)         // 2^32·MIN + 2·MAX + (G>D ? 1 : 0), as a bigint
 * ```
 *
 * @module
 */
import type { AddressFamily } from "../bytes/ip";
import { IcekitError } from "../errors";

/**
 * The four candidate types of RFC 8445 §4.
 *
 * @example
 * ```ts
 * const type: CandidateType = "srflx";
 * candidatePriority(type, 65535, 1); // → 1694498815
 * ```
 */
export type CandidateType = "host" | "srflx" | "prflx" | "relay";

/**
 * RFC 8445 §5.1.2.2: "The RECOMMENDED values for type preferences are 126 for host candidates,
 * 110 for peer-reflexive candidates, 100 for server-reflexive candidates, and 0 for relayed
 * candidates."
 *
 * @example
 * ```ts
 * TYPE_PREFERENCE.host;  // → 126
 * TYPE_PREFERENCE.relay; // → 0: relayed candidates are tried last
 * ```
 */
export const TYPE_PREFERENCE: Readonly<Record<CandidateType, number>> = { host: 126, prflx: 110, srflx: 100, relay: 0 };

/**
 * RFC 8445 §5.1.2.1: "When there is only a single IP address, this value SHOULD be set to 65535."
 *
 * @example
 * ```ts
 * candidatePriority("host", MAX_LOCAL_PREFERENCE, 1); // → 2130706431, a single-homed host candidate
 * ```
 */
export const MAX_LOCAL_PREFERENCE = 65535;

/**
 * A candidate's priority by the recommended formula (RFC 8445 §5.1.2.1):
 *
 * ```
 * priority = (2^24)*(type preference) + (2^8)*(local preference) + (2^0)*(256 - component ID)
 * ```
 *
 * @param type - the candidate type; its preference is {@link TYPE_PREFERENCE}
 * @param localPreference - 0-65535; unique among candidates of one type and component
 * @param component - the component ID, 1-256
 * @returns an integer from 0 to 2^31-1 (2^31-1 itself is never reached: component ≥ 1)
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for a local preference or component out of range
 * @example
 * ```ts
 * candidatePriority("srflx", 65535, 1) // 1694498815, RFC 8839's example priority
 * ```
 */
export function candidatePriority(type: CandidateType, localPreference: number, component: number): number {
  const typePreference = TYPE_PREFERENCE[type];
  if (typePreference === undefined) throw new IcekitError("INVALID_ARGUMENT", `candidate type ${String(type)}: pass "host", "srflx", "prflx" or "relay"`);
  if (!Number.isInteger(localPreference) || localPreference < 0 || localPreference > MAX_LOCAL_PREFERENCE) {
    throw new IcekitError("INVALID_ARGUMENT", `local preference ${localPreference}: pass an integer from 0 to 65535 (RFC 8445 §5.1.2.1)`);
  }
  if (!Number.isInteger(component) || component < 1 || component > 256) {
    throw new IcekitError("INVALID_ARGUMENT", `component ${component}: pass an integer from 1 to 256 (RFC 8445 §5.1.2.1)`);
  }
  return typePreference * 0x1000000 + localPreference * 0x100 + (256 - component);
}

/**
 * A candidate pair's priority (RFC 8445 §6.1.2.3), exact in 64 bits:
 *
 * ```
 * pair priority = 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0)
 * ```
 *
 * where G is the priority of the controlling agent's candidate and D the controlled agent's.
 * The result needs up to 64 bits, more than a `number` holds exactly, hence the bigint.
 *
 * @param controllingPriority - G, 0 to 2^32-1
 * @param controlledPriority - D, 0 to 2^32-1
 * @throws {@link IcekitError} `INVALID_ARGUMENT` when a priority is not a 32-bit unsigned integer
 *
 * @example
 * ```ts
 * pairPriority(2130706431, 1694498815); // → 7277816997797167103n (G > D: + 1)
 * pairPriority(1694498815, 2130706431); // → 7277816997797167102n
 * ```
 */
export function pairPriority(controllingPriority: number, controlledPriority: number): bigint {
  checkPriority(controllingPriority, "controlling");
  checkPriority(controlledPriority, "controlled");
  const g = controllingPriority;
  const d = controlledPriority;
  const min = g < d ? g : d;
  const max = g < d ? d : g;
  return (BigInt(min) << 32n) + 2n * BigInt(max) + (g > d ? 1n : 0n);
}

function checkPriority(p: number, who: string): void {
  if (!Number.isInteger(p) || p < 0 || p > 0xffffffff) {
    throw new IcekitError("INVALID_ARGUMENT", `${who} candidate priority ${p}: pass an integer from 0 to 2^32-1`);
  }
}

/**
 * Orders a host's addresses the way RFC 8421 §4 recommends for dual-stack agents: IPv6 first,
 * with IPv4 addresses intermingled after a head start of `Hi = (N_4 + N_6) / N_4` IPv6
 * addresses, so that a broken address family cannot hold up every check. Within one family the
 * given order (the caller's interface preference, RFC 8421 §3) is kept.
 *
 * @param families - the family of each address, in the caller's order of preference
 * @returns for each input index, its rank (0 = most preferred); ranks are a permutation
 * @example
 * ```ts
 * // 2 IPv4 and 6 IPv6 addresses: "insert an IPv4 address after four IPv6 addresses"
 * dualStackRanks(["IPv4", "IPv4", "IPv6", "IPv6", "IPv6", "IPv6", "IPv6", "IPv6"])
 * // [4, 7, 0, 1, 2, 3, 5, 6]
 * ```
 */
export function dualStackRanks(families: readonly AddressFamily[]): number[] {
  const v4: number[] = [];
  const v6: number[] = [];
  families.forEach((f, i) => (f === "IPv4" ? v4 : v6).push(i));
  const ranks = new Array<number>(families.length).fill(0);
  let rank = 0;
  if (v4.length === 0 || v6.length === 0) {
    for (const i of [...v6, ...v4]) ranks[i] = rank++;
    return ranks;
  }
  // RFC 8421 §4: Hi = (N_4 + N_6) / N_4 IPv6 addresses before the first IPv4 one, then one IPv4
  // address after every Hi - 1 IPv6 ones.
  const head = Math.max(1, Math.floor((v4.length + v6.length) / v4.length));
  let a = 0;
  let b = 0;
  for (let k = 0; k < head && b < v6.length; k++) ranks[v6[b++]!] = rank++;
  while (a < v4.length || b < v6.length) {
    if (a < v4.length) ranks[v4[a++]!] = rank++;
    for (let k = 0; k < head - 1 && b < v6.length; k++) ranks[v6[b++]!] = rank++;
    if (a >= v4.length) while (b < v6.length) ranks[v6[b++]!] = rank++;
  }
  return ranks;
}

/**
 * Spacing between the local preferences of two host addresses: candidates derived from one base
 * (server-reflexive candidates from several STUN servers, relayed ones from several TURN servers)
 * take the values in between, so that every candidate of a type and component gets a unique
 * local preference (RFC 8445 §5.1.2.1 MUST, §5.1.2.2 for TURN servers).
 *
 * @example
 * ```ts
 * localPreference(1);                            // → 65471 = 65535 - LOCAL_PREFERENCE_STEP
 * localPreference(0, LOCAL_PREFERENCE_STEP - 1); // → 65472: still above the next base's range
 * ```
 */
export const LOCAL_PREFERENCE_STEP = 64;

/**
 * The local preference of the base ranked `rank` (0 = best), for a candidate obtained through
 * server number `server` (0 for host candidates; each STUN or TURN server its own number).
 *
 * @returns 65535 for rank 0 and server 0, then descending; never below 0
 *
 * @example
 * ```ts
 * localPreference(0);    // → 65535: the best base's host candidate
 * localPreference(0, 1); // → 65534: its candidate from the first STUN server
 * localPreference(1);    // → 65471: the second-best base
 * ```
 */
export function localPreference(rank: number, server = 0): number {
  return Math.max(0, MAX_LOCAL_PREFERENCE - rank * LOCAL_PREFERENCE_STEP - server);
}
