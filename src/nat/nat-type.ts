/**
 * NAT behaviour in RFC 4787's terms, and the classic RFC 3489 name derived from it.
 *
 * RFC 4787 §3 retired the cone names because that terminology "has proven inadequate at describing
 * real-life NAT behavior": a NAT has a mapping behaviour (§4.1) and a filtering behaviour (§5), chosen
 * independently. People still ask "what NAT am I behind?" and expect one of RFC 3489 §5's four
 * names (pystun's `get_ip_info()` answers that way), so {@link classicNatType} folds the two
 * behaviours into one name with a fixed, documented table. The RFC 4787 fields stay the precise
 * answer; the classic name is a summary for people and for hole-punching odds tables.
 *
 * @module
 */

/**
 * RFC 4787 §4.1: when a NAT reuses the mapping X:x → X':x' for a new destination Y2:y2.
 *
 * - `endpoint-independent`: always (X1':x1' = X2':x2' for every Y2:y2).
 * - `address-dependent`: when Y2 = Y1, whatever the port.
 * - `address-and-port-dependent`: only when Y2:y2 = Y1:y1.
 *
 * @example
 * ```ts
 * const mapping: MappingBehavior | undefined = report.mapping; // from a NatDiscovery "done" event
 * // A dependent mapping gives each destination its own external port: srflx candidates may not work.
 * if (mapping !== "endpoint-independent") console.log("expect to need TURN");
 * ```
 */
export type MappingBehavior = "endpoint-independent" | "address-dependent" | "address-and-port-dependent";

/**
 * RFC 4787 §5: which inbound packets from Y:y to a mapping X':x' the NAT lets through.
 *
 * - `endpoint-independent`: any, once X:x has sent anything anywhere.
 * - `address-dependent`: those from an IP address X:x has sent to.
 * - `address-and-port-dependent`: those from an IP address and port X:x has sent to.
 *
 * @example
 * ```ts
 * const filtering: FilteringBehavior = "address-dependent";
 * classicNatType("endpoint-independent", filtering, true); // → "restricted-cone"
 * ```
 */
export type FilteringBehavior = "endpoint-independent" | "address-dependent" | "address-and-port-dependent";

/**
 * The classic one-word answer.
 *
 * - `open`: no NAT and nothing filtering inbound UDP (RFC 3489 §10.1 "open Internet").
 * - `full-cone`, `restricted-cone`, `port-restricted-cone`, `symmetric`: RFC 3489 §5.
 * - `udp-blocked`: no UDP answer from the server, yet a Binding request over TCP to the same
 *   server succeeded: something between here and the server drops UDP (RFC 3489 §10.1 "firewall
 *   that blocks UDP"), and the server itself is up. TURN over TCP/TLS is the way out.
 * - `blocked`: no mapping could be learned at all: no UDP answer and no TCP answer either (or the
 *   TCP probe was not allowed), or the server refused test I with an error response. This is
 *   pystun's `"Blocked"`: what it reports when its test I gets nothing back.
 *
 * {@link classicNatType} never returns the last two: they describe the path to the server, not a
 * NAT, and only the discovery engine (which saw test I fail) can tell them apart.
 *
 * @example
 * ```ts
 * const natType: ClassicNatType = report.natType; // e.g. "port-restricted-cone"
 * if (natType === "udp-blocked") console.log("UDP is dropped on the way: use TURN over TCP or TLS");
 * ```
 */
export type ClassicNatType =
  | "open"
  | "full-cone"
  | "restricted-cone"
  | "port-restricted-cone"
  | "symmetric"
  | "blocked"
  | "udp-blocked";

/**
 * The classic names {@link classicNatType} can return: those that describe a NAT or firewall.
 *
 * @example
 * ```ts
 * const name: ReachableNatType = classicNatType("address-and-port-dependent", "address-and-port-dependent", true); // → "symmetric"
 * ```
 */
export type ReachableNatType = Exclude<ClassicNatType, "blocked" | "udp-blocked">;

