/**
 * The NAT traversal matrix: for every pair of NAT behaviours, two ICE agents behind them (each
 * behind its own NAT, on a fresh simulated network with a STUN and a TURN server) gather,
 * trickle, check and select a pair. Each cell says whether they connected, whether the selected
 * path is direct (host, server-reflexive or peer-reflexive candidates on both ends) or goes
 * through the relay, and how long it took in virtual time.
 *
 * The rows and columns are the RFC 3489 names the seeds use (full cone, restricted cone, port
 * restricted cone, symmetric), the RFC 4787 mapping × filtering combinations those names do not
 * cover (`ADM/EIF`, ...), and `open` (no NAT). {@link expectedPath} says, from RFC 4787
 * behaviour alone, which pairs can punch a hole and which need the relay; {@link runNatMatrix}
 * compares every cell with it.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { IceAgent } from "../ice/agent";
import type { IceCandidate } from "../ice/candidate";
import { StunServer } from "../stun/server";
import { TurnServer } from "../turn/server";
import { IcekitError } from "../errors";
import type { Host } from "./host";
import type { EndpointDependence, NatBehavior } from "./nat-behavior";
import { natBehavior } from "./nat-behavior";
import { Network } from "./network";
import { attachTurnServer } from "./turn";
import { fullCone, portRestrictedCone, restrictedCone, symmetric } from "./presets";

/**
 * A row (and column) of the matrix: a name and the NAT in front of the agent (undefined: none).
 *
 * @example
 * ```ts
 * const noHairpin: MatrixBehavior = { name: "prc-no-hairpin", behavior: portRestrictedCone({ hairpinning: false }) };
 * runNatMatrix({ behaviors: ["open", noHairpin] }); // 4 cells, names mixed with your own rows
 * ```
 */
export interface MatrixBehavior {
  readonly name: string;
  readonly behavior: NatBehavior | undefined;
}

const SHORT: Record<EndpointDependence, string> = {
  "endpoint-independent": "EI",
  "address-dependent": "AD",
  "address-and-port-dependent": "APD",
};

/** `ADM/EIF`-style name of a mapping × filtering combination (RFC 4787 §4.1, §5). */
function comboName(mapping: EndpointDependence, filtering: EndpointDependence): string {
  return `${SHORT[mapping]}M/${SHORT[filtering]}F`;
}

/**
 * The rows of the full matrix: `open` (no NAT), the four RFC 3489 names (the seeds' terms), and
 * the five RFC 4787 mapping × filtering combinations they leave out. The other four of the nine
 * combinations are the named ones (EIM/EIF full cone, EIM/ADF restricted cone, EIM/APDF port
 * restricted cone, APDM/APDF symmetric, here with random ports as RFC 3489 describes it).
 *
 * @example
 * ```ts
 * MATRIX_BEHAVIORS.map((b) => b.name);
 * // → ["open", "full-cone", "restricted-cone", "port-restricted-cone", "symmetric",
 * //    "ADM/EIF", "ADM/ADF", "ADM/APDF", "APDM/EIF", "APDM/ADF"]
 * ```
 */
export const MATRIX_BEHAVIORS: readonly MatrixBehavior[] = [
  { name: "open", behavior: undefined },
  { name: "full-cone", behavior: fullCone() },
  { name: "restricted-cone", behavior: restrictedCone() },
  { name: "port-restricted-cone", behavior: portRestrictedCone() },
  { name: "symmetric", behavior: symmetric() },
  ...(
    [
      ["address-dependent", "endpoint-independent"],
      ["address-dependent", "address-dependent"],
      ["address-dependent", "address-and-port-dependent"],
      ["address-and-port-dependent", "endpoint-independent"],
      ["address-and-port-dependent", "address-dependent"],
    ] as const
  ).map(([mapping, filtering]) => ({ name: comboName(mapping, filtering), behavior: natBehavior({ mapping, filtering }) })),
];

/**
 * The four RFC 3489 names the seed articles use, the demo's compact matrix.
 *
 * @example
 * ```ts
 * const cells = runNatMatrix({ behaviors: SEED_BEHAVIORS }); // 4 × 4 = 16 cells
 * ```
 */
