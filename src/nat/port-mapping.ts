/**
 * Port mapping with PCP (RFC 6887) and NAT-PMP (RFC 6886) as a sans-IO engine: ask the home
 * gateway for an inbound UDP or TCP port, keep it renewed, notice when the gateway reboots and
 * forgets it, and give it back.
 *
 * {@link PortMappingClient} speaks to one gateway. With `method: "auto"` (the default) it sends
 * PCP first, as RFC 6887 Appendix A asks of clients that support both; a NAT-PMP gateway answers
 * with version 0 / UNSUPP_VERSION (RFC 6887 §9, RFC 6886 §3.5) and the client resends the request
 * as NAT-PMP. Silence counts too: PCP retransmits without limit by default (§8.1.1, MRC = 0), so
 * in auto mode the PCP probe is cut after `pcpProbeTransmissions` sends and NAT-PMP is tried
 * (RFC 6886 §3.1: 250 ms doubling, 9 sends, then 64 s). That cut-off is this library's choice;
 * neither RFC defines falling back on silence.
 *
 * What it does, and where the RFCs say so:
 * - one request in flight at a time, the rest queued (RFC 6886 §3.1 "SHOULD NOT issue multiple
 *   concurrent requests"; applied to PCP too);
 * - PCP retransmission RT = (1 + RAND) · min(2 · RTprev, MRT), IRT 3 s, MRT 1024 s (§8.1.1);
 *   NAT-PMP 250 ms doubling (§3.1); deletions give up after `unmapTransmissions` sends (§3.1);
 * - one random 96-bit nonce per mapping, kept for retransmissions, renewals and the deletion
 *   (§11.2, §8.1.1); a MAP response must match nonce, protocol and internal port (§11.4);
 * - renewal at 1/2 of the granted lifetime (NAT-PMP §3.3), at a uniform point in 1/2 to 5/8 for
 *   PCP (§11.2.1), suggesting the assigned external port (and, PCP, address); lifetimes above
 *   `maxLifetime` (24 h) are treated as 24 h (RFC 6887 §15);
 * - the epoch checks of RFC 6886 §3.6 and RFC 6887 §8.5 on every matched response, gratuitous
 *   NAT-PMP announcement (§3.2.1) and PCP ANNOUNCE (§14.1); on a regression every other mapping is
 *   reported `lost` and re-requested after a random 0-5 s delay (RFC 6886 §3.7, RFC 6887
 *   §14.1.3);
 * - packets from anything but the gateway's port 5351 are dropped (RFC 6886 §3.2, RFC 6887 §8.3),
 *   as are malformed and unmatched ones; all are counted in {@link PortMappingClient.stats}.
 *
 * NAT-PMP map responses carry no address, so before its first NAT-PMP mapping the client asks for
 * the external address (§3.2). PCP has no such request; {@link PortMappingClient.externalAddress}
 * answers from an active mapping or makes a short-lived MAP of UDP port 9 (RFC 6887 §11.6).
 *
 * The driver loop is the one in `src/engine.ts`: the socket is a UDP socket bound to
 * `clientAddress` (any port); the driver may also hand in datagrams from the 224.0.0.1:5350
 * announcement socket.
 *
 * ```ts
 * const pm = new PortMappingClient({ gateway: "192.168.1.1", clientAddress: "192.168.1.20" });
 * pm.map(now, { protocol: "udp", internalPort: 5000, lifetime: 7200 });
 * // drive it (see src/engine.ts), then:
 * for (let e; (e = pm.pollEvent()); ) {
 *   if (e.type === "mapped") console.log(`${e.external.address}:${e.external.port} via ${e.method}`);
 *   if (e.type === "failed") console.log(e.operation, e.reason, e.code);
 * }
 * ```
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { canonicalIp, ipFamily } from "../bytes/ip";
import { Queue, defaultRandom } from "../engine";
import type { Engine, RandomSource, Received, Transmit } from "../engine";
import { IcekitError } from "../errors";
import { NATPMP_SERVER_PORT, NatPmpResultCode, decodeNatPmpResponse, encodeNatPmpRequest, natPmpResultName } from "./natpmp";
import type { NatPmpResponse } from "./natpmp";
import { PcpProtocol, PCP_NONCE_SIZE, PcpResultCode, decodePcpResponse, encodePcpRequest, pcpResultName } from "./pcp";
import type { PcpResponse } from "./pcp";

/**
 * The protocol a mapping was made with.
 *
 * @example
 * ```ts
 * const method: PortMappingMethod | undefined = pm.method; // → "natpmp" once a NAT-PMP-only gateway answered
 * new PortMappingClient({ gateway: "192.168.1.1", method: "natpmp" }); // skip the PCP probe
 * ```
 */
export type PortMappingMethod = "pcp" | "natpmp";

/**
 * Transport of a mapping.
 *
 * @example
 * ```ts
 * const protocol: PortMappingProtocol = "tcp";
 * pm.map(now, { protocol, internalPort: 8080, externalPort: 8080, lifetime: 3600 });
 * ```
 */
export type PortMappingProtocol = "udp" | "tcp";

/**
 * What the client reports.
 *
 * @example
 * ```ts
 * for (let e: PortMappingEvent | undefined; (e = pm.pollEvent()); ) {
 *   if (e.type === "mapped") console.log(e.external, e.lifetime); // → { family: "IPv4", address: "203.0.113.7", port: 5000 } 7200
 *   if (e.type === "failed") console.log(e.reason, e.lifetime);   // → "NO_RESOURCES" 30: retry in 30 s
 *   if (e.type === "lost") pm.map(now, { protocol: e.protocol, internalPort: e.internalPort, lifetime: 7200 });
 * }
 * ```
 */
