/**
 * An ICE agent on real sockets: the pure {@link IceAgent} run by a {@link NodeDriver}, with one
 * UDP socket bound per local host address and STUN/TURN server URIs resolved through DNS.
 *
 * The agent itself never touches the network or the clock; this module only chooses the local
 * addresses (RFC 8445 §5.1.1.1: every interface, or the ones you name), binds a socket on each,
 * hands their addresses to the agent as bases (`addLocalSocket`), and runs the drive loop of
 * `src/engine.ts`. Every call you make is stamped with the monotonic clock and followed by a
 * `pump()`, so transmits leave and events arrive before the call returns.
 *
 * @example
 * ```ts
 * import { createIceAgent } from "icekit/node";
 * const a = await createIceAgent({
 *   role: "controlling",
 *   stunServers: ["stun:stun.example.org"],
 *   onEvent: (e) => {
 *     if (e.type === "local-candidate") signal({ candidate: e.line });
 *     if (e.type === "gathering" && e.state === "complete") signal({ endOfCandidates: true });
 *     if (e.type === "data") console.log(new TextDecoder().decode(e.data));
 *   },
 * });
 * signal({ ufrag: a.localUfrag, pwd: a.localPwd });
 * a.startGathering();
 * onSignal((m) => {
 *   if (m.ufrag) a.setRemoteCredentials(m.ufrag, m.pwd);
 *   if (m.candidate) a.addRemoteCandidate(m.candidate);
 *   if (m.endOfCandidates) a.endOfRemoteCandidates();
 * });
 * const { local, remote } = await a.selected();
 * a.send(new TextEncoder().encode("hello"));
 * ```
 *
 * @module
 */
import os from "node:os";
import type dgram from "node:dgram";
import type tls from "node:tls";
import type { TransportAddress } from "../bytes/ip";
import { canonicalIp, formatTransportAddress, ipFamily } from "../bytes/ip";
import { IcekitError } from "../errors";
import { IceAgent } from "../ice/agent";
import type { IceAgentEvent, IceAgentOptions, IceConnectionState, IceTurnServer, RemoteCredentialsOptions } from "../ice/agent";
import { IcePacer } from "../ice/pacer";
import type { IceCandidate } from "../ice/candidate";
import { parseServer, resolveServer } from "./dns";
import { NodeDriver } from "./driver";
import { monotonicNow } from "./clock";
import { bindUdp } from "./udp";
import { defaultGateway } from "./default-gateway";
import { ipv6AddressInfo } from "./if-inet6";
import { mapPort } from "./port-mapping";
import type { PortMapperMethod, PortMapping } from "./port-mapping";

/**
 * Which local addresses to gather host candidates on when none are named.
 *
 * @example
 * ```ts
 * const f: HostAddressFilter = { family: "IPv4", interfaces: ["eth0", "wlan0"] };
 * localHostAddresses(f); // → ["192.168.1.20"]
 * ```
 */
export interface HostAddressFilter {
  /** Address families to use; default both. */
  readonly family?: "IPv4" | "IPv6" | "both";
  /** Interface names to use (`["eth0"]`), or a predicate; default every interface. */
  readonly interfaces?: readonly string[] | ((name: string) => boolean);
  /** Include loopback addresses (127.0.0.1, ::1); default false (RFC 8445 §5.1.1.1). */
  readonly loopback?: boolean;
  /**
   * Include IPv6 link-local addresses (fe80::/10); default false: they need a scope id that
   * candidates cannot carry (RFC 8445 §5.1.1.1).
   */
  readonly linkLocal?: boolean;
}

/**
 * The local IP addresses ICE gathers host candidates on: those of every interface that is up
 * (Node lists no others), filtered as asked. Loopback and IPv6 link-local addresses are left
 * out unless asked for (RFC 8445 §5.1.1.1 says loopback addresses MUST NOT be included, and
 * link-local ones only when they are known to be useful).
 *
 * @param filter - families, interface names, loopback and link-local
 * @returns canonical IP address strings, IPv4 before IPv6, without duplicates
 *
 * @example
 * ```ts
 * localHostAddresses();                      // → ["192.168.1.20", "2001:db8::20"]
 * localHostAddresses({ loopback: true, family: "IPv4" }); // → ["127.0.0.1", "192.168.1.20"]
 * ```
 */
