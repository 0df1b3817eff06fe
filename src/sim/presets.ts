/**
 * NAT presets under their RFC 3489 §5 names, plus a firewall that drops all UDP. Each takes
 * overrides for any other property:
 *
 * ```ts
 * net.nat(portRestrictedCone({ hairpinning: false, mappingLifetime: 30_000 }));
 * ```
 *
 * | preset                 | mapping (RFC 4787 §4.1)     | filtering (§5)              | ports      |
 * |------------------------|-----------------------------|-----------------------------|------------|
 * | `fullCone()`           | endpoint-independent        | endpoint-independent        | preserve   |
 * | `restrictedCone()`     | endpoint-independent        | address-dependent           | preserve   |
 * | `portRestrictedCone()` | endpoint-independent        | address-and-port-dependent  | preserve   |
 * | `symmetric()`          | address-and-port-dependent  | address-and-port-dependent  | random     |
 * | `udpBlocked()`         | (drops all UDP)             |                             |            |
 *
 * @module
 */
import type { NatBehavior } from "./nat-behavior";
import { natBehavior } from "./nat-behavior";

/**
 * RFC 3489 full cone: endpoint-independent mapping and filtering.
 *
 * @example
 * ```ts
 * const nat = net.nat(fullCone());
 * nat.behavior.filtering; // → "endpoint-independent": anyone can send to a mapping once it exists
 * ```
 */
export function fullCone(overrides: Partial<NatBehavior> = {}): NatBehavior {
  return natBehavior({ mapping: "endpoint-independent", filtering: "endpoint-independent", ...overrides });
}

/**
 * RFC 3489 restricted cone: endpoint-independent mapping, address-dependent filtering.
 *
 * @example
 * ```ts
 * restrictedCone().filtering;                           // → "address-dependent"
 * net.nat(restrictedCone({ portAssignment: "random" })); // same filtering, unpredictable ports
 * ```
 */
export function restrictedCone(overrides: Partial<NatBehavior> = {}): NatBehavior {
  return natBehavior({ mapping: "endpoint-independent", filtering: "address-dependent", ...overrides });
}

/**
 * RFC 3489 port restricted cone: endpoint-independent mapping, address-and-port-dependent filtering.
 *
 * @example
 * ```ts
 * const alice = net.nat(portRestrictedCone({ hairpinning: false })).host(); // most home routers
 * ```
 */
export function portRestrictedCone(overrides: Partial<NatBehavior> = {}): NatBehavior {
  return natBehavior({ mapping: "endpoint-independent", filtering: "address-and-port-dependent", ...overrides });
}

/**
 * RFC 3489 symmetric: address-and-port-dependent mapping and filtering, random external ports
 * (so that a peer cannot guess the next mapping).
 *
 * @example
 * ```ts
 * symmetric().portAssignment; // → "random"
 * expectedPath(symmetric(), portRestrictedCone()); // → "relay": ICE needs TURN between these two
 * ```
 */
export function symmetric(overrides: Partial<NatBehavior> = {}): NatBehavior {
  return natBehavior({
    mapping: "address-and-port-dependent",
    filtering: "address-and-port-dependent",
    portAssignment: "random",
    ...overrides,
  });
}

/**
 * A firewall that drops every UDP datagram in both directions: what RFC 5780 clients report as blocked.
 *
 * @example
 * ```ts
 * const office = net.nat(udpBlocked()).host(); // its datagrams are dropped, traced as "blocked"
 * classicNatName(udpBlocked()); // → "blocked"
 * ```
 */
export function udpBlocked(overrides: Partial<NatBehavior> = {}): NatBehavior {
  return natBehavior({ blockUdp: true, ...overrides });
}
