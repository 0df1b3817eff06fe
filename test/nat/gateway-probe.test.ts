/**
 * GatewayProbe against scripted gateways on a fake clock: a PCP+NAT-PMP gateway (miniupnpd's
 * kind), a NAT-PMP-only gateway (answers the PCP request with version 0), a silent one, and
 * bad input from the gateway and from elsewhere.
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Transmit } from "../../src/engine";
import { GatewayProbe } from "../../src/nat/gateway-probe";
import type { GatewayProbeResult } from "../../src/nat/gateway-probe";
import { decodeNatPmpRequest, encodeNatPmpResponse } from "../../src/nat/natpmp";
import { decodePcpRequest, encodePcpResponse } from "../../src/nat/pcp";

const GW = "192.168.1.1";
const ME = "192.168.1.20";

function drain(p: GatewayProbe): { tx: Transmit[]; ev: GatewayProbeResult[] } {
  const tx: Transmit[] = [];
  const ev: GatewayProbeResult[] = [];
  for (let t; (t = p.pollTransmit()); ) tx.push(t);
  for (let e; (e = p.pollEvent()); ) ev.push(e);
  return { tx, ev };
}

function deliver(p: GatewayProbe, now: number, data: Uint8Array, from = GW, port = 5351): void {
  p.handleReceive(now, { local: { family: "IPv4", address: ME, port: 40000 }, remote: { family: "IPv4", address: from, port }, transport: "udp", data });
}

type Gateway = (req: Uint8Array) => Uint8Array | undefined;

/** PCP and NAT-PMP on one port, as miniupnpd runs them. */
const both: Gateway = (req) => {
  if (req[0] === 0) {
    expect(decodeNatPmpRequest(req).kind).toBe("external-address");
    return encodeNatPmpResponse({ kind: "external-address", resultCode: 0, epoch: 100, externalAddress: "203.0.113.7" });
  }
  const r = decodePcpRequest(req);
  expect(r).toMatchObject({ kind: "announce", lifetime: 0, clientAddress: ME });
  return encodePcpResponse({ kind: "announce", resultCode: 0, lifetime: 0, epoch: 100, options: [] });
};

/** A NAT-PMP gateway: UNSUPP_VERSION (RFC 6886 §3.5) to anything that is not version 0. */
const natPmpOnly: Gateway = (req) => {
  if (req[0] !== 0) return encodeNatPmpResponse({ kind: "unsupported-version", opcode: 0, epoch: 7 });
  return encodeNatPmpResponse({ kind: "external-address", resultCode: 0, epoch: 7, externalAddress: "198.51.100.9" });
};

/** Runs the probe against `gateway` until it reports; returns the result and when it came. */
function run(gateway: Gateway, drop = (_i: number) => false): { result: GatewayProbeResult; at: number; sent: number } {
  const p = new GatewayProbe({ gateway: GW, clientAddress: ME });
  p.start(0);
  let now = 0;
  let i = 0;
  let sent = 0;
  for (;;) {
    const { tx, ev } = drain(p);
    if (ev.length > 0) return { result: ev[0]!, at: now, sent };
    for (const t of tx) {
      sent++;
      expect(t.remote).toEqual({ family: "IPv4", address: GW, port: 5351 });
      const answer = drop(i++) ? undefined : gateway(t.data);
      if (answer) deliver(p, now + 2, answer);
    }
    const more = drain(p);
    if (more.ev.length > 0) return { result: more.ev[0]!, at: now + 2, sent };
    const at = p.pollTimeout();
    if (at === undefined) throw new Error("probe stopped without a result");
    now = at;
    p.handleTimeout(now);
  }
}

describe("GatewayProbe", () => {
  it("reports PCP and NAT-PMP when the gateway answers both, as soon as both answered", () => {
    const { result, at, sent } = run(both);
    expect(result).toEqual({ type: "result", pcp: true, natpmp: true, externalAddress: "203.0.113.7", pcpResultCode: 0, natPmpResultCode: 0 });
    expect(at).toBe(2);
    expect(sent).toBe(2);
  });

  it("reads a version-0 answer to the PCP request as NAT-PMP only (RFC 6887 §9)", () => {
    const { result } = run(natPmpOnly);
    expect(result).toMatchObject({ pcp: false, natpmp: true, externalAddress: "198.51.100.9", pcpResultCode: undefined });
  });

  it("resends only the unanswered request and gives up at 1750 ms on silence (250 ms doubling, 3 sends)", () => {
    const p = new GatewayProbe({ gateway: GW, clientAddress: ME });
    p.start(0);
    const times: number[] = [];
    for (const _ of drain(p).tx) times.push(0);
    let result: GatewayProbeResult | undefined;
    for (let at = p.pollTimeout(); at !== undefined; at = p.pollTimeout()) {
      p.handleTimeout(at);
      const { tx, ev } = drain(p);
      for (const _ of tx) times.push(at);
      if (ev[0]) result = ev[0];
      if (at === 250) {
        // NAT-PMP answers late: only PCP is resent from now on.
        deliver(p, 260, both(encodeNatPmpRequestBytes())!);
      }
    }
    expect(times).toEqual([0, 0, 250, 250, 750]);
    expect(result).toMatchObject({ pcp: false, natpmp: true, externalAddress: "203.0.113.7" });
    expect(p.done).toBe(true);
  });

  it("reports neither when nothing answers, after exactly 3 sends of each", () => {
    const { result, at, sent } = run(() => undefined);
    expect(result).toMatchObject({ pcp: false, natpmp: false, externalAddress: undefined });
    expect(at).toBe(1750);
    expect(sent).toBe(6);
  });

  it("survives a lost first answer: the retransmission gets through", () => {
    const { result, at } = run(both, (i) => i === 0);
    expect(result).toMatchObject({ pcp: true, natpmp: true });
    expect(at).toBe(252);
  });

  it("counts a PCP error answer as PCP spoken, with its result code", () => {
    const gw: Gateway = (req) => (req[0] === 0 ? both(req) : encodePcpResponse({ kind: "announce", resultCode: 2, lifetime: 30, epoch: 1, options: [] }));
    expect(run(gw).result).toMatchObject({ pcp: true, natpmp: true, pcpResultCode: 2 });
  });

  it("drops answers from another address or port, and never throws on random bytes", () => {
    const p = new GatewayProbe({ gateway: GW, clientAddress: ME });
    p.start(0);
    drain(p);
    deliver(p, 1, both(encodeNatPmpRequestBytes())!, "192.168.1.66");
    deliver(p, 1, both(encodeNatPmpRequestBytes())!, GW, 5350);
    expect(p.stats()).toMatchObject({ droppedForeign: 2 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
        deliver(p, 2, bytes);
      }),
    );
    expect(p.stats().droppedMalformed).toBeGreaterThan(0);
  });

  it("refuses misuse at the call", () => {
    expect(() => new GatewayProbe({ gateway: "router", clientAddress: ME })).toThrow(/not an IP address/);
    expect(() => new GatewayProbe({ gateway: GW, clientAddress: ME, transmissions: 0 })).toThrow(/transmissions/);
  });
});

function encodeNatPmpRequestBytes(): Uint8Array {
  return Uint8Array.of(0, 0);
}