export function localHostAddresses(filter: HostAddressFilter = {}): string[] {
  const family = filter.family ?? "both";
  const wanted =
    filter.interfaces === undefined
      ? () => true
      : typeof filter.interfaces === "function"
        ? filter.interfaces
        : ((names: readonly string[]) => (n: string) => names.includes(n))(filter.interfaces);
  const v4: string[] = [];
  const v6: string[] = [];
  for (const [name, infos] of Object.entries(os.networkInterfaces())) {
    if (!wanted(name) || infos === undefined) continue;
    for (const info of infos) {
      if (info.internal && filter.loopback !== true) continue;
      const fam = info.family === "IPv4" || (info.family as unknown) === 4 ? "IPv4" : "IPv6";
      if (family !== "both" && fam !== family) continue;
      if (fam === "IPv6") {
        if (info.scopeid !== undefined && info.scopeid !== 0 && filter.linkLocal !== true) continue;
        if (/^fe[89ab]/i.test(info.address) && filter.linkLocal !== true) continue;
      }
      const address = canonicalIp(info.address.split("%")[0]!);
      (fam === "IPv4" ? v4 : v6).push(address);
    }
  }
  return [...new Set([...v4, ...v6])];
}

/**
 * A TURN server to allocate a relayed candidate on.
 *
 * @example
 * ```ts
 * const turn: TurnServerOption = { url: "turn:turn.example.org?transport=tcp", username: "alice", password: "secret" };
 * await createIceAgent({ role: "controlling", turnServers: [turn] });
 * ```
 */
export interface TurnServerOption {
  /** `turn:host[:port][?transport=udp|tcp]`, `turns:host[:port]`, or `host:port` (UDP). */
  readonly url: string;
  /** Long-term credential username. */
  readonly username: string;
  /** Long-term credential password. */
  readonly password: string;
}

/**
 * Which gateway and protocol {@link NodeIceAgentOptions.portMapping} uses.
 *
 * @example
 * ```ts
 * const a = await createIceAgent({ role: "controlled", portMapping: { gateway: "192.168.1.1", method: "pcp" } });
 * ```
 */
export interface PortMappingChoice {
  /** The gateway; default {@link defaultGateway}. */
  readonly gateway?: string;
  /** Default `"auto"`: whichever the gateway offers, PCP first. */
  readonly method?: "auto" | PortMapperMethod;
  /** Requested lifetime, seconds (default 7200); renewed while the agent lives. */
  readonly lifetime?: number;
}

/**
 * Options for {@link createIceAgent}.
 *
 * @example
 * ```ts
 * const o: NodeIceAgentOptions = {
 *   role: "controlling",
 *   stunServers: ["stun:stun.example.org"],
 *   turnServers: [{ url: "turn:turn.example.org", username: "alice", password: "secret" }],
 *   onEvent: (e) => e.type === "local-candidate" && signal({ candidate: e.line }),
 * };
 * ```
 */
export interface NodeIceAgentOptions extends HostAddressFilter {
  /** The initial role (RFC 8445 §6.1.1): the offerer, or the full agent facing a lite one, controls. */
  readonly role: "controlling" | "controlled";
  /**
   * The local IP addresses to gather host candidates on, exactly; default
   * {@link localHostAddresses} with the filter in these options. Pass `["127.0.0.1"]` to keep
   * a test on loopback.
   */
  readonly hosts?: readonly string[];
  /** UDP port to bind on every host address; default 0 (any free port). */
  readonly port?: number;
  /** STUN servers for server-reflexive candidates: `stun:host[:port]` or `host:port`. */
  readonly stunServers?: readonly string[];
  /** TURN servers for relayed candidates. */
  readonly turnServers?: readonly TurnServerOption[];
  /** Run as an ICE lite agent (RFC 8445 §2.5): host candidates only, answers checks, never starts them. */
  readonly lite?: boolean;
  /**
   * Ask the gateway for a UDP port mapping (PCP, NAT-PMP or UPnP IGD, whichever it offers: see
   * {@link mapPort}) for each private IPv4 host socket, and offer each mapped address as a
   * server-reflexive candidate (the "port-mapped" candidate: it keeps srflx's type preference and
   * takes the top local preference of its base, so it ranks above a STUN-learned srflx of the same
   * base; see {@link IceAgent.addPortMappedCandidate}). A mapped port makes the agent reachable
   * behind any NAT, symmetric ones included. Gathering completes once every mapping answered
   * (at most about 5 s against a gateway that offers none). Mappings are deleted on `close()`.
   * Default off: it talks to the gateway.
   */
  readonly portMapping?: boolean | PortMappingChoice;
  /** Extra knobs for the pure agent (ufrag, pwd, random source, timers...), passed through. */
  readonly agent?: Partial<Omit<IceAgentOptions, "role" | "lite" | "stunServers" | "turnServers">>;
  /** Called with every agent event, synchronously, in order. */
  readonly onEvent?: (event: IceAgentEvent) => void;
  /** TLS options for `turns:` servers. */
  readonly tls?: tls.ConnectionOptions;
  /** Cancels the set-up (DNS, binding). */
  readonly signal?: AbortSignal;
}

