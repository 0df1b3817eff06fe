/**
 * The packet trace: one record per thing that happens to a datagram (sent, forwarded by a
 * router, translated by a NAT, duplicated by a link, delivered, dropped), with the virtual time,
 * where it happened and why a drop happened.
 *
 * The trace is what makes a simulated run checkable: {@link traceHash} condenses it to 16 hex
 * digits (FNV-1a 64 over the JSON lines), so a test can assert that two runs with the same seed
 * were identical packet for packet, and {@link formatTrace} prints it for a human.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { formatTransportAddress } from "../bytes/ip";

/**
 * What happened to a packet.
 *
 * @example
 * ```ts
 * // One STUN Binding transaction through a NAT, request then response:
 * net.trace.map((e) => e.kind); // → ["send", "hop", "translate", "hop", "deliver", "send", ...]
 * ```
 */
export type TraceKind =
  /** A socket handed the datagram to the network. */
  | "send"
  /** A router (the internet, or a NAT's LAN) forwarded it towards `to`. */
  | "hop"
  /** A NAT rewrote its addresses; `translated` holds the new ones. */
  | "translate"
  /** A link delivered it twice; the copy has the same packet number. */
  | "duplicate"
  /** It reached a socket. */
  | "deliver"
  /** It was discarded; `reason` says why. */
  | "drop";

/**
 * Why a packet was discarded.
 *
 * @example
 * ```ts
 * // A stranger sends to alice's mapping on a port-restricted cone NAT:
 * const stranger = net.host("192.0.2.66").bind();
 * stranger.send({ remote: { family: "IPv4", address: "198.51.100.1", port: 5000 }, data: Uint8Array.of(1) });
 * net.run();
 * net.trace.filter((e) => e.kind === "drop").map((e) => e.reason); // → ["filtered"]
 * ```
 */
export type DropReason =
  /** A link lost it (its `loss` probability). */
  | "loss"
  /** Larger than the link's MTU once IP and UDP headers are counted; no fragmentation is modelled. */
  | "mtu"
  /** The link's send queue was full (its `queue` limit in bytes). */
  | "queue"
  /** No route to the destination (or no interface of the destination's family). */
  | "no-route"
  /** Hop limit reached: a routing loop. */
  | "ttl"
  /** Arrived at a NAT's external address where no live mapping exists (RFC 4787 §4.3 expiry included). */
  | "no-mapping"
  /** A NAT's filter refused it (RFC 4787 §5). */
  | "filtered"
  /** A firewall that drops all UDP. */
  | "blocked"
  /** Sent to the NAT's own external address by an internal host, and hairpinning is off (RFC 4787 §6). */
  | "hairpin"
  /** The NAT had no free external port. */
  | "exhausted"
  /** No socket is bound to the destination port. */
  | "port-unreachable"
  /** A transport the simulator does not carry (only UDP is modelled). */
  | "transport";

/**
 * One record of the trace.
 *
 * @example
 * ```ts
 * net.trace[0]; // → { time: 0, kind: "send", at: "alice", packet: 1, bytes: 28,
 * //   src: { family: "IPv4", address: "192.168.1.2", port: 5000 },
 * //   dst: { family: "IPv4", address: "192.0.2.10", port: 3478 } }
 * const network = new Network({ onTrace: (e: TraceEvent) => console.log(formatTraceEvent(e)) });
 * ```
 */
export interface TraceEvent {
  /** Virtual time in ms. */
  readonly time: number;
  /** What happened. */
  readonly kind: TraceKind;
  /** Where: a host, a NAT, a router (`internet`, `<nat>.lan`) or a link (`<node>:up`, `<node>:down`). */
  readonly at: string;
  /** The packet's number, the same across hops, translations and duplicates. */
  readonly packet: number;
  /** Source as the packet carried it at that point. */
  readonly src: TransportAddress;
  /** Destination as the packet carried it at that point. */
  readonly dst: TransportAddress;
  /** UDP payload length. */
  readonly bytes: number;
  /** For `drop`: why. */
  readonly reason?: DropReason;
  /** For `hop`: the node the router hands it to. */
  readonly to?: string;
  /** For `translate`: the addresses after translation. */
  readonly translated?: { readonly src: TransportAddress; readonly dst: TransportAddress };
}

