/**
 * Two ICE agents on the simulator, with a signaling channel between them that delivers
 * credentials, candidates and end-of-candidates after a configurable delay (net.after).
 */
import type { Attached, Host, LinkOptions, Nat, NatBehavior, Network, TransportAddress } from "../../src/sim/index";
import { Network as SimNetwork, attachTurnServer } from "../../src/sim/index";
import { StunServer } from "../../src/stun/server";
import { TurnServer } from "../../src/turn/server";
import { IceAgent } from "../../src/ice/agent";
import type { IceAgentEvent, IceAgentOptions, IceConnectionState } from "../../src/ice/agent";
import type { IceCandidate } from "../../src/ice/candidate";

export const STUN_IP = "192.0.2.10";
export const STUN: TransportAddress = { family: "IPv4", address: STUN_IP, port: 3478 };
export const TURN_IP = "192.0.2.20";
export const TURN: TransportAddress = { family: "IPv4", address: TURN_IP, port: 3478 };

/** Where a peer sits: on the internet, behind its own NAT, or behind a NAT shared with the other. */
export type Placement = { readonly kind: "public" } | { readonly kind: "nat"; readonly behavior: NatBehavior } | { readonly kind: "shared-lan" };

export interface PeerOptions {
  readonly placement?: Placement;
  readonly link?: LinkOptions;
  readonly agent?: Partial<IceAgentOptions>;
  /** Extra host addresses (e.g. IPv6) on the same interface. */
  readonly extraAddresses?: readonly string[];
  /** Tell the other side this peer is lite. */
  readonly lite?: boolean;
  /** Rewrites this peer's candidate lines before the other side gets them (undefined: withhold). */
  readonly rewrite?: (line: string, candidate: IceCandidate) => string | undefined;
}

export interface ScenarioOptions {
  readonly seed?: number;
  readonly link?: LinkOptions;
  readonly a?: PeerOptions;
  readonly b?: PeerOptions;
  /** One-way signaling delay, ms (default 50). */
  readonly signalDelay?: number;
  /** Extra delay before credentials are delivered (candidates before credentials). */
  readonly credentialDelay?: number;
  /** Deliver end-of-candidates (default true). */
  readonly endOfCandidates?: boolean;
  /** Run a STUN server (default true). */
  readonly stun?: boolean;
  /** Run a TURN server and give both agents credentials for it (default false). */
  readonly turn?: boolean;
  /** Keep the simulator's trace (default false, for speed). */
  readonly trace?: boolean;
}

export interface Peer {
  readonly name: "a" | "b";
  readonly host: Host;
  /** The NAT in front of it (its own, or the shared LAN's), if any. */
  readonly nat: Nat | undefined;
  readonly att: Attached<IceAgent>;
  readonly agent: IceAgent;
  readonly events: IceAgentEvent[];
  readonly states: IceConnectionState[];
  /** Data received, decoded as text. */
  readonly received: string[];
  /** Local candidates signaled. */
  readonly candidates: IceCandidate[];
}

