import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCandidate, type IceCandidate } from "../../src/ice/candidate";
import { runCli } from "./helpers/icekit-cli";
import { describeRun, icekitIce, inNamespace, runIcePair, type IceRun } from "./helpers/ice-peers";
import { buildTwoNatTopology, canBuildNamespaces, type NatMode, type TwoNatTopology } from "./helpers/netns-two";
import { start, waitFor, type Started } from "./helpers/process";

/**
 * Two `icekit ice` processes, each behind its own kernel NAT (nftables masquerade in its own
 * router namespace), with coturn on the public segment between the NATs as STUN and TURN server.
 * Port-restricted cone on both sides must connect directly (hole punching through both NATs);
 * symmetric NATs on both sides must fall back to the relay.
 */
const namespaces = canBuildNamespaces();
const PORT = 3478;

interface Server {
  readonly proc: Started;
  stop(): Promise<void>;
}

/** coturn in the public namespace: STUN and TURN on `ip`:3478, relaying from `ip`. */
async function startCoturnIn(ns: string, ip: string): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "icekit-coturn-"));
  const conf = join(dir, "empty.conf");
  writeFileSync(conf, "");
  const args = [
    "-c", conf, "-n", "--log-file=stdout", "--simple-log", "--no-cli", "--no-tls", "--no-dtls",
    `--listening-ip=${ip}`, `--listening-port=${PORT}`, `--relay-ip=${ip}`, "--min-port=49152", "--max-port=49300",
    "--lt-cred-mech", "--user=user:pass", "--realm=example.org", "--fingerprint", `--userdb=${join(dir, "turndb")}`,
  ];
  const proc = start("ip", ["netns", "exec", ns, "turnserver", ...args]);
  const stop = async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Ready when it answers a Binding request (from inside the public namespace).
    await waitFor(async () => (await runCli(["stun", `${ip}:${PORT}`], ns, 3000)).code === 0, 10_000, "coturn");
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${proc.output()}`);
  }
  return { proc, stop };
}

/** The last pair each side printed as selected. */
function selected(r: IceRun): { controlling: [IceCandidate, IceCandidate]; controlled: [IceCandidate, IceCandidate] } {
  const last = (side: IceRun["controlling"]): [IceCandidate, IceCandidate] => {
    const s = side.messages.filter((m) => m.type === "selected").at(-1);
    if (s === undefined) throw new Error(`${side.name} selected no pair\n${describeRun(r)}`);
    return [parseCandidate(s.local as string), parseCandidate(s.remote as string)];
  };
  return { controlling: last(r.controlling), controlled: last(r.controlled) };
}

describe.runIf(namespaces)("two icekit ice processes, each behind its own kernel NAT, coturn between", () => {
  const cases: { mode: NatMode; expectRelay: boolean }[] = [
    { mode: "masquerade", expectRelay: false },
    { mode: "fully-random", expectRelay: true },
  ];
  for (const { mode, expectRelay } of cases) {
    describe(`both routers nftables ${mode}`, () => {
      let topo: TwoNatTopology | undefined;
      let coturn: Server | undefined;
      beforeAll(async () => {
        topo = buildTwoNatTopology([mode, mode]);
        coturn = await startCoturnIn(topo.pub, topo.serverIps[0]);
      }, 20_000);
      afterAll(async () => {
        await coturn?.stop();
        topo?.destroy();
      });

      it(expectRelay ? "connects through the TURN relay (symmetric NATs defeat hole punching)" : "connects directly through both NATs (no relay)", async () => {
        const t = topo!;
        const server = `${t.serverIps[0]}:${PORT}`;
        const common = ["--stun", server, "--turn", server, "--turn-user", "user", "--turn-pass", "pass", "--timeout", "20000"];
        const r = await runIcePair(inNamespace(t.clients[0], icekitIce(["--controlling", ...common, "--ping", "20"])), inNamespace(t.clients[1], icekitIce(["--controlled", ...common])));
        expect(r.controllingCode, describeRun(r)).toBe(0);
        expect(r.controlledCode, describeRun(r)).toBe(0);
        expect(r.done, describeRun(r)).toMatchObject({ sent: 20, echoed: 20 });

        // Both sides gathered what the topology offers: a host on the LAN, srflx on the router.
        for (const [i, side] of [r.controlling, r.controlled].entries()) {
          const cands = side.messages.filter((m) => m.type === "candidate").map((m) => parseCandidate(m.candidate as string));
          expect(cands.find((c) => c.type === "host")?.address, describeRun(r)).toBe(t.clientIps[i]);
          expect(cands.find((c) => c.type === "srflx")?.address, describeRun(r)).toBe(t.routerWanIps[i]);
          expect(cands.find((c) => c.type === "relay")?.address, describeRun(r)).toBe(t.serverIps[0]);
        }

        const s = selected(r);
        const types = [...s.controlling, ...s.controlled].map((c) => c.type);
        if (expectRelay) {
          expect(types.includes("relay"), describeRun(r)).toBe(true);
        } else {
          expect(types.includes("relay"), describeRun(r)).toBe(false);
          // Direct through both NATs: each side's remote is the other's router (srflx, or prflx when
          // the check arrived before the candidate); the local side is its base (host) or srflx.
          expect(["srflx", "prflx"], describeRun(r)).toContain(s.controlling[1].type);
          expect(["srflx", "prflx"], describeRun(r)).toContain(s.controlled[1].type);
          expect(s.controlling[1].address, describeRun(r)).toBe(t.routerWanIps[1]);
          expect(s.controlled[1].address, describeRun(r)).toBe(t.routerWanIps[0]);
        }
      });
    });
  }
});