export type PortMappingEvent =
  /** A mapping was created or renewed (or changed by the server, RFC 6887 §14.2). */
  | {
      readonly type: "mapped";
      readonly method: PortMappingMethod;
      readonly protocol: PortMappingProtocol;
      readonly internalPort: number;
      /** The address and port the Internet reaches the mapping at. */
      readonly external: TransportAddress;
      /** Granted lifetime in seconds (after the `maxLifetime` cap). */
      readonly lifetime: number;
      /** True when this renews (or recreates) a mapping that was already reported. */
      readonly renewal: boolean;
    }
  /** The gateway confirmed a deletion. */
  | { readonly type: "unmapped"; readonly method: PortMappingMethod; readonly protocol: PortMappingProtocol; readonly internalPort: number }
  /** A request failed: an error result code, no answer, or a gateway speaking another version. */
  | {
      readonly type: "failed";
      readonly method: PortMappingMethod;
      readonly operation: "map" | "unmap" | "external-address";
      readonly protocol: PortMappingProtocol | undefined;
      readonly internalPort: number | undefined;
      /** The PCP (§7.4) or NAT-PMP (§3.5) result code; undefined for a timeout. */
      readonly code: number | undefined;
      /** The result code's RFC name (`"NO_RESOURCES"`, `"NOT_AUTHORIZED"`), or `"timeout"`. */
      readonly reason: string;
      /** For PCP errors: seconds the server says the error holds (§7.2); do not retry sooner. */
      readonly lifetime: number | undefined;
    }
  /** The gateway's external address, asked for or announced. */
  | { readonly type: "external-address"; readonly method: PortMappingMethod; readonly address: string }
  /**
   * A mapping is gone or probably gone: the gateway's epoch went backwards (it rebooted; the
   * client is recreating the mapping) or it expired without a successful renewal.
   */
  | {
      readonly type: "lost";
      readonly method: PortMappingMethod;
      readonly protocol: PortMappingProtocol;
      readonly internalPort: number;
      readonly reason: "epoch" | "expired";
    }
  /** The gateway's protocol is known (first answer in auto mode). */
  | { readonly type: "method"; readonly method: PortMappingMethod };

/**
 * Configuration of a {@link PortMappingClient}.
 *
 * @example
 * ```ts
 * const options: PortMappingClientOptions = {
 *   gateway: "192.168.1.1",        // the default router
 *   clientAddress: "192.168.1.20", // this host on that link; PCP puts it in every request
 *   pcpProbeTransmissions: 2,      // give up on PCP sooner before trying NAT-PMP
 * };
 * const pm = new PortMappingClient(options);
 * ```
 */
export interface PortMappingClientOptions {
  /** The gateway's IP address (the default router, RFC 6886 §3, RFC 6887 §8.1). */
  readonly gateway: string;
  /**
   * This host's address on the gateway's link, the source of the requests. PCP puts it in every
   * request (§7.1, §8.1); required unless `method` is `"natpmp"`.
   */
  readonly clientAddress?: string;
  /** `"auto"` (PCP, falling back to NAT-PMP; default), `"pcp"` or `"natpmp"`. */
  readonly method?: "auto" | PortMappingMethod;
  /** Random source for nonces and jitter. */
  readonly random?: RandomSource;
  /** Source address to put on transmits, when the driver has several sockets. */
  readonly local?: TransportAddress;
  /** Auto mode: PCP sends without an answer before trying NAT-PMP (default 3, ≈ 21 s). */
  readonly pcpProbeTransmissions?: number;
  /** PCP MRC: sends before a request fails, 0 for no limit (RFC 6887 §8.1.1 default 0). */
  readonly pcpMaxTransmissions?: number;
  /** PCP IRT: the first retransmission timeout in ms (default 3000, RFC 6887 §8.1.1). */
  readonly pcpInitialRetransmit?: number;
  /** PCP MRT: the cap on the retransmission timeout in ms (default 1 024 000, RFC 6887 §8.1.1). */
  readonly pcpMaxRetransmit?: number;
  /** NAT-PMP sends before a request fails (RFC 6886 §3.1 default 9). */
  readonly natPmpTransmissions?: number;
  /** Sends of a deletion before giving up, either protocol (default 2; RFC 6886 §3.1). */
  readonly unmapTransmissions?: number;
  /** Longest lifetime believed, seconds (default 86 400; RFC 6887 §15). */
  readonly maxLifetime?: number;
}

/**
 * What {@link PortMappingClient.map} takes.
 *
 * @example
 * ```ts
 * const request: PortMappingRequest = { protocol: "udp", internalPort: 5000, lifetime: 7200 }; // any external port
 * pm.map(now, request); // later: { type: "mapped", external: { ..., port: 5000 }, lifetime: 7200, ... }
 * ```
 */
export interface PortMappingRequest {
  readonly protocol: PortMappingProtocol;
  /** The local port the application listens on. */
  readonly internalPort: number;
  /** Preferred external port; default 0, "any" (the gateway may ignore it either way). */
  readonly externalPort?: number;
  /** Requested lifetime, seconds (RFC 6886 recommends 7200). */
  readonly lifetime: number;
}

