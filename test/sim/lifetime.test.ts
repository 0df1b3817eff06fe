import { describe, expect, it } from "vitest";
import type { NatBehavior } from "../../src/sim/index";
import { Network, fullCone, portRestrictedCone, symmetric } from "../../src/sim/index";
import { XorMappedAddress, decodeStunMessage } from "../../src/index";
import { PORT, PRIMARY, at, str, stunServer } from "./helpers";
import { bindingRequest } from "./mini-stun";

/** Alice opens a mapping towards a public peer; the peer then writes to it at chosen times. */
function setUp(behavior: NatBehavior) {
  const net = new Network({ seed: 31 });
  const nat = net.nat(behavior);
  const alice = nat.host().bind(5000);
  const peer = net.host("192.0.2.20").bind(9000);
  alice.send({ remote: peer.local, data: new Uint8Array([1]) });
  net.run();
  const mapped = peer.received[0]!.remote;
  const poke = (time: number) => {
    net.at(time, () => peer.send({ remote: mapped, data: new Uint8Array([2]) }));
    net.run({ until: time });
    return alice.received.length;
  };
  return { net, nat, alice, peer, mapped, poke };
}

describe("RFC 4787 §4.3 mapping lifetime and refresh", () => {
  it("a mapping expires after the configured idle time, not before", () => {
    const { net, poke } = setUp(portRestrictedCone({ mappingLifetime: 30_000 }));
    expect(poke(29_999)).toBe(1);
    expect(poke(30_000)).toBe(1); // idle for exactly the lifetime: gone
    expect(net.trace.at(-1)).toMatchObject({ kind: "drop", at: "nat1", reason: "no-mapping" });
  });

  it("outbound refresh only: inbound traffic does not keep it alive (REQ-6)", () => {
    const { poke } = setUp(portRestrictedCone({ mappingLifetime: 30_000, refresh: "outbound" }));
    expect(poke(20_000)).toBe(1);
    expect(poke(40_000)).toBe(1); // 40 s after alice's last outbound packet
  });

  it("refresh in both directions: inbound traffic keeps it alive (REQ-6a)", () => {
    const { poke } = setUp(portRestrictedCone({ mappingLifetime: 30_000, refresh: "both" }));
    expect(poke(20_000)).toBe(1);
    expect(poke(40_000)).toBe(2);
    expect(poke(69_000)).toBe(3);
    expect(poke(99_000)).toBe(3); // 30 s of silence
  });

  it("outbound traffic restarts the timer", () => {
    const { net, alice, peer, poke } = setUp(fullCone({ mappingLifetime: 30_000 }));
    net.at(25_000, () => alice.send({ remote: peer.local, data: new Uint8Array([3]) }));
    expect(poke(50_000)).toBe(1);
  });

  it("after expiry the next packet makes a fresh mapping", () => {
    const { net, nat, alice, peer, mapped } = setUp(symmetric({ mappingLifetime: 30_000 }));
    net.run({ until: 60_000 });
    expect(nat.mappings()).toEqual([]);
    alice.send({ remote: peer.local, data: new Uint8Array([4]) });
    net.run();
    const [m] = nat.mappings();
    expect(m?.created).toBe(60_000);
    expect(m?.expires).toBe(90_000);
    expect(peer.received[1]!.remote.port).not.toBe(mapped.port);
  });

  it("the filter entry for a remote expires with its own idle timer", () => {
    // Alice keeps the mapping alive by talking to the STUN server, but stops talking to the peer.
    const { net, alice, peer, mapped } = setUp(portRestrictedCone({ mappingLifetime: 30_000 }));
    stunServer(net);
    net.every(10_000, () => alice.send({ remote: at(PRIMARY, PORT), data: new Uint8Array(4) }));
    net.at(45_000, () => peer.send({ remote: mapped, data: new Uint8Array([5]) }));
    net.run({ until: 50_000 });
    expect(alice.received.filter((r) => r.remote.address === peer.local.address)).toHaveLength(0);
    expect(net.trace.some((e) => e.kind === "drop" && e.reason === "filtered")).toBe(true);
  });

  it("an hour of virtual time with keepalives keeps one mapping throughout", () => {
    const net = new Network({ seed: 2, trace: false, link: { delay: 10, jitter: 2 } });
    stunServer(net);
    const nat = net.nat(portRestrictedCone({ mappingLifetime: 60_000 }));
    const s = nat.host().bind(5000);
    const seen = new Set<string>();
    let responses = 0;
    s.onReceive = (r) => {
      const m = decodeStunMessage(r.data).get(XorMappedAddress);
      if (m) seen.add(str(m)!);
      responses++;
    };
    net.every(25_000, () => s.send({ remote: at(PRIMARY, PORT), data: bindingRequest(s.host.random).data }));
    net.run({ until: 3_600_000 });
    expect(net.now).toBe(3_600_000);
    // the 144th keepalive leaves at exactly 3 600 000; its answer is still in flight
    expect(net.stats().sent).toBe(144 + 143);
    expect(responses).toBe(143);
    net.run({ duration: 1_000 });
    expect(responses).toBe(144);
    expect(seen.size).toBe(1);
    expect(nat.mappings()).toHaveLength(1);
    expect(net.trace).toHaveLength(0);
    expect(net.stats().delivered).toBe(288);
  });
});
