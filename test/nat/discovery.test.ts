import { describe, expect, it } from "vitest";
import type { TransportAddress } from "../../src/index";
import { IcekitError, MessageClass, Method, StunMessageBuilder } from "../../src/index";
import type { FilteringBehavior, MappingBehavior, NatReport, NatTestResult } from "../../src/nat/index";
import { NAT_DISCOVERY_STUN_DEFAULTS, NatDiscovery } from "../../src/nat/index";
import { A1, A2, FIRST_PORT, NAT_IP, P1, P2, PRIVATE_LOCAL, PUBLIC_LOCAL, SERVER, counterRandom, runDiscovery, v4 } from "./harness";

const OTHER = v4(A2, P2);
const MAPPING_II_TO = v4(A2, P1);
const BOTH = { changeIp: true, changePort: true } as const;
const PORT_ONLY = { changeIp: false, changePort: true } as const;
const NO_RESPONSE = expect.stringMatching(/^no response from /) as unknown as string;

/** A test that was answered: 20 ms round trip in the scripted world. */
function answered(name: NatTestResult["name"], to: TransportAddress, from: TransportAddress, mapped: TransportAddress, change?: typeof BOTH | typeof PORT_ONLY): NatTestResult {
  return { name, transport: "udp", to, ...(change ?? {}), result: "response", mapped, from, rttMs: 20 };
}

/** A test that got nothing back. */
function silent(name: NatTestResult["name"], to: TransportAddress, change?: typeof BOTH | typeof PORT_ONLY): NatTestResult {
  return { name, transport: "udp", to, ...(change ?? {}), result: "timeout", detail: NO_RESPONSE };
}

const ext = (port: number): TransportAddress => v4(NAT_IP, port);

/** The filtering tests' trace through a NAT with this filtering (RFC 5780 §4.4). */
function filteringTrace(filtering: FilteringBehavior, mapped: TransportAddress): NatTestResult[] {
  return [
    filtering === "endpoint-independent" ? answered("filtering-II", SERVER, OTHER, mapped, BOTH) : silent("filtering-II", SERVER, BOTH),
    filtering === "address-and-port-dependent" ? silent("filtering-III", SERVER, PORT_ONLY) : answered("filtering-III", SERVER, v4(A1, P2), mapped, PORT_ONLY),
  ];
}

describe("NatDiscovery through every RFC 4787 mapping × filtering NAT (RFC 5780 §4.3, §4.4)", () => {
  // External ports of mapping tests II and III: the scripted NAT hands out 50000, 50001, ... for new mappings.
  const mappingPorts: Record<MappingBehavior, [number, number]> = {
    "endpoint-independent": [FIRST_PORT, FIRST_PORT],
    "address-dependent": [FIRST_PORT + 1, FIRST_PORT + 1],
    "address-and-port-dependent": [FIRST_PORT + 1, FIRST_PORT + 2],
  };
  const cases: [MappingBehavior, FilteringBehavior, NatReport["natType"]][] = [
    ["endpoint-independent", "endpoint-independent", "full-cone"],
    ["endpoint-independent", "address-dependent", "restricted-cone"],
    ["endpoint-independent", "address-and-port-dependent", "port-restricted-cone"],
    // Mapping first: no cone maps destinations apart, whatever the filtering (see classicNatType).
    ["address-dependent", "endpoint-independent", "symmetric"],
    ["address-dependent", "address-dependent", "symmetric"],
    ["address-dependent", "address-and-port-dependent", "symmetric"],
    ["address-and-port-dependent", "endpoint-independent", "symmetric"],
    ["address-and-port-dependent", "address-dependent", "symmetric"],
    ["address-and-port-dependent", "address-and-port-dependent", "symmetric"],
  ];

  for (const [mapping, filtering, natType] of cases) {
    it(`reports ${mapping} mapping, ${filtering} filtering as ${natType}`, () => {
      const { report } = runDiscovery({ nat: { mapping, filtering } });
      const mapped = ext(FIRST_PORT);
      const [p2, p3] = mappingPorts[mapping];
      expect(report).toEqual({
        mapping,
        filtering,
        natType,
        local: PRIVATE_LOCAL,
        mapped,
        behindNat: true,
        portPreserved: false,
        hairpinning: undefined,
        otherAddress: OTHER,
        rfc5780Supported: true,
        tests: [
          answered("udp-connectivity", SERVER, SERVER, mapped),
          ...filteringTrace(filtering, mapped),
          answered("mapping-II", MAPPING_II_TO, MAPPING_II_TO, ext(p2)),
          answered("mapping-III", OTHER, OTHER, ext(p3)),
        ],
      } satisfies NatReport);
    });
  }

  it("notices port preservation (RFC 4787 §4.2.1)", () => {
    const { report } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "address-dependent", portPreserving: true } });
    expect(report.mapped).toEqual(ext(PRIVATE_LOCAL.port));
    expect(report.portPreserved).toBe(true);
    expect(report.natType).toBe("restricted-cone");
  });
});

