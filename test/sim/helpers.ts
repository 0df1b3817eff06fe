/** Shared set-ups for the simulator's tests. */
import type { Network, Socket, TransportAddress } from "../../src/sim/index";
import { MiniStunServer, bindingRequest, mappedFrom } from "./mini-stun";

/** The RFC 5780 server's two addresses and two ports. */
export const PRIMARY = "192.0.2.10";
export const ALTERNATE = "192.0.2.11";
export const PORT = 3478;
export const ALT_PORT = 3479;

/** A public server listening on two addresses × two ports with the mini responder. */
export function stunServer(net: Network) {
  const host = net.server([PRIMARY, ALTERNATE], { name: "stun" });
  return net.attach(host, new MiniStunServer({ addresses: [PRIMARY, ALTERNATE], ports: [PORT, ALT_PORT] }), { port: [PORT, ALT_PORT] });
}

/** `address:port` as a transport address. */
export function at(address: string, port: number): TransportAddress {
  return { family: address.includes(":") ? "IPv6" : "IPv4", address, port };
}

/**
 * Sends one Binding request from `socket` to `to` and runs the network until the response comes
 * or `timeout` virtual ms pass. Returns the mapped address and where the response came from.
 */
export function binding(
  net: Network,
  socket: Socket,
  to: TransportAddress,
  change?: { changeIp: boolean; changePort: boolean },
  timeout = 2_000,
): { mapped: TransportAddress; from: TransportAddress } | undefined {
  const { data, tid } = bindingRequest(net.random, change);
  socket.send({ remote: to, data });
  let result: ReturnType<typeof mappedFrom>;
  net.runUntil(() => (result = mappedFrom(socket.received, tid)) !== undefined, { timeout });
  return result;
}

/** `a.b.c.d:p` of a transport address, for compact assertions. */
export function str(a: TransportAddress | undefined): string | undefined {
  return a === undefined ? undefined : `${a.address}:${a.port}`;
}
