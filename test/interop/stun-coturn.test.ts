import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
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