/**
 * The pair an agent selected for a component.
 *
 * @example
 * ```ts
 * const p: SelectedPair = await agent.selected();
 * console.log(`${p.local.type} ${p.local.address}:${p.local.port} -> ${p.remote.type} ${p.remote.address}:${p.remote.port}`);
 * // → "host 192.168.1.20:50123 -> srflx 203.0.113.7:61234"
 * ```
 */
export interface SelectedPair {
  readonly component: number;
  readonly local: IceCandidate;
  readonly remote: IceCandidate;
}

/**
 * An {@link IceAgent} on real sockets. Every method stamps the call with the monotonic clock and
 * drains the agent before it returns. Create one with {@link createIceAgent}.
 *
 * @example
 * ```ts
 * const agent = await createIceAgent({ role: "controlled", onEvent: (e) => e.type === "data" && console.log(e.data) });
 * agent.setRemoteCredentials(remote.ufrag, remote.pwd);
 * agent.startGathering();
 * for (const line of remote.candidates) agent.addRemoteCandidate(line);
 * await agent.selected();
 * agent.send(new TextEncoder().encode("hello"));
 * ```
 */
export class NodeIceAgent {
  /** The pure agent, for what this wrapper does not expose. Call {@link pump} after driving it directly. */
  readonly agent: IceAgent;
  /** The driver that owns the sockets and the timer. */
  readonly driver: NodeDriver<IceAgentEvent>;
  /** The bound host sockets' addresses, one per host address. */
  readonly sockets: readonly TransportAddress[];
  readonly #waiters: { resolve: (p: SelectedPair) => void; reject: (e: Error) => void; component: number }[] = [];
  readonly #selected = new Map<number, SelectedPair>();
  readonly #portMapping: PortMappingChoice | undefined;
  readonly #mappings: PortMapping[] = [];
  #state: IceConnectionState = "new";
  #closed = false;
  #gathering = false;

  /** @internal Use {@link createIceAgent}. */
  constructor(agent: IceAgent, driver: NodeDriver<IceAgentEvent>, sockets: readonly TransportAddress[], portMapping?: PortMappingChoice) {
    this.agent = agent;
    this.driver = driver;
    this.sockets = sockets;
    this.#portMapping = portMapping;
  }

  /** The port mappings granted so far (see {@link NodeIceAgentOptions.portMapping}). */
  get portMappings(): readonly PortMapping[] {
    return this.#mappings;
  }

  /** The local username fragment to signal to the peer. */
  get localUfrag(): string {
    return this.agent.localUfrag;
  }

  /** The local password to signal to the peer. */
  get localPwd(): string {
    return this.agent.localPwd;
  }

  /** The connection state, as of the last event. */
  get state(): IceConnectionState {
    return this.#state;
  }

