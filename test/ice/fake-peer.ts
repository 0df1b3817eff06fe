/**
 * A hand-driven ICE peer for tests that talk to one {@link IceAgent} directly: it crafts
 * connectivity checks and responses byte by byte, so tests can send what no honest agent would.
 */
import type { TransportAddress } from "../../src/bytes/ip";
import type { Received, Transmit } from "../../src/engine";
import { IceAgent } from "../../src/ice/agent";
import type { IceAgentEvent, IceAgentOptions } from "../../src/ice/agent";
import { XorMappedAddress } from "../../src/stun/attributes/address";
import { ErrorCode } from "../../src/stun/attributes/error";
import { IceControlled, IceControlling, Priority, UseCandidate } from "../../src/stun/attributes/ice";
import { Username } from "../../src/stun/attributes/text";
import { StunMessageBuilder } from "../../src/stun/builder";
import { MessageClass, Method } from "../../src/stun/constants";
import { shortTermCredential } from "../../src/stun/credentials";
import { decodeStunMessage } from "../../src/stun/message";
import type { StunMessage } from "../../src/stun/message";

export const LOCAL: TransportAddress = { family: "IPv4", address: "192.0.2.1", port: 5000 };
export const PEER: TransportAddress = { family: "IPv4", address: "192.0.2.2", port: 6000 };
export const PEER_UFRAG = "peerUfrag";
export const PEER_PWD = "peerpasswordpeerpassword";
export const AGENT_UFRAG = "agentUfrag";
export const AGENT_PWD = "agentpasswordagentpassword";

/** A deterministic random source (a counter through a multiplicative hash). */
export function counterRandom(seed = 1): (out: Uint8Array) => void {
  let n = seed >>> 0;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      n = (Math.imul(n, 1664525) + 1013904223) >>> 0;
      out[i] = n >>> 24;
    }
  };
}

/** An agent on {@link LOCAL} with known credentials, gathering started, outputs drained. */
export function agentUnderTest(options: Partial<IceAgentOptions> = {}): { agent: IceAgent; transmits: Transmit[]; events: IceAgentEvent[]; drain(): void } {
  const agent = new IceAgent({ role: "controlled", ufrag: AGENT_UFRAG, pwd: AGENT_PWD, random: counterRandom(), ...options });
  const transmits: Transmit[] = [];
  const events: IceAgentEvent[] = [];
  const drain = () => {
    for (let t = agent.pollTransmit(); t !== undefined; t = agent.pollTransmit()) transmits.push(t);
    for (let e = agent.pollEvent(); e !== undefined; e = agent.pollEvent()) events.push(e);
  };
  agent.addLocalSocket(0, LOCAL);
  agent.startGathering(0);
  drain();
  return { agent, transmits, events, drain };
}

export interface CheckOptions {
  readonly username?: string | null;
  readonly pwd?: string | null;
  readonly priority?: number | null;
  readonly controlling?: bigint;
  readonly controlled?: bigint;
  readonly useCandidate?: boolean;
  readonly fingerprint?: boolean;
  readonly corruptFingerprint?: boolean;
  readonly extra?: { type: number; value: Uint8Array };
  readonly tid?: Uint8Array;
}

let tidCounter = 1;
/** A fresh transaction id. */
export function tid(): Uint8Array {
  const t = new Uint8Array(12);
  new DataView(t.buffer).setUint32(8, tidCounter++);
  return t;
}

/** A connectivity check as the peer would send it (defaults: valid, controlling, PRIORITY set). */
export function check(o: CheckOptions = {}): Uint8Array {
  const b = new StunMessageBuilder().begin(Method.Binding, MessageClass.Request, o.tid ?? tid());
  const username = o.username === undefined ? `${AGENT_UFRAG}:${PEER_UFRAG}` : o.username;
  if (username !== null) b.add(Username, username);
  if (o.priority !== null) b.add(Priority, o.priority ?? 1862270975);
  if (o.controlled !== undefined) b.add(IceControlled, o.controlled);
  else b.add(IceControlling, o.controlling ?? 1n);
  if (o.useCandidate) b.add(UseCandidate, true);
  if (o.extra) b.addRaw(o.extra.type, o.extra.value);
  const pwd = o.pwd === undefined ? AGENT_PWD : o.pwd;
  if (pwd !== null) b.addMessageIntegrity(shortTermCredential("x", pwd).sha1);
  if (o.fingerprint !== false) b.addFingerprint();
  const bytes = b.finish().slice();
  if (o.corruptFingerprint) bytes[bytes.length - 1]! ^= 0xff;
  return bytes;
}

/** The peer's success response to a check the agent sent (`request`), signed with the peer's password. */
export function successFor(request: Uint8Array, mapped: TransportAddress, pwd = PEER_PWD): Uint8Array {
  const req = decodeStunMessage(request);
  return new StunMessageBuilder()
    .begin(Method.Binding, MessageClass.SuccessResponse, req.transactionId)
    .add(XorMappedAddress, mapped)
    .addMessageIntegrity(shortTermCredential("x", pwd).sha1)
    .addFingerprint()
    .finish()
    .slice();
}

/** The peer's error response to a check, signed. */
export function errorFor(request: Uint8Array, code: number, pwd = PEER_PWD): Uint8Array {
  const req = decodeStunMessage(request);
  return new StunMessageBuilder()
    .begin(Method.Binding, MessageClass.ErrorResponse, req.transactionId)
    .add(ErrorCode, { code, reason: "x" })
    .addMessageIntegrity(shortTermCredential("x", pwd).sha1)
    .addFingerprint()
    .finish()
    .slice();
}

/** A datagram from `from` to the agent's socket. */
export function from(from: TransportAddress, data: Uint8Array, local = LOCAL): Received {
  return { local, remote: from, transport: "udp", data };
}

/** Decodes a transmit; `error` is its ERROR-CODE, if any. */
export function decoded(t: Transmit | undefined): { msg: StunMessage; error: number | undefined } {
  if (t === undefined) throw new Error("no transmit");
  const msg = decodeStunMessage(t.data);
  return { msg, error: msg.messageClass === MessageClass.ErrorResponse ? msg.get(ErrorCode)?.code : undefined };
}

/** Transmits that are Binding requests (the agent's checks). */
export function requests(ts: readonly Transmit[]): Transmit[] {
  return ts.filter((t) => t.data[0] === 0x00 && t.data[1] === 0x01);
}
