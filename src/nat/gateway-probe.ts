/**
 * Which port-mapping protocols does the gateway speak? A sans-IO probe that asks without
 * creating anything: a NAT-PMP external-address request (RFC 6886 §3.2) and a PCP ANNOUNCE
 * request (RFC 6887 §14.1.1, lifetime 0), both to the gateway's port 5351 from one socket.
 *
 * Neither request changes state at the gateway, unlike the short MAP of port 9 that
 * {@link PortMappingClient.externalAddress} would make for PCP. The answers sort themselves out
 * by their version byte: a NAT-PMP-only gateway answers the PCP request with version 0 /
 * UNSUPP_VERSION (RFC 6887 §9), which says "NAT-PMP yes, PCP no" on its own; a PCP server that
 * also speaks NAT-PMP answers both.
 *
 * Both requests go out together and are resent at 250 ms doubling (RFC 6886 §3.1's schedule)
 * until both are answered or `transmissions` sends have gone unanswered; then one `result` event
 * reports what was learnt and the probe is done. UPnP IGD is discovered separately (SSDP over
 * multicast, see `src/nat/ssdp.ts`), and the Node side merges the two.
 *
 * ```ts
 * const probe = new GatewayProbe({ gateway: "192.168.1.1", clientAddress: "192.168.1.20" });
 * probe.start(now);
 * // drive it (see src/engine.ts) until the event arrives:
 * const e = probe.pollEvent(); // { type: "result", pcp: true, natpmp: true, externalAddress: "203.0.113.7", ... }
 * ```
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { canonicalIp, ipFamily } from "../bytes/ip";
import { Queue } from "../engine";
import type { Engine, Received, Transmit } from "../engine";
import { IcekitError } from "../errors";
import { NATPMP_SERVER_PORT, decodeNatPmpResponse, encodeNatPmpRequest } from "./natpmp";
import type { NatPmpResponse } from "./natpmp";
import { decodePcpResponse, encodePcpRequest } from "./pcp";
import type { PcpResponse } from "./pcp";

/**
 * Configuration of a {@link GatewayProbe}.
 *
 * @example
 * ```ts
 * const options: GatewayProbeOptions = { gateway: "192.168.1.1", clientAddress: "192.168.1.20", transmissions: 2 };
 * const probe = new GatewayProbe(options); // done after 750 ms if nothing answers
 * ```
 */
export interface GatewayProbeOptions {
  /** The gateway's IP address (the default router). */
  readonly gateway: string;
  /**
   * This host's address on the gateway's link: PCP puts it in the request (RFC 6887 §8.1) and a
   * server that sees another source answers ADDRESS_MISMATCH, which still proves it speaks PCP.
   */
  readonly clientAddress: string;
  /** Sends of each request before giving up (default 3: at 0, 250 and 750 ms; done at 1750 ms). */
  readonly transmissions?: number;
  /** Source address to put on transmits, when the driver has several sockets. */
  readonly local?: TransportAddress;
}

/**
 * What a {@link GatewayProbe} learnt.
 *
 * @example
 * ```ts
 * const result: GatewayProbeResult | undefined = probe.pollEvent();
 * // → { type: "result", pcp: true, natpmp: true, externalAddress: "203.0.113.7", pcpResultCode: 0, natPmpResultCode: 0 }
 * // A gateway that answers neither: { type: "result", pcp: false, natpmp: false, externalAddress: undefined, ... }
 * ```
 */
export interface GatewayProbeResult {
  readonly type: "result";
  /** A PCP server answered the ANNOUNCE with version 2 (any result code counts: it speaks PCP). */
  readonly pcp: boolean;
  /** A NAT-PMP server answered (the external-address request, or the PCP request with version 0). */
  readonly natpmp: boolean;
  /** The external IPv4 address NAT-PMP reported, when it did (result code 0). */
  readonly externalAddress: string | undefined;
  /** The PCP result code of the ANNOUNCE answer (0 SUCCESS), when there was one. */
  readonly pcpResultCode: number | undefined;
  /** The NAT-PMP result code of the external-address answer (0 SUCCESS), when there was one. */
  readonly natPmpResultCode: number | undefined;
}

/**
 * Counters for {@link GatewayProbe.stats}.
 *
 * @example
 * ```ts
 * probe.stats(); // after both requests were answered at the first send:
 * // → { transmissions: 2, droppedForeign: 0, droppedMalformed: 0 }
 * ```
 */
export interface GatewayProbeStats {
  transmissions: number;
  /** Datagrams whose source was not the gateway's port 5351 (RFC 6886 §3.2, RFC 6887 §8.3). */
  droppedForeign: number;
  /** Datagrams that did not decode, or answered something the probe did not ask. */
  droppedMalformed: number;
}

const FIRST_RETRANSMIT_MS = 250;

/**
 * The port-mapping protocol probe: one PCP ANNOUNCE and one NAT-PMP external-address request,
 * resent until answered, then a single {@link GatewayProbeResult} event.
 *
 * @example
 * ```ts
 * const probe = new GatewayProbe({ gateway: "192.168.1.1", clientAddress: "192.168.1.20" });
 * probe.start(now);
 * for (let t; (t = probe.pollTransmit()); ) socket.send(t.data, t.remote.port, t.remote.address);
 * // on each datagram: probe.handleReceive(now, received); at probe.pollTimeout(): probe.handleTimeout(now)
 * ```
 */