export const SEED_BEHAVIORS: readonly string[] = ["full-cone", "restricted-cone", "port-restricted-cone", "symmetric"];

/**
 * Whether two agents behind `a` and `b` (undefined: no NAT) can reach each other directly, by
 * RFC 4787 behaviour, with a STUN server for server-reflexive candidates and ICE's
 * peer-reflexive discovery (RFC 8445 §7.2.5.3.1, §7.3.1.3). The simulator keeps filter state
 * per mapping (RFC 4787 §5), the NATs have one external address each, and connectivity checks
 * must be symmetric (§7.2.5.2.1: the response comes from where the request went).
 *
 * - An endpoint-independent mapping (EIM) uses its server-reflexive address S for every peer.
 *   Two EIM sides (or no NAT) each send to the other's S from their own S, and each outbound
 *   check opens the sender's filter for the other: they always meet, srflx-srflx (the seeds:
 *   full, restricted and port restricted cones all reach each other).
 * - A dependent mapping (ADM, APDM) sends to the peer from a new mapping X, which the peer
 *   learns only as a peer-reflexive address when a check from X gets through.
 *   - Facing an EIM side B: the check from X arrives at B's S, which has sent to A's IP (its
 *     checks to A's S), so it passes unless B filters by port too (APDF). So symmetric reaches
 *     full and restricted cones directly but not a port restricted cone.
 *   - Both dependent: the first check that gets through must land on a server-reflexive
 *     mapping S_R, whose filter has seen only the STUN server (R talks to P from X_R), so R
 *     filters endpoint-independently (EIF). R answers it from a mapping towards P's IP (not S_R:
 *     that check fails, §7.2.5.2.1) and sends its triggered check from there to P's new X_P;
 *     X_P has sent to R's IP but not to that port, so P must not filter by port (APDF). From
 *     then on the two play ping-pong: a side that receives from a new port of the other answers
 *     from the same mapping only when its mapping is address-dependent (ADM: same IP, same
 *     mapping); an APDM side answers from yet another new port. So the ping-pong ends, and the
 *     pair is valid both ways, when either side is ADM; two APDM sides never converge.
 *     So symmetric ↔ symmetric, and symmetric ↔ anything dependent, needs the relay.
 *
 * @example
 * ```ts
 * expectedPath(fullCone(), portRestrictedCone());  // → "direct"
 * expectedPath(symmetric(), restrictedCone());     // → "direct": the cone learns a peer-reflexive address
 * expectedPath(symmetric(), portRestrictedCone()); // → "relay"
 * expectedPath(undefined, symmetric());            // → "direct" (no NAT on one side)
 * ```
 */
export function expectedPath(a: NatBehavior | undefined, b: NatBehavior | undefined): "direct" | "relay" {
  const eim = (n: NatBehavior | undefined) => n === undefined || n.mapping === "endpoint-independent";
  const filtering = (n: NatBehavior | undefined): EndpointDependence => n?.filtering ?? "endpoint-independent";
  const mapping = (n: NatBehavior | undefined): EndpointDependence => n?.mapping ?? "endpoint-independent";
  if (eim(a) && eim(b)) return "direct";
  if (!eim(a) && eim(b)) return filtering(b) === "address-and-port-dependent" ? "relay" : "direct";
  if (eim(a) && !eim(b)) return filtering(a) === "address-and-port-dependent" ? "relay" : "direct";
  // Both dependent: R (EIF) lets P's first check in, P does not filter by port, and one of them is ADM.
  const dependentMeet = (r: NatBehavior | undefined, p: NatBehavior | undefined) =>
    filtering(r) === "endpoint-independent" && filtering(p) !== "address-and-port-dependent" && (mapping(r) === "address-dependent" || mapping(p) === "address-dependent");
  return dependentMeet(a, b) || dependentMeet(b, a) ? "direct" : "relay";
}

/**
 * One cell of the matrix.
 *
 * @example
 * ```ts
 * const [cell] = runNatMatrix({ behaviors: ["port-restricted-cone"] });
 * // → { a: "port-restricted-cone", b: "port-restricted-cone", connected: true, path: "direct",
 * //     pair: "srflx-srflx", ms: 1310, expected: "direct", ok: true }
 * ```
 */
