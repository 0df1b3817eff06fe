/**
 * The PortMappingClient engine against a scripted gateway on a fake clock: PCP mapping and
 * renewal, fallback to NAT-PMP on version 0 and on silence with the exact retransmission
 * schedules of RFC 6887 §8.1.1 and RFC 6886 §3.1, epoch regressions (gateway reboot), and bad
 * input (wrong nonce, another source, random bytes) dropped without a throw.
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Transmit } from "../../src/engine";
import { decodeNatPmpRequest, encodeNatPmpResponse } from "../../src/nat/natpmp";
import { decodePcpRequest, encodePcpResponse } from "../../src/nat/pcp";
import type { PortMappingEvent, PortMappingClientOptions } from "../../src/nat/port-mapping";
import { PortMappingClient } from "../../src/nat/port-mapping";

const GW = "192.168.1.1";
const ME = "192.168.1.20";
const zeros = (out: Uint8Array) => out.fill(0);

function client(extra: Partial<PortMappingClientOptions> = {}): PortMappingClient {
  return new PortMappingClient({ gateway: GW, clientAddress: ME, random: zeros, ...extra });
}

function drain(pm: PortMappingClient): { tx: Transmit[]; ev: PortMappingEvent[] } {
  const tx: Transmit[] = [];
  const ev: PortMappingEvent[] = [];
  for (let t; (t = pm.pollTransmit()); ) tx.push(t);
  for (let e; (e = pm.pollEvent()); ) ev.push(e);
  return { tx, ev };
}

function deliver(pm: PortMappingClient, now: number, data: Uint8Array, from = GW, port = 5351): void {
  pm.handleReceive(now, { local: { family: "IPv4", address: ME, port: 40000 }, remote: { family: "IPv4", address: from, port }, transport: "udp", data });
}

/** A PCP server's success answer to a MAP request. */
function pcpAnswer(req: Uint8Array, epoch: number, externalPort = 40001, lifetime?: number): Uint8Array {
  const r = decodePcpRequest(req);
  if (r.kind !== "map") throw new Error("expected MAP");
  return encodePcpResponse({ kind: "map", resultCode: 0, lifetime: lifetime ?? r.lifetime, epoch, options: [], nonce: r.nonce, protocol: r.protocol, internalPort: r.internalPort, externalPort, externalAddress: "203.0.113.7" });
}

/** A NAT-PMP gateway's answer to any request; PCP requests get the §3.5 Unsupported Version. */
function natPmpAnswer(req: Uint8Array, epoch: number, externalPort = 50000): Uint8Array {
  if (req[0] !== 0) return encodeNatPmpResponse({ kind: "unsupported-version", opcode: 0, epoch });
  const r = decodeNatPmpRequest(req);
  if (r.kind === "external-address") return encodeNatPmpResponse({ kind: "external-address", resultCode: 0, epoch, externalAddress: "198.51.100.9" });
  if (r.kind !== "map") throw new Error("unexpected");
  return encodeNatPmpResponse({ kind: "map", protocol: r.protocol, resultCode: 0, epoch, internalPort: r.internalPort, externalPort: r.lifetime === 0 ? 0 : externalPort, lifetime: r.lifetime });
}

/** Steps the client to each wake-up until `until`, returning the send times. */
function sendTimes(pm: PortMappingClient, until: number): number[] {
  const times: number[] = [];
  for (const _ of drain(pm).tx) times.push(0);
  for (let at = pm.pollTimeout(); at !== undefined && at <= until; at = pm.pollTimeout()) {
    pm.handleTimeout(at);
    for (const _ of drain(pm).tx) times.push(at);
  }
  return times;
}

