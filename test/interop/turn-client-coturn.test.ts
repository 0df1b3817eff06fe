import { execFileSync } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeDriver } from "../../src/node/driver";
import { bindUdp } from "../../src/node/udp";
import { connectTurn, type TurnConnection, type TurnDatagram } from "../../src/node/turn-client";
import { monotonicNow } from "../../src/node/clock";
import { TurnClient } from "../../src/turn/client";
import type { TurnClientEvent } from "../../src/turn/client-types";
import { turnRestCredentials } from "../../src/turn/rest-credentials";
import type { TransportAddress } from "../../src/bytes/ip";
import { isTransactionError } from "../../src/errors";
import { startCoturn, type Coturn } from "./helpers/coturn";
import { freePort } from "./helpers/ports";
import { waitFor } from "./helpers/process";

// Real peer: coturn 4.6 (`turnserver`) on loopback, with a UDP echo peer on 127.0.0.1.

/** A UDP echo peer: sends every datagram back to where it came from, and remembers the sources. */
async function startEcho(ip = "127.0.0.1"): Promise<{ address: TransportAddress; sources: TransportAddress[]; close(): void }> {
  const family = ip.includes(":") ? "IPv6" : "IPv4";
  const socket = dgram.createSocket(family === "IPv6" ? "udp6" : "udp4");
  const sources: TransportAddress[] = [];
  socket.on("message", (msg, rinfo) => {
    sources.push({ family, address: rinfo.address, port: rinfo.port });
    socket.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, ip, resolve));
  return { address: { family, address: ip, port: socket.address().port }, sources, close: () => socket.close() };
}

/** Sends `text` to `peer` through the relay and waits for the echo. */
async function echo(turn: TurnConnection, peer: TransportAddress, text: string): Promise<TurnDatagram> {
  const got = new Promise<TurnDatagram>((resolve) => {
    const off = turn.onData((data, from, channel) => {
      if (new TextDecoder().decode(data) !== text) return;
      off();
      resolve({ peer: from, data, channel });
    });
  });
  expect(turn.send(peer, new TextEncoder().encode(text))).toBe(true);
  return got;
}

describe("icekit TurnClient against coturn", () => {
  let coturn: Coturn;
  let peer: Awaited<ReturnType<typeof startEcho>>;
  beforeAll(async () => {
    coturn = await startCoturn();
    peer = await startEcho();
  });
  afterAll(async () => {
    peer?.close();
    await coturn?.stop();
  });

  for (const transport of ["udp", "tcp"] as const) {
    it(`allocates over ${transport}, relays via Send/Data indications, then via a channel, and deallocates`, async () => {
      const uri = `turn:127.0.0.1:${coturn.port}${transport === "tcp" ? "?transport=tcp" : ""}`;
      const turn = await connectTurn(uri, { username: "user", password: "pass", software: "icekit-interop" });
      try {
        expect(turn.transport).toBe(transport);
        expect(turn.relayed.address).toBe("127.0.0.1");
        expect(turn.relayed.port).toBeGreaterThanOrEqual(49152);
        expect(turn.relayed.port).toBeLessThanOrEqual(49300);
        expect(turn.mapped).toEqual(turn.local);
        expect(turn.lifetime).toBe(600);

        // Send indication → coturn → echo peer → Data indication.
        await turn.createPermission(peer.address.address);
        const viaIndication = await echo(turn, peer.address, `indication-${transport}`);
        expect(viaIndication.peer).toEqual(peer.address);
        expect(viaIndication.channel).toBeUndefined();
        // The peer saw the relayed address as the source.
        expect(peer.sources.at(-1)).toEqual(turn.relayed);

        // ChannelData both ways once the channel is bound.
        const channel = await turn.bindChannel(peer.address);
        expect(channel).toBe(0x4000);
        const viaChannel = await echo(turn, peer.address, `channel-${transport}-odd`); // odd length: TCP padding
        expect(viaChannel.channel).toBe(0x4000);
        expect(turn.client.stats()).toMatchObject({ channelDataSent: 1, channelDataReceived: 1, sendIndications: 1, dataIndications: 1 });
      } finally {
        await turn.close();
      }
      expect(await turn.ended).toEqual({ type: "closed", detail: "deleted" });
    });
  }

  it("reports a wrong password as a TransactionError with code auth and error 401", async () => {
    const err = await connectTurn(`turn:127.0.0.1:${coturn.port}`, { username: "user", password: "wrong" }).catch((e: unknown) => e);
    expect(isTransactionError(err)).toBe(true);
    expect(err).toMatchObject({ code: "auth", errorCode: 401 });
  });
});