/**
 * Counters for {@link PortMappingClient.stats}.
 *
 * @example
 * ```ts
 * pm.stats(); // after one granted MAP and a stray datagram from another port:
 * // → { transmissions: 1, retransmissions: 0, droppedForeign: 1, droppedMalformed: 0, droppedUnmatched: 0, epochResets: 0 }
 * ```
 */
export interface PortMappingStats {
  transmissions: number;
  retransmissions: number;
  /** Datagrams whose source was not the gateway's port 5351. */
  droppedForeign: number;
  /** Datagrams that did not decode. */
  droppedMalformed: number;
  /** Valid responses that matched no request (wrong nonce, port, opcode). */
  droppedUnmatched: number;
  /** Epoch regressions seen (gateway reboots). */
  epochResets: number;
}

interface Mapping {
  readonly key: string;
  readonly protocol: PortMappingProtocol;
  readonly internalPort: number;
  suggestedExternalPort: number;
  lifetime: number;
  readonly nonce: Uint8Array;
  method: PortMappingMethod | undefined;
  external: TransportAddress | undefined;
  active: boolean;
  expiresAt: number | undefined;
  renewAt: number | undefined;
  /** A map job for it is queued or in flight. */
  queued: boolean;
}

type Job =
  | { readonly kind: "map"; readonly mapping: Mapping }
  | {
      readonly kind: "unmap";
      readonly protocol: PortMappingProtocol;
      readonly internalPort: number;
      readonly nonce: Uint8Array;
      readonly method: PortMappingMethod | undefined;
    }
  /** `then`: the NAT-PMP map job waiting for the address (§3.2), run or failed with it. */
  | { readonly kind: "external"; readonly nonce: Uint8Array; readonly then?: Job };

interface Tx {
  readonly job: Job;
  readonly method: PortMappingMethod;
  readonly data: Uint8Array;
  /** Sending PCP in auto mode before the gateway's protocol is known. */
  readonly probe: boolean;
  /** 0: no limit. */
  readonly maxSends: number;
  sends: number;
  rt: number;
  nextAt: number;
}

interface EpochState {
  server: number;
  at: number;
}

/** Port used for the PCP "what is my address" mapping (the Discard service, RFC 6887 §11.6). */
const DISCARD_PORT = 9;
/** Its lifetime, seconds: PCP's recommended minimum (§15). */
const PROBE_LIFETIME = 120;

/**
 * Sans-IO PCP / NAT-PMP client: see the module comment.
 *
 * @example
 * ```ts
 * const pm = new PortMappingClient({ gateway: "192.168.1.1", clientAddress: "192.168.1.20" });
 * pm.map(now, { protocol: "udp", internalPort: 5000, lifetime: 7200 });
 * pm.pollTransmit(); // → { remote: { family: "IPv4", address: "192.168.1.1", port: 5351 }, data: <60-byte PCP MAP>, ... }
 * // feed the gateway's answer to pm.handleReceive(now, received), then:
 * pm.mappings(); // → [{ protocol: "udp", internalPort: 5000, external: { ..., address: "203.0.113.7", port: 5000 }, method: "pcp", expiresAt }]
 * ```
 */
export class PortMappingClient implements Engine<PortMappingEvent> {
  readonly #gateway: string;
  readonly #server: TransportAddress;
  readonly #clientAddress: string | undefined;
  readonly #mode: "auto" | PortMappingMethod;
  readonly #random: RandomSource;
  readonly #local: TransportAddress | undefined;
  readonly #pcpProbe: number;
  readonly #pcpMrc: number;
  readonly #pcpIrt: number;
  readonly #pcpMrt: number;
  readonly #natPmpTries: number;
  readonly #unmapTries: number;
  readonly #maxLifetime: number;
  readonly #mappings = new Map<string, Mapping>();
  readonly #jobs: Job[] = [];
  readonly #transmits = new Queue<Transmit>();
  readonly #events = new Queue<PortMappingEvent>();
  readonly #stats: PortMappingStats = { transmissions: 0, retransmissions: 0, droppedForeign: 0, droppedMalformed: 0, droppedUnmatched: 0, epochResets: 0 };
  #current: Tx | undefined;
  /** Auto mode: the gateway's protocol, once it answered. */
  #selected: PortMappingMethod | undefined;
  /** Auto mode: the PCP probe went unanswered; use NAT-PMP until something answers. */
  #fallback = false;
  #natPmpExternal: string | undefined;
  readonly #epochs: Record<PortMappingMethod, EpochState | undefined> = { pcp: undefined, natpmp: undefined };

