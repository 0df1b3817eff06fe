/**
 * The friendly async STUN API: one Binding request to a server on real sockets.
 *
 * @example
 * ```ts
 * import { stunBinding } from "icekit/node";
 * const { mapped, local, rttMs } = await stunBinding("stun:stun.example.org:3478");
 * ```
 *
 * @module
 */
import type tls from "node:tls";
import type { TransportAddress } from "../bytes/ip";
import { TransactionError } from "../errors";
import { formatTransportAddress } from "../bytes/ip";
import type { TransportProtocol } from "../engine";
import { StunClient } from "../stun/client";
import type { StunAuth, StunClientEvent, StunClientOptions } from "../stun/client";
import { MappedAddress, XorMappedAddress } from "../stun/attributes/address";
import type { StunMessage } from "../stun/message";
import { parseServer, resolveServer } from "./dns";
import { NodeDriver } from "./driver";
import { monotonicNow } from "./clock";
import { bindUdp, routeLocalAddress, udpLocal } from "./udp";

/**
 * Options for {@link stunBinding}.
 *
 * @example
 * ```ts
 * const options: StunBindingOptions = { transport: "tcp", signal: AbortSignal.timeout(5000) };
 * const { mapped } = await stunBinding("stun:stun.example.org", options);
 * ```
 */
export interface StunBindingOptions {
  /** Local address to bind; default: the address the kernel routes to the server from. */
  readonly localAddress?: string;
  /** Local port; default: any free port. */
  readonly localPort?: number;
  /** Force a transport; default: the URI's (`stun:` UDP, `stuns:` TLS, `?transport=tcp`). */
  readonly transport?: TransportProtocol;
  /** Authentication, for servers that want it. */
  readonly auth?: StunAuth;
  /** Retransmission knobs (RFC 8489 §6.2.1 defaults: RTO 500 ms, Rc 7, Rm 16). */
  readonly stun?: StunClientOptions;
  /** Cancels the request; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * TLS options for `stuns:` (a CA to trust, say). The server name is the URI's host, and the
   * certificate is verified against it (RFC 8489 §6.2.3) unless you set `rejectUnauthorized`.
   */
  readonly tls?: tls.ConnectionOptions;
}

/**
 * What one Binding transaction learned.
 *
 * @example
 * ```ts
 * const r: StunBindingResult = await stunBinding("stun:stun.example.org");
 * console.log(r.mapped, r.rttMs); // → { family: "IPv4", address: "203.0.113.7", port: 61234 } 23.4
 * ```
 */
export interface StunBindingResult {
  /** The server's address that answered. */
  readonly server: TransportAddress;
  /** The local socket the request left from. */
  readonly local: TransportAddress;
  /** The reflexive transport address: XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS from RFC 3489 servers). */
  readonly mapped: TransportAddress;
  /** Round-trip time of the transaction, ms. */
  readonly rttMs: number;
  /** The transport used. */
  readonly transport: TransportProtocol;
  /** The whole response, for callers that want more (OTHER-ADDRESS, SOFTWARE...). */
  readonly response: StunMessage;
}

/**
 * Reads the reflexive address a Binding success response carries (RFC 8489 §6.3.3).
 *
 * @example
 * ```ts
 * mappedAddressOf(e.response); // e: a StunClient "success" event
 * // → { family: "IPv4", address: "203.0.113.7", port: 61234 }, or undefined without (XOR-)MAPPED-ADDRESS
 * ```
 */
export function mappedAddressOf(response: StunMessage): TransportAddress | undefined {
  try {
    return response.get(XorMappedAddress) ?? response.get(MappedAddress);
  } catch {
    return undefined;
  }
}

/**
 * Sends one Binding request and waits for the answer.
 *
 * @param server - `stun:host[:port]`, `stuns:host`, `turn:host?transport=tcp`, or `host[:port]`
 * @throws {@link IcekitError} when the server is not a valid URI or does not resolve
 * @throws {@link TransactionError} when the transaction fails: `reason` says why (`timeout`
 *   after the retransmissions, `error-response` with the STUN error code, `bad-response`...)
 *
 * @example
 * ```ts
 * const { mapped, local } = await stunBinding("stun.example.org:3478");
 * console.log(`${local.address}:${local.port} is ${mapped.address}:${mapped.port} outside`);
 * // → "192.168.1.23:50123 is 203.0.113.7:61234 outside"
 * ```
 */
export async function stunBinding(server: string, options: StunBindingOptions = {}): Promise<StunBindingResult> {
  const uri = parseServer(server);
  const transport = options.transport ?? uri.transport;
  const resolved = await resolveServer(uri, options.signal ? { signal: options.signal } : {});
  const remote = resolved.addresses[0]!;
  const client = new StunClient(options.stun);
  return new Promise<StunBindingResult>((resolve, reject) => {
    let driver: NodeDriver<StunClientEvent> | undefined;
    let local: TransportAddress | undefined;
    const finish = (err: unknown, result?: StunBindingResult) => {
      driver?.close();
      options.signal?.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve(result!);
    };
    const onAbort = () => finish(options.signal?.reason ?? new Error("aborted"));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    driver = new NodeDriver<StunClientEvent>(client, {
      ...(transport === "tls" ? { tls: { ...(uri.hostType === "name" ? { servername: uri.host } : {}), ...options.tls } } : {}),
      onEvent: (e) => {
        if (e.type === "failure") {
          finish(new TransactionError(e.reason, `STUN Binding to ${formatTransportAddress(e.remote)} failed: ${e.detail}`, e.errorCode));
          return;
        }
        const mapped = mappedAddressOf(e.response);
        if (mapped === undefined) {
          finish(new TransactionError("bad-response", `${formatTransportAddress(e.remote)} answered without a usable XOR-MAPPED-ADDRESS`));
          return;
        }
        // On TCP/TLS the local address is the connection's, known once it is up.
        local ??= driver?.streamLocal(e.transport, e.remote);
        if (local === undefined) {
          finish(new TransactionError("transport", "the connection's local address is unknown"));
          return;
        }
        finish(undefined, { server: e.remote, local, mapped, rttMs: e.rttMs, transport: e.transport, response: e.response });
      },
    });
    const start = async () => {
      if (transport === "udp") {
        const address = options.localAddress ?? (await routeLocalAddress(remote));
        const socket = await bindUdp(address, options.localPort ?? 0, options.signal);
        driver!.addUdpSocket(socket);
        local = udpLocal(socket);
      }
      client.request(monotonicNow(), { remote, transport, ...(options.auth ? { auth: options.auth } : {}) });
      driver!.pump();
    };
    start().catch((e: unknown) => finish(e));
  });
}
