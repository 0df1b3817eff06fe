/**
 * The Binding method as a STUN server answers it (RFC 8489 §6.3.1.1), with NAT behaviour
 * discovery (RFC 5780 §6) when the server has an alternate address and port, and the RFC 3489
 * form of the response for classic clients (RFC 5389 §12.2, RFC 3489 §8.1).
 *
 * `StunServer` installs {@link createBindingHandler} for Binding; a TURN server that also
 * answers Binding requests (most do) can install the same handler in its method table.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { transportAddress } from "../bytes/ip";
import { IcekitError } from "../errors";
import { MappedAddress, OtherAddress, ResponseOrigin, XorMappedAddress, plainAddressCodec } from "./attributes/address";
import { ChangeRequest, Padding, ResponsePort } from "./attributes/nat-behavior";
import type { AttributeEntry } from "./client";
import { attr } from "./client";
import { AttributeType } from "./constants";
import type { StunMethodHandler, StunServerAddress, StunServerReply, StunServerRequestContext } from "./server-types";

/** RFC 3489 §11.2.3: SOURCE-ADDRESS, the address a classic response was sent from. */
const SourceAddress = /* @__PURE__ */ plainAddressCodec(0x0004, "SOURCE-ADDRESS");
/** RFC 3489 §11.2.3: CHANGED-ADDRESS, what RFC 5780 renamed OTHER-ADDRESS. */
const ChangedAddress = /* @__PURE__ */ plainAddressCodec(0x0005, "CHANGED-ADDRESS");

/** Largest PADDING sent: the message must stay under 64 KiB (RFC 5780 §7.6). */
const MAX_PADDING = 60_000;

/**
 * Options of {@link createBindingHandler}: the subset of `StunServerOptions` it reads.
 *
 * @example
 * ```ts
 * const options: BindingHandlerOptions = {
 *   primary: { address: "192.0.2.1", port: 3478 },
 *   alternate: { address: "192.0.2.2", port: 3479 },
 * };
 * stunServerSockets(options).length // → 4
 * ```
 */
export interface BindingHandlerOptions {
  /** A1:P1 (RFC 5780 §6.1); required with `alternate`. */
  readonly primary?: StunServerAddress;
  /** A2:P2, differing from the primary in both address and port, of the same family. */
  readonly alternate?: StunServerAddress;
  /** PADDING bytes in responses to requests with PADDING (default 1500), rounded up to 4. */
  readonly paddingLength?: number;
}

/** Normalised RFC 5780 addresses: index 0 the primary, 1 the alternate. */
interface Behavior {
  readonly family: "IPv4" | "IPv6";
  readonly ips: readonly [string, string];
  readonly ports: readonly [number, number];
}

function checkAddress(name: string, a: StunServerAddress): TransportAddress {
  if (typeof a !== "object" || a === null) throw new IcekitError("INVALID_ARGUMENT", `${name}: pass { address, port }`);
  return transportAddress(a.address, a.port);
}

function behaviorOf(options: BindingHandlerOptions): Behavior | undefined {
  if (options.primary !== undefined) checkAddress("primary", options.primary);
  if (options.alternate === undefined) return undefined;
  if (options.primary === undefined) {
    throw new IcekitError("INVALID_ARGUMENT", "alternate needs primary: pass both { address, port } pairs (RFC 5780 A1:P1 and A2:P2)");
  }
  const p = checkAddress("primary", options.primary);
  const a = checkAddress("alternate", options.alternate);
  if (p.family !== a.family) throw new IcekitError("INVALID_ARGUMENT", `primary ${p.address} and alternate ${a.address} must be of the same family`);
  if (p.address === a.address || p.port === a.port) {
    throw new IcekitError("INVALID_ARGUMENT", "alternate must differ from primary in both address and port (RFC 5780 §6: two IP addresses, two ports)");
  }
  return { family: p.family, ips: [p.address, a.address], ports: [p.port, a.port] };
}

/**
 * The local sockets a driver binds for these options: none without `primary`, the primary
 * alone without `alternate`, else A1:P1, A1:P2, A2:P1, A2:P2 (RFC 5780 §6, RFC 3489 §8.1).
 *
 * @param options - the server's options
 * @returns transport addresses in canonical form
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for a bad address, an alternate without a
 *   primary, or one that shares its address, port or not its family.
 * @example
 * ```ts
 * stunServerSockets({ primary: { address: "192.0.2.1", port: 3478 }, alternate: { address: "192.0.2.2", port: 3479 } })
 * // 192.0.2.1:3478, 192.0.2.1:3479, 192.0.2.2:3478, 192.0.2.2:3479
 * ```
 */
export function stunServerSockets(options: BindingHandlerOptions): TransportAddress[] {
  const b = behaviorOf(options);
  if (b === undefined) return options.primary ? [checkAddress("primary", options.primary)] : [];
  const out: TransportAddress[] = [];
  for (const address of b.ips) for (const port of b.ports) out.push({ family: b.family, address, port });
  return out;
}

