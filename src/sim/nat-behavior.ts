/**
 * The behaviour of a simulated NAT, in RFC 4787's terms, each property chosen independently.
 *
 * | RFC 4787                                  | {@link NatBehavior} field                        |
 * |-------------------------------------------|--------------------------------------------------|
 * | §4.1 Endpoint-Independent Mapping         | `mapping: "endpoint-independent"`                |
 * | §4.1 Address-Dependent Mapping            | `mapping: "address-dependent"`                   |
 * | §4.1 Address and Port-Dependent Mapping   | `mapping: "address-and-port-dependent"`          |
 * | §4.1 IP address pooling Paired / Arbitrary| `pooling: "paired"` / `"arbitrary"`              |
 * | §4.2.1 port preservation / none           | `portAssignment: "preserve"` / `"sequential"` / `"random"` |
 * | §4.2.2 port parity preservation           | `portParity: true`                               |
 * | §4.3 mapping timer                        | `mappingLifetime` (ms)                           |
 * | §4.3 outbound / inbound refresh           | `refresh: "outbound"` / `"both"`                 |
 * | §5 Endpoint-Independent Filtering etc.    | `filtering: ...` (same three values)             |
 * | §6 hairpinning (external source, REQ-9a)  | `hairpinning: true`                              |
 *
 * @module
 */
import { IcekitError } from "../errors";

/**
 * How much of the remote endpoint a NAT's mapping (RFC 4787 §4.1) or filter (§5) depends on:
 * nothing, its IP address, or its IP address and port.
 *
 * @example
 * ```ts
 * const kinds: EndpointDependence[] = ["endpoint-independent", "address-dependent", "address-and-port-dependent"];
 * for (const mapping of kinds) for (const filtering of kinds) net.nat({ mapping, filtering }); // the 9 RFC 4787 NATs
 * ```
 */
export type EndpointDependence = "endpoint-independent" | "address-dependent" | "address-and-port-dependent";

/**
 * How a NAT picks the external port of a new mapping (RFC 4787 §4.2.1).
 *
 * @example
 * ```ts
 * // First mapping gets 40000, the next 40001, ...: a peer can predict the next port.
 * net.nat(fullCone({ portAssignment: "sequential", portRange: [40000, 40099] }));
 * ```
 */
export type PortAssignment =
  /** Use the internal port when it is free on the external address; otherwise the next free one above it. */
  | "preserve"
  /** The next free port after the last one given out, from the bottom of `portRange`. */
  | "sequential"
  /** A uniformly random free port in `portRange` ("no port preservation"). */
  | "random";

/**
 * A simulated NAT's behaviour: every RFC 4787 property, independently.
 *
 * @example
 * ```ts
 * // A carrier-grade NAT: a pool of two addresses, no hairpinning, 60 s idle timeout.
 * const cgnat: NatBehavior = natBehavior({
 *   mapping: "address-dependent", pooling: "arbitrary", hairpinning: false, mappingLifetime: 60_000,
 * });
 * const isp = net.nat(cgnat, { lan: "100.64.0.0/10", external: ["203.0.113.1", "203.0.113.2"] });
 * const home = isp.nat(portRestrictedCone()); // a home NAT behind it
 * ```
 */
export interface NatBehavior {
  /** RFC 4787 §4.1: when a mapping X:x → X':x' is reused for a new destination Y:y. */
  readonly mapping: EndpointDependence;
  /** RFC 4787 §5: which inbound packets to X':x' are let through. */
  readonly filtering: EndpointDependence;
  /** RFC 4787 §4.2.1. */
  readonly portAssignment: PortAssignment;
  /** RFC 4787 §4.2.2: an even internal port maps to an even external port, odd to odd. */
  readonly portParity: boolean;
  /** External ports `sequential` and `random` use, and `preserve` falls back to; inclusive. Default [1024, 65535] (REQ-3a). */
  readonly portRange: readonly [number, number];
  /**
   * RFC 4787 §4.1 IP address pooling, with several external addresses: `paired` gives every
   * internal address one external address for all its mappings (REQ-2); `arbitrary` picks one at
   * random for each new mapping.
   */
  readonly pooling: "paired" | "arbitrary";
  /** RFC 4787 §4.3: idle time in ms after which a mapping (and each filter entry) expires. REQ-5: at least 120 000. */
  readonly mappingLifetime: number;
  /** RFC 4787 §4.3: which packets restart the timer. REQ-6: outbound always; inbound optionally. */
  readonly refresh: "outbound" | "both";
  /** RFC 4787 §6: internal hosts can reach each other through external addresses; the source seen is the external one (REQ-9a). */
  readonly hairpinning: boolean;
  /** A firewall that drops every UDP datagram in both directions. */
  readonly blockUdp: boolean;
}