  /**
   * Starts gathering (RFC 8445 §5.1.1): host candidates at once, then server-reflexive and
   * relayed ones as the servers answer, each as a `local-candidate` event, then a `gathering`
   * event with state `complete`. Signal {@link localUfrag} and {@link localPwd} first.
   */
  startGathering(): void {
    if (this.#gathering) return;
    this.#gathering = true;
    const now = monotonicNow();
    const choice = this.#portMapping;
    const gateway = choice ? (choice.gateway ?? defaultGateway()) : undefined;
    // Only private IPv4 bases sit behind a gateway's NAT; loopback and public ones need no map.
    const bases = gateway === undefined ? [] : this.sockets.filter((l) => l.family === "IPv4" && isPrivateIPv4(l.address));
    // Announced before gathering starts, so end-of-candidates waits for the answers (RFC 8838 §13).
    for (const _ of bases) this.agent.expectPortMapping(now);
    this.agent.startGathering(now);
    this.pump();
    for (const base of bases) void this.#mapBase(base, gateway!, choice!);
  }

  async #mapBase(base: TransportAddress, gateway: string, choice: PortMappingChoice): Promise<void> {
    let m: PortMapping;
    try {
      m = await mapPort({ gateway, protocol: "udp", internalPort: base.port, clientAddress: base.address, ...(choice.method ? { method: choice.method } : {}), ...(choice.lifetime !== undefined ? { lifetime: choice.lifetime } : {}) });
    } catch {
      if (this.#closed) return;
      this.agent.portMappingFailed(monotonicNow());
      this.pump();
      return;
    }
    if (this.#closed) {
      m.close().catch(() => {});
      return;
    }
    this.#mappings.push(m);
    this.agent.addPortMappedCandidate(monotonicNow(), base, m.external, { gateway });
    this.pump();
  }

  /**
   * Sets the peer's ufrag and password (from signaling), and what else it signaled: whether it
   * is lite and its `ice-pacing` (RFC 8839 §4.4; the agent uses the larger Ta).
   */
  setRemoteCredentials(ufrag: string, pwd: string, options: RemoteCredentialsOptions = {}): void {
    this.agent.setRemoteCredentials(ufrag, pwd, options);
    this.pump();
  }

  /**
   * Adds a remote candidate (Trickle ICE, RFC 8838): an {@link IceCandidate}, or its SDP
   * attribute with or without `a=` and `candidate:`.
   *
   * @throws when a candidate line is malformed (the agent's parser says where)
   */
  addRemoteCandidate(candidate: IceCandidate | string): void {
    this.agent.addRemoteCandidate(monotonicNow(), candidate);
    this.pump();
  }

  /** Tells the agent the peer has no more candidates (RFC 8838 §8.2). */
  endOfRemoteCandidates(): void {
    this.agent.endOfRemoteCandidates(monotonicNow());
    this.pump();
  }

  /**
   * Sends application data on the component's selected pair.
   *
   * @returns false when no pair is selected yet (nothing was sent)
   */
  send(data: Uint8Array, component = 1): boolean {
    const sent = this.agent.send(monotonicNow(), data, component);
    this.pump();
    return sent;
  }

  /** Restarts ICE (RFC 8445 §9): new credentials; signal them and the candidates again. */
  restart(): void {
    this.agent.restart(monotonicNow());
    this.pump();
  }

  /** The selected pair of a component, once there is one. */
  selectedPair(component = 1): SelectedPair | undefined {
    return this.#selected.get(component);
  }

  /**
   * Resolves with the component's selected pair (at once if there is one); rejects when the
   * agent fails or closes first.
   */
  selected(component = 1): Promise<SelectedPair> {
    const now = this.#selected.get(component);
    if (now !== undefined) return Promise.resolve(now);
    if (this.#state === "failed" || this.#state === "closed") return Promise.reject(new Error(`ICE ${this.#state}`));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject, component }));
  }

  /** Drains the agent: call after driving {@link agent} directly. */
  pump(): void {
    if (!this.#closed) this.driver.pump();
  }

  /** Closes the agent (it tells nobody: ICE has no goodbye) and every socket. */
  close(): void {
    if (this.#closed) return;
    this.agent.close(monotonicNow());
    this.driver.pump();
    this.#closed = true;
    this.driver.close();
    // Best effort: the gateway drops the mapping at its lifetime's end anyway.
    for (const m of this.#mappings.splice(0)) m.close().catch(() => {});
    this.#fail("closed");
  }

  /** @internal The driver's event hook: tracks state and selected pairs before the user sees the event. */
  observe(e: IceAgentEvent): void {
    if (e.type === "state") {
      this.#state = e.state;
      if (e.state === "failed" || e.state === "closed") this.#fail(e.state);
    } else if (e.type === "selected-pair") {
      const pair: SelectedPair = { component: e.component, local: e.local, remote: e.remote };
      this.#selected.set(e.component, pair);
      for (let i = this.#waiters.length - 1; i >= 0; i--) {
        const w = this.#waiters[i]!;
        if (w.component !== e.component) continue;
        this.#waiters.splice(i, 1);
        w.resolve(pair);
      }
    }
  }

  #fail(state: string): void {
    const waiters = this.#waiters.splice(0);
    for (const w of waiters) w.reject(new Error(`ICE ${state}`));
  }
}

/**
 * Resolves a STUN or TURN server URI to the first address of a family we have a socket for.
 */
async function resolveFor(uri: string, scheme: "stun" | "turn", families: ReadonlySet<string>, signal?: AbortSignal): Promise<{ address: TransportAddress; transport: "udp" | "tcp" | "tls" }> {
  const parsed = parseServer(uri, scheme);
  const resolved = await resolveServer(parsed, signal ? { signal } : {});
  const address = resolved.addresses.find((a) => families.has(a.family));
  if (address === undefined) {
    throw new IcekitError("INVALID_ARGUMENT", `${uri} resolves only to ${resolved.addresses.map(formatTransportAddress).join(", ")}; no local ${[...families].join("/") || "IP"} address to reach it from`);
  }
  return { address, transport: parsed.transport };
}

/**
 * The pacer every agent of this process shares unless its options name another: together they
 * start at most one STUN transaction per 5 ms (RFC 8445 §14.2 counts all agents of an
 * implementation). {@link createIceAgent} and {@link createIceMux} use it.
 *
 * @example
 * ```ts
 * processIcePacer.interval; // → 5
 * const a = await createIceAgent({ role: "controlling", agent: { pacer: processIcePacer } }); // the default
 * ```
 */
export const processIcePacer = new IcePacer();

/**
 * Creates an ICE agent on real sockets: resolves the servers, binds one UDP socket per host
 * address and hands them to the agent. Signal `localUfrag`/`localPwd` to the peer, then call
 * {@link NodeIceAgent.startGathering}; candidates and every other event go to `options.onEvent`.
 *
 * @throws {@link IcekitError} when an address cannot be bound, a server does not resolve, or
 *   there is no host address at all
 *
 * @example
 * ```ts
 * const alice = await createIceAgent({ role: "controlling", hosts: ["127.0.0.1"], onEvent: (e) => toBob(e) });
 * signal({ ufrag: alice.localUfrag, pwd: alice.localPwd });
 * alice.startGathering(); // candidates arrive as "local-candidate" events
 * ```
 */
export async function createIceAgent(options: NodeIceAgentOptions): Promise<NodeIceAgent> {
  const hosts = options.hosts !== undefined ? options.hosts.map((h) => h.trim()) : localHostAddresses(options);
  for (const h of hosts) {
    if (ipFamily(h) === undefined) throw new IcekitError("INVALID_ARGUMENT", `host address '${h}' is not an IP address; pass e.g. 127.0.0.1 or ::1`);
  }
  if (hosts.length === 0) {
    throw new IcekitError("INVALID_ARGUMENT", "no usable local address: no interface is up (pass hosts: ['127.0.0.1'] to use loopback)");
  }
  const families = new Set(hosts.map((h) => ipFamily(h)!));
  const stunServers: TransportAddress[] = [];
  for (const s of options.stunServers ?? []) stunServers.push((await resolveFor(s, "stun", families, options.signal)).address);
  const turnServers: IceTurnServer[] = [];
  for (const t of options.turnServers ?? []) {
    const r = await resolveFor(t.url, "turn", families, options.signal);
    turnServers.push({ address: r.address, transport: r.transport, username: t.username, password: t.password });
  }
  const agentOptions = {
    pacer: processIcePacer,
    ...options.agent,
    role: options.role,
    ...(options.lite !== undefined ? { lite: options.lite } : {}),
    ...(options.loopback === true ? { loopback: true } : {}),
    ...(stunServers.length > 0 ? { stunServers } : {}),
    ...(turnServers.length > 0 ? { turnServers } : {}),
  } satisfies IceAgentOptions;
  const agent = new IceAgent(agentOptions);
  const sockets: dgram.Socket[] = [];
  try {
    for (const h of hosts) sockets.push(await bindUdp(h, options.port ?? 0, options.signal));
  } catch (e) {
    for (const s of sockets) s.close();
    throw e;
  }
  let wrapper: NodeIceAgent | undefined;
  const driver = new NodeDriver<IceAgentEvent>(agent, {
    ...(options.tls ? { tls: options.tls } : {}),
    onEvent: (e) => {
      wrapper?.observe(e);
      options.onEvent?.(e);
    },
  });
  const locals = sockets.map((s) => driver.addUdpSocket(s));
  wrapper = new NodeIceAgent(agent, driver, locals, options.portMapping === true ? {} : options.portMapping || undefined);
  const now = monotonicNow();
  // Addresses the application named are its choice (RFC 8445 §5.1.1.1 exclusions aside from
  // the always-invalid ones); enumerated ones went through the same rules in localHostAddresses.
  // Which IPv6 addresses are temporary, and where: §5.1.1.1 then keeps the stable ones of the
  // same interface and prefix (and link-local ones) out, as they would allow location tracking.
  const v6 = locals.some((l) => l.family === "IPv6") ? ipv6AddressInfo() : undefined;
  for (const l of locals) agent.addLocalSocket(now, l, 1, { explicit: options.hosts !== undefined, ...v6?.get(l.address) });
  driver.pump();
  return wrapper;
}

/** RFC 1918 and RFC 6598 (CGN) space: where a gateway's NAT, and so a port mapping, applies. */
function isPrivateIPv4(address: string): boolean {
  const [a, b] = address.split(".").map(Number) as [number, number];
  return a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b < 128);
}
