import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./helpers/ports";
import { stunBinding } from "../../src/node/index";
import { startCoturn, type Coturn } from "./helpers/coturn";
import { run } from "./helpers/process";

// Real peer: coturn 4.6 from Debian (`turnserver`), started on loopback by the test.
describe("icekit stun against coturn", () => {
  let coturn: Coturn;
  beforeAll(async () => {
    coturn = await startCoturn();
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  it("gets the mapped address over UDP from the library API", async () => {
    const r = await stunBinding(`stun:127.0.0.1:${coturn.port}`);
    expect(r.mapped).toEqual(r.local);
    expect(r.server).toEqual({ family: "IPv4", address: "127.0.0.1", port: coturn.port });
    expect(r.rttMs).toBeGreaterThanOrEqual(0);
  });

  it("gets the mapped address over TCP", async () => {
    const r = await stunBinding(`turn:127.0.0.1:${coturn.port}?transport=tcp`);
    expect(r.transport).toBe("tcp");
    expect(r.mapped).toEqual(r.local);
  });

  it("`icekit stun --json` prints server, local, mapped and rttMs as a user would run it", async () => {
    expect(existsSync("dist/cli/main.js")).toBe(true);
    const r = await run(process.execPath, ["dist/cli/main.js", "stun", `127.0.0.1:${coturn.port}`, "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.server).toEqual({ family: "IPv4", address: "127.0.0.1", port: coturn.port });
    expect(out.mapped).toEqual(out.local);
    expect(typeof out.rttMs).toBe("number");
  });

  it("`icekit stun` to a port nobody listens on exits 1 with one line after the retransmissions", async () => {
    const r = await run(process.execPath, ["dist/cli/main.js", "stun", "127.0.0.1:9", "--transport", "tcp"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
  });
});

describe("icekit stun over TLS (stuns:) against coturn with a self-signed certificate", () => {
  let coturn: Coturn;
  let dir: string;
  let ca: string;
  let tlsPort: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "icekit-tls-"));
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
  });
  afterAll(async () => {
    await coturn?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("verifies the certificate against the URI's host name and gets the mapped address", async () => {
    const r = await stunBinding(`stuns:localhost:${tlsPort}`, { tls: { ca } });
    expect(r.transport).toBe("tls");
    expect(r.mapped).toEqual(r.local);
  });

  it("refuses a certificate it cannot verify", async () => {
    await expect(stunBinding(`stuns:localhost:${tlsPort}`)).rejects.toMatchObject({ name: "TransactionError", code: "transport" });
  });

  it("resolves a host name for stun: (A/AAAA through the system resolver)", async () => {
    const r = await stunBinding(`stun:localhost:${coturn.port}`);
    expect(r.server.port).toBe(coturn.port);
  });
});
