/**
 * A LAN host for the port-mapping interop test: listens on UDP `--port`, maps it at the gateway
 * with `mapPort()` (the library, not the CLI), echoes the first datagram that arrives through the
 * mapping, then deletes the mapping with `close()` and exits 0.
 *
 *   node --import tsx test/interop/drivers/map-peer.ts --gateway IP --port P --method pcp|natpmp|upnp|auto
 *
 * stdout, one JSON line each: {"type":"mapped",method,external,internal,lifetime},
 * {"type":"received",data,from}, {"type":"closed"}; {"type":"error",message} and exit 1 on failure.
 */
import dgram from "node:dgram";
import { mapPort } from "../../../src/node/port-mapping";

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function main(): Promise<void> {
  const port = Number(arg("port"));
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(port, "0.0.0.0", r));
  const received = new Promise<{ data: string; from: string }>((resolve) =>
    sock.once("message", (msg, rinfo) => {
      sock.send(msg, rinfo.port, rinfo.address);
      resolve({ data: msg.toString(), from: `${rinfo.address}:${rinfo.port}` });
    }),
  );
  const method = (arg("method") ?? "auto") as "pcp" | "natpmp" | "upnp" | "auto";
  const m = await mapPort({ gateway: arg("gateway")!, protocol: "udp", internalPort: port, lifetime: 120, method });
  say({ type: "mapped", method: m.method, external: m.external, internal: m.internal, lifetime: m.lifetime });
  const r = await received;
  say({ type: "received", ...r });
  await m.close();
  say({ type: "closed" });
  sock.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    say({ type: "error", message: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  },
);