/**
 * Counters over a whole network.
 *
 * @example
 * ```ts
 * // After one STUN Binding transaction through a NAT:
 * net.stats(); // → { sent: 2, delivered: 2, translated: 2, duplicated: 0, dropped: 0, drops: {} }
 * ```
 */
export interface NetworkStats {
  /** Datagrams handed to the network by sockets. */
  sent: number;
  /** Datagrams handed to sockets (duplicates included). */
  delivered: number;
  /** NAT translations (a hairpinned packet counts twice). */
  translated: number;
  /** Extra copies made by links. */
  duplicated: number;
  /** Datagrams dropped, all reasons. */
  dropped: number;
  /** Datagrams dropped, by reason. */
  drops: Partial<Record<DropReason, number>>;
}

/**
 * The JSON line of one event: the form {@link traceHash} hashes. Key order is fixed.
 *
 * @example
 * ```ts
 * traceLine(net.trace[0]!);
 * // → '{"time":0,"kind":"send","at":"alice","packet":1,"src":{"family":"IPv4","address":"192.168.1.2","port":5000},...,"bytes":28}'
 * ```
 */
export function traceLine(event: TraceEvent): string {
  return JSON.stringify(event);
}

/**
 * The whole trace as JSON lines, each ending in a newline.
 *
 * @example
 * ```ts
 * writeFileSync("run.jsonl", traceJson(net.trace)); // the same text as net.traceJson()
 * ```
 */
export function traceJson(events: readonly TraceEvent[]): string {
  let s = "";
  for (const e of events) s += traceLine(e) + "\n";
  return s;
}

/**
 * One event as a line of text: time, kind, place, packet, addresses, and what happened.
 *
 * @example
 * ```ts
 * formatTraceEvent(net.trace[0]!);
 * // → "       0.000  send      alice              #1     192.168.1.2:5000 > 192.0.2.10:3478 28B"
 * ```
 */
export function formatTraceEvent(e: TraceEvent): string {
  const head = `${e.time.toFixed(3).padStart(12)}  ${e.kind.padEnd(9)} ${e.at.padEnd(18)} #${String(e.packet).padEnd(5)}`;
  let s = `${head} ${formatTransportAddress(e.src)} > ${formatTransportAddress(e.dst)} ${e.bytes}B`;
  if (e.translated) s += ` => ${formatTransportAddress(e.translated.src)} > ${formatTransportAddress(e.translated.dst)}`;
  if (e.to !== undefined) s += ` via ${e.to}`;
  if (e.reason !== undefined) s += ` (${e.reason})`;
  return s;
}

/**
 * The trace as printable text, one event per line.
 *
 * @example
 * ```ts
 * console.log(formatTrace(net.trace.filter((e) => e.at === "nat1")));
 * // →      10.000  translate nat1               #1     192.168.1.2:5000 > 192.0.2.10:3478 28B => 198.51.100.1:5000 > 192.0.2.10:3478
 * //         50.000  translate nat1               #2     192.0.2.10:3478 > 198.51.100.1:5000 40B => 192.0.2.10:3478 > 192.168.1.2:5000
 * ```
 */
export function formatTrace(events: readonly TraceEvent[]): string {
  return events.map(formatTraceEvent).join("\n");
}

/**
 * FNV-1a 64 of text's UTF-8 bytes, computed on four 16-bit limbs so that it stays exact in
 * JavaScript numbers. Feed chunks with {@link Fnv64.update}, read {@link Fnv64.hex}.
 *
 * @example
 * ```ts
 * new Fnv64().update("hello").hex();             // → "a430d84680aabd0b"
 * new Fnv64().update("hel").update("lo").hex();  // → "a430d84680aabd0b": chunking does not matter
 * new Fnv64().hex();                             // → "cbf29ce484222325", the offset basis
 * ```
 */