export interface MatrixCell {
  /** Row: the controlling agent's NAT. */
  readonly a: string;
  /** Column: the controlled agent's NAT. */
  readonly b: string;
  /** Both agents selected a pair (state `completed`). */
  readonly connected: boolean;
  /** The selected path, when connected: `relay` when either end is a relayed candidate. */
  readonly path: "direct" | "relay" | undefined;
  /** The controlling agent's selected pair, `<local type>-<remote type>` (`srflx-prflx`, ...). */
  readonly pair: string | undefined;
  /** Virtual ms from the start of gathering until both agents had selected a pair. */
  readonly ms: number | undefined;
  /** What RFC 4787 predicts ({@link expectedPath}); with TURN every pair connects. */
  readonly expected: "direct" | "relay";
  /** The cell connected on the expected path. */
  readonly ok: boolean;
}

/**
 * Options for {@link runNatMatrix}.
 *
 * @example
 * ```ts
 * runNatMatrix({ seed: 3, loss: 0.05, behaviors: ["full-cone", "symmetric"], timeout: 30_000,
 *   onCell: (c, i, n) => console.log(`${i + 1}/${n} ${c.a} → ${c.b}: ${c.path ?? "failed"}`) });
 * ```
 */
export interface NatMatrixOptions {
  /** Simulator seed (default 1); the same seed gives the same matrix. */
  readonly seed?: number;
  /** Loss probability on every link, 0 to 1 (default 0). */
  readonly loss?: number;
  /** Row/column names from {@link MATRIX_BEHAVIORS}, or behaviours of your own (default all). */
  readonly behaviors?: readonly (string | MatrixBehavior)[];
  /** Called after each cell, with its index (from 0) and the number of cells. */
  readonly onCell?: (cell: MatrixCell, index: number, total: number) => void;
  /** Virtual ms a cell may take before it counts as not connected (default 60 000). */
  readonly timeout?: number;
}

const STUN_IP = "192.0.2.10";
const TURN_IP = "192.0.2.20";
const STUN: TransportAddress = { family: "IPv4", address: STUN_IP, port: 3478 };
const TURN: TransportAddress = { family: "IPv4", address: TURN_IP, port: 3478 };
/** One-way delay of the signaling channel, ms. */
const SIGNAL_DELAY = 50;

/**
 * Runs the matrix: every ordered pair of `behaviors` (row controlling, column controlled), each
 * on a fresh network, in order. Pure and deterministic: the result is a function of the options.
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for an unknown behaviour name or a bad loss
 *
 * @example
 * ```ts
 * const cells = runNatMatrix({ behaviors: ["symmetric", "port-restricted-cone"] });
 * cells.map((c) => `${c.a}/${c.b}: ${c.path}`);
 * // → ["symmetric/symmetric: relay", "symmetric/port-restricted-cone: relay",
 * //    "port-restricted-cone/symmetric: relay", "port-restricted-cone/port-restricted-cone: direct"]
 * cells.every((c) => c.ok); // → true: every cell took the path RFC 4787 predicts
 * ```
 */
export function runNatMatrix(options: NatMatrixOptions = {}): MatrixCell[] {
  const loss = options.loss ?? 0;
  if (typeof loss !== "number" || !(loss >= 0 && loss < 1)) throw new IcekitError("INVALID_ARGUMENT", `loss ${String(loss)}: pass a probability from 0 to below 1, e.g. 0.05`);
  const rows = (options.behaviors ?? MATRIX_BEHAVIORS).map((b) => {
    if (typeof b !== "string") return b;
    const found = MATRIX_BEHAVIORS.find((m) => m.name === b);
    if (found === undefined) throw new IcekitError("INVALID_ARGUMENT", `NAT behaviour '${b}': pass one of ${MATRIX_BEHAVIORS.map((m) => m.name).join(", ")}`);
    return found;
  });
  const total = rows.length * rows.length;
  const cells: MatrixCell[] = [];
  for (const a of rows) {
    for (const b of rows) {
      const cell = runCell(a, b, options.seed ?? 1, loss, options.timeout ?? 60_000);
      cells.push(cell);
      options.onCell?.(cell, cells.length - 1, total);
    }
  }
  return cells;
}

