import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCliStunServer, runCli, type CliServer } from "./helpers/icekit-cli";
import { freePort } from "./helpers/ports";
import { run } from "./helpers/process";
import { startCoturn, type Coturn } from "./helpers/coturn";

// Real clients of `icekit stun-server`: coturn's turnutils_stunclient and turnutils_natdiscovery,
// and Vovida's RFC 3489 `stun` client (Debian stun-client); and `icekit nat` against coturn.
describe("icekit stun-server with real clients", () => {
  let server: CliServer;
  let port: number;
  beforeAll(async () => {
    port = await freePort("127.0.0.1", true);
    server = await startCliStunServer(["--listen", `127.0.0.1:${port}`, "--alt", `127.0.0.2:${port + 1}`]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("binds the four RFC 5780 sockets", () => {
    expect(server.udp.map((a) => `${a.address}:${a.port}`)).toEqual([
      `127.0.0.1:${port}`,
      `127.0.0.1:${port + 1}`,
      `127.0.0.2:${port}`,
      `127.0.0.2:${port + 1}`,
    ]);
  });

  it("answers coturn's turnutils_stunclient, from the addresses CHANGE-REQUEST asks for", async () => {
    const r = await run("turnutils_stunclient", ["-p", String(port), "127.0.0.1"], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toContain(`Response origin: : 127.0.0.1:${port}`);
    expect(out).toContain(`Other addr: : 127.0.0.2:${port + 1}`);
    expect(out).toContain(`Response origin: : 127.0.0.2:${port + 1}`);
    expect(out).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/);
  });

  it("lets turnutils_natdiscovery see no NAT and endpoint-independent behaviour", async () => {
    const r = await run("turnutils_natdiscovery", ["-m", "-f", "-p", String(port), "127.0.0.1"], { timeoutMs: 30_000 });
    const out = r.stdout + r.stderr;
    expect(out).toContain("NAT with Endpoint Independent Filtering!");
    expect(out).toMatch(/(No NAT|NAT with Endpoint Independent Mapping)/);
  });

  it("answers Vovida's RFC 3489 stun client, which calls the path Open", async () => {
    const r = await run("/usr/bin/stun", [`127.0.0.1:${port}`, "-v"], { timeoutMs: 30_000 });
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/Primary: Open/);
  });

  it("`icekit nat` against it reports an open path", async () => {
    const r = await runCli(["nat", `127.0.0.1:${port}`, "--json", "--no-port-mapping"]); // keep the probe off the real gateway
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      natType: "open",
      mapping: "endpoint-independent",
      filtering: "endpoint-independent",
      rfc5780Supported: true,
      behindNat: false,
    });
  });
});

describe("icekit nat against coturn with two listening IPs (RFC 5780)", () => {
  let coturn: Coturn;
  beforeAll(async () => {
    coturn = await startCoturn({ ips: ["127.0.0.1", "127.0.0.2"] });
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  it("reports an open path with coturn's OTHER-ADDRESS", async () => {
    const r = await runCli(["nat", `127.0.0.1:${coturn.port}`, "--json", "--no-port-mapping"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ natType: "open", filtering: "endpoint-independent", rfc5780Supported: true });
    expect(report.otherAddress.address).toBe("127.0.0.2");
  });
});
