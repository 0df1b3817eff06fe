import { describe, expect, it } from "vitest";
import type { EndpointDependence } from "../../src/sim/index";
import { Network, natBehavior } from "../../src/sim/index";
import { ALTERNATE, ALT_PORT, PORT, PRIMARY, at, binding, str, stunServer } from "./helpers";

function behindNat(mapping: EndpointDependence, filtering: EndpointDependence = "endpoint-independent") {
  const net = new Network({ seed: 11, link: { delay: 2 } });
  stunServer(net);
  const nat = net.nat(natBehavior({ mapping, filtering, portAssignment: "random" }));
  const alice = nat.host("192.168.1.2", { name: "alice" });
  return { net, nat, alice };
}

describe("RFC 4787 §4.1 mapping behaviour, as a server on 2 addresses × 2 ports sees it", () => {
  function mappedAddresses(mapping: EndpointDependence) {
    const { net, alice } = behindNat(mapping);
    const s = alice.bind(5000);
    return {
      primary: str(binding(net, s, at(PRIMARY, PORT))?.mapped),
      otherPort: str(binding(net, s, at(PRIMARY, ALT_PORT))?.mapped),
      otherAddress: str(binding(net, s, at(ALTERNATE, PORT))?.mapped),
      otherBoth: str(binding(net, s, at(ALTERNATE, ALT_PORT))?.mapped),
      again: str(binding(net, s, at(PRIMARY, PORT))?.mapped),
    };
  }

  it("endpoint-independent: X1':x1' equals X2':x2' for every Y2:y2", () => {
    const m = mappedAddresses("endpoint-independent");
    expect(m.primary).toBeDefined();
    expect(new Set(Object.values(m)).size).toBe(1);
  });

  it("address-dependent: the same mapping if and only if Y2 equals Y1", () => {
    const m = mappedAddresses("address-dependent");
    expect(m.otherPort).toBe(m.primary);
    expect(m.otherAddress).not.toBe(m.primary);
    expect(m.otherBoth).toBe(m.otherAddress);
    expect(m.again).toBe(m.primary);
  });

  it("address-and-port-dependent: the same mapping if and only if Y2:y2 equals Y1:y1", () => {
    const m = mappedAddresses("address-and-port-dependent");
    expect(new Set([m.primary, m.otherPort, m.otherAddress, m.otherBoth]).size).toBe(4);
    expect(m.again).toBe(m.primary);
  });
});

describe("RFC 4787 §5 filtering behaviour", () => {
  /** After alice talks to the primary address and port, who else can reach her mapping? */
  function reachable(filtering: EndpointDependence) {
    const { net, alice } = behindNat("endpoint-independent", filtering);
    const s = alice.bind(5000);
    expect(binding(net, s, at(PRIMARY, PORT))).toBeDefined();
    return {
      samePort: binding(net, s, at(PRIMARY, PORT)) !== undefined,
      otherPort: binding(net, s, at(PRIMARY, PORT), { changeIp: false, changePort: true }) !== undefined,
      otherAddress: binding(net, s, at(PRIMARY, PORT), { changeIp: true, changePort: false }) !== undefined,
      otherBoth: binding(net, s, at(PRIMARY, PORT), { changeIp: true, changePort: true }) !== undefined,
      filtered: net.stats().drops.filtered ?? 0,
    };
  }

  it("endpoint-independent: anyone may send to the mapping", () => {
    expect(reachable("endpoint-independent")).toEqual({ samePort: true, otherPort: true, otherAddress: true, otherBoth: true, filtered: 0 });
  });

  it("address-dependent: any port of an address alice sent to, nothing else", () => {
    expect(reachable("address-dependent")).toEqual({ samePort: true, otherPort: true, otherAddress: false, otherBoth: false, filtered: 2 });
  });

  it("address-and-port-dependent: only the endpoint alice sent to", () => {
    expect(reachable("address-and-port-dependent")).toEqual({ samePort: true, otherPort: false, otherAddress: false, otherBoth: false, filtered: 3 });
  });

  it("drops unsolicited packets to an external port with no mapping", () => {
    const { net, nat } = behindNat("endpoint-independent");
    const mallory = net.host("192.0.2.66").bind(666);
    mallory.send({ remote: at(nat.addresses[0]!, 5000), data: new Uint8Array(4) });
    net.run();
    expect(net.trace.at(-1)).toMatchObject({ kind: "drop", at: "nat1", reason: "no-mapping" });
  });
});
