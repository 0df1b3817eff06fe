/**
 * The floor of bench/ice.ts's `ice-idle-cpu-per-1000`: the same datagrams as N idle ICE agents
 * exchange with consent freshness, with no ICE at all. Run as a child by {@link floorPeer} in
 * bench/ice.ts (the peer side) and, in the parent, by {@link runFloorSide} (the measured side).
 *
 * Each side keeps one Node timer per virtual agent, fired every 4-6 s (RFC 7675's randomized
 * 5 s) at a random phase: it sends a 100-byte "request" (first byte 0) to the other side, which
 * answers with a 100-byte "response" (first byte 1). So the measured side sends and receives
 * one request and one response per agent per period, on one socket, as the mux does, and wakes
 * for timers and datagrams the way a Node process must. What this costs is what the kernel, libuv
 * and Node charge before any STUN or ICE work: on a VM where a wake-up costs 100 µs it dominates.
 *
 * Child protocol (IPC): `{type:"start", n, port}` → binds 127.0.0.1, answers `{type:"port",
 * port}` and starts its timers towards `port`; `{type:"close"}` ends it.
 *
 * @module
 */
import dgram from "node:dgram";

/** The consent period, randomized 0.8-1.2 as RFC 7675 §5.1 asks. */
const period = (): number => 5000 * (0.8 + 0.4 * Math.random());

/**
 * Binds a socket on 127.0.0.1 that answers requests and sends `n` virtual agents' requests to
 * `peerPort` (once known); returns its port and a stop function.
 */
export async function runFloorSide(n: number, peerPort: () => number | undefined): Promise<{ port: number; received: () => number; stop: () => void }> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  const request = Buffer.alloc(100);
  const response = Buffer.alloc(100, 1);
  let received = 0;
  socket.on("message", (msg, rinfo) => {
    received++;
    if (msg[0] === 0) socket.send(response, rinfo.port, rinfo.address);
  });
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < n; i++) {
    const tick = (): void => {
      const p = peerPort();
      if (p !== undefined) socket.send(request, p, "127.0.0.1");
      timers[i] = setTimeout(tick, period());
    };
    timers[i] = setTimeout(tick, Math.random() * 5000);
  }
  return {
    port: socket.address().port,
    received: () => received,
    stop: () => {
      for (const t of timers) clearTimeout(t);
      socket.close();
    },
  };
}

if (process.send !== undefined && process.argv.includes("--udp-floor-child")) {
  let stop: (() => void) | undefined;
  process.on("message", (raw) => {
    const m = raw as { type: string; n?: number; port?: number };
    if (m.type === "close") {
      stop?.();
      process.disconnect();
      return;
    }
    if (m.type !== "start") return;
    void runFloorSide(m.n ?? 0, () => m.port).then((side) => {
      stop = side.stop;
      process.send!({ type: "port", port: side.port });
    });
  });
}