export class Fnv64 {
  // offset basis 0xcbf29ce484222325, lowest limb first
  #h0 = 0x2325;
  #h1 = 0x8422;
  #h2 = 0x9ce4;
  #h3 = 0xcbf2;
  static readonly #encoder = new TextEncoder();

  /** Hashes more text. */
  update(text: string): this {
    const bytes = Fnv64.#encoder.encode(text);
    let h0 = this.#h0;
    let h1 = this.#h1;
    let h2 = this.#h2;
    let h3 = this.#h3;
    for (let i = 0; i < bytes.length; i++) {
      h0 ^= bytes[i]!;
      // multiply by the FNV prime 0x100000001b3 = 2^40 + 0x1b3
      const t0 = h0 * 0x1b3;
      let t1 = h1 * 0x1b3;
      let t2 = h2 * 0x1b3 + h0 * 0x100;
      let t3 = h3 * 0x1b3 + h1 * 0x100;
      t1 += t0 >>> 16;
      t2 += t1 >>> 16;
      t3 += t2 >>> 16;
      h0 = t0 & 0xffff;
      h1 = t1 & 0xffff;
      h2 = t2 & 0xffff;
      h3 = t3 & 0xffff;
    }
    this.#h0 = h0;
    this.#h1 = h1;
    this.#h2 = h2;
    this.#h3 = h3;
    return this;
  }

  /** The hash so far as 16 hex digits. */
  hex(): string {
    return [this.#h3, this.#h2, this.#h1, this.#h0].map((v) => v.toString(16).padStart(4, "0")).join("");
  }
}

/**
 * FNV-1a 64 over the trace's JSON lines ({@link traceJson}), as 16 hex digits.
 *
 * @example
 * ```ts
 * // Two runs of the same program with the same seed:
 * expect(traceHash(run(7).trace)).toBe(traceHash(run(7).trace)); // e.g. "5cae114cd5330de8" both times
 * ```
 */
export function traceHash(events: readonly TraceEvent[]): string {
  const h = new Fnv64();
  for (const e of events) h.update(traceLine(e) + "\n");
  return h.hex();
}

/**
 * Records events for a network: keeps them (unless told not to), hashes them as they come, and
 * counts. Internal to the simulator.
 *
 * @example
 * ```ts
 * const tracer = new Tracer(true, undefined);
 * tracer.record({ time: 0, kind: "send", at: "alice", packet: 1, src, dst, bytes: 28 });
 * tracer.stats.sent;                          // → 1
 * tracer.hash() === traceHash(tracer.events); // → true
 * ```
 */
export class Tracer {
  /** Every event so far, when keeping is on. */
  readonly events: TraceEvent[] = [];
  readonly #keep: boolean;
  readonly #listener: ((event: TraceEvent) => void) | undefined;
  readonly #hash = new Fnv64();
  readonly stats: NetworkStats = { sent: 0, delivered: 0, translated: 0, duplicated: 0, dropped: 0, drops: {} };

  /**
   * @param keep - keep the events in {@link events}
   * @param listener - called with each event as it happens
   */
  constructor(keep: boolean, listener: ((event: TraceEvent) => void) | undefined) {
    this.#keep = keep;
    this.#listener = listener;
  }

  /** Records one event and updates the counters. */
  record(event: TraceEvent): void {
    switch (event.kind) {
      case "send":
        this.stats.sent++;
        break;
      case "deliver":
        this.stats.delivered++;
        break;
      case "translate":
        this.stats.translated++;
        break;
      case "duplicate":
        this.stats.duplicated++;
        break;
      case "drop": {
        this.stats.dropped++;
        const r = event.reason ?? "no-route";
        this.stats.drops[r] = (this.stats.drops[r] ?? 0) + 1;
        break;
      }
      case "hop":
        break;
    }
    this.#hash.update(traceLine(event) + "\n");
    if (this.#keep) this.events.push(event);
    this.#listener?.(event);
  }

  /** FNV-1a 64 of every event recorded so far, kept or not. */
  hash(): string {
    return this.#hash.hex();
  }
}