/**
 * The Binding handler: XOR-MAPPED-ADDRESS of the request's source (RFC 8489 §6.3.1.1), or
 * MAPPED-ADDRESS for RFC 3489 clients. With an alternate address (RFC 5780 §6.1) it adds
 * MAPPED-ADDRESS, RESPONSE-ORIGIN and OTHER-ADDRESS (SOURCE-ADDRESS and CHANGED-ADDRESS for
 * classic clients) and answers from the socket CHANGE-REQUEST asks for; RESPONSE-PORT sends the
 * response to another port of the source IP; PADDING pads it; both together get 400.
 *
 * Which of the four sockets a request came in on is read from `Received.local`: an address
 * that is neither A1 nor A2 (a wildcard bind) counts as A1, a port that is not P2 as P1.
 * Requests of the other family, or without an alternate, are answered as a basic server
 * would, and CHANGE-REQUEST is then not understood (420, RFC 5780 §6). Over TCP and TLS the
 * response must go back on the request's connection, so CHANGE-REQUEST and RESPONSE-PORT are
 * not understood there either.
 *
 * @param options - the addresses and the padding length
 * @throws {@link IcekitError} `INVALID_ARGUMENT` as {@link stunServerSockets} does, or for a
 *   padding length outside 0-60000.
 * @example
 * ```ts
 * // A TURN server's method table that answers Binding too:
 * const methods = new Map([[Method.Binding, createBindingHandler()], [Method.Allocate, allocateHandler]]);
 * createBindingHandler().request(context) // → { kind: "success", attributes: [XOR-MAPPED-ADDRESS], local, remote }
 * ```
 */
export function createBindingHandler(options: BindingHandlerOptions = {}): StunMethodHandler {
  const behavior = behaviorOf(options);
  const pad = options.paddingLength ?? 1500;
  if (!Number.isInteger(pad) || pad < 0 || pad > MAX_PADDING) {
    throw new IcekitError("INVALID_ARGUMENT", `paddingLength ${pad}: pass an integer from 0 to ${MAX_PADDING} (the path MTU, e.g. 1500)`);
  }
  // RFC 5780 §6.1: "a length of PADDING equal to the MTU ..., rounded up to an even multiple of four bytes".
  const padding = new Uint8Array((pad + 3) & ~3);

  /** Where `local` sits among the four sockets; undefined when there is no alternate for its family. */
  const place = (local: TransportAddress): { ip: 0 | 1; port: 0 | 1 } | undefined => {
    if (behavior === undefined || local.family !== behavior.family) return undefined;
    return { ip: local.address === behavior.ips[1] ? 1 : 0, port: local.port === behavior.ports[1] ? 1 : 0 };
  };
  const socket = (b: Behavior, ip: number, port: number): TransportAddress => ({ family: b.family, address: b.ips[ip ? 1 : 0], port: b.ports[port ? 1 : 0] });

  return {
    understands(type: number, ctx: StunServerRequestContext): boolean | undefined {
      const udp = ctx.received.transport === "udp";
      switch (type) {
        case AttributeType.ChangeRequest:
          // RFC 5780 §6: "If a server cannot allocate the same ports on two different IP
          // address, then it ... MUST respond with a 420 ... to any Request with a CHANGE-REQUEST".
          return udp && place(ctx.received.local) !== undefined;
        case AttributeType.ResponsePort:
          // RFC 5780 §7.5: server support is optional; a datagram cannot leave a TCP connection.
          return udp && !ctx.classic;
        case AttributeType.Padding:
          return !ctx.classic;
        default:
          return undefined;
      }
    },

    request(ctx: StunServerRequestContext): StunServerReply {
      const { message: msg, received: r, classic } = ctx;
      const udp = r.transport === "udp";
      // Reached only when understood: UDP and, for CHANGE-REQUEST, an alternate address.
      const change = udp ? msg.get(ChangeRequest) : undefined;
      const responsePort = udp && !classic ? msg.get(ResponsePort) : undefined;
      const padded = !classic && msg.has(AttributeType.Padding);
      if (responsePort !== undefined && padded) {
        // RFC 5780 §6.1, §7.5: MUST NOT process it; §10: it would be an amplification vector.
        return { kind: "error", code: 400, reason: "RESPONSE-PORT with PADDING" };
      }
      if (responsePort === 0) return { kind: "error", code: 400, reason: "RESPONSE-PORT 0" };

      // RFC 8489 §6.3.1.1: the source transport address of the request; RFC 5389 §12.2: in
      // MAPPED-ADDRESS for a client without the magic cookie.
      const attributes: AttributeEntry[] = [attr(classic ? MappedAddress : XorMappedAddress, r.remote)];
      let local = r.local;
      const at = place(r.local);
      if (at !== undefined) {
        const b = behavior!;
        // RFC 5780 §6.1 Table 1 (RFC 3489 §8.1 Table 1): change IP → Ca, change port → Cp.
        if (udp) local = socket(b, change?.changeIp ? 1 - at.ip : at.ip, change?.changePort ? 1 - at.port : at.port);
        const other = socket(b, 1 - at.ip, 1 - at.port);
        if (classic) {
          attributes.push(attr(SourceAddress, local), attr(ChangedAddress, other));
        } else {
          // "The server MUST include both MAPPED-ADDRESS and XOR-MAPPED-ADDRESS", RESPONSE-ORIGIN
          // ("the source address and port used") and OTHER-ADDRESS (Ca:Cp whatever the flags).
          attributes.push(attr(MappedAddress, r.remote), attr(ResponseOrigin, local), attr(OtherAddress, other));
        }
      }
      // RFC 5780 §6.1: "If the Request contained a PADDING attribute, PADDING MUST be included".
      if (padded) attributes.push(attr(Padding, padding));
      // RFC 5780 §7.5: to "the source IP address of the Binding Request and the port contained in RESPONSE-PORT".
      const remote = responsePort === undefined ? r.remote : { family: r.remote.family, address: r.remote.address, port: responsePort };
      return { kind: "success", attributes, local, remote };
    },

    indication(): void {
      // RFC 8489 §6.3.2: "The mere receipt of the message by the agent has refreshed the
      // bindings in the intervening NATs."
    },
  };
}
