/**
 * A LAN host for the UPnP interop test: listens on `--port` (UDP or TCP), finds the gateway with
 * `discoverIgd()` (SSDP multicast, unicast to `--gateway`, or a given `--location`), maps the
 * port with `mapPortUpnp()`, reads the mapping back with GetSpecificPortMappingEntry, echoes the
 * first datagram (or the first TCP connection's first data) that arrives through the mapping,
 * then deletes the mapping with `close()`, reads it back again, and exits 0.
 *
 *   node --import tsx test/interop/drivers/upnp-peer.ts --protocol udp|tcp --port P
 *        [--gateway IP] [--location URL] [--no-multicast] [--local IP]
 *
 * stdout, one JSON line each: {"type":"gateway",...}, {"type":"mapped",...}, {"type":"entry",entry},
 * {"type":"received",data,from}, {"type":"closed"}, {"type":"entry-after-close",entry};
 * {"type":"error",message,code,errorCode} and exit 1 on failure.
 */
import dgram from "node:dgram";
import net from "node:net";
import { discoverIgd, getPortMappingEntryUpnp, mapPortUpnp } from "../../../src/node/upnp";

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

function listen(protocol: "udp" | "tcp", port: number): { received: Promise<{ data: string; from: string }>; close(): void } {
  if (protocol === "udp") {
    const sock = dgram.createSocket("udp4");
    sock.bind(port, "0.0.0.0");
    const received = new Promise<{ data: string; from: string }>((resolve) =>
      sock.once("message", (msg, rinfo) => {
        sock.send(msg, rinfo.port, rinfo.address);
        resolve({ data: msg.toString(), from: `${rinfo.address}:${rinfo.port}` });
      }),
    );
    return { received, close: () => sock.close() };
  }
  let resolveIt: (v: { data: string; from: string }) => void = () => undefined;
  const received = new Promise<{ data: string; from: string }>((r) => (resolveIt = r));
  const server = net.createServer((conn) => {
    conn.once("data", (d) => {
      conn.end(d);
      resolveIt({ data: d.toString(), from: `${conn.remoteAddress}:${conn.remotePort}` });
    });
  });
  server.listen(port, "0.0.0.0");
  return { received, close: () => server.close() };
}

async function main(): Promise<void> {
  const protocol = (arg("protocol") ?? "udp") as "udp" | "tcp";
  const port = Number(arg("port"));
  const listener = listen(protocol, port);
  const gatewayIp = arg("gateway");
  const location = arg("location");
  const local = arg("local");
  const gateway = await discoverIgd({
    ...(gatewayIp ? { gateway: gatewayIp } : {}),
    ...(location ? { location } : {}),
    ...(local ? { localAddress: local } : {}),
    multicast: !process.argv.includes("--no-multicast"),
    timeoutMs: 5000,
  });
  say({ type: "gateway", address: gateway.address, location: gateway.location, controlUrl: gateway.controlUrl, serviceType: gateway.serviceType, version: gateway.version, localAddress: gateway.localAddress, friendlyName: gateway.description.friendlyName });
  const m = await mapPortUpnp({ gateway, protocol, internalPort: port, lifetime: 600, description: `icekit-${protocol}-${port}` });
  say({ type: "mapped", method: m.method, protocol: m.protocol, external: m.external, internal: m.internal, lifetime: m.lifetime, permanent: m.permanent });
  say({ type: "entry", entry: (await getPortMappingEntryUpnp(gateway, { protocol, externalPort: m.external.port })) ?? null });
  const r = await listener.received;
  say({ type: "received", ...r });
  await m.close();
  say({ type: "closed" });
  say({ type: "entry-after-close", entry: (await getPortMappingEntryUpnp(gateway, { protocol, externalPort: m.external.port })) ?? null });
  listener.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    const x = e as { message?: string; code?: string; errorCode?: number };
    say({ type: "error", message: x.message ?? String(e), code: x.code, errorCode: x.errorCode });
    process.exit(1);
  },
);