describe("PortMappingClient with a PCP gateway", () => {
  it("maps with a MAP request, reports the external address and renews at half the lifetime", () => {
    const pm = client();
    pm.map(0, { protocol: "udp", internalPort: 5000, lifetime: 7200 });
    const [req] = drain(pm).tx;
    expect(req?.remote).toEqual({ family: "IPv4", address: GW, port: 5351 });
    expect(req?.data[0]).toBe(2);
    deliver(pm, 100, pcpAnswer(req!.data, 1000));
    const { ev } = drain(pm);
    expect(ev).toEqual([
      { type: "method", method: "pcp" },
      { type: "mapped", method: "pcp", protocol: "udp", internalPort: 5000, external: { family: "IPv4", address: "203.0.113.7", port: 40001 }, lifetime: 7200, renewal: false },
    ]);
    // RFC 6887 §11.2.1 with RAND at its lowest: exactly half the lifetime.
    expect(pm.pollTimeout()).toBe(100 + 3_600_000);
    pm.handleTimeout(100 + 3_600_000);
    const renewal = decodePcpRequest(drain(pm).tx[0]!.data);
    // The renewal suggests the assigned address and port (§11.2.1).
    expect(renewal.kind === "map" && [renewal.suggestedExternalPort, renewal.suggestedExternalAddress]).toEqual([40001, "203.0.113.7"]);
  });

  it("retransmits MAP on the RFC 6887 §8.1.1 schedule with the same nonce", () => {
    const pm = client({ method: "pcp", pcpMaxTransmissions: 4 });
    pm.map(0, { protocol: "tcp", internalPort: 80, lifetime: 600 });
    const sent: Uint8Array[] = [];
    const times: number[] = [];
    for (const t of drain(pm).tx) (sent.push(t.data), times.push(0));
    for (let at = pm.pollTimeout(); at !== undefined; at = pm.pollTimeout()) {
      pm.handleTimeout(at);
      const d = drain(pm);
      for (const t of d.tx) (sent.push(t.data), times.push(at));
      if (d.ev.length) {
        expect(d.ev[0]).toMatchObject({ type: "failed", method: "pcp", reason: "timeout", code: undefined });
        break;
      }
    }
    // RAND = -0.1: RT = 2700, then 0.9 * 2 * RTprev: 4860, 8748, 15746 (rounded).
    expect(times).toEqual([0, 2700, 7560, 16308]);
    expect(new Set(sent.map((b) => Buffer.from(b).toString("hex"))).size).toBe(1);
  });

  it("drops a MAP response with a wrong nonce and one from another address", () => {
    const pm = client();
    pm.map(0, { protocol: "udp", internalPort: 5000, lifetime: 7200 });
    const req = drain(pm).tx[0]!.data;
    const wrong = pcpAnswer(req, 5);
    wrong[24] = wrong[24]! ^ 1; // first nonce byte
    deliver(pm, 10, wrong);
    deliver(pm, 10, pcpAnswer(req, 5), "192.168.1.66");
    deliver(pm, 10, pcpAnswer(req, 5), GW, 9999);
    expect(drain(pm).ev).toEqual([]);
    expect(pm.stats()).toMatchObject({ droppedUnmatched: 1, droppedForeign: 2 });
    deliver(pm, 20, pcpAnswer(req, 5));
    expect(drain(pm).ev.map((e) => e.type)).toEqual(["method", "mapped"]);
  });

  it("reports a PCP error result code as failed with its name and error lifetime", () => {
    const pm = client();
    pm.map(0, { protocol: "udp", internalPort: 5000, lifetime: 7200 });
    const r = decodePcpRequest(drain(pm).tx[0]!.data);
    if (r.kind !== "map") throw new Error();
    deliver(pm, 5, encodePcpResponse({ kind: "map", resultCode: 8, lifetime: 30, epoch: 1, options: [], nonce: r.nonce, protocol: 17, internalPort: 5000, externalPort: 0, externalAddress: "0.0.0.0" }));
    expect(drain(pm).ev[1]).toEqual({ type: "failed", method: "pcp", operation: "map", protocol: "udp", internalPort: 5000, code: 8, reason: "NO_RESOURCES", lifetime: 30 });
    expect(pm.mappings()).toEqual([]);
  });

  it("re-maps after an ANNOUNCE whose epoch went backwards (§8.5, §14.1.3)", () => {
    const pm = client();
    pm.map(0, { protocol: "udp", internalPort: 5000, lifetime: 7200 });
    deliver(pm, 0, pcpAnswer(drain(pm).tx[0]!.data, 5000));
    drain(pm);
    // 60 s later the server says its epoch is 3: it rebooted.
    deliver(pm, 60_000, encodePcpResponse({ kind: "announce", resultCode: 0, lifetime: 0, epoch: 3, options: [] }));
    expect(drain(pm).ev).toEqual([{ type: "lost", method: "pcp", protocol: "udp", internalPort: 5000, reason: "epoch" }]);
    expect(pm.pollTimeout()).toBe(60_000); // random delay 0-5 s, here 0
    pm.handleTimeout(60_000);
    const again = drain(pm).tx[0]!.data;
    deliver(pm, 60_050, pcpAnswer(again, 3));
    expect(drain(pm).ev).toMatchObject([{ type: "mapped", renewal: true }]);
    expect(pm.stats().epochResets).toBe(1);
  });

  it("does not count an in-time epoch as a reboot", () => {
    const pm = client();
    pm.map(0, { protocol: "udp", internalPort: 5000, lifetime: 7200 });
    deliver(pm, 0, pcpAnswer(drain(pm).tx[0]!.data, 5000));
    deliver(pm, 60_000, encodePcpResponse({ kind: "announce", resultCode: 0, lifetime: 0, epoch: 5060, options: [] }));
    expect(drain(pm).ev.map((e) => e.type)).toEqual(["method", "mapped"]);
    expect(pm.stats().epochResets).toBe(0);
  });
});

