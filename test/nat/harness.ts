/**
 * A scripted world for the discovery tests: one client socket, an optional NAT with configurable
 * RFC 4787 mapping and filtering, and an RFC 5780 server on two IPs × two ports (§6.1 Table 1:
 * CHANGE-REQUEST, RESPONSE-ORIGIN, OTHER-ADDRESS). Not the simulator: a few functions that play
 * NAT and server on a virtual clock, so that each test states its world in one object.
 */
import type { Received, TransportAddress, Transmit } from "../../src/index";
import {
  ChangeRequest,
  ErrorCode,
  MappedAddress,
  MessageClass,
  Method,
  OtherAddress,
  ResponseOrigin,
  StunMessageBuilder,
  UnknownAttributes,
  XorMappedAddress,
  decodeStunMessage,
} from "../../src/index";
import type { FilteringBehavior, MappingBehavior, NatDiscoveryEvent, NatDiscoveryOptions, NatReport } from "../../src/nat/index";
import { NatDiscovery } from "../../src/nat/index";

const v4 = (address: string, port: number): TransportAddress => ({ family: "IPv4", address, port });

/** The server's primary and alternate IPs and ports (RFC 5780 §6.1's A1, A2, P1, P2). */
export const A1 = "192.0.2.1";
export const A2 = "192.0.2.2";
export const P1 = 3478;
export const P2 = 3479;
export const SERVER = v4(A1, P1);
/** The NAT's external IP. */
export const NAT_IP = "203.0.113.5";
/** The client's socket behind the NAT. */
export const PRIVATE_LOCAL = v4("192.168.1.10", 40000);
/** The client's socket when there is no NAT (a public address). */
export const PUBLIC_LOCAL = v4("198.51.100.7", 40000);
/** First external port the scripted NAT hands out (no port preservation unless asked). */
export const FIRST_PORT = 50000;

/** The NAT (or, with `translate: false`, a stateful firewall) between client and server. */
export interface NatModel {
  readonly mapping: MappingBehavior;
  readonly filtering: FilteringBehavior;
  /** False: no translation (identity mapping), filtering only. Default true. */
  readonly translate?: boolean;
  /** RFC 4787 §6, with the external source (REQ-9a). Default false. */
  readonly hairpinning?: boolean;
  /** RFC 4787 §4.2.1: keep the internal port for the first mapping. Default false. */
  readonly portPreserving?: boolean;
}

/** Everything a test can vary about the world. */
export interface World {
  /** Undefined: no NAT, no firewall. */
  readonly nat?: NatModel;
  /** Drop every UDP datagram both ways. */
  readonly udpBlocked?: boolean;
  /** The server answers Binding over TCP (default true). */
  readonly tcpReachable?: boolean;
  /** The server has its second IP and port (default true); without, no OTHER-ADDRESS and 420 to CHANGE-REQUEST. */
  readonly alternate?: boolean;
  /** The server's alternate IP drops what is sent to it (it still sends from it). */
  readonly alternateDeaf?: boolean;
  /** A broken server that answers CHANGE-REQUEST from the address the request came to. */
  readonly ignoreChangeRequest?: boolean;
  /** The server answers every request with this error code. */
  readonly errorCode?: number;
  /** One-way latency, ms (default 10). */
  readonly latency?: number;
}

/** Chooses the key a mapping or filter entry depends on (RFC 4787 §4.1, §5). */
function dependence(kind: MappingBehavior | FilteringBehavior, remote: TransportAddress): string {
  if (kind === "endpoint-independent") return "*";
  if (kind === "address-dependent") return remote.address;
  return `${remote.address}:${remote.port}`;
}

/** RFC 4787 NAT: mappings by (internal, destination key), filters by (external port, source key). */
class ScriptedNat {
  readonly #model: NatModel;
  readonly #mappings = new Map<string, TransportAddress>();
  readonly #internalByPort = new Map<number, TransportAddress>();
  readonly #permits = new Set<string>();
  #nextPort = FIRST_PORT;

  constructor(model: NatModel) {
    this.#model = model;
  }

  get translate(): boolean {
    return this.#model.translate ?? true;
  }

