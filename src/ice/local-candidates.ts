/**
 * Building local candidates (RFC 8445 §5.1.1): type, base, priority (§5.1.2 with RFC 8421
 * local preferences), foundation (§5.1.1.3) and the related address RFC 8839 §5.1 asks for.
 *
 * Local preferences: host bases are ranked by {@link dualStackRanks} and spaced
 * {@link LOCAL_PREFERENCE_STEP} apart; a server-reflexive candidate takes its base's preference
 * minus one minus its server's index, so that candidates of one type and component stay unique
 * (§5.1.2.1 MUST) across several STUN servers, and the top of the base's range is left to a
 * port-mapped candidate ({@link portMappedCandidate}); relayed candidates rank by TURN server
 * (§5.1.2.2).
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import type { IceCandidate } from "./candidate";
import type { Foundations } from "./foundation";
import type { LocalCandidate, RelaySender } from "./pair";
import { localKey } from "./pair";
import { MAX_LOCAL_PREFERENCE, candidatePriority, localPreference } from "./priority";

/** Makes a host or relayed candidate, whose base is itself. */
function selfBased(fields: Omit<LocalCandidate, "base">): LocalCandidate {
  const l = { ...fields } as { -readonly [K in keyof LocalCandidate]: LocalCandidate[K] };
  l.base = l;
  return l;
}

/**
 * A host candidate on a socket (§5.1.1.1): its own base.
 *
 * @param rank - the socket's rank among the component's sockets (RFC 8421), 0 = best
 *
 * @example
 * ```ts
 * const host = hostCandidate(foundations, { family: "IPv4", address: "192.168.1.2", port: 50000 }, 1, 0);
 * host.candidate.priority; // → 2130706431
 * host.base === host;      // → true
 * ```
 */
export function hostCandidate(foundations: Foundations, address: TransportAddress, component: number, rank: number): LocalCandidate {
  const pref = localPreference(rank);
  const candidate: IceCandidate = {
    foundation: foundations.get("host", address.address, undefined, "udp"),
    component,
    transport: "udp",
    priority: candidatePriority("host", pref, component),
    address: address.address,
    port: address.port,
    type: "host",
  };
  return selfBased({ candidate, address, component, localPreference: pref, relay: undefined, key: localKey("host", address) });
}

/**
 * A server-reflexive candidate (§5.1.1.2): its base is the host candidate the request left
 * from; `raddr`/`rport` name that base (RFC 8839 §5.1).
 *
 * @param server - the STUN or TURN server's address (its IP is part of the foundation)
 * @param serverIndex - the server's index among all configured servers
 *
 * @example
 * ```ts
 * const srflx = reflexiveCandidate(foundations, host, { family: "IPv4", address: "198.51.100.1", port: 61000 }, stun, 0);
 * formatCandidate(srflx.candidate);
 * // → "candidate:2 1 udp 1694498559 198.51.100.1 61000 typ srflx raddr 192.168.1.2 rport 50000"
 * ```
 */
export function reflexiveCandidate(foundations: Foundations, base: LocalCandidate, mapped: TransportAddress, server: TransportAddress, serverIndex: number): LocalCandidate {
  return serverReflexive(foundations, base, mapped, server.address, Math.max(0, base.localPreference - 1 - serverIndex));
}

/** A srflx candidate of `base` at `mapped`, its foundation keyed by `source` (§5.1.1.3's server). */
function serverReflexive(foundations: Foundations, base: LocalCandidate, mapped: TransportAddress, source: string, pref: number): LocalCandidate {
  const candidate: IceCandidate = {
    foundation: foundations.get("srflx", base.address.address, source, "udp"),
    component: base.component,
    transport: "udp",
    priority: candidatePriority("srflx", pref, base.component),
    address: mapped.address,
    port: mapped.port,
    type: "srflx",
    relatedAddress: base.address.address,
    relatedPort: base.address.port,
  };
  return { candidate, address: mapped, base, component: base.component, localPreference: pref, relay: undefined, key: localKey("srflx", mapped, base) };
}