  /**
   * @param options - see {@link PortMappingClientOptions}
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for an address that is not IP text, a missing
   *   `clientAddress` when PCP may be used, or NAT-PMP with an IPv6 gateway.
   */
  constructor(options: PortMappingClientOptions) {
    this.#gateway = unmapV4(canonicalIp(options.gateway));
    this.#mode = options.method ?? "auto";
    if (this.#mode !== "auto" && this.#mode !== "pcp" && this.#mode !== "natpmp") {
      throw new IcekitError("INVALID_ARGUMENT", `method '${String(this.#mode)}': pass "auto", "pcp" or "natpmp"`);
    }
    this.#clientAddress = options.clientAddress === undefined ? undefined : unmapV4(canonicalIp(options.clientAddress));
    if (this.#mode !== "natpmp" && this.#clientAddress === undefined) {
      throw new IcekitError("INVALID_ARGUMENT", 'PCP needs clientAddress (this host\'s address towards the gateway); pass it, or method: "natpmp"');
    }
    if (this.#mode === "natpmp" && ipFamily(this.#gateway) !== "IPv4") {
      throw new IcekitError("INVALID_ARGUMENT", `NAT-PMP is IPv4 only; gateway ${this.#gateway} is IPv6: use method "pcp"`);
    }
    this.#server = { family: ipFamily(this.#gateway) ?? "IPv4", address: this.#gateway, port: NATPMP_SERVER_PORT };
    this.#random = options.random ?? defaultRandom;
    this.#local = options.local;
    this.#pcpProbe = positiveInt("pcpProbeTransmissions", options.pcpProbeTransmissions ?? 3, 1);
    this.#pcpMrc = positiveInt("pcpMaxTransmissions", options.pcpMaxTransmissions ?? 0, 0);
    this.#pcpIrt = positiveInt("pcpInitialRetransmit", options.pcpInitialRetransmit ?? 3000, 1);
    this.#pcpMrt = positiveInt("pcpMaxRetransmit", options.pcpMaxRetransmit ?? 1_024_000, 1);
    this.#natPmpTries = positiveInt("natPmpTransmissions", options.natPmpTransmissions ?? 9, 1);
    this.#unmapTries = positiveInt("unmapTransmissions", options.unmapTransmissions ?? 2, 1);
    this.#maxLifetime = positiveInt("maxLifetime", options.maxLifetime ?? 86_400, 1);
  }

  /**
   * Requests a mapping, or renews it now if it exists. The result is a `mapped` or `failed`
   * event; the client then keeps the mapping renewed until {@link unmap}.
   *
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for a protocol other than udp/tcp, a port out
   *   of range (internal port 0 included) or a lifetime that is not 1 to 2^32-1 seconds.
   */
  map(now: number, request: PortMappingRequest): void {
    checkProtocol(request.protocol);
    checkRange("internalPort", request.internalPort, 1, 0xffff);
    checkRange("externalPort", request.externalPort ?? 0, 0, 0xffff);
    checkRange("lifetime", request.lifetime, 1, 0xffffffff);
    const key = `${request.protocol}:${request.internalPort}`;
    let m = this.#mappings.get(key);
    if (m === undefined) {
      m = {
        key,
        protocol: request.protocol,
        internalPort: request.internalPort,
        suggestedExternalPort: request.externalPort ?? 0,
        lifetime: request.lifetime,
        nonce: this.#nonce(),
        method: undefined,
        external: undefined,
        active: false,
        expiresAt: undefined,
        renewAt: undefined,
        queued: false,
      };
      this.#mappings.set(key, m);
    } else {
      m.lifetime = request.lifetime;
      if (request.externalPort !== undefined) m.suggestedExternalPort = request.externalPort;
    }
    this.#enqueueMap(m);
    this.#pump(now);
  }

