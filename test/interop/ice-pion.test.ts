import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { afterAll, describe } from "vitest";
import { iceInteropCases } from "./helpers/ice-peer-suite";
import { buildPionPeer, pionPeer } from "./helpers/ice-peers";

// pion/ice v2 (Debian golang-github-pion-ice.v2-dev, built offline in GOPATH mode) through
// test/interop/drivers/pion-peer, which speaks the `icekit ice` line-JSON signaling.
const binary = buildPionPeer();

describe.skipIf(binary === undefined && process.env.CI !== "true")("icekit ice ↔ pion/ice", () => {
  afterAll(() => {
    if (binary !== undefined) rmSync(dirname(binary), { recursive: true, force: true });
  });
  iceInteropCases("pion", (args) => {
    if (binary === undefined) throw new Error("no pion driver: .ci/run installs golang-go and golang-github-pion-ice.v2-dev");
    return pionPeer(binary, args);
  });
});