  get hairpinning(): boolean {
    return this.#model.hairpinning ?? false;
  }

  /** An outbound datagram from `internal` to `remote`: returns its external source, records the filter entry. */
  outbound(internal: TransportAddress, remote: TransportAddress): TransportAddress {
    let external: TransportAddress;
    if (!this.translate) {
      external = internal;
      this.#internalByPort.set(internal.port, internal);
    } else {
      const key = `${internal.address}:${internal.port}|${dependence(this.#model.mapping, remote)}`;
      const existing = this.#mappings.get(key);
      if (existing !== undefined) external = existing;
      else {
        const port = this.#model.portPreserving && !this.#internalByPort.has(internal.port) ? internal.port : this.#nextPort++;
        external = v4(NAT_IP, port);
        this.#mappings.set(key, external);
        this.#internalByPort.set(port, internal);
      }
    }
    this.#permits.add(`${external.port}|${dependence(this.#model.filtering, remote)}`);
    return external;
  }

  /** An inbound datagram from `remote` to external port `port`: the internal destination, or undefined when filtered. */
  inbound(remote: TransportAddress, port: number): TransportAddress | undefined {
    const internal = this.#internalByPort.get(port);
    if (internal === undefined) return undefined;
    if (!this.#permits.has(`${port}|${dependence(this.#model.filtering, remote)}`)) return undefined;
    return internal;
  }
}

/** RFC 5780 §6.1: the answer of a server on A1/A2 × P1/P2 to a datagram from `from` to `to`. */
function serve(world: World, data: Uint8Array, from: TransportAddress, to: TransportAddress): { source: TransportAddress; data: Uint8Array } | undefined {
  const alternate = world.alternate ?? true;
  const ips = alternate ? [A1, A2] : [A1];
  const ports = alternate ? [P1, P2] : [P1];
  if (!ips.includes(to.address) || !ports.includes(to.port)) return undefined;
  if (world.alternateDeaf && to.address === A2) return undefined;
  let req;
  try {
    req = decodeStunMessage(data);
  } catch {
    return undefined;
  }
  if (req.messageClass !== MessageClass.Request || req.method !== Method.Binding) return undefined;
  const b = new StunMessageBuilder();
  const change = req.get(ChangeRequest);
  if (world.errorCode !== undefined) {
    b.begin(Method.Binding, MessageClass.ErrorResponse, req.transactionId).add(ErrorCode, { code: world.errorCode, reason: "Refused" });
    return { source: to, data: b.addFingerprint().finish().slice() };
  }
  if (change !== undefined && !alternate) {
    // §6.1: "the server MUST generate an error response of type 420".
    b.begin(Method.Binding, MessageClass.ErrorResponse, req.transactionId)
      .add(ErrorCode, { code: 420, reason: "Unknown Attribute" })
      .add(UnknownAttributes, [0x0003]);
    return { source: to, data: b.addFingerprint().finish().slice() };
  }
  const otherIp = to.address === A1 ? A2 : A1;
  const otherPort = to.port === P1 ? P2 : P1;
  const honour = change !== undefined && !world.ignoreChangeRequest;
  const source = v4(honour && change.changeIp ? otherIp : to.address, honour && change.changePort ? otherPort : to.port);
  b.begin(Method.Binding, MessageClass.SuccessResponse, req.transactionId)
    .add(XorMappedAddress, from)
    .add(MappedAddress, from)
    .add(ResponseOrigin, source);
  if (alternate) b.add(OtherAddress, v4(otherIp, otherPort));
  return { source, data: b.addFingerprint().finish().slice() };
}

/** What a run produced. */
export interface Run {
  readonly report: NatReport;
  readonly events: NatDiscoveryEvent[];
  /** Every transmit, with the virtual time it was drained at. */
  readonly sent: { at: number; t: Transmit }[];
  /** Virtual time of the `done` event. */
  readonly doneAt: number;
  readonly engine: NatDiscovery;
}

/** Options for {@link runDiscovery} beyond the engine's own. */
export interface RunOptions {
  /** The `local` the driver reports in each {@link Received} (default: the socket's address). */
  readonly receivedLocal?: TransportAddress;
}

/**
 * Runs a {@link NatDiscovery} in `world` to completion on a virtual clock. `options.server`
 * defaults to {@link SERVER} and `options.local` to the client socket for the world.
 */
export function runDiscovery(world: World, options: Partial<NatDiscoveryOptions> = {}, run: RunOptions = {}): Run {
  const latency = world.latency ?? 10;
  const nat = world.nat !== undefined ? new ScriptedNat(world.nat) : undefined;
  const socket = nat?.translate === false || nat === undefined ? PUBLIC_LOCAL : PRIVATE_LOCAL;
  const engine = new NatDiscovery({ server: SERVER, local: socket, random: counterRandom(), ...options });
  /** Datagrams on their way to the client; `natPort` set when the NAT's filter must let them in. */
  const inflight: { at: number; seq: number; rx: Received; natPort?: number }[] = [];
  let seq = 0;
  const sent: { at: number; t: Transmit }[] = [];
  const events: NatDiscoveryEvent[] = [];
  const deliver = (at: number, remote: TransportAddress, data: Uint8Array, transport: Received["transport"] = "udp"): void => {
    inflight.push({ at, seq: seq++, rx: { local: run.receivedLocal ?? socket, remote, transport, data } });
  };

  const route = (now: number, t: Transmit): void => {
    if (t.transport !== "udp") {
      if (world.tcpReachable === false) return;
      const answer = serve(world, t.data, v4(NAT_IP, 61000), t.remote);
      if (answer !== undefined) deliver(now + 2 * latency, answer.source, answer.data, t.transport);
      return;
    }
    if (world.udpBlocked) return;
    // Hairpinning (RFC 4787 §6): to the NAT's own external address.
    if (nat !== undefined && nat.translate && t.remote.address === NAT_IP) {
      if (!nat.hairpinning) return;
      const src = nat.outbound(socket, t.remote);
      if (nat.inbound(src, t.remote.port) !== undefined) deliver(now + 1, src, t.data);
      return;
    }
    const external = nat !== undefined ? nat.outbound(socket, t.remote) : socket;
    const answer = serve(world, t.data, external, t.remote);
    if (answer === undefined) return;
    // The NAT filters at arrival time, with the state it has then.
    inflight.push({
      at: now + 2 * latency,
      seq: seq++,
      rx: { local: run.receivedLocal ?? socket, remote: answer.source, transport: "udp", data: answer.data },
      ...(nat !== undefined ? { natPort: external.port } : {}),
    });
  };

  let now = 0;
  engine.start(now);
  let doneAt: number | undefined;
  for (let step = 0; step < 10_000 && doneAt === undefined; step++) {
    for (let t; (t = engine.pollTransmit()); ) {
      sent.push({ at: now, t });
      route(now, t);
    }
    for (let e; (e = engine.pollEvent()); ) {
      events.push(e);
      if (e.type === "done") doneAt = now;
    }
    if (doneAt !== undefined) break;
    inflight.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const timeout = engine.pollTimeout();
    const next = inflight[0];
    if (next !== undefined && (timeout === undefined || next.at <= timeout)) {
      inflight.shift();
      now = next.at;
      if (next.natPort !== undefined && nat !== undefined && nat.inbound(next.rx.remote, next.natPort) === undefined) continue;
      engine.handleReceive(now, next.rx);
    } else if (timeout !== undefined) {
      now = timeout;
      engine.handleTimeout(now);
    } else {
      throw new Error("discovery stalled: nothing in flight and no timeout");
    }
  }
  const done = events.find((e) => e.type === "done");
  if (done?.type !== "done" || doneAt === undefined) throw new Error("discovery did not finish");
  return { report: done.report, events, sent, doneAt, engine };
}

/** A random source that counts up, so transaction ids are distinct and runs replay. */
export function counterRandom(): (out: Uint8Array) => void {
  let n = 0;
  return (out) => {
    n++;
    for (let i = 0; i < out.length; i++) out[i] = (n * 31 + i) & 0xff;
  };
}

export { v4 };
