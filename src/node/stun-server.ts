/**
 * A STUN server on Node sockets: the pure {@link StunServer} engine behind UDP sockets (one, or
 * the four of RFC 5780 §6 when an alternate address is given) and a TCP listener on the primary
 * address.
 *
 * @example
 * ```ts
 * import { startStunServer } from "icekit/node";
 * const server = await startStunServer({ listen: { address: "192.0.2.1", port: 3478 },
 *                                        alt: { address: "192.0.2.2", port: 3479 } });
 * // ... server.stats(), then:
 * await server.close();
 * ```
 *
 * @module
 */
import net from "node:net";
import type { TransportAddress } from "../bytes/ip";
import { IcekitError } from "../errors";
import { StunServer, stunServerSockets } from "../stun/server";
import type { StunServerEvent, StunServerOptions, StunServerStats } from "../stun/server";
import { NodeDriver } from "./driver";
import { bindUdp, udpLocal } from "./udp";

/**
 * Options for {@link startStunServer}: the engine's, with the addresses to bind.
 *
 * @example
 * ```ts
 * const options: NodeStunServerOptions = {
 *   listen: { address: "0.0.0.0", port: 3478 },
 *   software: "icekit",
 *   onEvent: (e) => console.log(e.type), // → "binding", or "error-response"
 * };
 * const server = await startStunServer(options);
 * ```
 */
export interface NodeStunServerOptions extends Omit<StunServerOptions, "primary" | "alternate"> {
  /** Where to listen (default `0.0.0.0:3478`). With `alt` it must be a specific IP address. */
  readonly listen?: { readonly address: string; readonly port: number };
  /** The RFC 5780 alternate IP and port (A2:P2). */
  readonly alt?: { readonly address: string; readonly port: number };
  /** Also accept STUN over TCP on the primary address (default true). */
  readonly tcp?: boolean;
  /** Called for each answered request and each error response. */
  readonly onEvent?: (event: StunServerEvent) => void;
}

/**
 * A running STUN server.
 *
 * @example
 * ```ts
 * const server: NodeStunServer = await startStunServer({ listen: { address: "127.0.0.1", port: 0 } });
 * server.udp[0]; // → { family: "IPv4", address: "127.0.0.1", port: 50123 }: the port the kernel chose
 * server.tcp;    // → the same address and port, over TCP
 * await server.close();
 * ```
 */
export interface NodeStunServer {
  /** The UDP sockets bound, in RFC 5780 order (A1:P1, A1:P2, A2:P1, A2:P2). */
  readonly udp: readonly TransportAddress[];
  /** The TCP listener's address, if any. */
  readonly tcp: TransportAddress | undefined;
  /** The engine's counters. */
  stats(): Readonly<StunServerStats>;
  /** Closes every socket. */
  close(): Promise<void>;
}

/**
 * Binds the sockets and starts answering.
 *
 * @throws {@link IcekitError} when an address cannot be bound or the options do not fit
 *
 * @example
 * ```ts
 * const server = await startStunServer(); // 0.0.0.0:3478, UDP and TCP
 * server.stats().successResponses; // → Binding requests answered so far, e.g. 42
 * ```
 */
export async function startStunServer(options: NodeStunServerOptions = {}): Promise<NodeStunServer> {
  const listen = options.listen ?? { address: "0.0.0.0", port: 3478 };
  if (options.alt && (listen.address === "0.0.0.0" || listen.address === "::")) {
    throw new IcekitError("INVALID_ARGUMENT", "--alt needs --listen on a specific IP address (responses must leave from each address), e.g. --listen 192.0.2.1:3478 --alt 192.0.2.2:3479");
  }
  const { listen: _l, alt, tcp: _t, onEvent, ...engineOptions } = options;
  const engine = new StunServer({ ...engineOptions, primary: listen, ...(alt ? { alternate: alt } : {}) });
  const driver = new NodeDriver<StunServerEvent>(engine, onEvent ? { onEvent } : {});
  const wanted = stunServerSockets({ primary: listen, ...(alt ? { alternate: alt } : {}) });
  const udp: TransportAddress[] = [];
  let tcpAddress: TransportAddress | undefined;
  try {
    for (const a of wanted) {
      const socket = await bindUdp(a.address, a.port);
      driver.addUdpSocket(socket);
      udp.push(udpLocal(socket));
    }
    if (options.tcp !== false) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", (e: NodeJS.ErrnoException) => reject(new IcekitError("INVALID_ARGUMENT", `cannot listen on TCP ${listen.address}:${udp[0]?.port ?? listen.port}: ${e.code ?? e.message}`)));
        // Same port as the primary UDP socket, which may have been chosen by the kernel (port 0).
        server.listen(udp[0]?.port ?? listen.port, listen.address, () => resolve());
      });
      driver.addStreamServer(server, "tcp");
      const info = server.address() as net.AddressInfo;
      tcpAddress = { family: udp[0]?.family ?? "IPv4", address: udp[0]?.address ?? listen.address, port: info.port };
    }
  } catch (e) {
    driver.close();
    throw e;
  }
  return {
    udp,
    tcp: tcpAddress,
    stats: () => engine.stats(),
    close: async () => driver.close(),
  };
}
