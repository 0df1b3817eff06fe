/**
 * UDP sockets for the drivers: binding, and finding which local address the kernel would use to
 * reach a server (so reports can name a real local address rather than 0.0.0.0).
 *
 * @module
 */
import dgram from "node:dgram";
import type { TransportAddress } from "../bytes/ip";
import { IcekitError } from "../errors";
import { fromAddressInfo } from "./address";

/**
 * Binds a UDP socket; resolves once it is listening.
 *
 * @example
 * ```ts
 * const socket = await bindUdp("0.0.0.0"); // any free port
 * udpLocal(socket); // → { family: "IPv4", address: "0.0.0.0", port: 50123 }
 * ```
 */
export function bindUdp(address: string, port = 0, signal?: AbortSignal): Promise<dgram.Socket> {
  const family = address.includes(":") ? "udp6" : "udp4";
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: family, ipv6Only: family === "udp6" });
    const onError = (e: Error) => {
      signal?.removeEventListener("abort", onAbort);
      socket.close();
      reject(new IcekitError("INVALID_ARGUMENT", `cannot bind UDP ${address}:${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    };
    const onAbort = () => {
      socket.off("error", onError);
      socket.close();
      reject(signal?.reason ?? new Error("aborted"));
    };
    socket.once("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.bind(port, address, () => {
      socket.off("error", onError);
      signal?.removeEventListener("abort", onAbort);
      resolve(socket);
    });
  });
}

/**
 * The local IP address the kernel routes to `remote` from, found by connecting a throwaway UDP
 * socket (no packet is sent).
 *
 * @example
 * ```ts
 * await routeLocalAddress({ family: "IPv4", address: "203.0.113.1", port: 3478 }); // → "192.168.1.23"
 * ```
 */
export function routeLocalAddress(remote: TransportAddress): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(remote.family === "IPv6" ? "udp6" : "udp4");
    socket.once("error", (e) => {
      socket.close();
      reject(new IcekitError("INVALID_ARGUMENT", `no route to ${remote.address}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
    socket.connect(remote.port, remote.address, () => {
      const local = fromAddressInfo(socket.address());
      socket.close();
      resolve(local.address);
    });
  });
}

/**
 * The socket's bound address as a {@link TransportAddress}.
 *
 * @example
 * ```ts
 * const socket = await bindUdp("127.0.0.1");
 * udpLocal(socket); // → { family: "IPv4", address: "127.0.0.1", port: 50123 }
 * ```
 */
export function udpLocal(socket: dgram.Socket): TransportAddress {
  return fromAddressInfo(socket.address());
}