describe("NatDiscovery without a NAT", () => {
  it("reports open, endpoint-independent, and skips the mapping tests (RFC 5780 §4.3: not NATed)", () => {
    const { report } = runDiscovery({});
    expect(report).toEqual({
      mapping: "endpoint-independent",
      filtering: "endpoint-independent",
      natType: "open",
      local: PUBLIC_LOCAL,
      mapped: PUBLIC_LOCAL,
      behindNat: false,
      portPreserved: true,
      hairpinning: undefined,
      otherAddress: OTHER,
      rfc5780Supported: true,
      tests: [answered("udp-connectivity", SERVER, SERVER, PUBLIC_LOCAL), ...filteringTrace("endpoint-independent", PUBLIC_LOCAL)],
    } satisfies NatReport);
  });

  it("names a firewall without translation by its filtering (RFC 3489's symmetric UDP firewall)", () => {
    for (const [filtering, natType] of [
      ["address-dependent", "restricted-cone"],
      ["address-and-port-dependent", "port-restricted-cone"],
    ] as const) {
      const { report } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering, translate: false } });
      expect(report).toEqual({
        mapping: "endpoint-independent",
        filtering,
        natType,
        local: PUBLIC_LOCAL,
        mapped: PUBLIC_LOCAL,
        behindNat: false,
        portPreserved: true,
        hairpinning: undefined,
        otherAddress: OTHER,
        rfc5780Supported: true,
        tests: [answered("udp-connectivity", SERVER, SERVER, PUBLIC_LOCAL), ...filteringTrace(filtering, PUBLIC_LOCAL)],
      } satisfies NatReport);
    }
  });
});