/**
 * A server-reflexive candidate learned from a port mapping (PCP, NAT-PMP, UPnP IGD) on `base`:
 * the gateway forwards `mapped` to the base whatever the peer, so it takes the top local
 * preference of its base's range, above the STUN-learned server-reflexive candidates of the same
 * base (which take `base - 1 - serverIndex`). The type preference stays srflx's: §5.1.2.1 says it
 * "MUST be identical for all candidates of the same type".
 *
 * @param gateway - the IP address of the gateway that made the mapping (the foundation's
 *   "server", §5.1.1.3); undefined gives one foundation per base IP
 * @example
 * ```ts
 * const c = portMappedCandidate(foundations, host, { family: "IPv4", address: "198.51.100.7", port: 41000 }, "192.168.1.1");
 * c.candidate.type     // "srflx"
 * c.candidate.priority // 1694498815 for a base of local preference 65535, component 1
 * ```
 */
export function portMappedCandidate(foundations: Foundations, base: LocalCandidate, mapped: TransportAddress, gateway: string | undefined): LocalCandidate {
  // The gateway is where the mapping came from; "portmap" keeps it apart from STUN servers.
  return serverReflexive(foundations, base, mapped, `portmap|${gateway ?? ""}`, base.localPreference);
}

/**
 * A relayed candidate (§5.1.1.2): its own base, at the TURN server; `raddr`/`rport` are the
 * mapped address of the Allocate response (RFC 8839 §5.1).
 *
 * @param turnIndex - the TURN server's index among all configured servers
 * @param related - the Allocate response's XOR-MAPPED-ADDRESS, or the host base without one
 *
 * @example
 * ```ts
 * const relayed = { family: "IPv4", address: "192.0.2.20", port: 49152 } as const;
 * const c = relayedCandidate(foundations, relayed, 1, turnServer, 1, mapped, relaySession); // server 1: after one STUN server
 * c.candidate.priority; // → 16776447: type preference 0, local preference 65532
 * c.base === c;         // → true: a relayed candidate is its own base
 * ```
 */
export function relayedCandidate(
  foundations: Foundations,
  address: TransportAddress,
  component: number,
  server: TransportAddress,
  turnIndex: number,
  related: TransportAddress,
  relay: RelaySender,
): LocalCandidate {
  // One allocation per server and family: unique per server, IPv6 first as RFC 8421 prefers.
  const pref = Math.max(0, MAX_LOCAL_PREFERENCE - 2 * turnIndex - (address.family === "IPv6" ? 0 : 1));
  const candidate: IceCandidate = {
    foundation: foundations.get("relay", address.address, server.address, "udp"),
    component,
    transport: "udp",
    priority: candidatePriority("relay", pref, component),
    address: address.address,
    port: address.port,
    type: "relay",
    relatedAddress: related.address,
    relatedPort: related.port,
  };
  return selfBased({ candidate, address, component, localPreference: pref, relay, key: localKey("relay", address) });
}

/**
 * A peer-reflexive local candidate learned from a check's response (§7.2.5.3.1): "The base is
 * the local candidate of the candidate pair from which the Binding request was sent. The priority
 * is the value of the PRIORITY attribute in the Binding request."
 *
 * @example
 * ```ts
 * const prflx = peerReflexiveCandidate(foundations, host, { family: "IPv4", address: "198.51.100.1", port: 61001 }, 1862270975);
 * prflx.candidate.type; // → "prflx"
 * prflx.base === host;  // → true
 * ```
 */
export function peerReflexiveCandidate(foundations: Foundations, base: LocalCandidate, mapped: TransportAddress, priority: number): LocalCandidate {
  const candidate: IceCandidate = {
    foundation: foundations.get("prflx", base.address.address, undefined, "udp"),
    component: base.component,
    transport: "udp",
    priority,
    address: mapped.address,
    port: mapped.port,
    type: "prflx",
    relatedAddress: base.address.address,
    relatedPort: base.address.port,
  };
  return { candidate, address: mapped, base, component: base.component, localPreference: base.localPreference, relay: undefined, key: localKey("prflx", mapped, base) };
}