export class GatewayProbe implements Engine<GatewayProbeResult> {
  readonly #gateway: TransportAddress;
  readonly #gatewayCanonical: string;
  readonly #local: TransportAddress | undefined;
  readonly #maxSends: number;
  readonly #natPmpRequest: Uint8Array;
  readonly #pcpRequest: Uint8Array;
  readonly #transmits = new Queue<Transmit>();
  readonly #events = new Queue<GatewayProbeResult>();
  readonly #stats: GatewayProbeStats = { transmissions: 0, droppedForeign: 0, droppedMalformed: 0 };
  #sends = 0;
  #nextAt: number | undefined;
  #done = false;
  #pcp: Extract<PcpResponse, { kind: "announce" | "unsupported-version" }> | undefined;
  #pcpAnsweredByNatPmp = false;
  #natpmp: Extract<NatPmpResponse, { kind: "external-address" }> | undefined;

  /** @throws {@link IcekitError} `INVALID_ARGUMENT` when an address is not an IP address. */
  constructor(options: GatewayProbeOptions) {
    const family = ipFamily(options.gateway);
    if (family === undefined) throw new IcekitError("INVALID_ARGUMENT", `gateway '${options.gateway}' is not an IP address`);
    if (ipFamily(options.clientAddress) === undefined) throw new IcekitError("INVALID_ARGUMENT", `clientAddress '${options.clientAddress}' is not an IP address`);
    const sends = options.transmissions ?? 3;
    if (!Number.isInteger(sends) || sends < 1 || sends > 9) throw new IcekitError("INVALID_ARGUMENT", `transmissions ${sends}: pass an integer from 1 to 9`);
    this.#gateway = { family, address: options.gateway, port: NATPMP_SERVER_PORT };
    this.#gatewayCanonical = canonicalIp(options.gateway);
    this.#local = options.local;
    this.#maxSends = sends;
    this.#natPmpRequest = encodeNatPmpRequest({ kind: "external-address" });
    // ANNOUNCE requests carry lifetime 0 (RFC 6887 §14.1.1).
    this.#pcpRequest = encodePcpRequest({ kind: "announce", lifetime: 0, clientAddress: options.clientAddress });
  }

  /** Sends the two requests. Calling it again does nothing. */
  start(now: number): void {
    if (this.#sends > 0 || this.#done) return;
    this.#send(now);
  }

  /** Counters: sends and what was dropped. */
  stats(): Readonly<GatewayProbeStats> {
    return this.#stats;
  }

  /** True once the result has been reported. */
  get done(): boolean {
    return this.#done;
  }

  handleReceive(_now: number, received: Received): void {
    if (this.#done) return;
    if (received.remote.port !== NATPMP_SERVER_PORT || canonicalIp(received.remote.address) !== this.#gatewayCanonical) {
      this.#stats.droppedForeign++;
      return;
    }
    try {
      if (received.data[0] === 0) {
        const r = decodeNatPmpResponse(received.data);
        // A NAT-PMP gateway's UNSUPP_VERSION answers the PCP request (RFC 6887 §9).
        if (r.kind === "unsupported-version") this.#pcpAnsweredByNatPmp = true;
        else if (r.kind === "external-address") this.#natpmp = r;
        else this.#stats.droppedMalformed++;
      } else {
        const r = decodePcpResponse(received.data);
        if (r.kind === "announce" || r.kind === "unsupported-version") this.#pcp = r;
        else this.#stats.droppedMalformed++;
      }
    } catch {
      // The decoders throw only StunDecodeError; an engine never throws on network input.
      this.#stats.droppedMalformed++;
      return;
    }
    if ((this.#pcp !== undefined || this.#pcpAnsweredByNatPmp) && this.#natpmp !== undefined) this.#finish();
  }

  handleTimeout(now: number): void {
    if (this.#done || this.#nextAt === undefined || now < this.#nextAt) return;
    if (this.#sends >= this.#maxSends) this.#finish();
    else this.#send(now);
  }

  pollTransmit(): Transmit | undefined {
    return this.#transmits.shift();
  }

  pollTimeout(): number | undefined {
    return this.#done ? undefined : this.#nextAt;
  }

  pollEvent(): GatewayProbeResult | undefined {
    return this.#events.shift();
  }

  #send(now: number): void {
    // Resend only what is still unanswered.
    if (this.#natpmp === undefined) this.#push(this.#natPmpRequest);
    if (this.#pcp === undefined && !this.#pcpAnsweredByNatPmp) this.#push(this.#pcpRequest);
    this.#nextAt = now + (FIRST_RETRANSMIT_MS << this.#sends);
    this.#sends++;
  }

  #push(data: Uint8Array): void {
    this.#stats.transmissions++;
    this.#transmits.push({ local: this.#local, remote: this.#gateway, transport: "udp", data });
  }

  #finish(): void {
    this.#done = true;
    this.#nextAt = undefined;
    const pcp = this.#pcp;
    // A PCP server of another version (UNSUPP_VERSION with version ≥ 1) still speaks PCP.
    const speaksPcp = pcp !== undefined && (pcp.kind === "announce" || pcp.version >= 1);
    const nat = this.#natpmp;
    this.#events.push({
      type: "result",
      pcp: speaksPcp,
      natpmp: nat !== undefined || this.#pcpAnsweredByNatPmp,
      externalAddress: nat?.resultCode === 0 ? nat.externalAddress : undefined,
      pcpResultCode: pcp?.kind === "announce" ? pcp.resultCode : undefined,
      natPmpResultCode: nat?.resultCode,
    });
  }
}
