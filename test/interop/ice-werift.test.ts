import { describe } from "vitest";
import { iceInteropCases } from "./helpers/ice-peer-suite";
import { weriftPeer } from "./helpers/ice-peers";

// werift-ice (npm devDependency) through test/interop/drivers/werift-peer.ts, which speaks the
// `icekit ice` line-JSON signaling; the test wires the two processes like two icekit ones.
// The driver gives werift no STUN server (its default is a public one) and only --host addresses.
describe("icekit ice ↔ werift-ice", () => {
  iceInteropCases("werift-ice", weriftPeer);
});
