import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, CLI } from "./helpers/icekit-cli";
import { startCoturn, type Coturn } from "./helpers/coturn";
import { freePort } from "./helpers/ports";
import { run, start, waitFor, type Started } from "./helpers/process";

// The TURN commands as a user runs them: `icekit turn` against coturn, and `icekit turn-server`
// driven by `icekit turn` and by coturn's turnutils_uclient, with turnutils_peer as the echo peer.
describe("icekit turn and icekit turn-server", () => {
  let coturn: Coturn;
  let peer: Started;
  let peerPort: number;
  let server: Started;
  let serverPort: number;

  beforeAll(async () => {
    coturn = await startCoturn();
    peerPort = await freePort("127.0.0.1", true);
    peer = start("turnutils_peer", ["-L", "127.0.0.1", "-p", String(peerPort)]);
    serverPort = await freePort("127.0.0.1");
    server = start(process.execPath, [
      CLI, "turn-server", "--json", "--listen", `127.0.0.1:${serverPort}`, "--realm", "example.org",
      "--user", "alice:wonderland", "--allow-peer", "127.0.0.0/8", "--ports", "51000-51200", "--legacy-channels",
    ]);
    await waitFor(async () => server.output().includes('"type":"listening"'), 10_000, "icekit turn-server");
  });
  afterAll(async () => {
    await server?.stop();
    await peer?.stop();
    await coturn?.stop();
  });

  it("`icekit turn --peer` allocates on coturn and echoes through the relay", async () => {
    const r = await runCli(["turn", `127.0.0.1:${coturn.port}`, "--user", "user", "--pass", "pass", "--peer", `127.0.0.1:${peerPort}`, "--json"]);
    expect(r.code).toBe(0);
    const [alloc, echo] = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(alloc.relayed.address).toBe("127.0.0.1");
    expect(alloc.lifetime).toBeGreaterThan(0);
    expect(alloc.mapped.address).toBe("127.0.0.1");
    expect(echo.echo).toBe(true);
    expect(typeof echo.rttMs).toBe("number");
  });

  it("`icekit turn` over TCP to coturn", async () => {
    const r = await runCli(["turn", `127.0.0.1:${coturn.port}`, "--transport", "tcp", "--user", "user", "--pass", "pass", "--peer", `127.0.0.1:${peerPort}`, "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n")[1]!).echo).toBe(true);
  });

  it("`icekit turn` with a wrong password exits 1 with one line", async () => {
    const r = await runCli(["turn", `127.0.0.1:${coturn.port}`, "--user", "user", "--pass", "nope"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("`icekit turn` against `icekit turn-server` echoes through our relay", async () => {
    const r = await runCli(["turn", `127.0.0.1:${serverPort}`, "--user", "alice", "--pass", "wonderland", "--peer", `127.0.0.1:${peerPort}`, "--json"]);
    expect(r.code).toBe(0);
    const [alloc, echo] = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(alloc.relayed.port).toBeGreaterThanOrEqual(51000);
    expect(alloc.relayed.port).toBeLessThanOrEqual(51200);
    expect(echo.echo).toBe(true);
  });

  it("coturn's turnutils_uclient drives `icekit turn-server` with channels and loses nothing", async () => {
    const r = await run("turnutils_uclient", ["-u", "alice", "-w", "wonderland", "-e", "127.0.0.1", "-r", String(peerPort), "-n", "50", "-m", "2", "-p", String(serverPort), "127.0.0.1"], { timeoutMs: 60_000 });
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/Total lost packets 0 \(/);
  });

  it("refuses a relay to a peer outside --allow-peer with 403", async () => {
    const r = await runCli(["turn", `127.0.0.1:${serverPort}`, "--user", "alice", "--pass", "wonderland", "--peer", "10.1.2.3:9", "--json", "--timeout", "2000"]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/403/);
  });
});