describe("PortMappingClient with a NAT-PMP-only gateway", () => {
  it("falls back when the gateway answers version 0, learns the address, then maps (RFC 6887 §9)", () => {
    const pm = client();
    pm.map(0, { protocol: "tcp", internalPort: 8080, lifetime: 7200 });
    const events: PortMappingEvent[] = [];
    let now = 0;
    for (let i = 0; i < 5; i++) {
      const { tx, ev } = drain(pm);
      events.push(...ev);
      if (tx.length === 0) break;
      now += 10;
      deliver(pm, now, natPmpAnswer(tx[0]!.data, 100));
    }
    events.push(...drain(pm).ev);
    expect(events.map((e) => e.type)).toEqual(["method", "external-address", "mapped"]);
    expect(events.at(-1)).toMatchObject({ method: "natpmp", external: { address: "198.51.100.9", port: 50000 }, lifetime: 7200 });
    expect(pm.method).toBe("natpmp");
  });

  it("falls back on silence: 3 PCP sends, then NAT-PMP at 250 ms doubling for 9 sends (§3.1)", () => {
    const pm = client();
    pm.map(0, { protocol: "udp", internalPort: 5000, lifetime: 7200 });
    const times = sendTimes(pm, 1_000_000);
    const pcp = [0, 2700, 7560];
    const t0 = 16308;
    const natpmp = [0, 250, 750, 1750, 3750, 7750, 15750, 31750, 63750].map((d) => t0 + d);
    expect(times).toEqual([...pcp, ...natpmp]);
  });

  it("gives up after the ninth NAT-PMP send plus 64 s and reports a timeout", () => {
    const pm = client({ method: "natpmp" });
    pm.externalAddress(0);
    let last: PortMappingEvent[] = [];
    for (let at = pm.pollTimeout(); at !== undefined; at = pm.pollTimeout()) {
      pm.handleTimeout(at);
      last = drain(pm).ev;
      if (last.length) {
        expect(at).toBe(127_750);
        break;
      }
    }
    expect(last).toEqual([{ type: "failed", method: "natpmp", operation: "external-address", protocol: undefined, internalPort: undefined, code: undefined, reason: "timeout", lifetime: undefined }]);
  });

  it("detects a reboot from SSSoE (§3.6) and recreates the other mappings", () => {
    const pm = client({ method: "natpmp" });
    const events: PortMappingEvent[] = [];
    const answer = (now: number, epoch: number) => {
      const d = drain(pm);
      events.push(...d.ev);
      for (const t of d.tx) deliver(pm, now, natPmpAnswer(t.data, epoch, 50000 + (t.data[5] ?? 0)));
    };
    pm.map(0, { protocol: "udp", internalPort: 1000, lifetime: 7200 });
    answer(0, 500); // external address
    answer(0, 500); // map 1000
    pm.map(1000, { protocol: "udp", internalPort: 2000, lifetime: 7200 });
    answer(1000, 501);
    events.push(...drain(pm).ev);
    expect(events.filter((e) => e.type === "mapped").length).toBe(2);
    // 100 s later a mapping renewal for port 2000 comes back with SSSoE 4: it rebooted.
    pm.map(101_000, { protocol: "udp", internalPort: 2000, lifetime: 7200 });
    answer(101_000, 4);
    const ev = drain(pm).ev;
    expect(ev).toEqual([
      { type: "lost", method: "natpmp", protocol: "udp", internalPort: 1000, reason: "epoch" },
      expect.objectContaining({ type: "mapped", internalPort: 2000, renewal: true }),
    ]);
    pm.handleTimeout(101_000);
    const [next] = drain(pm).tx;
    expect(next && decodeNatPmpRequest(next.data)).toEqual({ kind: "external-address" });
  });

  it("unmaps with lifetime 0 and external port 0 (§3.4)", () => {
    const pm = client({ method: "natpmp" });
    pm.map(0, { protocol: "udp", internalPort: 1000, lifetime: 7200 });
    for (let i = 0; i < 2; i++) for (const t of drain(pm).tx) deliver(pm, 0, natPmpAnswer(t.data, 10));
    drain(pm);
    pm.unmap(5, { protocol: "udp", internalPort: 1000 });
    const [del] = drain(pm).tx;
    expect(decodeNatPmpRequest(del!.data)).toEqual({ kind: "map", protocol: "udp", internalPort: 1000, suggestedExternalPort: 0, lifetime: 0 });
    deliver(pm, 6, natPmpAnswer(del!.data, 10));
    expect(drain(pm).ev).toEqual([{ type: "unmapped", method: "natpmp", protocol: "udp", internalPort: 1000 }]);
    expect(pm.pollTimeout()).toBeUndefined();
  });
});

describe("PortMappingClient bad input", () => {
  it("never throws on random or mutated datagrams from the gateway", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(), fc.nat(255), (junk, at, v) => {
        const pm = client();
        pm.map(0, { protocol: "udp", internalPort: 5000, lifetime: 7200 });
        const req = drain(pm).tx[0]!.data;
        const m = pcpAnswer(req, 1);
        m[at % m.length] = v;
        deliver(pm, 1, junk);
        deliver(pm, 2, m);
        deliver(pm, 3, Uint8Array.of(0, ...junk));
        const types = drain(pm).ev.map((e) => e.type);
        expect(types.every((t) => ["method", "mapped", "failed", "lost", "external-address"].includes(t))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses misuse at the call", () => {
    expect(() => new PortMappingClient({ gateway: GW })).toThrow(/clientAddress/);
    expect(() => client().map(0, { protocol: "udp", internalPort: 0, lifetime: 10 })).toThrow(/internalPort/);
    expect(() => client().map(0, { protocol: "sctp" as "udp", internalPort: 1, lifetime: 10 })).toThrow(/protocol/);
  });
});