describe("NatDiscovery when test I fails: blocked and udp-blocked", () => {
  it("reports udp-blocked when UDP gets no answer but the TCP probe does", () => {
    const { report } = runDiscovery({ udpBlocked: true });
    expect(report).toEqual({
      mapping: undefined,
      filtering: undefined,
      natType: "udp-blocked",
      local: PUBLIC_LOCAL,
      mapped: undefined,
      behindNat: undefined,
      portPreserved: undefined,
      hairpinning: undefined,
      otherAddress: undefined,
      rfc5780Supported: false,
      tests: [
        silent("udp-connectivity", SERVER),
        { name: "tcp-connectivity", transport: "tcp", to: SERVER, result: "response", mapped: ext(61000), from: SERVER, rttMs: 20 },
      ],
    } satisfies NatReport);
  });

  it("reports blocked when neither UDP nor TCP gets an answer (pystun's Blocked)", () => {
    const { report } = runDiscovery({ udpBlocked: true, tcpReachable: false });
    expect(report).toEqual({
      mapping: undefined,
      filtering: undefined,
      natType: "blocked",
      local: PUBLIC_LOCAL,
      mapped: undefined,
      behindNat: undefined,
      portPreserved: undefined,
      hairpinning: undefined,
      otherAddress: undefined,
      rfc5780Supported: false,
      tests: [silent("udp-connectivity", SERVER), { name: "tcp-connectivity", transport: "tcp", to: SERVER, result: "timeout", detail: NO_RESPONSE }],
    } satisfies NatReport);
  });

  it("reports blocked without a TCP probe when tcpProbe is false", () => {
    const { report, sent } = runDiscovery({ udpBlocked: true }, { tcpProbe: false });
    expect(report.natType).toBe("blocked");
    expect(report.tests).toEqual([silent("udp-connectivity", SERVER)]);
    expect(sent.every((s) => s.t.transport === "udp")).toBe(true);
  });

  it("gives up on a silent test I after 3 sends and 3.5 s at the initial RTO", () => {
    const { sent, doneAt } = runDiscovery({ udpBlocked: true }, { tcpProbe: false });
    expect(sent.map((s) => s.at)).toEqual([0, 500, 1500]);
    expect(doneAt).toBe(3500);
    expect(NAT_DISCOVERY_STUN_DEFAULTS).toEqual({ rc: 3, rm: 4, tcpTimeout: 3500 });
  });

  it("reports blocked, without a TCP probe, when the server refuses test I", () => {
    const { report } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "endpoint-independent" }, errorCode: 403 });
    expect(report.natType).toBe("blocked");
    expect(report.mapped).toBeUndefined();
    expect(report.tests).toEqual([{ name: "udp-connectivity", transport: "udp", to: SERVER, result: "error", errorCode: 403, detail: "error-response: 403 Refused" }]);
  });

  it("runs the TCP probe after an ICMP error on test I, as after silence", () => {
    const nat = new NatDiscovery({ server: SERVER, local: PRIVATE_LOCAL, random: counterRandom() });
    nat.start(0);
    expect(nat.pollTransmit()?.transport).toBe("udp");
    nat.handleTransportError(5, SERVER, "udp", "ICMP port unreachable");
    // Paced: the next transaction starts 100 ms after test I (RFC 5780 §5).
    expect(nat.pollTransmit()).toBeUndefined();
    expect(nat.pollTimeout()).toBe(100);
    nat.handleTimeout(100);
    const probe = nat.pollTransmit();
    expect(probe).toEqual({ local: undefined, remote: SERVER, transport: "tcp", data: expect.any(Uint8Array) });
    const first = nat.pollEvent();
    expect(first).toEqual({ type: "progress", test: { name: "udp-connectivity", transport: "udp", to: SERVER, result: "error", detail: "transport: ICMP port unreachable" } });
  });
});

describe("NatDiscovery against servers that cannot run the RFC 5780 tests", () => {
  it("without OTHER-ADDRESS: reports the mapped address, mapping and filtering undefined, and assumes symmetric", () => {
    const { report } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "address-and-port-dependent" }, alternate: false });
    expect(report).toEqual({
      mapping: undefined,
      filtering: undefined,
      natType: "symmetric",
      local: PRIVATE_LOCAL,
      mapped: ext(FIRST_PORT),
      behindNat: true,
      portPreserved: false,
      hairpinning: undefined,
      otherAddress: undefined,
      rfc5780Supported: false,
      tests: [answered("udp-connectivity", SERVER, SERVER, ext(FIRST_PORT))],
    } satisfies NatReport);
  });

  it("without OTHER-ADDRESS and without a NAT: mapping is endpoint-independent, filtering unknown: port-restricted-cone", () => {
    const { report } = runDiscovery({ alternate: false });
    expect(report).toMatchObject({ mapping: "endpoint-independent", filtering: undefined, natType: "port-restricted-cone", behindNat: false, rfc5780Supported: false });
    expect(report.tests.map((t) => t.name)).toEqual(["udp-connectivity"]);
  });

  it("does not read a server that ignores CHANGE-REQUEST as endpoint-independent filtering", () => {
    const { report } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "address-and-port-dependent" }, ignoreChangeRequest: true });
    expect(report.filtering).toBeUndefined();
    expect(report.mapping).toBe("endpoint-independent");
    expect(report.natType).toBe("port-restricted-cone");
    expect(report.tests[1]).toEqual({
      name: "filtering-II",
      transport: "udp",
      to: SERVER,
      ...BOTH,
      result: "error",
      mapped: ext(FIRST_PORT),
      from: SERVER,
      rttMs: 20,
      detail: "the response came from 192.0.2.1:3478: the server did not honour CHANGE-REQUEST",
    });
  });
});