  /**
   * Deletes a mapping (lifetime 0: RFC 6886 §3.4, RFC 6887 §15) and stops renewing it. The
   * result is an `unmapped` or `failed` event. Works for mappings this client does not know of
   * too (NAT-PMP deletes them; a PCP server checks the nonce and may refuse).
   *
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for a bad protocol or port.
   */
  unmap(now: number, request: { readonly protocol: PortMappingProtocol; readonly internalPort: number }): void {
    checkProtocol(request.protocol);
    checkRange("internalPort", request.internalPort, 1, 0xffff);
    const key = `${request.protocol}:${request.internalPort}`;
    const m = this.#mappings.get(key);
    this.#mappings.delete(key);
    if (m !== undefined) {
      const i = this.#jobs.findIndex((j) => j.kind === "map" && j.mapping === m);
      if (i >= 0) this.#jobs.splice(i, 1);
      // A request already sent may have created it: abandon the wait, send the deletion.
      if (this.#current?.job.kind === "map" && this.#current.job.mapping === m) this.#current = undefined;
    }
    this.#jobs.push({ kind: "unmap", protocol: request.protocol, internalPort: request.internalPort, nonce: m?.nonce ?? this.#nonce(), method: m?.method });
    this.#pump(now);
  }

  /**
   * Asks for the gateway's external address; the answer is an `external-address` event (or
   * `failed`). With PCP it comes from an active mapping at once, else from a 120 s mapping of
   * UDP port 9 (RFC 6887 §11.6).
   */
  externalAddress(now: number): void {
    if (this.#methodFor(undefined) === "pcp") {
      for (const m of this.#mappings.values()) {
        if (m.active && m.method === "pcp" && m.external) {
          this.#events.push({ type: "external-address", method: "pcp", address: m.external.address });
          return;
        }
      }
    }
    if (!this.#jobs.some((j) => j.kind === "external") && this.#current?.job.kind !== "external") {
      this.#jobs.push({ kind: "external", nonce: this.#nonce() });
    }
    this.#pump(now);
  }

  /** Active mappings: what was granted, for display and for handing to a rendezvous server. */
  mappings(): { protocol: PortMappingProtocol; internalPort: number; external: TransportAddress; method: PortMappingMethod; expiresAt: number }[] {
    const out = [];
    for (const m of this.#mappings.values()) {
      if (m.active && m.external && m.method && m.expiresAt !== undefined) {
        out.push({ protocol: m.protocol, internalPort: m.internalPort, external: m.external, method: m.method, expiresAt: m.expiresAt });
      }
    }
    return out;
  }

  /** The protocol the gateway answered with, once known. */
  get method(): PortMappingMethod | undefined {
    return this.#mode === "auto" ? this.#selected : this.#mode;
  }

  /** Hands in a datagram from the request socket or the announcement socket. Never throws. */
  handleReceive(now: number, received: Received): void {
    if (received.remote.port !== NATPMP_SERVER_PORT || !this.#fromGateway(received.remote.address)) {
      this.#stats.droppedForeign++; // RFC 6886 §3.2, §3.2.1; RFC 6887 §8.3
      return;
    }
    let natpmp: NatPmpResponse | undefined;
    let pcp: PcpResponse | undefined;
    try {
      if (received.data[0] === 0) natpmp = decodeNatPmpResponse(received.data);
      else pcp = decodePcpResponse(received.data);
    } catch {
      // The decoders throw only StunDecodeError (property-tested); an engine never throws on input.
      this.#stats.droppedMalformed++;
      return;
    }
    if (natpmp) this.#onNatPmp(now, natpmp);
    else if (pcp) this.#onPcp(now, pcp);
    this.#pump(now);
  }

  /**
   * The driver reports an ICMP port unreachable from the gateway: the current request fails
   * without waiting out its retransmissions (RFC 6886 §3.1); in auto mode PCP falls back.
   */
  handleTransportError(now: number): void {
    if (this.#current) this.#timeout(now, this.#current);
    this.#pump(now);
  }

  /** Retransmits, times out, renews and expires whatever is due. Early calls do nothing. */
  handleTimeout(now: number): void {
    const tx = this.#current;
    if (tx && tx.nextAt <= now) {
      if (tx.maxSends === 0 || tx.sends < tx.maxSends) {
        this.#stats.retransmissions++;
        this.#send(now, tx);
      } else {
        this.#timeout(now, tx);
      }
    }
    for (const m of [...this.#mappings.values()]) {
      if (m.active && m.expiresAt !== undefined && m.expiresAt <= now) {
        m.active = false;
        m.expiresAt = undefined;
        m.renewAt = undefined;
        this.#events.push({ type: "lost", method: m.method ?? "natpmp", protocol: m.protocol, internalPort: m.internalPort, reason: "expired" });
        if (!m.queued) this.#mappings.delete(m.key);
      }
      if (m.renewAt !== undefined && m.renewAt <= now && !m.queued) {
        m.renewAt = undefined;
        this.#enqueueMap(m);
      }
    }
    this.#pump(now);
  }

  /** Next datagram for the gateway. */
  pollTransmit(): Transmit | undefined {
    return this.#transmits.shift();
  }

  /** Earliest retransmission, renewal or expiry. */
  pollTimeout(): number | undefined {
    let t = this.#current?.nextAt;
    for (const m of this.#mappings.values()) {
      if (m.renewAt !== undefined && !m.queued && (t === undefined || m.renewAt < t)) t = m.renewAt;
      if (m.active && m.expiresAt !== undefined && (t === undefined || m.expiresAt < t)) t = m.expiresAt;
    }
    return t;
  }

  /** Next event. */
  pollEvent(): PortMappingEvent | undefined {
    return this.#events.shift();
  }

  /** Counters since construction. */
  stats(): Readonly<PortMappingStats> {
    return { ...this.#stats };
  }

  // ---- requests -------------------------------------------------------------------------------

  #enqueueMap(m: Mapping): void {
    if (m.queued) return;
    m.queued = true;
    this.#jobs.push({ kind: "map", mapping: m });
  }

  #methodFor(job: Job | undefined): PortMappingMethod {
    if (job?.kind === "unmap" && job.method) return job.method;
    if (this.#mode !== "auto") return this.#mode;
    return this.#selected ?? (this.#fallback ? "natpmp" : "pcp");
  }

  #pump(now: number): void {
    while (this.#current === undefined) {
      const job = this.#jobs.shift();
      if (job === undefined) return;
      if (job.kind === "map" && this.#mappings.get(job.mapping.key) !== job.mapping) continue; // unmapped since
      const method = this.#methodFor(job);
      if (method === "natpmp" && job.kind === "map" && this.#natPmpExternal === undefined) {
        // NAT-PMP map responses carry no address: learn it first (§3.2).
        this.#start(now, { kind: "external", nonce: this.#nonce(), then: job }, method);
      } else {
        this.#start(now, job, method);
      }
    }
  }

  #start(now: number, job: Job, method: PortMappingMethod): void {
    const probe = method === "pcp" && this.#mode === "auto" && this.#selected === undefined;
    const data = method === "pcp" ? this.#pcpRequest(job) : this.#natPmpRequest(job);
    const maxSends = job.kind === "unmap" ? this.#unmapTries : method === "natpmp" ? this.#natPmpTries : probe ? this.#pcpProbe : this.#pcpMrc;
    const tx: Tx = { job, method, data, probe, maxSends, sends: 0, rt: 0, nextAt: now };
    this.#current = tx;
    this.#send(now, tx);
  }

  #send(now: number, tx: Tx): void {
    if (tx.method === "natpmp") {
      tx.rt = tx.sends === 0 ? 250 : tx.rt * 2; // RFC 6886 §3.1
    } else {
      // RFC 6887 §8.1.1: RT = (1 + RAND) * IRT, then (1 + RAND) * MIN(2 * RTprev, MRT).
      const base = tx.sends === 0 ? this.#pcpIrt : Math.min(2 * tx.rt, this.#pcpMrt);
      tx.rt = Math.round((0.9 + 0.2 * this.#uniform()) * base);
    }
    tx.sends++;
    tx.nextAt = now + tx.rt;
    this.#stats.transmissions++;
    this.#transmits.push({ local: this.#local, remote: this.#server, transport: "udp", data: tx.data });
  }

  #pcpRequest(job: Job): Uint8Array {
    const clientAddress = this.#clientAddress ?? "0.0.0.0";
    const any = ipFamily(clientAddress) === "IPv6" ? "::" : "0.0.0.0";
    if (job.kind === "external") {
      return encodePcpRequest({ kind: "map", lifetime: PROBE_LIFETIME, clientAddress, nonce: job.nonce, protocol: PcpProtocol.Udp, internalPort: DISCARD_PORT, suggestedExternalPort: 0, suggestedExternalAddress: any });
    }
    if (job.kind === "unmap") {
      return encodePcpRequest({ kind: "map", lifetime: 0, clientAddress, nonce: job.nonce, protocol: ipProtocol(job.protocol), internalPort: job.internalPort, suggestedExternalPort: 0, suggestedExternalAddress: any });
    }
    const m = job.mapping;
    // §11.2.1: a renewal suggests the assigned address and port.
    const suggestAddress = m.external && m.method === "pcp" ? m.external.address : any;
    return encodePcpRequest({
      kind: "map",
      lifetime: m.lifetime,
      clientAddress,
      nonce: m.nonce,
      protocol: ipProtocol(m.protocol),
      internalPort: m.internalPort,
      suggestedExternalPort: m.external?.port ?? m.suggestedExternalPort,
      suggestedExternalAddress: suggestAddress,
    });
  }

  #natPmpRequest(job: Job): Uint8Array {
    if (job.kind === "external") return encodeNatPmpRequest({ kind: "external-address" });
    if (job.kind === "unmap") return encodeNatPmpRequest({ kind: "map", protocol: job.protocol, internalPort: job.internalPort, suggestedExternalPort: 0, lifetime: 0 });
    const m = job.mapping;
    // RFC 6886 §3.3: a renewal suggests the port the gateway assigned.
    return encodeNatPmpRequest({ kind: "map", protocol: m.protocol, internalPort: m.internalPort, suggestedExternalPort: m.external?.port ?? m.suggestedExternalPort, lifetime: m.lifetime });
  }

  #timeout(now: number, tx: Tx): void {
    this.#current = undefined;
    if (tx.probe) {
      this.#fallback = true; // silence to PCP: try NAT-PMP (auto mode only)
      this.#jobs.unshift(tx.job);
      return;
    }
    if (this.#mode === "auto") {
      // RFC 6886 §3.1: do not hold "no NAT-PMP here" for long; probe afresh next time.
      this.#selected = undefined;
      this.#fallback = false;
    }
    this.#fail(now, tx, undefined, "timeout", undefined);
  }

