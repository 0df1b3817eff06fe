/**
 * A tiny STUN responder engine for the simulator's tests, standing in for the real STUN server
 * engine: it answers Binding requests with XOR-MAPPED-ADDRESS of the source, and supports the
 * RFC 5780 behaviour-discovery attributes (CHANGE-REQUEST, OTHER-ADDRESS, RESPONSE-ORIGIN) when
 * it listens on two addresses × two ports.
 */
import type { Engine, Received, Transmit, TransportAddress } from "../../src/index";
import {
  ChangeRequest,
  MessageClass,
  Method,
  OtherAddress,
  Queue,
  ResponseOrigin,
  StunMessageBuilder,
  XorMappedAddress,
  decodeStunMessage,
  newTransactionId,
} from "../../src/index";
import type { RandomSource } from "../../src/index";

/** What the responder reports: one event per request answered. */
export interface MiniStunEvent {
  readonly type: "request";
  readonly from: TransportAddress;
  readonly to: TransportAddress;
}

/** Two addresses and two ports: [primary, alternate]. */
export interface MiniStunConfig {
  readonly addresses: readonly [string, string] | readonly [string];
  readonly ports: readonly [number, number] | readonly [number];
}

/** Answers Binding requests; see the module comment. */
export class MiniStunServer implements Engine<MiniStunEvent> {
  readonly #cfg: MiniStunConfig;
  readonly #out = new Queue<Transmit>();
  readonly #events = new Queue<MiniStunEvent>();
  readonly #builder = new StunMessageBuilder();
  dropped = 0;

  constructor(cfg: MiniStunConfig) {
    this.#cfg = cfg;
  }

  handleReceive(_now: number, r: Received): void {
    let msg;
    try {
      msg = decodeStunMessage(r.data);
    } catch {
      this.dropped++;
      return;
    }
    if (msg.method !== Method.Binding || msg.messageClass !== MessageClass.Request) {
      this.dropped++;
      return;
    }
    const { addresses, ports } = this.#cfg;
    const change = msg.get(ChangeRequest) ?? { changeIp: false, changePort: false };
    const other = (list: readonly (string | number)[], v: string | number) => (list.length > 1 ? (list[0] === v ? list[1]! : list[0]!) : v);
    const srcAddress = change.changeIp ? (other(addresses, r.local.address) as string) : r.local.address;
    const srcPort = change.changePort ? (other(ports, r.local.port) as number) : r.local.port;
    const origin: TransportAddress = { family: r.local.family, address: srcAddress, port: srcPort };
    this.#builder.begin(Method.Binding, MessageClass.SuccessResponse, msg.transactionId).add(XorMappedAddress, r.remote).add(ResponseOrigin, origin);
    if (addresses.length > 1 && ports.length > 1) {
      this.#builder.add(OtherAddress, { family: r.local.family, address: other(addresses, r.local.address) as string, port: other(ports, r.local.port) as number });
    }
    const data = this.#builder.finish().slice();
    this.#out.push({ local: origin, remote: r.remote, transport: "udp", data });
    this.#events.push({ type: "request", from: r.remote, to: r.local });
  }

  handleTimeout(): void {}
  pollTransmit(): Transmit | undefined {
    return this.#out.shift();
  }
  pollTimeout(): number | undefined {
    return undefined;
  }
  pollEvent(): MiniStunEvent | undefined {
    return this.#events.shift();
  }
}

/** A Binding request, optionally with CHANGE-REQUEST. */
export function bindingRequest(random: RandomSource, change?: { changeIp: boolean; changePort: boolean }): { data: Uint8Array; tid: string } {
  const b = new StunMessageBuilder().begin(Method.Binding, MessageClass.Request, newTransactionId(random));
  if (change) b.add(ChangeRequest, change);
  const data = b.finish().slice();
  return { data, tid: decodeStunMessage(data).transactionIdHex };
}

/** The XOR-MAPPED-ADDRESS of a response with transaction id `tid` among `received`, if any. */
export function mappedFrom(received: readonly Received[], tid: string): { mapped: TransportAddress; from: TransportAddress } | undefined {
  for (const r of received) {
    try {
      const m = decodeStunMessage(r.data);
      if (m.transactionIdHex === tid && m.messageClass === MessageClass.SuccessResponse) {
        const mapped = m.get(XorMappedAddress);
        if (mapped) return { mapped, from: r.remote };
      }
    } catch {
      // not STUN
    }
  }
  return undefined;
}