describe("NatDiscovery when the alternate address does not answer", () => {
  it("reports mapping undefined and assumes symmetric (pystun would fail with a changed-address error)", () => {
    const { report } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "endpoint-independent" }, alternateDeaf: true });
    expect(report).toMatchObject({ mapping: undefined, filtering: "endpoint-independent", natType: "symmetric", rfc5780Supported: true });
    expect(report.tests.slice(3)).toEqual([silent("mapping-II", MAPPING_II_TO), silent("mapping-III", OTHER)]);
  });
});

describe("NatDiscovery hairpinning (RFC 5780 §3.4, RFC 4787 §6)", () => {
  it("sees its probe come back through a hairpinning NAT, from the external address (REQ-9a)", () => {
    const { report } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "address-and-port-dependent", hairpinning: true } }, { testHairpinning: true });
    expect(report.hairpinning).toBe(true);
    expect(report.tests.at(-1)).toEqual({ name: "hairpinning", transport: "udp", to: ext(FIRST_PORT), result: "response", from: ext(FIRST_PORT), rttMs: 1 });
  });

  it("reports false when the probe never comes back", () => {
    const { report } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "address-and-port-dependent" } }, { testHairpinning: true });
    expect(report.hairpinning).toBe(false);
    expect(report.tests.at(-1)).toMatchObject({ name: "hairpinning", result: "timeout" });
  });

  it("does not test hairpinning without a NAT", () => {
    const { report } = runDiscovery({}, { testHairpinning: true });
    expect(report.hairpinning).toBeUndefined();
    expect(report.tests.some((t) => t.name === "hairpinning")).toBe(false);
  });

  it("sends the probe from hairpinLocal when given", () => {
    const second = v4(PRIVATE_LOCAL.address, 40001);
    const { sent } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "endpoint-independent" } }, { testHairpinning: true, hairpinLocal: second });
    const probes = sent.filter((s) => s.t.remote.address === NAT_IP);
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.every((s) => s.t.local === second)).toBe(true);
  });
});

