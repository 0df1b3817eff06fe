/**
 * A test engine wrapper that records every new transaction an ICE agent starts (for the pacing
 * tests, RFC 8445 §14.2): STUN/TURN requests, and the checks carried inside Send indications
 * and ChannelData.
 */
import type { IceAgent, IceAgentEvent } from "../../src/ice/agent";
import type { Engine, Received, Transmit } from "../../src/engine";
import { XorPeerAddress } from "../../src/stun/attributes/address";
import { ChannelNumber, Data } from "../../src/stun/attributes/turn";
import { MessageClass, Method } from "../../src/stun/constants";
import { decodeStunMessage } from "../../src/stun/message";
import type { StunMessage } from "../../src/stun/message";
import { isStunMessage } from "../../src/stun/demux";
import { decodeChannelData } from "../../src/turn/channel-data";

/** One new transaction on the wire: who, when, what (a TURN method, or "check" inside TURN). */
export interface Sent {
  readonly at: number;
  readonly who: string;
  readonly kind: "allocate" | "refresh" | "create-permission" | "channel-bind" | "binding" | "check";
}

const KIND: Partial<Record<number, Sent["kind"]>> = {
  [Method.Allocate]: "allocate",
  [Method.Refresh]: "refresh",
  [Method.CreatePermission]: "create-permission",
  [Method.ChannelBind]: "channel-bind",
  [Method.Binding]: "binding",
};

function decode(data: Uint8Array): StunMessage | undefined {
  if (!isStunMessage(data)) return undefined;
  try {
    return decodeStunMessage(data);
  } catch {
    return undefined;
  }
}

/**
 * Wraps an agent and records the first send of every request it starts: STUN/TURN requests to
 * servers and peers, and the checks carried in Send indications and ChannelData (a transaction
 * id not seen before from this agent). Also checks that no relayed check goes to a peer before
 * the agent asked the server for a permission (CreatePermission or ChannelBind) for its IP.
 */
export class Recorder implements Engine<IceAgentEvent> {
  readonly #seen = new Set<string>();
  /** Peer IPs a CreatePermission or ChannelBind was sent for. */
  readonly permitted = new Set<string>();
  /** Relayed checks sent to a peer with no permission asked for first. */
  uncovered = 0;
  readonly #channels = new Map<number, string>();
  constructor(
    readonly agent: IceAgent,
    readonly clock: { readonly now: number },
    readonly log: Sent[],
    readonly who: string,
  ) {}
  handleReceive(now: number, r: Received): void {
    this.agent.handleReceive(now, r);
  }
  handleTimeout(now: number): void {
    this.agent.handleTimeout(now);
  }
  pollTimeout(): number | undefined {
    return this.agent.pollTimeout();
  }
  pollEvent(): IceAgentEvent | undefined {
    return this.agent.pollEvent();
  }
  pollTransmit(): Transmit | undefined {
    const t = this.agent.pollTransmit();
    if (t === undefined) return t;
    const first = t.data[0] ?? 0;
    if (first >= 0x40 && first <= 0x4f) {
      const cd = decodeChannelData(t.data);
      const peer = this.#channels.get(cd.channelNumber);
      this.#inner(cd.data, peer);
      return t;
    }
    const m = decode(t.data);
    if (m === undefined) return t;
    if (m.messageClass === MessageClass.Indication && m.method === Method.Send) {
      this.#inner(m.get(Data) ?? new Uint8Array(0), m.get(XorPeerAddress)?.address);
    } else if (m.messageClass === MessageClass.Request) {
      const kind = KIND[m.method];
      if (this.#isNew(m) && kind !== undefined) this.log.push({ at: this.clock.now, who: this.who, kind });
      const peer = m.get(XorPeerAddress);
      if (peer !== undefined) this.permitted.add(peer.address);
      if (m.method === Method.ChannelBind && peer !== undefined) {
        const channel = m.get(ChannelNumber);
        if (channel !== undefined) this.#channels.set(channel, peer.address);
      }
    }
    return t;
  }
  #isNew(m: StunMessage): boolean {
    const id = Array.from(m.transactionId).join(",");
    if (this.#seen.has(id)) return false;
    this.#seen.add(id);
    return true;
  }
  #inner(data: Uint8Array, peer: string | undefined): void {
    const m = decode(data);
    if (m === undefined || m.messageClass !== MessageClass.Request || !this.#isNew(m)) return;
    if (peer === undefined || !this.permitted.has(peer)) this.uncovered++;
    this.log.push({ at: this.clock.now, who: this.who, kind: "check" });
  }
}

/** The shortest time between two recorded transactions, ms (Infinity for fewer than two). */
export function minGap(log: readonly { readonly at: number }[]): number {
  const times = log.map((l) => l.at).sort((x, y) => x - y);
  let min = Infinity;
  for (let i = 1; i < times.length; i++) min = Math.min(min, times[i]! - times[i - 1]!);
  return min;
}
