import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCandidate } from "../../src/ice/candidate";
import { startCliStunServer, type CliServer } from "./helpers/icekit-cli";
import { aioicePeer, buildPionPeer, describeRun, icekitIce, inNamespace, pionPeer, runIcePair, weriftPeer, type PeerCommand } from "./helpers/ice-peers";
import { buildNatTopology, canBuildNamespaces, type NatMode, type NatTopology } from "./helpers/netns";

/**
 * `icekit ice` behind a real kernel NAT (nftables masquerade in a router namespace), against
 * aioice, werift-ice and pion/ice on the public side, with `icekit stun-server` as the STUN server. The
 * client namespace has one interface, so icekit gathers on it without --host: this also checks
 * the default interface enumeration.
 */
const namespaces = canBuildNamespaces();
const pion = namespaces ? buildPionPeer() : undefined;
const PEERS: Record<string, (args: string[]) => PeerCommand> = {
  aioice: aioicePeer,
  "werift-ice": weriftPeer,
  ...(pion !== undefined ? { "pion/ice": (args: string[]) => pionPeer(pion, args) } : {}),
};

describe.runIf(namespaces)("icekit ice behind a kernel NAT ↔ public peers", () => {
  afterAll(() => {
    if (pion !== undefined) rmSync(dirname(pion), { recursive: true, force: true });
  });
  for (const mode of ["masquerade", "fully-random"] as NatMode[]) {
    describe(`nftables ${mode}`, () => {
      let topo: NatTopology;
      let stun: CliServer;
      beforeAll(async () => {
        topo = buildNatTopology(mode);
        stun = await startCliStunServer(["--listen", "198.51.100.11:3478"], topo.pub);
      });
      afterAll(async () => {
        await stun?.stop();
        topo?.destroy();
      });

      for (const [peerName, peer] of Object.entries(PEERS)) {
        for (const icekitControls of [true, false]) {
          it(`${peerName} ${icekitControls ? "controlled" : "controlling"}: icekit gathers a server-reflexive candidate on the router's address and connects`, async () => {
            const icekit = inNamespace(topo.client, icekitIce([icekitControls ? "--controlling" : "--controlled", "--stun", "198.51.100.11:3478", ...(icekitControls ? ["--ping", "20"] : [])]));
            const other = inNamespace(topo.pub, peer([icekitControls ? "--controlled" : "--controlling", "--host", "198.51.100.10", ...(icekitControls ? [] : ["--ping", "20"])]));
            const r = icekitControls ? await runIcePair(icekit, other) : await runIcePair(other, icekit);
            expect(r.controllingCode, describeRun(r)).toBe(0);
            expect(r.controlledCode, describeRun(r)).toBe(0);
            expect(r.done).toMatchObject({ sent: 20, echoed: 20 });
            const side = icekitControls ? r.controlling : r.controlled;
            const candidates = side.messages.filter((m) => m.type === "candidate").map((m) => parseCandidate(m.candidate as string));
            const host = candidates.find((c) => c.type === "host");
            const srflx = candidates.find((c) => c.type === "srflx");
            expect(host?.address, describeRun(r)).toBe(topo.clientIp);
            expect(srflx?.address, describeRun(r)).toBe(topo.routerWanIp);
            expect(srflx?.relatedAddress).toBe(topo.clientIp);
            expect(srflx?.relatedPort).toBe(host?.port);
            // Plain masquerade keeps the port (INTEROP.md).
            if (mode === "masquerade") expect(srflx?.port).toBe(host?.port);
          });
        }
      }
    });
  }
});