describe("NatDiscovery order, pacing and timing", () => {
  it("runs the filtering tests before any request goes to the alternate address (RFC 5780 §3.2)", () => {
    const { sent, report } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "address-dependent" } });
    const firstToAlternate = sent.findIndex((s) => s.t.remote.address === A2);
    expect(firstToAlternate).toBeGreaterThan(0);
    // Every request to the primary address (filtering retransmissions included) goes out before the first one to A2.
    expect(sent.slice(firstToAlternate).every((s) => s.t.remote.address === A2)).toBe(true);
    expect(report.filtering).toBe("address-dependent");
  });

  it("starts new transactions at most ten a second (RFC 5780 §5) and runs filtering II and III in parallel", () => {
    const { sent, doneAt } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "address-and-port-dependent" } });
    // First sends: test I at 0; filtering II and III at 100 and 200 (paced); both time out with
    // the RTO measured by test I (20 ms RTT → 60 ms): 100+60+120+240 = 520 and 620; mapping II
    // at 620, mapping III at 720, answered 20 ms later.
    const firstSends = new Map<string, number>();
    for (const s of sent) {
      const key = [...s.t.data.subarray(8, 20)].join(",");
      if (!firstSends.has(key)) firstSends.set(key, s.at);
    }
    expect([...firstSends.values()]).toEqual([0, 100, 200, 620, 720]);
    expect(doneAt).toBe(740);
  });

  it("sends every UDP request from the given local socket", () => {
    const { sent } = runDiscovery({ nat: { mapping: "address-dependent", filtering: "address-dependent" } });
    expect(sent.every((s) => s.t.local === PRIVATE_LOCAL && s.t.transport === "udp")).toBe(true);
  });

  it("emits one progress event per test, then done, and nothing after", () => {
    const { events, engine, report } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "address-dependent" } });
    expect(events.map((e) => (e.type === "progress" ? e.test.name : e.type))).toEqual([
      "udp-connectivity",
      "filtering-III",
      "filtering-II",
      "mapping-II",
      "mapping-III",
      "done",
    ]);
    expect(engine.report).toBe(report);
    expect(engine.pollTimeout()).toBeUndefined();
    expect(engine.pollEvent()).toBeUndefined();
    engine.handleTimeout(1e9);
    expect(engine.pollTransmit()).toBeUndefined();
  });
});

describe("NatDiscovery local address", () => {
  it("learns the local address from the driver's Received when none is passed", () => {
    const { report } = runDiscovery({ nat: { mapping: "endpoint-independent", filtering: "endpoint-independent" } }, { local: undefined as never });
    expect(report.local).toEqual(PRIVATE_LOCAL);
    expect(report.behindNat).toBe(true);
  });

  it("cannot claim open from a wildcard socket: behindNat undefined, full-cone", () => {
    const wildcard = v4("0.0.0.0", PUBLIC_LOCAL.port);
    const { report } = runDiscovery({}, { local: wildcard });
    expect(report).toMatchObject({ natType: "full-cone", behindNat: undefined, portPreserved: true, mapping: "endpoint-independent", filtering: "endpoint-independent" });
    // Not knowing it is un-NATed, it runs the mapping tests.
    expect(report.tests.map((t) => t.name)).toContain("mapping-III");
  });
});

describe("NatDiscovery API", () => {
  it("refuses a server that is not a transport address", () => {
    expect(() => new NatDiscovery({ server: { family: "IPv4", address: "192.0.2.1", port: 70000 } })).toThrow(IcekitError);
    expect(() => new NatDiscovery({ server: undefined as never })).toThrow(/pass a transport address/);
  });

  it("refuses a second start", () => {
    const nat = new NatDiscovery({ server: SERVER, random: counterRandom() });
    nat.start(0);
    expect(() => nat.start(1)).toThrow(/already called/);
  });

  it("does nothing before start and passes on datagrams that are not its own", () => {
    const nat = new NatDiscovery({ server: SERVER, random: counterRandom() });
    const stray = new StunMessageBuilder().begin(Method.Binding, MessageClass.SuccessResponse, new Uint8Array(12).fill(9)).finish().slice();
    const rx = { local: PRIVATE_LOCAL, remote: SERVER, transport: "udp" as const, data: stray };
    expect(nat.handleReceive(0, rx)).toBe(false);
    expect(nat.pollTimeout()).toBeUndefined();
    nat.start(0);
    expect(nat.handleReceive(1, rx)).toBe(false);
    expect(nat.handleReceive(1, { ...rx, data: new Uint8Array([1, 2, 3]) })).toBe(false);
    expect(nat.stats().unmatched).toBe(2);
  });

  it("uses the stun options given (a longer schedule for lossy paths)", () => {
    const { sent, doneAt } = runDiscovery({ udpBlocked: true }, { tcpProbe: false, stun: { rc: 2, rm: 2, rto: { initialRto: 200 } } });
    expect(sent.map((s) => s.at)).toEqual([0, 200]);
    expect(doneAt).toBe(600);
  });
});
