/**
 * Running a TURN server engine on a simulated host: the hook `net.attach` cannot provide,
 * because a TURN server binds one relay socket per allocation while it runs.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import type { TurnServer } from "../turn/server";
import type { Timer } from "./clock";
import type { Host, Socket } from "./host";
import type { Network } from "./network";

/**
 * Drives `server` on `host` as the Node binding does: it listens on `port`, binds a relay socket
 * on each `relay-open` and confirms it with `handleRelayBound`, closes it on `relay-close`, and
 * follows `pollTimeout` on the virtual clock.
 *
 * @example
 * ```ts
 * const host = net.server("192.0.2.20");
 * attachTurnServer(net, host, new TurnServer({ realm: "example.org", users: { user: "pass" },
 *   relayAddresses: ["192.0.2.20"], random: host.random, allowPeer: ["0.0.0.0/0"] }));
 * ```
 *
 * @returns `server`, for chaining
 */
export function attachTurnServer(net: Network, host: Host, server: TurnServer, port = 3478): TurnServer {
  const sockets = new Map<string, Socket>();
  const key = (a: TransportAddress) => `${a.address}|${a.port}`;
  let timer: Timer | undefined;
  let timerAt: number | undefined;
  const drive = (): void => {
    let again = true;
    while (again) {
      again = false;
      for (let t = server.pollTransmit(); t !== undefined; t = server.pollTransmit()) (sockets.get(t.local ? key(t.local) : "") ?? main).send(t);
      for (let e = server.pollEvent(); e !== undefined; e = server.pollEvent()) {
        again = true;
        if (e.type === "relay-open") {
          sockets.set(key(e.relayed), bind(e.relayed.port, e.relayed.address));
          server.handleRelayBound(net.now, e.relayed);
        } else if (e.type === "relay-close") {
          sockets.get(key(e.relayed))?.close();
          sockets.delete(key(e.relayed));
        }
      }
    }
    const at = server.pollTimeout();
    if (at === timerAt) return;
    timer?.cancel();
    timerAt = at;
    timer =
      at === undefined
        ? undefined
        : net.at(Math.max(at, net.now), () => {
            timer = undefined;
            timerAt = undefined;
            server.handleTimeout(net.now);
            drive();
          });
  };
  const bind = (p: number, address?: string): Socket => {
    const sock = host.bind(p, address);
    sock.onReceive = (r, now) => {
      server.handleReceive(now, r);
      drive();
    };
    return sock;
  };
  const main = bind(port);
  return server;
}