  /** Reports a failed request and settles its mapping. */
  #fail(now: number, tx: Tx, code: number | undefined, reason: string, lifetime: number | undefined): void {
    const job = tx.job;
    const operation = job.kind === "external" ? "external-address" : job.kind;
    const protocol = job.kind === "map" ? job.mapping.protocol : job.kind === "unmap" ? job.protocol : undefined;
    const internalPort = job.kind === "map" ? job.mapping.internalPort : job.kind === "unmap" ? job.internalPort : undefined;
    this.#events.push({ type: "failed", method: tx.method, operation, protocol, internalPort, code, reason, lifetime });
    if (job.kind === "external" && job.then) this.#fail(now, { ...tx, job: job.then }, code, reason, lifetime);
    if (job.kind !== "map") return;
    const m = job.mapping;
    m.queued = false;
    if (m.active && m.expiresAt !== undefined && code === undefined) {
      // A renewal went unanswered: try again halfway to expiry, while that is 4 s away or more
      // (RFC 6887 §11.2.1 "MUST NOT be sent less than four seconds apart").
      const left = m.expiresAt - now;
      if (left >= 8000) m.renewAt = now + Math.floor(left / 2);
    } else if (!m.active) {
      this.#mappings.delete(m.key);
    }
  }

  // ---- responses ------------------------------------------------------------------------------

  #onNatPmp(now: number, res: NatPmpResponse): void {
    const tx = this.#current;
    if (res.kind === "unsupported-version") {
      if (tx?.method === "pcp") this.#versionMismatch(now, tx, 0, res.epoch);
      else if (tx?.method === "natpmp") this.#finishFail(now, tx, res.epoch, NatPmpResultCode.UnsupportedVersion, natPmpResultName(1), undefined);
      else this.#stats.droppedUnmatched++;
      return;
    }
    if (res.kind === "unknown-opcode") {
      this.#stats.droppedUnmatched++;
      return;
    }
    if (res.kind === "external-address") {
      if (tx?.method === "natpmp" && tx.job.kind === "external") {
        this.#current = undefined;
        this.#learned("natpmp");
        this.#checkEpoch(now, "natpmp", res.epoch, undefined);
        if (res.resultCode !== NatPmpResultCode.Success || res.externalAddress === undefined) {
          this.#fail(now, tx, res.resultCode, natPmpResultName(res.resultCode), undefined);
          return;
        }
        this.#natPmpExternal = res.externalAddress;
        this.#events.push({ type: "external-address", method: "natpmp", address: res.externalAddress });
        if (tx.job.then) this.#jobs.unshift(tx.job.then);
        return;
      }
      // A gratuitous announcement (§3.2.1): the gateway's source was checked already.
      if (this.#epochs.natpmp === undefined && this.#selected !== "natpmp") {
        this.#stats.droppedUnmatched++;
        return;
      }
      this.#checkEpoch(now, "natpmp", res.epoch, undefined);
      if (res.resultCode === NatPmpResultCode.Success && res.externalAddress !== undefined && res.externalAddress !== this.#natPmpExternal) {
        this.#natPmpExternal = res.externalAddress;
        this.#events.push({ type: "external-address", method: "natpmp", address: res.externalAddress });
      }
      return;
    }
    // A mapping response: it must answer the request in flight (§3.5: protocol and internal port).
    const job = tx?.job;
    const matches =
      tx?.method === "natpmp" &&
      ((job?.kind === "map" && job.mapping.protocol === res.protocol && job.mapping.internalPort === res.internalPort) ||
        (job?.kind === "unmap" && job.protocol === res.protocol && job.internalPort === res.internalPort));
    if (!tx || !job || !matches) {
      this.#stats.droppedUnmatched++;
      return;
    }
    this.#current = undefined;
    this.#learned("natpmp");
    if (res.resultCode !== NatPmpResultCode.Success) {
      this.#checkEpoch(now, "natpmp", res.epoch, undefined);
      this.#fail(now, tx, res.resultCode, natPmpResultName(res.resultCode), undefined);
      return;
    }
    if (job.kind === "unmap") {
      this.#checkEpoch(now, "natpmp", res.epoch, undefined);
      this.#events.push({ type: "unmapped", method: "natpmp", protocol: job.protocol, internalPort: job.internalPort });
      return;
    }
    this.#checkEpoch(now, "natpmp", res.epoch, job.mapping);
    const address = this.#natPmpExternal ?? "0.0.0.0";
    this.#granted(now, job.mapping, "natpmp", { family: "IPv4", address, port: res.externalPort }, res.lifetime);
  }

  #onPcp(now: number, res: PcpResponse): void {
    const tx = this.#current;
    if (res.kind === "unsupported-version") {
      if (tx?.method === "pcp") this.#versionMismatch(now, tx, res.version, res.epoch);
      else this.#stats.droppedUnmatched++;
      return;
    }
    if (res.kind === "announce") {
      // §14.1.3: an ANNOUNCE only moves the epoch; a reboot re-creates the mappings.
      if (this.#epochs.pcp === undefined && this.#selected !== "pcp" && this.#mode !== "pcp") {
        this.#stats.droppedUnmatched++;
        return;
      }
      this.#checkEpoch(now, "pcp", res.epoch, undefined);
      return;
    }
    if (res.kind !== "map") {
      this.#stats.droppedUnmatched++; // this client sends no PEER requests
      return;
    }
    const job = tx?.method === "pcp" ? tx.job : undefined;
    const fields = job ? pcpFields(job) : undefined;
    if (!tx || !job || !fields || !sameBytes(fields.nonce, res.nonce) || fields.protocol !== res.protocol || fields.internalPort !== res.internalPort) {
      this.#mappingUpdate(now, res);
      return;
    }
    this.#current = undefined;
    this.#learned("pcp");
    const lifetime = Math.min(res.lifetime, this.#maxLifetime);
    if (res.resultCode !== PcpResultCode.Success) {
      this.#checkEpoch(now, "pcp", res.epoch, undefined);
      this.#fail(now, tx, res.resultCode, pcpResultName(res.resultCode), res.lifetime);
      return;
    }
    if (job.kind === "unmap") {
      this.#checkEpoch(now, "pcp", res.epoch, undefined);
      this.#events.push({ type: "unmapped", method: "pcp", protocol: job.protocol, internalPort: job.internalPort });
      return;
    }
    if (job.kind === "external") {
      this.#checkEpoch(now, "pcp", res.epoch, undefined);
      this.#events.push({ type: "external-address", method: "pcp", address: res.externalAddress });
      return;
    }
    this.#checkEpoch(now, "pcp", res.epoch, job.mapping);
    this.#granted(now, job.mapping, "pcp", externalOf(res), lifetime);
  }

  /** A PCP MAP response outside the request in flight: an update to a known mapping (§14.2)? */
  #mappingUpdate(now: number, res: PcpResponse & { kind: "map" }): void {
    for (const m of this.#mappings.values()) {
      if (m.active && m.method === "pcp" && sameBytes(m.nonce, res.nonce) && ipProtocol(m.protocol) === res.protocol && m.internalPort === res.internalPort) {
        if (res.resultCode !== PcpResultCode.Success) break;
        this.#checkEpoch(now, "pcp", res.epoch, m);
        this.#granted(now, m, "pcp", externalOf(res), Math.min(res.lifetime, this.#maxLifetime));
        return;
      }
    }
    this.#stats.droppedUnmatched++; // wrong nonce, port or protocol: RFC 6887 §8.3, §11.4
  }

  /** RFC 6887 §9: the server speaks `version`; 0 is NAT-PMP (Appendix A). */
  #versionMismatch(now: number, tx: Tx, version: number, epoch: number | undefined): void {
    this.#current = undefined;
    if (this.#mode === "auto") {
      this.#learned("natpmp");
      if (version === 0 && epoch !== undefined) this.#checkEpoch(now, "natpmp", epoch, undefined);
      this.#jobs.unshift(tx.job); // resend as NAT-PMP (RFC 6887 Appendix A)
      return;
    }
    this.#fail(now, tx, PcpResultCode.UnsuppVersion, version === 0 ? "UNSUPP_VERSION (NAT-PMP gateway)" : `UNSUPP_VERSION (server speaks version ${version})`, undefined);
  }

  #finishFail(now: number, tx: Tx, epoch: number, code: number, reason: string, lifetime: number | undefined): void {
    this.#current = undefined;
    this.#checkEpoch(now, tx.method, epoch, undefined);
    this.#fail(now, tx, code, reason, lifetime);
  }

  #learned(method: PortMappingMethod): void {
    if (this.#mode !== "auto" || this.#selected === method) return;
    this.#selected = method;
    this.#fallback = false;
    this.#events.push({ type: "method", method });
  }

  #granted(now: number, m: Mapping, method: PortMappingMethod, external: TransportAddress, lifetime: number): void {
    const renewal = m.external !== undefined;
    const ms = lifetime * 1000;
    m.queued = false;
    m.active = true;
    m.method = method;
    m.external = external;
    m.expiresAt = now + ms;
    // RFC 6886 §3.3: renew halfway; RFC 6887 §11.2.1: uniform in 1/2 to 5/8 of the lifetime.
    m.renewAt = lifetime === 0 ? undefined : now + Math.floor(ms / 2 + (method === "pcp" ? (ms / 8) * this.#uniform() : 0));
    this.#events.push({ type: "mapped", method, protocol: m.protocol, internalPort: m.internalPort, external, lifetime, renewal });
  }

  /**
   * The epoch rules: RFC 6886 §3.6 (NAT-PMP: below 7/8 of the expected advance by more than 2 s)
   * and RFC 6887 §8.5 (PCP). On a regression every other mapping made with `method` is reported
   * lost and re-requested after 0-5 s (RFC 6886 §3.7, RFC 6887 §14.1.3).
   */
  #checkEpoch(now: number, method: PortMappingMethod, epoch: number, fresh: Mapping | undefined): void {
    const prev = this.#epochs[method];
    this.#epochs[method] = { server: epoch, at: now };
    if (prev === undefined) return; // the first response is valid by definition
    let reboot: boolean;
    if (method === "natpmp") {
      reboot = epoch + 2 < prev.server + ((now - prev.at) / 1000) * (7 / 8);
    } else {
      const clientDelta = Math.floor((now - prev.at) / 1000);
      const serverDelta = epoch - prev.server;
      reboot =
        epoch < prev.server - 1 ||
        clientDelta + 2 < serverDelta - Math.floor(serverDelta / 16) ||
        serverDelta + 2 < clientDelta - Math.floor(clientDelta / 16);
    }
    if (!reboot) return;
    this.#stats.epochResets++;
    if (method === "natpmp") this.#natPmpExternal = undefined; // the address may have changed too
    for (const m of this.#mappings.values()) {
      if (m === fresh || !m.active || m.method !== method) continue;
      this.#events.push({ type: "lost", method, protocol: m.protocol, internalPort: m.internalPort, reason: "epoch" });
      if (!m.queued) m.renewAt = now + Math.floor(5000 * this.#uniform());
    }
  }

  #fromGateway(address: string): boolean {
    try {
      return unmapV4(canonicalIp(address)) === this.#gateway;
    } catch {
      return false;
    }
  }

  #nonce(): Uint8Array {
    const n = new Uint8Array(PCP_NONCE_SIZE);
    this.#random(n);
    return n;
  }

  /** Uniform in [0, 1) from the random source. */
  #uniform(): number {
    const b = new Uint8Array(4);
    this.#random(b);
    return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) / 2 ** 32;
  }
}