describe("icekit TurnClient against coturn with an IPv6 relay address", () => {
  let coturn: Coturn;
  let peer6: Awaited<ReturnType<typeof startEcho>>;
  beforeAll(async () => {
    coturn = await startCoturn({ extra: ["--relay-ip=::1"] });
    peer6 = await startEcho("::1");
  });
  afterAll(async () => {
    peer6?.close();
    await coturn?.stop();
  });

  it("allocates an IPv6 relayed address over IPv4 (REQUESTED-ADDRESS-FAMILY) and relays to an IPv6 peer", async () => {
    const turn = await connectTurn(`turn:127.0.0.1:${coturn.port}`, { username: "user", password: "pass", family: "IPv6" });
    try {
      expect(turn.relayed).toMatchObject({ family: "IPv6", address: "::1" });
      expect(turn.mapped?.family).toBe("IPv4");
      expect(await turn.bindChannel(peer6.address)).toBe(0x4000);
      const got = await echo(turn, peer6.address, "over-v6");
      expect(got.peer).toEqual(peer6.address);
      expect(got.channel).toBe(0x4000);
      expect(peer6.sources.at(-1)).toEqual(turn.relayed);
    } finally {
      await turn.close();
    }
  });

  it("runs the sans-IO engine on a NodeDriver; coturn 4.6.1 answers a dual request with IPv4 only, and the client keeps to it", async () => {
    const client = new TurnClient({ server: { family: "IPv4", address: "127.0.0.1", port: coturn.port }, username: "user", password: "pass", family: "dual" });
    const events: TurnClientEvent[] = [];
    let wake: () => void = () => {};
    const driver = new NodeDriver<TurnClientEvent>(client, {
      onEvent: (e) => {
        events.push(e);
        wake();
      },
    });
    const until = (type: TurnClientEvent["type"]) =>
      new Promise<void>((resolve) => {
        wake = () => events.some((e) => e.type === type) && resolve();
        wake();
      });
    driver.addUdpSocket(await bindUdp("127.0.0.1"));
    client.allocate(monotonicNow());
    driver.pump();
    await until("allocated");
    const allocated = events.find((e) => e.type === "allocated");
    if (allocated?.type !== "allocated") throw new Error("not allocated");
    // coturn ignores ADDITIONAL-ADDRESS-FAMILY (and sends no ADDRESS-ERROR-CODE for IPv6).
    expect(allocated.relayed.map((r) => r.family)).toEqual(["IPv4"]);
    // RFC 8656 §10.1: no CreatePermission for a family the allocation lacks; refused locally.
    client.createPermission(monotonicNow(), peer6.address);
    driver.pump();
    expect(events.at(-1)).toMatchObject({ type: "permission-failed", reason: "family", code: 443 });
    client.close(monotonicNow());
    driver.pump();
    await until("closed");
    driver.close();
    expect(events.at(-1)).toEqual({ type: "closed", detail: "deleted" });
  });
});

