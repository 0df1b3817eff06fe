import dgram from "node:dgram";
import net from "node:net";

/** A port free for both UDP and TCP on `address`, and (when `pair`) port + 1 too. */
export async function freePort(address = "127.0.0.1", pair = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000) * (pair ? 1 : 1);
    const ports = pair ? [port, port + 1] : [port];
    if ((await Promise.all(ports.map((p) => isFree(address, p)))).every(Boolean)) return port;
  }
  throw new Error("no free port found");
}

async function isFree(address: string, port: number): Promise<boolean> {
  const udp = await new Promise<boolean>((resolve) => {
    const s = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
    s.once("error", () => resolve(false));
    s.bind(port, address, () => s.close(() => resolve(true)));
  });
  if (!udp) return false;
  return new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, address, () => srv.close(() => resolve(true)));
  });
}
