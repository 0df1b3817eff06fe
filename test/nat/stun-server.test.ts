import { describe, expect, it } from "vitest";
import type { Received, TransportAddress } from "../../src/index";
import type { NatReport } from "../../src/nat/index";
import { NatDiscovery } from "../../src/nat/index";
import { StunServer } from "../../src/stun/server";
import { counterRandom, v4 } from "./harness";

const PRIMARY = v4("192.0.2.1", 3478);
const ALTERNATE = v4("192.0.2.2", 3479);
const CLIENT = v4("198.51.100.7", 40000);

/**
 * Runs discovery against icekit's own StunServer with nothing in between: every datagram arrives
 * 5 ms after it is sent, from the socket the sender named.
 */
function discover(server: StunServer): NatReport {
  const nat = new NatDiscovery({ server: PRIMARY, local: CLIENT, random: counterRandom() });
  const inflight: { at: number; to: "client" | "server"; rx: Received }[] = [];
  let now = 0;
  nat.start(now);
  for (let step = 0; step < 1000; step++) {
    for (let t; (t = nat.pollTransmit()); ) {
      inflight.push({ at: now + 5, to: "server", rx: { local: t.remote, remote: t.local ?? CLIENT, transport: t.transport, data: t.data } });
    }
    for (let e; (e = nat.pollEvent()); ) if (e.type === "done") return e.report;
    inflight.sort((a, b) => a.at - b.at);
    const timeout = nat.pollTimeout();
    const next = inflight[0];
    if (next !== undefined && (timeout === undefined || next.at <= timeout)) {
      inflight.shift();
      now = next.at;
      if (next.to === "client") {
        nat.handleReceive(now, next.rx);
        continue;
      }
      server.handleReceive(now, next.rx);
      for (let t; (t = server.pollTransmit()); ) {
        const from: TransportAddress = t.local ?? next.rx.local;
        inflight.push({ at: now + 5, to: "client", rx: { local: t.remote, remote: from, transport: t.transport, data: t.data } });
      }
      while (server.pollEvent()) {
        // The server's per-request events are not under test here.
      }
    } else if (timeout !== undefined) {
      now = timeout;
      nat.handleTimeout(now);
    } else {
      break;
    }
  }
  throw new Error("discovery did not finish");
}

describe("NatDiscovery against icekit's StunServer (no NAT)", () => {
  it("reports open with endpoint-independent mapping and filtering", () => {
    const report = discover(new StunServer({ primary: PRIMARY, alternate: ALTERNATE }));
    expect(report).toMatchObject({
      mapping: "endpoint-independent",
      filtering: "endpoint-independent",
      natType: "open",
      local: CLIENT,
      mapped: CLIENT,
      behindNat: false,
      portPreserved: true,
      otherAddress: ALTERNATE,
      rfc5780Supported: true,
    });
    expect(report.tests.map((t) => [t.name, t.result, t.from])).toEqual([
      ["udp-connectivity", "response", PRIMARY],
      ["filtering-II", "response", ALTERNATE],
      ["filtering-III", "response", v4(PRIMARY.address, ALTERNATE.port)],
    ]);
  });

  it("without an alternate address: rfc5780Supported false, filtering unknown", () => {
    const report = discover(new StunServer({ primary: PRIMARY }));
    expect(report).toMatchObject({ mapping: "endpoint-independent", filtering: undefined, natType: "port-restricted-cone", mapped: CLIENT, rfc5780Supported: false, otherAddress: undefined });
    expect(report.tests.map((t) => t.name)).toEqual(["udp-connectivity"]);
  });
});
