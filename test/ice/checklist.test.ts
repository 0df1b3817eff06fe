/**
 * The checklist on its own: ordering, pair states by RFC 8838 §12's rules, the frozen
 * algorithm (RFC 8445 §6.1.2.6, §6.1.4.2, §7.2.5.3.3), the triggered-check queue and the limit.
 */
import { describe, expect, it } from "vitest";
import type { TransportAddress } from "../../src/bytes/ip";
import type { IceCandidate } from "../../src/ice/candidate";
import { Checklist } from "../../src/ice/checklist";
import { CandidatePair, localKey, remoteKey } from "../../src/ice/pair";
import type { LocalCandidate, RemoteCandidate } from "../../src/ice/pair";

let ids = 0;

function local(foundation: string, port: number, priority: number, component = 1): LocalCandidate {
  const address: TransportAddress = { family: "IPv4", address: "192.0.2.1", port };
  const candidate: IceCandidate = { foundation, component, transport: "udp", priority, address: address.address, port, type: "host" };
  const l = { candidate, address, component, localPreference: 65535, relay: undefined, key: localKey("host", address) } as LocalCandidate & { base: LocalCandidate };
  (l as { base: LocalCandidate }).base = l;
  return l;
}

function remote(foundation: string, port: number, priority: number, component = 1): RemoteCandidate {
  const address: TransportAddress = { family: "IPv4", address: "198.51.100.1", port };
  return { candidate: { foundation, component, transport: "udp", priority, address: address.address, port, type: "host" }, address, component, key: remoteKey(component, address) };
}

function pair(l: LocalCandidate, r: RemoteCandidate): CandidatePair {
  const p = new CandidatePair(++ids, l, r);
  p.updatePriority(true);
  return p;
}

describe("Checklist", () => {
  it("keeps pairs in priority order, lower component first on ties", () => {
    const cl = new Checklist(100);
    const l1 = local("L", 1, 100);
    const l2 = local("L", 2, 100, 2);
    const a = pair(l1, remote("A", 1, 50));
    const b = pair(l1, remote("B", 2, 70));
    const c = pair(l2, remote("C", 3, 70, 2));
    for (const p of [a, c, b]) cl.add(p);
    expect(cl.pairs).toEqual([b, c, a]);
  });

  it("sets Waiting the topmost pair of each foundation and freezes the rest (§6.1.2.6, RFC 8838 §12 rules 1, 3)", () => {
    const cl = new Checklist(100);
    const l = local("L", 1, 100);
    const hi = pair(l, remote("X", 1, 90));
    const lo = pair(l, remote("X", 2, 80));
    const other = pair(l, remote("Y", 3, 70));
    for (const p of [hi, lo, other]) cl.add(p);
    expect([hi.state, lo.state, other.state]).toEqual(["waiting", "frozen", "waiting"]);
  });

  it("sets Waiting a new pair whose foundation has a Succeeded pair (RFC 8838 §12 rule 2)", () => {
    const cl = new Checklist(100);
    const l = local("L", 1, 100);
    const first = pair(l, remote("X", 1, 90));
    cl.add(first);
    first.state = "succeeded";
    const later = pair(l, remote("X", 2, 80));
    cl.add(later);
    expect(later.state).toBe("waiting");
  });

  it("picks triggered checks first, then the best Waiting pair (§6.1.4.2)", () => {
    const cl = new Checklist(100);
    const l = local("L", 1, 100);
    const a = pair(l, remote("A", 1, 90));
    const b = pair(l, remote("B", 2, 80));
    cl.add(a);
    cl.add(b);
    cl.enqueueTriggered(b);
    cl.enqueueTriggered(b);
    expect(cl.next()).toEqual({ pair: b, triggered: true });
    expect(cl.next()).toEqual({ pair: a, triggered: false });
  });

  it("unfreezes one pair per idle foundation when nothing is Waiting (§6.1.4.2 step 2)", () => {
    const cl = new Checklist(100);
    const l = local("L", 1, 100);
    const x1 = pair(l, remote("X", 1, 90));
    const x2 = pair(l, remote("X", 2, 85));
    const x3 = pair(l, remote("X", 3, 80));
    for (const p of [x1, x2, x3]) cl.add(p);
    x1.state = "in-progress";
    // X is busy: nothing can be checked until its check ends.
    expect(cl.canCheck()).toBe(false);
    expect(cl.next()).toBeUndefined();
    x1.state = "failed";
    expect(cl.canCheck()).toBe(true);
    expect(cl.next()?.pair).toBe(x2);
    expect(x3.state).toBe("frozen");
  });

  it("unfreezes a foundation when one of its pairs succeeds (§7.2.5.3.3)", () => {
    const cl = new Checklist(100);
    const l = local("L", 1, 100);
    const ps = [pair(l, remote("X", 1, 90)), pair(l, remote("X", 2, 85)), pair(l, remote("Y", 3, 80))];
    for (const p of ps) cl.add(p);
    ps[0]!.state = "succeeded";
    cl.unfreezeFoundation(ps[0]!.foundation);
    expect(ps.map((p) => p.state)).toEqual(["succeeded", "waiting", "waiting"]);
  });

  it("refuses a redundant pair (§6.1.2.4)", () => {
    const cl = new Checklist(100);
    const l = local("L", 1, 100);
    const r = remote("A", 1, 90);
    expect(cl.add(pair(l, r))).toBe("added");
    expect(cl.add(pair(l, r))).toBe("redundant");
    expect(cl.size).toBe(1);
  });

  it("at the limit discards a Failed pair first, then a lower-priority idle one, else refuses (RFC 8838 §10)", () => {
    const evicted: CandidatePair[] = [];
    const cl = new Checklist(2, (p) => evicted.push(p));
    const l = local("L", 1, 100);
    const a = pair(l, remote("A", 1, 90));
    const b = pair(l, remote("B", 2, 80));
    cl.add(a);
    cl.add(b);
    a.state = "failed";
    const c = pair(l, remote("C", 3, 10));
    expect(cl.add(c)).toBe("added");
    expect(evicted).toEqual([a]);
    const d = pair(l, remote("D", 4, 50));
    expect(cl.add(d)).toBe("added");
    expect(evicted).toEqual([a, c]);
    b.state = "in-progress";
    d.state = "in-progress";
    expect(cl.add(pair(l, remote("E", 5, 95)))).toBe("full");
    expect(cl.pairs).toEqual([b, d]);
  });

  it("removes a component's pairs from the list and the triggered queue (§8.1.2)", () => {
    const cl = new Checklist(100);
    const p1 = pair(local("L", 1, 100), remote("A", 1, 90));
    const p2 = pair(local("L", 2, 100, 2), remote("A", 2, 90, 2));
    cl.add(p1);
    cl.add(p2);
    cl.enqueueTriggered(p1);
    expect(cl.removeComponent(1)).toEqual([p1]);
    expect(cl.pairs).toEqual([p2]);
    expect(cl.isTriggered(p1)).toBe(false);
    expect(p1.inChecklist).toBe(false);
  });
});
