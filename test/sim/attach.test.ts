import { describe, expect, it } from "vitest";
import type { StunClientEvent } from "../../src/index";
import { StunClient, XorMappedAddress } from "../../src/index";
import { Network, portRestrictedCone } from "../../src/sim/index";
import { ALTERNATE, ALT_PORT, PORT, PRIMARY, at, binding, stunServer } from "./helpers";

function setUp(link = {}) {
  const net = new Network({ seed: 81, link: { delay: 10 } });
  const server = stunServer(net);
  const nat = net.nat(portRestrictedCone());
  const alice = nat.host("192.168.1.2", { name: "alice", link });
  return { net, server, nat, alice };
}

describe("attaching engines", () => {
  it("runs the STUN client engine unchanged and reports the NAT's mapping", () => {
    const { net, alice } = setUp();
    const client = net.attach(alice, new StunClient({ random: alice.random }), { port: 5000 });
    expect(client.local).toEqual(at("192.168.1.2", 5000));
    client.engine.request(net.now, { remote: at(PRIMARY, PORT) });
    expect(net.runUntil(() => client.events.length > 0)).toBe(true);
    const e = client.events[0]!;
    expect(e.type).toBe("success");
    if (e.type === "success") {
      expect(e.response.get(XorMappedAddress)).toEqual(at("198.51.100.1", 5000));
      expect(e.rttMs).toBe(60); // alice's link, the NAT's link, the server's link: 30 ms each way
      expect(net.now).toBe(60);
    }
  });

  it("drives the engine's timers: retransmissions get through a lossy link", () => {
    const { net, alice } = setUp({ loss: 0.6 });
    const seen: [StunClientEvent["type"], number][] = [];
    const client = net.attach(alice, new StunClient({ random: alice.random }), { onEvent: (e, now) => seen.push([e.type, now]) });
    client.engine.request(net.now, { remote: at(PRIMARY, PORT) });
    net.run({ duration: 60_000 });
    expect(client.engine.stats().retransmissions).toBeGreaterThan(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]![0]).toBe("success");
    expect(client.events.map((e) => e.type)).toEqual(["success"]);
  });

  it("times a transaction out in virtual time when nothing answers", () => {
    const { net, alice } = setUp({ loss: 1 });
    const client = net.attach(alice, new StunClient({ random: alice.random }));
    client.engine.request(net.now, { remote: at(PRIMARY, PORT) });
    net.run();
    expect(client.events).toMatchObject([{ type: "failure", reason: "timeout" }]);
    expect(net.now).toBe(39_500); // RFC 8489 §6.2.1: Rc = 7, Rm = 16, RTO 500 ms
  });

  it("an engine attached to several ports sends from the one its transmit names", () => {
    const { net, server } = setUp();
    expect(server.sockets.map((s) => s.port)).toEqual([3478, 3479]);
    const s = net.host("192.0.2.50").bind(7000);
    const r = binding(net, s, at(PRIMARY, PORT), { changeIp: true, changePort: true });
    expect(r?.from).toEqual(at(ALTERNATE, ALT_PORT));
    expect(server.events).toEqual([{ type: "request", from: at("192.0.2.50", 7000), to: at(PRIMARY, PORT) }]);
  });

  it("detach closes the ports", () => {
    const { net, alice } = setUp();
    const client = net.attach(alice, new StunClient({ random: alice.random }), { port: 5000 });
    client.detach();
    const again = alice.bind(5000); // free again
    expect(again.port).toBe(5000);
    expect(() => client.sockets[0]!.send({ remote: at(PRIMARY, PORT), data: new Uint8Array(1) })).toThrow(/closed/);
  });

  it("refuses a host of another network and a transmit from a port it is not attached to", () => {
    const { net } = setUp();
    const other = new Network().host("192.0.2.9");
    expect(() => net.attach(other, new StunClient())).toThrow(/does not belong/);
    const { net: net2, alice } = setUp();
    const client = net2.attach(alice, new StunClient({ random: alice.random }), { port: 5000 });
    client.engine.request(net2.now, { remote: at(PRIMARY, PORT), local: at("192.168.1.2", 5001) });
    expect(() => net2.run()).toThrow(/not attached to/);
  });
});
