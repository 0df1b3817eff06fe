/**
 * RFC 8445 §5.1.1.1: which addresses become host candidates, in the pure agent.
 */
import { describe, expect, it } from "vitest";
import { IceAgent } from "../../src/ice/agent";
import { hostAddressExclusion, isLinkLocalIPv6, trackingExclusion } from "../../src/ice/host-addresses";
import type { TransportAddress } from "../../src/bytes/ip";

const at = (address: string, port = 5000): TransportAddress => ({ family: address.includes(":") ? "IPv6" : "IPv4", address, port });

describe("hostAddressExclusion", () => {
  it("names each exclusion of §5.1.1.1", () => {
    expect(hostAddressExclusion("127.0.0.1")).toBe("loopback");
    expect(hostAddressExclusion("127.255.0.9")).toBe("loopback");
    expect(hostAddressExclusion("::1")).toBe("loopback");
    expect(hostAddressExclusion("::192.0.2.1")).toBe("ipv4-compatible");
    expect(hostAddressExclusion("::c000:201")).toBe("ipv4-compatible");
    expect(hostAddressExclusion("fec0::1")).toBe("site-local");
    expect(hostAddressExclusion("feff:1::1")).toBe("site-local");
    expect(hostAddressExclusion("::ffff:192.0.2.1")).toBe("ipv4-mapped");
  });

  it("lets ordinary addresses through", () => {
    for (const a of ["192.0.2.1", "10.0.0.1", "169.254.1.1", "2001:db8::1", "fe80::1", "fd00::1", "::"]) expect(hostAddressExclusion(a)).toBeUndefined();
    expect(isLinkLocalIPv6("fe80::1")).toBe(true);
    expect(isLinkLocalIPv6("fec0::1")).toBe(false);
  });

  it("with a temporary address, drops link-local and trackable addresses of its interface and /64", () => {
    const tmp = [{ address: "2001:db8:0:1:5e1:9ab:cd:1", interface: "eth0" }];
    expect(trackingExclusion("fe80::1", {}, tmp)).toBe("link-local");
    expect(trackingExclusion("2001:db8:0:1::1", { interface: "eth0" }, tmp)).toBe("location-tracking");
    expect(trackingExclusion("2001:db8:0:1::1", { interface: "wlan0" }, tmp)).toBeUndefined();
    expect(trackingExclusion("2001:db8:0:2::1", { interface: "eth0" }, tmp)).toBeUndefined();
    expect(trackingExclusion("2001:db8:0:1::7", { interface: "eth0", temporary: true }, tmp)).toBeUndefined();
    expect(trackingExclusion("fe80::1", {}, [])).toBeUndefined();
  });
});

describe("the agent gathers by §5.1.1.1", () => {
  it("ignores and counts loopback, IPv4-compatible, site-local and IPv4-mapped addresses", () => {
    const agent = new IceAgent({ role: "controlling" });
    expect(agent.addLocalSocket(0, at("127.0.0.1"))).toBe(false);
    expect(agent.addLocalSocket(0, at("::1"))).toBe(false);
    expect(agent.addLocalSocket(0, at("::192.0.2.1"))).toBe(false);
    expect(agent.addLocalSocket(0, at("fec0::1"))).toBe(false);
    expect(agent.addLocalSocket(0, at("::ffff:192.0.2.1"))).toBe(false);
    expect(agent.addLocalSocket(0, at("192.0.2.7"))).toBe(true);
    agent.startGathering(0);
    expect(agent.localCandidates().map((c) => c.address)).toEqual(["192.0.2.7"]);
    expect(agent.stats().excludedHostAddresses).toBe(5);
  });

  it("gathers loopback when the application names the address or opts in", () => {
    const a = new IceAgent({ role: "controlling" });
    expect(a.addLocalSocket(0, at("127.0.0.1"), 1, { explicit: true })).toBe(true);
    const b = new IceAgent({ role: "controlling", loopback: true });
    expect(b.addLocalSocket(0, at("::1"))).toBe(true);
    for (const x of [a, b]) x.startGathering(0);
    expect(a.localCandidates()).toHaveLength(1);
    expect(b.localCandidates()).toHaveLength(1);
    // The MUST NOTs without exception stay out even when named.
    expect(a.addLocalSocket(0, at("fec0::1"), 1, { explicit: true })).toBe(false);
    expect(a.addLocalSocket(0, at("::10.0.0.1"), 1, { explicit: true })).toBe(false);
  });

  it("gathers IPv4-mapped addresses for an IPv6-only application", () => {
    const a = new IceAgent({ role: "controlling", ipv6Only: true });
    expect(a.addLocalSocket(0, at("::ffff:192.0.2.1"))).toBe(true);
  });

  it("drops link-local and same-prefix stable addresses once a temporary IPv6 address is gathered", () => {
    const agent = new IceAgent({ role: "controlling" });
    agent.addLocalSocket(0, at("fe80::1"), 1, { interface: "eth0" });
    agent.addLocalSocket(0, at("2001:db8:0:1::1"), 1, { interface: "eth0" });
    agent.addLocalSocket(0, at("2001:db8:0:1:a:b:c:d"), 1, { interface: "eth0", temporary: true });
    agent.addLocalSocket(0, at("192.0.2.7"), 1, { interface: "eth0" });
    agent.startGathering(0);
    expect(agent.localCandidates().map((c) => c.address).sort()).toEqual(["192.0.2.7", "2001:db8:0:1:a:b:c:d"]);
    expect(agent.stats().excludedHostAddresses).toBe(2);
    // Later sockets follow the same rule.
    expect(agent.addLocalSocket(0, at("fe80::2"), 1, { interface: "eth0" })).toBe(false);
    expect(agent.stats().excludedHostAddresses).toBe(3);
  });
});
