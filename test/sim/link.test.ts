import { describe, expect, it } from "vitest";
import type { LinkOptions } from "../../src/sim/index";
import { Network } from "../../src/sim/index";

/** Sends `n` numbered datagrams of `size` bytes, 1 ms apart, over a sender link with `options`. */
function blast(options: LinkOptions, n = 400, size = 100) {
  const net = new Network({ seed: 71 });
  const sender = net.host("192.0.2.1", { link: options });
  const a = sender.bind(1000);
  const b = net.host("192.0.2.2").bind(2000);
  const arrivals: { seq: number; time: number }[] = [];
  b.onReceive = (r, now) => arrivals.push({ seq: new DataView(r.data.buffer, r.data.byteOffset).getUint32(0), time: now });
  for (let i = 0; i < n; i++) {
    net.at(i, () => {
      const data = new Uint8Array(size);
      new DataView(data.buffer).setUint32(0, i);
      a.send({ remote: b.local, data });
    });
  }
  net.run();
  return { net, link: sender.link, arrivals };
}

describe("links", () => {
  it("loss drops about the configured share, counted on the link and in the trace", () => {
    const { net, link, arrivals } = blast({ loss: 0.25 });
    expect(link.stats.lost).toBeGreaterThan(60);
    expect(link.stats.lost).toBeLessThan(140);
    expect(arrivals.length + link.stats.lost).toBe(400);
    expect(net.stats().drops.loss).toBe(link.stats.lost);
    expect(net.trace.filter((e) => e.reason === "loss").every((e) => e.at === "192.0.2.1:up")).toBe(true);
  });

  it("duplication delivers extra copies with the same packet number", () => {
    const { net, link, arrivals } = blast({ duplicate: 0.5 });
    expect(link.stats.duplicated).toBeGreaterThan(150);
    expect(arrivals.length).toBe(400 + link.stats.duplicated);
    expect(net.stats().duplicated).toBe(link.stats.duplicated);
    const dup = net.trace.find((e) => e.kind === "duplicate")!;
    expect(net.trace.filter((e) => e.kind === "deliver" && e.packet === dup.packet)).toHaveLength(2);
  });

  it("datagrams larger than the MTU (IP + UDP headers counted) are dropped and counted", () => {
    const net = new Network();
    const a = net.host("192.0.2.1", { link: { mtu: 576 } }).bind(1);
    const b = net.host("192.0.2.2").bind(2);
    for (const size of [548, 549, 1000]) a.send({ remote: b.local, data: new Uint8Array(size) });
    net.run();
    expect(b.received.map((r) => r.data.length)).toEqual([548]);
    expect(a.host.link.stats.mtu).toBe(2);
    expect(net.stats().drops.mtu).toBe(2);
    expect(net.trace.filter((e) => e.reason === "mtu").map((e) => e.bytes)).toEqual([549, 1000]);
  });

  it("IPv6 headers count against the MTU too", () => {
    const net = new Network();
    const a = net.host("2001:db8::1", { link: { mtu: 1280 } }).bind(1);
    const b = net.host("2001:db8::2").bind(2);
    for (const size of [1232, 1233]) a.send({ remote: b.local, data: new Uint8Array(size) });
    net.run();
    expect(b.received.map((r) => r.data.length)).toEqual([1232]);
  });

  it("bandwidth serializes datagrams one after another; a full queue drops", () => {
    // 1 Mbit/s, 1250 bytes on the wire each: 10 ms per datagram.
    const net = new Network();
    const a = net.host("192.0.2.1", { link: { bandwidth: 1_000_000, delay: 5, queue: 5_000 } }).bind(1);
    const b = net.host("192.0.2.2").bind(2);
    const times: number[] = [];
    b.onReceive = (_r, now) => times.push(now);
    for (let i = 0; i < 6; i++) a.send({ remote: b.local, data: new Uint8Array(1250 - 28) });
    net.run();
    expect(times.map((t) => Math.round(t * 1000) / 1000)).toEqual([15, 25, 35, 45]);
    expect(a.host.link.stats.queue).toBe(2);
  });

  it("jitter and explicit reordering change the arrival order; nothing is lost", () => {
    for (const options of [{ delay: 50, jitter: 20 }, { delay: 10, reorder: 0.3 }]) {
      const { arrivals } = blast(options, 100);
      expect(arrivals).toHaveLength(100);
      const order = arrivals.map((a) => a.seq);
      expect(order).not.toEqual([...order].sort((x, y) => x - y));
      for (const a of arrivals) {
        expect(a.time - a.seq).toBeGreaterThanOrEqual(options.delay - ("jitter" in options ? options.jitter : 0));
      }
    }
  });

  it("a perfect link keeps order", () => {
    const { arrivals } = blast({ delay: 10 }, 50);
    expect(arrivals.map((a) => a.seq)).toEqual([...Array(50).keys()]);
  });

  it("conditions can change mid-run", () => {
    const net = new Network();
    const host = net.host("192.0.2.1");
    const a = host.bind(1);
    const b = net.host("192.0.2.2").bind(2);
    a.send({ remote: b.local, data: new Uint8Array(1) });
    net.run();
    host.link.configure({ loss: 1 });
    a.send({ remote: b.local, data: new Uint8Array(1) });
    net.run();
    expect(b.received).toHaveLength(1);
    expect(host.link.options.loss).toBe(1);
    expect(() => host.link.configure({ loss: 2 })).toThrow(/loss/);
  });
});
