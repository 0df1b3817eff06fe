/**
 * What the TURN server sends a client for a peer's datagram: a ChannelData message when a
 * channel is bound to the peer, else a Data indication (RFC 8656 §11.3, §12.5, §12.7).
 *
 * Frames are carved from a slab (256 KiB) instead of one buffer each: a frame is never written
 * again once handed out, so a driver whose socket queues a send (it would block) never sees it
 * change, and a full slab is replaced and collected with its last frame. A relayed datagram
 * costs one view, not one `ArrayBuffer`.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import type { RandomSource } from "../engine";
import { XorPeerAddress } from "../stun/attributes/address";
import { Data } from "../stun/attributes/turn";
import { StunMessageBuilder } from "../stun/builder";
import { MessageClass, Method } from "../stun/constants";

/** Relay frames are carved from slabs this big. */
const SLAB_SIZE = 256 * 1024;

/**
 * Writes ChannelData messages and Data indications for the peer → client path.
 *
 * @example
 * ```ts
 * const frames = new RelayFrames((b) => crypto.getRandomValues(b), false);
 * frames.channelData(0x4000, new Uint8Array([1, 2, 3]), false); // → Uint8Array [0x40, 0x00, 0x00, 0x03, 1, 2, 3]
 * frames.dataIndication(peer, new Uint8Array(5)); // → a 44-byte Data indication: XOR-PEER-ADDRESS and DATA
 * ```
 */
export class RelayFrames {
  #slab = new Uint8Array(SLAB_SIZE);
  #at = 0;
  readonly #builder = new StunMessageBuilder();
  /** Data indications' transaction id: a random head and a counter tail (RFC 8489 §6). */
  readonly #tid = new Uint8Array(12);
  #counter = 0;
  readonly #fingerprint: boolean;

  /**
   * @param random - fills the transaction ids' random head
   * @param fingerprint - add FINGERPRINT to Data indications
   */
  constructor(random: RandomSource, fingerprint: boolean) {
    random(this.#tid);
    this.#fingerprint = fingerprint;
  }

  /**
   * A ChannelData message (RFC 8656 §12.4); over TCP and TLS padded to a multiple of 4
   * (§12.5). The payload must be at most 65535 bytes.
   */
  channelData(channel: number, payload: Uint8Array, padded: boolean): Uint8Array {
    const n = payload.length;
    const size = padded ? (4 + n + 3) & ~3 : 4 + n;
    const out = this.#take(size);
    out[0] = channel >> 8;
    out[1] = channel & 0xff;
    out[2] = n >> 8;
    out[3] = n & 0xff;
    out.set(payload, 4);
    if (size > 4 + n) out.fill(0, 4 + n, size);
    return out;
  }

  /**
   * A Data indication with XOR-PEER-ADDRESS and DATA (RFC 8656 §11.3), or undefined when the
   * payload does not fit in a STUN message.
   */
  dataIndication(peer: TransportAddress, payload: Uint8Array): Uint8Array | undefined {
    const tid = this.#tid;
    const c = ++this.#counter;
    tid[8] = c >>> 24;
    tid[9] = (c >>> 16) & 0xff;
    tid[10] = (c >>> 8) & 0xff;
    tid[11] = c & 0xff;
    let bytes: Uint8Array;
    try {
      const b = this.#builder.begin(Method.Data, MessageClass.Indication, tid).add(XorPeerAddress, peer).add(Data, payload);
      if (this.#fingerprint) b.addFingerprint();
      bytes = b.finish();
    } catch {
      return undefined;
    }
    const out = this.#take(bytes.length);
    out.set(bytes);
    return out;
  }

  /** `n` fresh bytes from the slab (8-byte aligned). */
  #take(n: number): Uint8Array {
    if (this.#at + n > this.#slab.length) {
      this.#slab = new Uint8Array(Math.max(SLAB_SIZE, n));
      this.#at = 0;
    }
    const at = this.#at;
    this.#at = (at + n + 7) & ~7;
    return this.#slab.subarray(at, at + n);
  }
}