/** One cell: a fresh network, servers, two agents, signaling; runs until both completed or either failed. */
function runCell(ra: MatrixBehavior, rb: MatrixBehavior, seed: number, loss: number, timeout: number): MatrixCell {
  const link = loss > 0 ? { delay: 10, loss } : { delay: 10 };
  const net = new Network({ seed, link, trace: false });
  const stun = net.server(STUN_IP, { name: "stun" });
  net.attach(stun, new StunServer({ random: stun.random }), { port: 3478 });
  attachTurn(net);

  const hostFor = (name: "a" | "b", behavior: NatBehavior | undefined): Host => {
    if (behavior === undefined) return net.host(name === "a" ? "203.0.113.1" : "203.0.113.2", { name, link });
    return net.nat(behavior, { name: `nat-${name}`, link }).host(name === "a" ? "192.168.1.2" : "10.0.0.2", { name, link });
  };

  const agents: Partial<Record<"a" | "b", { agent: IceAgent; drive: () => void }>> = {};
  const other = (name: "a" | "b") => agents[name === "a" ? "b" : "a"]!;
  const peer = (name: "a" | "b", behavior: NatBehavior | undefined) => {
    const host = hostFor(name, behavior);
    const agent = new IceAgent({
      role: name === "a" ? "controlling" : "controlled",
      random: host.fork("ice"),
      stunServers: [STUN],
      turnServers: [{ address: TURN, username: "user", password: "pass" }],
    });
    const att = net.attach(host, agent, {
      port: 5000,
      keepEvents: false,
      onEvent: (e) => {
        // The signaling channel: candidates and end-of-candidates reach the peer SIGNAL_DELAY later.
        if (e.type === "local-candidate") {
          const line = e.line;
          net.after(SIGNAL_DELAY, () => {
            other(name).agent.addRemoteCandidate(net.now, line);
            other(name).drive();
          });
        } else if (e.type === "gathering" && e.state === "complete") {
          net.after(SIGNAL_DELAY, () => {
            other(name).agent.endOfRemoteCandidates(net.now);
            other(name).drive();
          });
        }
      },
    });
    for (const address of host.addresses) agent.addLocalSocket(net.now, { family: "IPv4", address, port: att.sockets[0]!.port }, 1);
    agents[name] = { agent, drive: () => att.drive() };
    return agents[name];
  };
  const a = peer("a", ra.behavior);
  const b = peer("b", rb.behavior);
  const start = net.now;
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const ufrag = from.agent.localUfrag;
    const pwd = from.agent.localPwd;
    net.after(SIGNAL_DELAY, () => {
      to.agent.setRemoteCredentials(ufrag, pwd);
      to.drive();
    });
  }
  a.agent.startGathering(net.now);
  b.agent.startGathering(net.now);
  a.drive();
  b.drive();
  const failed = () => a.agent.state === "failed" || b.agent.state === "failed";
  const both = () => a.agent.selectedPair() !== undefined && b.agent.selectedPair() !== undefined;
  net.runUntil(() => both() || failed(), { timeout });
  const expected = expectedPath(ra.behavior, rb.behavior);
  const sel = a.agent.selectedPair();
  if (!both() || sel === undefined) return { a: ra.name, b: rb.name, connected: false, path: undefined, pair: undefined, ms: undefined, expected, ok: false };
  const relayed = (c: IceCandidate) => c.type === "relay";
  const otherSel = b.agent.selectedPair()!;
  const path = relayed(sel.local) || relayed(sel.remote) || relayed(otherSel.local) || relayed(otherSel.remote) ? "relay" : "direct";
  return { a: ra.name, b: rb.name, connected: true, path, pair: `${sel.local.type}-${sel.remote.type}`, ms: net.now - start, expected, ok: path === expected };
}

/** The TURN server at {@link TURN}, relaying for anyone (the simulated internet has no inside). */
function attachTurn(net: Network): TurnServer {
  const host = net.server(TURN_IP, { name: "turn" });
  return attachTurnServer(net, host, new TurnServer({ realm: "example.org", users: { user: "pass" }, relayAddresses: [TURN_IP], random: host.random, allowPeer: ["0.0.0.0/0"] }));
}
