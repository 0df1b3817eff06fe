/**
 * The RFC 5780 §4.3 / §4.4 procedure, written out over sockets, run through every NAT of the
 * mapping × filtering grid: it must report exactly the behaviour the NAT was built with, and the
 * RFC 3489 name must match. (The discovery engine in src/nat will be held to the same grid.)
 */
import { describe, expect, it } from "vitest";
import type { EndpointDependence, Host, NatBehavior } from "../../src/sim/index";
import { Network, classicNatName, fullCone, natBehavior, portRestrictedCone, restrictedCone, symmetric, udpBlocked } from "../../src/sim/index";
import { ALTERNATE, ALT_PORT, PORT, PRIMARY, at, binding, str, stunServer } from "./helpers";

type Report = { mapping: EndpointDependence | "no-nat"; filtering: EndpointDependence } | "blocked";

function discover(net: Network, host: Host): Report {
  // §4.3 mapping: tests I, II, III from one port.
  const s = host.bind();
  const t1 = binding(net, s, at(PRIMARY, PORT));
  if (t1 === undefined) return "blocked";
  let mapping: EndpointDependence | "no-nat";
  if (str(t1.mapped) === str(s.local)) mapping = "no-nat";
  else {
    const t2 = binding(net, s, at(ALTERNATE, PORT));
    if (str(t2?.mapped) === str(t1.mapped)) mapping = "endpoint-independent";
    else {
      const t3 = binding(net, s, at(ALTERNATE, ALT_PORT));
      mapping = str(t3?.mapped) === str(t2?.mapped) ? "address-dependent" : "address-and-port-dependent";
    }
  }
  // §4.4 filtering: sensitive to prior state, so from a fresh port.
  const f = host.bind();
  binding(net, f, at(PRIMARY, PORT));
  let filtering: EndpointDependence;
  if (binding(net, f, at(PRIMARY, PORT), { changeIp: true, changePort: true })) filtering = "endpoint-independent";
  else if (binding(net, f, at(PRIMARY, PORT), { changeIp: false, changePort: true })) filtering = "address-dependent";
  else filtering = "address-and-port-dependent";
  return { mapping, filtering };
}

const KINDS: EndpointDependence[] = ["endpoint-independent", "address-dependent", "address-and-port-dependent"];

function run(behavior: NatBehavior, seed = 5): Report {
  const net = new Network({ seed, link: { delay: 3, jitter: 1 } });
  stunServer(net);
  const alice = net.nat(behavior).host();
  return discover(net, alice);
}

describe("RFC 5780 discovery through each of the 9 mapping × filtering NATs", () => {
  for (const mapping of KINDS) {
    for (const filtering of KINDS) {
      it(`${mapping} mapping, ${filtering} filtering`, () => {
        for (const portAssignment of ["preserve", "sequential", "random"] as const) {
          const b = natBehavior({ mapping, filtering, portAssignment });
          expect(run(b)).toEqual({ mapping, filtering });
        }
      });
    }
  }
});

describe("the presets under their RFC 3489 names", () => {
  const cases: [string, NatBehavior, Report][] = [
    ["full-cone", fullCone(), { mapping: "endpoint-independent", filtering: "endpoint-independent" }],
    ["restricted-cone", restrictedCone(), { mapping: "endpoint-independent", filtering: "address-dependent" }],
    ["port-restricted-cone", portRestrictedCone(), { mapping: "endpoint-independent", filtering: "address-and-port-dependent" }],
    ["symmetric", symmetric(), { mapping: "address-and-port-dependent", filtering: "address-and-port-dependent" }],
    ["blocked", udpBlocked(), "blocked"],
  ];
  for (const [name, behavior, expected] of cases) {
    it(`${name}`, () => {
      const report = run(behavior);
      expect(report).toEqual(expected);
      expect(classicNatName(behavior)).toBe(name);
      if (report !== "blocked" && report.mapping !== "no-nat") expect(classicNatName(report as NatBehavior)).toBe(name);
    });
  }

  it("a public host is not NATed", () => {
    const net = new Network({ seed: 5 });
    stunServer(net);
    expect(discover(net, net.host("192.0.2.77"))).toEqual({ mapping: "no-nat", filtering: "endpoint-independent" });
  });

  it("address-dependent mapping is called symmetric, as RFC 5780 clients report it", () => {
    expect(classicNatName({ mapping: "address-dependent", filtering: "endpoint-independent" })).toBe("symmetric");
  });
});