/**
 * Folds RFC 4787 mapping and filtering behaviour into an RFC 3489 name.
 *
 * The rule is: the **most restrictive classic type consistent with what was measured**. RFC 5780
 * §4 says results "can be regarded as upper bounds -- an application must assume that NAT
 * behavior can become more restrictive at any time", so an unknown is assumed to be the worst
 * case, never the best.
 *
 * | behindNat          | mapping                        | filtering                      | name                   |
 * |--------------------|--------------------------------|--------------------------------|------------------------|
 * | any                | address(-and-port)-dependent   | any                            | `symmetric`            |
 * | `true`/`undefined` | undefined (not measured)       | any                            | `symmetric`            |
 * | `false`            | endpoint-independent/undefined | endpoint-independent           | `open`                 |
 * | `true`/`undefined` | endpoint-independent           | endpoint-independent           | `full-cone`            |
 * | any                | endpoint-independent¹          | address-dependent              | `restricted-cone`      |
 * | any                | endpoint-independent¹          | address-and-port-dependent     | `port-restricted-cone` |
 * | any                | endpoint-independent¹          | undefined (not measured)       | `port-restricted-cone` |
 *
 * ¹ or undefined when `behindNat` is `false`: without translation the mapping is
 * endpoint-independent by construction (RFC 5780 §4.3).
 *
 * Decisions worth knowing:
 * - **Mapping first.** Every cone of RFC 3489 §5 maps all destinations to one external address,
 *   so a NAT whose mapping depends on the destination is `symmetric` whatever its filtering. RFC
 *   3489 §10.1's flowchart (and pystun, which follows it) runs the filtering test first and calls
 *   the rare endpoint-independent-filtering NAT with dependent mapping `full-cone`; icekit does
 *   not, and the `mapping`/`filtering` fields carry the full answer either way.
 * - **Firewalls are named by their filtering.** Without translation (`behindNat: false`),
 *   RFC 3489 §10.1 calls any filtering a "symmetric UDP firewall"; that name is not in the set,
 *   and its hole-punching odds are those of a cone with the same filtering (the mapping is the
 *   identity, hence endpoint-independent). So a firewall with address-dependent filtering is
 *   `restricted-cone`, with address-and-port-dependent filtering `port-restricted-cone`, and
 *   `behindNat: false` in the report says that no translation happens.
 * - `open` needs proof that there is no NAT (`behindNat: false`); with the local address unknown,
 *   endpoint-independent mapping and filtering is `full-cone`.
 *
 * @param mapping - RFC 4787 §4.1 behaviour, or undefined when it could not be measured
 * @param filtering - RFC 4787 §5 behaviour, or undefined when it could not be measured
 * @param behindNat - whether the mapped address differs from the local one; undefined when the
 *   local address is not known
 * @returns the classic name; never `blocked` or `udp-blocked`
 *
 * @example
 * ```ts
 * classicNatType("endpoint-independent", "address-and-port-dependent", true); // "port-restricted-cone"
 * classicNatType("address-dependent", "endpoint-independent", true);          // "symmetric"
 * classicNatType(undefined, "endpoint-independent", false);                   // "open"
 * ```
 */
export function classicNatType(
  mapping: MappingBehavior | undefined,
  filtering: FilteringBehavior | undefined,
  behindNat: boolean | undefined,
): ReachableNatType {
  if (mapping === "address-dependent" || mapping === "address-and-port-dependent") return "symmetric";
  // RFC 5780 §4.3: not NATed means the effective mapping is endpoint-independent.
  const eim = mapping === "endpoint-independent" || behindNat === false;
  if (!eim) return "symmetric";
  switch (filtering) {
    case "endpoint-independent":
      return behindNat === false ? "open" : "full-cone";
    case "address-dependent":
      return "restricted-cone";
    case "address-and-port-dependent":
    case undefined:
      return "port-restricted-cone";
  }
}