export interface Scenario {
  readonly net: Network;
  /** The TURN server, when the scenario has one. */
  readonly turn: TurnServer | undefined;
  readonly a: Peer;
  readonly b: Peer;
  /** Starts gathering on both and sends credentials (call once). */
  start(): void;
  /** Runs until both agents are completed (or either failed), at most `timeout` ms. */
  runUntilSettled(timeout?: number): boolean;
  /** Exchanges credentials again (after restarts) and the re-signaled candidates flow as before. */
  signalCredentials(from: Peer): void;
  /** Stops relaying signaling (candidates still come out as events). */
  pauseSignaling(paused: boolean): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Builds the network and the two agents; nothing runs until {@link Scenario.start}. */
export function scenario(o: ScenarioOptions = {}): Scenario {
  const net = new SimNetwork({ seed: o.seed ?? 1, link: o.link ?? { delay: 10 }, trace: o.trace ?? false });
  const stunServers: TransportAddress[] = [];
  if (o.stun ?? true) {
    const s = net.server(STUN_IP, { name: "stun" });
    net.attach(s, new StunServer({ random: s.random }), { port: 3478 });
    stunServers.push(STUN);
  }
  const turn = o.turn === true ? attachTurn(net) : undefined;
  const delay = o.signalDelay ?? 50;
  let paused = false;
  let shared: ReturnType<Network["nat"]> | undefined;

  const nats: Partial<Record<"a" | "b", Nat>> = {};
  const hostFor = (name: "a" | "b", p: PeerOptions | undefined): Host => {
    const placement = p?.placement ?? { kind: "public" };
    const link = p?.link ?? o.link ?? { delay: 10 };
    const addresses = (first: string) => (p?.extraAddresses ? [first, ...p.extraAddresses] : first);
    if (placement.kind === "public") return net.host(addresses(name === "a" ? "203.0.113.1" : "203.0.113.2"), { name, link });
    if (placement.kind === "shared-lan") {
      shared ??= net.nat(undefined, { name: "lan" });
      nats[name] = shared;
      return shared.host(addresses(name === "a" ? "192.168.1.2" : "192.168.1.3"), { name, link });
    }
    const nat = net.nat(placement.behavior, { name: `nat-${name}` });
    nats[name] = nat;
    return nat.host(addresses(name === "a" ? "192.168.1.2" : "10.0.0.2"), { name, link });
  };

  const peers: Partial<Record<"a" | "b", Peer>> = {};
  const other = (name: "a" | "b"): Peer => peers[name === "a" ? "b" : "a"]!;
  const relay = (fn: () => void, extra = 0): void => {
    if (paused) return;
    net.after(delay + extra, fn);
  };

  const makePeer = (name: "a" | "b", p: PeerOptions | undefined, role: "controlling" | "controlled"): Peer => {
    const host = hostFor(name, p);
    const agent = new IceAgent({
      role,
      random: host.fork("ice"),
      stunServers: p?.agent?.lite ? [] : stunServers,
      ...(o.turn === true && !p?.agent?.lite ? { turnServers: [{ address: TURN, username: "user", password: "pass" }] } : {}),
      ...p?.agent,
    });
    const events: IceAgentEvent[] = [];
    const states: IceConnectionState[] = [];
    const received: string[] = [];
    const candidates: IceCandidate[] = [];
    const components = p?.agent?.components ?? 1;
    const att = net.attach(host, agent, {
      port: Array.from({ length: components }, (_, i) => 5000 + i),
      onEvent: (e) => {
        events.push(e);
        if (e.type === "state") states.push(e.state);
        else if (e.type === "data") received.push(dec.decode(e.data));
        else if (e.type === "local-candidate") {
          candidates.push(e.candidate);
          const line = p?.rewrite ? p.rewrite(e.line, e.candidate) : e.line;
          if (line === undefined) return;
          relay(() => {
            const peer = other(name);
            peer.agent.addRemoteCandidate(net.now, line);
            peer.att.drive();
          });
        } else if (e.type === "gathering" && e.state === "complete" && (o.endOfCandidates ?? true)) {
          relay(() => {
            const peer = other(name);
            peer.agent.endOfRemoteCandidates(net.now);
            peer.att.drive();
          });
        }
      },
      keepEvents: false,
    });
    att.sockets.forEach((s, i) => {
      for (const address of host.addresses) agent.addLocalSocket(net.now, { family: address.includes(":") ? "IPv6" : "IPv4", address, port: s.port }, i + 1);
    });
    return { name, host, nat: nats[name], att, agent, events, states, received, candidates };
  };

  peers.a = makePeer("a", o.a, (o.a?.agent?.role as "controlling" | "controlled" | undefined) ?? "controlling");
  peers.b = makePeer("b", o.b, (o.b?.agent?.role as "controlling" | "controlled" | undefined) ?? "controlled");
  const a = peers.a;
  const b = peers.b;

  const signalCredentials = (from: Peer): void => {
    const ufrag = from.agent.localUfrag;
    const pwd = from.agent.localPwd;
    const lite = from === a ? o.a?.lite : o.b?.lite;
    relay(() => {
      const to = other(from.name);
      to.agent.setRemoteCredentials(ufrag, pwd, lite ? { lite: true } : {});
      to.att.drive();
    }, o.credentialDelay ?? 0);
  };

  return {
    net,
    turn,
    a,
    b,
    start() {
      signalCredentials(a);
      signalCredentials(b);
      a.agent.startGathering(net.now);
      b.agent.startGathering(net.now);
      a.att.drive();
      b.att.drive();
    },
    runUntilSettled(timeout = 60_000) {
      const done = (s: IceConnectionState) => s === "completed" || s === "failed";
      return net.runUntil(() => (a.agent.state === "completed" && b.agent.state === "completed") || a.agent.state === "failed" || b.agent.state === "failed" || (done(a.agent.state) && done(b.agent.state)), { timeout });
    },
    signalCredentials,
    pauseSignaling(p: boolean) {
      paused = p;
    },
  };
}

/** A TURN server at {@link TURN}, run with the simulator's TURN hook. */
export function attachTurn(net: Network): TurnServer {
  const host = net.server(TURN_IP, { name: "turn" });
  return attachTurnServer(net, host, new TurnServer({ realm: "example.org", users: { user: "pass" }, relayAddresses: [TURN_IP], random: host.random, allowPeer: ["0.0.0.0/0"] }));
}

/** Sends `text` from `p` at the network's time and reports whether the agent accepted it. */
export function sendText(net: Network, p: Peer, text: string, component = 1): boolean {
  const ok = p.agent.send(net.now, enc.encode(text), component);
  p.att.drive();
  return ok;
}

/** "host-host", "srflx-prflx", ... of the agent's selected pair. */
export function pairType(agent: IceAgent, component = 1): string | undefined {
  const p = agent.selectedPair(component);
  return p === undefined ? undefined : `${p.local.type}-${p.remote.type}`;
}