describe("icekit TurnClient against coturn with a short lifetime and stale nonces", () => {
  let coturn: Coturn;
  beforeAll(async () => {
    coturn = await startCoturn({ extra: ["--max-allocate-lifetime=6", "--stale-nonce=1", "--verbose"] });
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  it("refreshes before expiry and follows 438 Stale Nonce on the Refresh", async () => {
    const turn = await connectTurn(`turn:127.0.0.1:${coturn.port}`, { username: "user", password: "pass", lifetime: 6 });
    try {
      expect(turn.lifetime).toBe(6);
      const refreshed = new Promise<TurnClientEvent>((resolve) => turn.onEvent((e) => e.type !== "data" && resolve(e)));
      // A 6 s lifetime is refreshed at half its length, 3 s, after the 1 s nonce went stale:
      // coturn answers 438 with a new nonce, and the retry succeeds. (coturn grants its default
      // 600 s on Refresh, whatever --max-allocate-lifetime says.)
      expect(await refreshed).toEqual({ type: "refreshed", lifetime: turn.lifetime });
      expect(turn.lifetime).toBeGreaterThan(0);
      expect(turn.client.state).toBe("allocated");
      // coturn logs after answering: wait for its lines, then read them in order.
      const afterStale = () => coturn.process.output().split(/error 438/)[1] ?? "";
      await waitFor(async () => /REFRESH processed, success/.test(afterStale()), 5000, "coturn's log of the Refresh");
      expect(afterStale()).toMatch(/REFRESH processed, success/);
    } finally {
      await turn.close();
    }
  });
});

describe("icekit TurnClient against coturn with TURN REST API credentials", () => {
  const secret = "s3cr3t-for-icekit";
  let coturn: Coturn;
  beforeAll(async () => {
    coturn = await startCoturn({ authSecret: secret });
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  it("allocates with turnRestCredentials and is refused with expired ones", async () => {
    const now = Math.floor(Date.now() / 1000);
    const fresh = turnRestCredentials(secret, "alice", 600, now);
    const turn = await connectTurn(`turn:127.0.0.1:${coturn.port}`, fresh);
    expect(turn.relayed.address).toBe("127.0.0.1");
    await turn.close();

    const expired = turnRestCredentials(secret, "alice", 60, now - 3600);
    await expect(connectTurn(`turn:127.0.0.1:${coturn.port}`, expired)).rejects.toMatchObject({ code: "auth", errorCode: 401 });
    const forged = { ...turnRestCredentials("another-secret", "alice", 600, now) };
    await expect(connectTurn(`turn:127.0.0.1:${coturn.port}`, forged)).rejects.toMatchObject({ errorCode: 401 });
  });
});

describe("icekit TurnClient over TLS (turns:) against coturn with a self-signed certificate", () => {
  let coturn: Coturn;
  let peer: Awaited<ReturnType<typeof startEcho>>;
  let dir: string;
  let ca: string;
  let tlsPort: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "icekit-turns-"));
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    ca = readFileSync(join(dir, "cert.pem"), "utf8");
    tlsPort = await freePort("127.0.0.1", true);
    coturn = await startCoturn({
      allowTls: true,
      extra: [`--tls-listening-port=${tlsPort}`, `--cert=${join(dir, "cert.pem")}`, `--pkey=${join(dir, "key.pem")}`],
    });
    peer = await startEcho();
  });
  afterAll(async () => {
    peer?.close();
    await coturn?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("allocates over TLS, checking the certificate against the URI's host name, and relays through a channel", async () => {
    const turn = await connectTurn(`turns:localhost:${tlsPort}`, { username: "user", password: "pass", tls: { ca } });
    try {
      expect(turn.transport).toBe("tls");
      expect(turn.server).toEqual({ family: "IPv4", address: "127.0.0.1", port: tlsPort });
      expect(turn.mapped).toEqual(turn.local);
      await turn.bindChannel(peer.address);
      expect((await echo(turn, peer.address, "over-tls")).channel).toBe(0x4000);
    } finally {
      await turn.close();
    }
    expect(await turn.ended).toEqual({ type: "closed", detail: "deleted" });
  });

  it("fails the allocation when the certificate cannot be verified", async () => {
    await expect(connectTurn(`turns:localhost:${tlsPort}`, { username: "user", password: "pass" })).rejects.toMatchObject({ name: "TransactionError", code: "transport" });
  });
});

/** Reads from `socket` until `text` has arrived in full. */
function readText(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) {
        socket.off("data", onData);
        resolve(got);
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
}

describe("icekit TCP allocations (RFC 6062) against coturn", () => {
  let coturn: Coturn;
  let echoServer: net.Server;
  let echoAddress: TransportAddress;
  const echoSources: TransportAddress[] = [];
  beforeAll(async () => {
    coturn = await startCoturn();
    echoServer = net.createServer((s) => {
      echoSources.push({ family: "IPv4", address: s.remoteAddress!, port: s.remotePort! });
      s.on("error", () => {}); // coturn resets the peer connection when the allocation goes
      s.pipe(s);
    });
    await new Promise<void>((resolve) => echoServer.listen(0, "127.0.0.1", resolve));
    echoAddress = { family: "IPv4", address: "127.0.0.1", port: (echoServer.address() as net.AddressInfo).port };
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => echoServer?.close(() => resolve()));
    await coturn?.stop();
  });

  it("connects to a TCP peer through the relay (Connect + ConnectionBind) and exchanges bytes", async () => {
    const turn = await connectTurn(`turn:127.0.0.1:${coturn.port}?transport=tcp`, { username: "user", password: "pass", requestedTransport: "tcp" });
    try {
      expect(turn.relayed.address).toBe("127.0.0.1");
      const socket = await turn.connectTcp(echoAddress);
      socket.on("error", () => {});
      const echoed = readText(socket, "hello over a TCP relay");
      socket.write("hello over a TCP relay");
      expect(await echoed).toBe("hello over a TCP relay");
      // The peer saw the connection come from the relayed transport address.
      expect(echoSources.at(-1)).toEqual(turn.relayed);
      socket.destroy();
      expect(() => turn.send(echoAddress, new Uint8Array(1))).toThrow(/TCP allocation/);
    } finally {
      await turn.close();
    }
  });

  it("accepts a peer's connection to the relayed address (ConnectionAttempt + ConnectionBind), keeping what it sent first", async () => {
    const turn = await connectTurn(`turn:127.0.0.1:${coturn.port}?transport=tcp`, { username: "user", password: "pass", requestedTransport: "tcp" });
    try {
      await turn.createPermission("127.0.0.1");
      const accepted = new Promise<{ peer: TransportAddress; socket: net.Socket }>((resolve, reject) => {
        turn.onConnection((peer, accept) => accept().then((socket) => resolve({ peer, socket }), reject));
      });
      const peer = net.connect({ host: turn.relayed.address, port: turn.relayed.port });
      peer.on("error", () => {});
      await new Promise<void>((resolve) => peer.once("connect", resolve));
      peer.write("the peer speaks first"); // buffered by coturn until the bind, then sent after the response
      const { peer: from, socket } = await accepted;
      socket.on("error", () => {});
      expect(from).toEqual({ family: "IPv4", address: "127.0.0.1", port: peer.localPort });
      expect(await readText(socket, "the peer speaks first")).toBe("the peer speaks first");
      const back = readText(peer, "and the client answers");
      socket.write("and the client answers");
      expect(await back).toBe("and the client answers");
      peer.destroy();
      socket.destroy();
    } finally {
      await turn.close();
    }
  });
});