/**
 * The defaults: a BEHAVE-compliant home NAT (RFC 4787 REQ-1, 2, 5, 6, 9) with
 * address-and-port-dependent filtering and port preservation, like a Linux masquerade.
 *
 * @example
 * ```ts
 * DEFAULT_NAT_BEHAVIOR.filtering;       // → "address-and-port-dependent"
 * DEFAULT_NAT_BEHAVIOR.mappingLifetime; // → 120000 (RFC 4787 REQ-5's minimum)
 * net.nat(); // the same as net.nat(DEFAULT_NAT_BEHAVIOR)
 * ```
 */
export const DEFAULT_NAT_BEHAVIOR: NatBehavior = {
  mapping: "endpoint-independent",
  filtering: "address-and-port-dependent",
  portAssignment: "preserve",
  portParity: false,
  portRange: [1024, 65535],
  pooling: "paired",
  mappingLifetime: 120_000,
  refresh: "outbound",
  hairpinning: true,
  blockUdp: false,
};

const DEPENDENCE: readonly string[] = ["endpoint-independent", "address-dependent", "address-and-port-dependent"];

function oneOf(name: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== "string" || !allowed.includes(value)) {
    throw new IcekitError("INVALID_ARGUMENT", `NAT ${name} ${JSON.stringify(value)}: pass one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
  }
}

/**
 * A complete behaviour: `overrides` on top of {@link DEFAULT_NAT_BEHAVIOR}, checked.
 *
 * @example
 * ```ts
 * natBehavior({ mapping: "address-dependent" }).filtering; // → "address-and-port-dependent" (the default)
 * natBehavior({ mappingLifetime: 0 }); // throws IcekitError INVALID_ARGUMENT
 * ```
 *
 * @throws {@link IcekitError} for values outside the allowed sets or ranges.
 */
export function natBehavior(overrides: Partial<NatBehavior> = {}): NatBehavior {
  const b: NatBehavior = { ...DEFAULT_NAT_BEHAVIOR, ...overrides };
  oneOf("mapping", b.mapping, DEPENDENCE);
  oneOf("filtering", b.filtering, DEPENDENCE);
  oneOf("portAssignment", b.portAssignment, ["preserve", "sequential", "random"]);
  oneOf("pooling", b.pooling, ["paired", "arbitrary"]);
  oneOf("refresh", b.refresh, ["outbound", "both"]);
  const [lo, hi] = b.portRange;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > 65535 || lo > hi) {
    throw new IcekitError("INVALID_ARGUMENT", `NAT portRange [${lo}, ${hi}]: pass two integers 1 <= lo <= hi <= 65535`);
  }
  if (b.portParity && lo === hi) {
    throw new IcekitError("INVALID_ARGUMENT", "NAT portRange holds one port, so port parity cannot be kept; widen it");
  }
  if (!(b.mappingLifetime > 0)) {
    throw new IcekitError("INVALID_ARGUMENT", `NAT mappingLifetime ${b.mappingLifetime}: pass a number of ms > 0 (RFC 4787 REQ-5: at least 120000)`);
  }
  return b;
}

/**
 * The RFC 3489 §5 name of a NAT, in the CLI's spelling, or `blocked` for a UDP firewall.
 *
 * @example
 * ```ts
 * const name: ClassicNatName = classicNatName(net.nat(symmetric()).behavior); // → "symmetric"
 * ```
 */
export type ClassicNatName = "full-cone" | "restricted-cone" | "port-restricted-cone" | "symmetric" | "blocked";

/**
 * The RFC 3489 §5 name a behaviour goes by. The cone names need endpoint-independent mapping and
 * differ in filtering (full cone: endpoint-independent; restricted: address-dependent; port
 * restricted: address-and-port-dependent). Any other mapping is called symmetric, as RFC 5780
 * clients report it.
 *
 * @example
 * ```ts
 * classicNatName(restrictedCone()); // → "restricted-cone"
 * classicNatName({ mapping: "address-dependent", filtering: "endpoint-independent" }); // → "symmetric"
 * classicNatName(udpBlocked());     // → "blocked"
 * ```
 */
export function classicNatName(b: Pick<NatBehavior, "mapping" | "filtering"> & Partial<Pick<NatBehavior, "blockUdp">>): ClassicNatName {
  if (b.blockUdp) return "blocked";
  if (b.mapping !== "endpoint-independent") return "symmetric";
  if (b.filtering === "endpoint-independent") return "full-cone";
  if (b.filtering === "address-dependent") return "restricted-cone";
  return "port-restricted-cone";
}