function pcpFields(job: Job): { nonce: Uint8Array; protocol: number; internalPort: number } {
  if (job.kind === "external") return { nonce: job.nonce, protocol: PcpProtocol.Udp, internalPort: DISCARD_PORT };
  if (job.kind === "unmap") return { nonce: job.nonce, protocol: ipProtocol(job.protocol), internalPort: job.internalPort };
  return { nonce: job.mapping.nonce, protocol: ipProtocol(job.mapping.protocol), internalPort: job.mapping.internalPort };
}

function externalOf(res: { externalAddress: string; externalPort: number }): TransportAddress {
  return { family: ipFamily(res.externalAddress) ?? "IPv6", address: res.externalAddress, port: res.externalPort };
}

function ipProtocol(p: PortMappingProtocol): number {
  return p === "udp" ? PcpProtocol.Udp : PcpProtocol.Tcp;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `::ffff:192.0.2.1` → `192.0.2.1`, so that a dual-stack socket's view matches an IPv4 gateway. */
function unmapV4(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

function checkProtocol(p: string): void {
  if (p !== "udp" && p !== "tcp") throw new IcekitError("INVALID_ARGUMENT", `protocol '${p}' is not "udp" or "tcp"`);
}

function checkRange(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new IcekitError("INVALID_ARGUMENT", `${name} ${v} is out of range; pass an integer from ${min} to ${max}`);
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new IcekitError("INVALID_ARGUMENT", `${name} ${v}: pass an integer >= ${min}`);
  return v;
}
