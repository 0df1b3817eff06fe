/**
 * RFC 5780 NAT behaviour discovery as a sans-IO engine: mapping behaviour (§4.3), filtering
 * behaviour (§4.4), hairpinning (§3.4), and the classic RFC 3489 name, from one local socket
 * against one RFC 5780 server (two IP addresses × two ports).
 *
 * A {@link NatDiscovery} owns a {@link StunClient} and forwards the five verbs to it; everything
 * it sends is a Binding request. The driver loop is the usual one (see `src/engine.ts`); the only
 * thing particular to discovery is that responses arrive from addresses the driver never sent to
 * (CHANGE-REQUEST asks the server to answer from its other IP and port), so the socket must not
 * be `connect()`ed:
 *
 * ```ts
 * const nat = new NatDiscovery({ server: { family: "IPv4", address: "192.0.2.1", port: 3478 }, local });
 * nat.start(clock());
 * const drive = () => {
 *   for (let t; (t = nat.pollTransmit()); ) {
 *     if (t.transport === "udp") socket.send(t.data, t.remote.port, t.remote.address);
 *     else tcpSend(t.remote, t.data); // only for the TCP probe after a silent test I
 *   }
 *   for (let e; (e = nat.pollEvent()); ) {
 *     if (e.type === "progress") log(e.test.name, e.test.result);
 *     else { print(e.report); socket.close(); return; }
 *   }
 *   const at = nat.pollTimeout();
 *   clearTimeout(timer);
 *   if (at !== undefined) timer = setTimer(() => { nat.handleTimeout(clock()); drive(); }, Math.max(0, at - clock()));
 * };
 * socket.on("message", (data, rinfo) => {
 *   nat.handleReceive(clock(), { local, remote: fromRinfo(rinfo), transport: "udp", data });
 *   drive();
 * });
 * drive();
 * ```
 *
 * ## The order of the tests
 *
 * 1. **Test I** (§4.2, shared by §4.3 and §4.4): a plain Binding request to the server's primary
 *    address. It gives the mapped address and OTHER-ADDRESS (the server's alternate IP and port).
 * 2. **Filtering tests II and III** (§4.4), in parallel: Binding requests to the primary address
 *    with CHANGE-REQUEST change-IP+change-port (II) and change-port (III). Both only ever send to
 *    the primary address, so neither disturbs the other; running them together costs one expected
 *    timeout instead of two. II answered: endpoint-independent filtering; else III answered:
 *    address-dependent; else address-and-port-dependent.
 * 3. **Mapping tests II and III** (§4.3), in parallel: Binding requests to the alternate IP with
 *    the primary port (II) and to the alternate IP and port (III). II's mapped address equal to
 *    test I's: endpoint-independent mapping; else III's equal to II's: address-dependent; else
 *    address-and-port-dependent. III is sent without waiting for II (one round trip saved, one
 *    request more); its answer is only read when II differs from I, as §4.3 describes. The
 *    hairpinning probe, if asked for, goes out in this phase too.
 *
 * Filtering comes strictly **before** mapping: the mapping tests send to the alternate address,
 * which opens the NAT's filter for it (RFC 4787 §5), after which filtering test II would be
 * answered through an address-dependent NAT and wrongly read as endpoint-independent. §3.2 states
 * the precondition: "no binding be established to the alternate address and port". New
 * transactions are spaced {@link NatDiscoveryOptions.pacing} apart (100 ms: §5's "no more than ten
 * new STUN transactions per second", which also keeps parallel retransmissions from
 * synchronising).
 *
 * ## Timeouts
 *
 * The filtering tests *expect* silence, so the time to give up is the running time of the whole
 * discovery. RFC 8489's defaults (Rc = 7, Rm = 16: 39.5 s per transaction) would make a
 * port-restricted NAT take 40 s to diagnose; RFC 5780 does not mandate a schedule. icekit uses
 * Rc = 3, Rm = 4 ({@link NAT_DISCOVERY_STUN_DEFAULTS}): sends at 0, RTO, 3·RTO and gives up at
 * 7·RTO, i.e. 3.5 s with the initial RTO of 500 ms, less once test I has measured the path (the RTO
 * estimate is per server IP, RFC 8489 §6.2.1). A whole discovery behind a port-restricted NAT
 * then takes about 3.5 s plus a few round trips; pass `stun: { rc, rm, rto }` to trade speed for
 * tolerance of loss.
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { formatTransportAddress, sameTransportAddress } from "../bytes/ip";
import { toHex } from "../bytes/hex";
import { IcekitError } from "../errors";
import { Queue, defaultRandom } from "../engine";
import type { Engine, RandomSource, Received, Transmit, TransportProtocol } from "../engine";
import { MappedAddress, OtherAddress, XorMappedAddress } from "../stun/attributes/address";
import { ChangeRequest } from "../stun/attributes/nat-behavior";
import type { ChangeRequestValue } from "../stun/attributes/nat-behavior";
import { StunMessageBuilder } from "../stun/builder";
import { StunClient, attr } from "../stun/client";
import type { StunAuth, StunClientEvent, StunClientOptions, StunClientStats } from "../stun/client";
import { MessageClass, Method } from "../stun/constants";
import { decodeStunMessage } from "../stun/message";
import type { StunMessage } from "../stun/message";
import { classicNatType } from "./nat-type";
import type { ClassicNatType, FilteringBehavior, MappingBehavior } from "./nat-type";

/**
 * The retransmission schedule discovery gives its {@link StunClient} unless
 * {@link NatDiscoveryOptions.stun} says otherwise: three sends (at 0, RTO and 3·RTO) and a wait of
 * 4·RTO after the last, so an expected timeout costs 3.5 s at the initial RTO of 500 ms instead of
 * RFC 8489's 39.5 s; the TCP probe waits as long.
 *
 * @example
 * ```ts
 * NAT_DISCOVERY_STUN_DEFAULTS; // → { rc: 3, rm: 4, tcpTimeout: 3500 }
 * // On a lossy path, allow more sends per test (and a longer wait for each):
 * new NatDiscovery({ server, stun: { ...NAT_DISCOVERY_STUN_DEFAULTS, rc: 5, rm: 8 } });
 * ```
 */
export const NAT_DISCOVERY_STUN_DEFAULTS: Readonly<Required<Pick<StunClientOptions, "rc" | "rm" | "tcpTimeout">>> = {
  rc: 3,
  rm: 4,
  tcpTimeout: 3_500,
};

/** RFC 5780 §5: "A client SHOULD NOT generate more than ten new STUN transactions per second". */
const DEFAULT_PACING_MS = 100;

/**
 * The tests discovery can run, in the order they start:
 *
 * - `udp-connectivity`: test I of §4.3 and §4.4 (§4.2), a plain Binding request to the server.
 * - `tcp-connectivity`: only after a silent test I (and with {@link NatDiscoveryOptions.tcpProbe}):
 *   the same request over TCP, to tell `udp-blocked` from `blocked`.
 * - `filtering-II`, `filtering-III`: §4.4 tests II (change IP and port) and III (change port).
 * - `mapping-II`, `mapping-III`: §4.3 tests II (alternate IP, primary port) and III (alternate
 *   IP and port).
 * - `hairpinning`: §3.4, a Binding request to the client's own mapped address.
 *
 * @example
 * ```ts
 * report.tests.map((t) => `${t.name} ${t.result}`); // behind a port-restricted cone NAT:
 * // → ["udp-connectivity response", "filtering-II timeout", "filtering-III timeout",
 * //    "mapping-II response", "mapping-III response", "hairpinning response"]
 * ```
 */
export type NatTestName =
  | "udp-connectivity"
  | "tcp-connectivity"
  | "filtering-II"
  | "filtering-III"
  | "mapping-II"
  | "mapping-III"
  | "hairpinning";

/**
 * What one test did and saw: an entry of {@link NatReport.tests}.
 *
 * @example
 * ```ts
 * report.tests[0];
 * // → { name: "udp-connectivity", transport: "udp", to: { family: "IPv4", address: "192.0.2.1", port: 3478 },
 * //     result: "response", mapped: { family: "IPv4", address: "198.51.100.1", port: 5000 },
 * //     from: { family: "IPv4", address: "192.0.2.1", port: 3478 }, rttMs: 30 }
 * ```
 */
export interface NatTestResult {
  /** Which test. */
  readonly name: NatTestName;
  /** Transport it ran on (`tcp` only for `tcp-connectivity`). */
  readonly transport: TransportProtocol;
  /** Where the request went. */
  readonly to: TransportAddress;
  /** CHANGE-REQUEST's change-IP flag, on the filtering tests. */
  readonly changeIp?: boolean;
  /** CHANGE-REQUEST's change-port flag, on the filtering tests. */
  readonly changePort?: boolean;
  /**
   * `response`: a success response came back (for `hairpinning`: the probe itself came back);
   * `timeout`: nothing came back in time (what the filtering tests expect through a filtering
   * NAT); `error`: something came back that cannot be used, see `detail`.
   */
  readonly result: "response" | "timeout" | "error";
  /** XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS) of the response. */
  readonly mapped?: TransportAddress;
  /** The source address the answer actually came from, as the driver saw it. */
  readonly from?: TransportAddress;
  /** From the first send to the answer. */
  readonly rttMs?: number;
  /** For `error`: ERROR-CODE of an error response. */
  readonly errorCode?: number;
  /** For `error` and `timeout`: a sentence for logs. */
  readonly detail?: string;
}

/**
 * What discovery found. Every field is settled; `undefined` means "could not be determined".
 *
 * @example
 * ```ts
 * discovery.report; // behind a port-restricted cone NAT (RFC 4787's usual home router):
 * // → { mapping: "endpoint-independent", filtering: "address-and-port-dependent", natType: "port-restricted-cone",
 * //     local: { family: "IPv4", address: "192.168.1.2", port: 5000 }, mapped: { family: "IPv4", address: "198.51.100.1", port: 5000 },
 * //     behindNat: true, portPreserved: true, hairpinning: true, otherAddress: { family: "IPv4", address: "192.0.2.2", port: 3479 },
 * //     rfc5780Supported: true, tests: [ ... ] }
 * ```
 */
export interface NatReport {
  /** RFC 4787 §4.1 behaviour; undefined when not measurable (no usable OTHER-ADDRESS, test I failed, mapping test II got no answer). */
  readonly mapping: MappingBehavior | undefined;
  /** RFC 4787 §5 behaviour; undefined when not measurable (no usable OTHER-ADDRESS, test I failed, an error response). */
  readonly filtering: FilteringBehavior | undefined;
  /** The classic name: {@link classicNatType} of the above, or `blocked` / `udp-blocked` when test I failed. */
  readonly natType: ClassicNatType;
  /** The local transport address the tests ran from: the one passed in, else the one the driver reported with test I's response. */
  readonly local: TransportAddress | undefined;
  /** The external (server-reflexive) address from test I: pystun's external IP and port. */
  readonly mapped: TransportAddress | undefined;
  /** True when `mapped` differs from `local` (RFC 5780 §4.3); undefined when the local IP is unknown or a wildcard. */
  readonly behindNat: boolean | undefined;
  /** True when the NAT kept the local port (RFC 4787 §4.2.1 port preservation); undefined when either port is unknown. */
  readonly portPreserved: boolean | undefined;
  /** Whether the NAT hairpins (RFC 4787 §6); undefined unless {@link NatDiscoveryOptions.testHairpinning} and behind a NAT. */
  readonly hairpinning: boolean | undefined;
  /** OTHER-ADDRESS from test I, as the server sent it, even when unusable. */
  readonly otherAddress: TransportAddress | undefined;
  /**
   * True when test I carried an OTHER-ADDRESS that the tests can use: same family as the server,
   * and a different IP address and port (RFC 5780 §6 requires two IPs and two ports).
   */
  readonly rfc5780Supported: boolean;
  /** Every test that ran, in the order it started: for `--json` and for debugging. */
  readonly tests: readonly NatTestResult[];
}

/**
 * What a {@link NatDiscovery} reports.
 *
 * @example
 * ```ts
 * for (let e: NatDiscoveryEvent | undefined; (e = discovery.pollEvent()); ) {
 *   if (e.type === "progress") console.log(e.test.name, e.test.result); // → "filtering-II timeout", ...
 *   else console.log(e.report.natType);                                 // → "port-restricted-cone"
 * }
 * ```
 */
export type NatDiscoveryEvent =
  /** One test finished. */
  | { readonly type: "progress"; readonly test: NatTestResult }
  /** Discovery finished; the engine has nothing more to do. */
  | { readonly type: "done"; readonly report: NatReport };

/**
 * Configuration of a {@link NatDiscovery}.
 *
 * @example
 * ```ts
 * const options: NatDiscoveryOptions = {
 *   server: { family: "IPv4", address: "192.0.2.1", port: 3478 }, // OTHER-ADDRESS 192.0.2.2:3479
 *   local: { family: "IPv4", address: "192.168.1.2", port: 5000 }, // the socket's own address
 *   testHairpinning: true,
 * };
 * ```
 */
export interface NatDiscoveryOptions {
  /** The RFC 5780 server's primary address (resolved: §5.1's SRV lookup is the driver's job). */
  readonly server: TransportAddress;
  /**
   * The local socket's address, needed to tell "no NAT" from "NAT" (§4.3). A socket bound to the
   * wildcard address only tells the port. When absent, the `local` of test I's
   * {@link Received} is used.
   */
  readonly local?: TransportAddress;
  /**
   * Also test hairpinning (RFC 5780 §3.4, RFC 4787 §6): send a Binding request to the mapped
   * address and see whether it comes back. Default false. Skipped when there is no NAT.
   */
  readonly testHairpinning?: boolean;
  /**
   * The socket to send the hairpinning probe from; §3.4 uses a second port. Default: the same
   * socket as the other tests, which tests hairpinning just as well (the probe's translated source
   * is then the mapped address itself).
   */
  readonly hairpinLocal?: TransportAddress;
  /**
   * After a silent test I, try the same Binding request over TCP to tell `udp-blocked` (TCP
   * works) from `blocked` (nothing works). Default true. A driver without TCP can say false (the
   * result is then `blocked`), or simply drop the transmit (the probe times out: `blocked`).
   */
  readonly tcpProbe?: boolean;
  /** Credentials, for servers that require them (RFC 5780 §5.2). Not used on the hairpinning probe. */
  readonly auth?: StunAuth;
  /** Random source for transaction ids (default `crypto.getRandomValues`). */
  readonly random?: RandomSource;
  /** The inner {@link StunClient}'s options, over {@link NAT_DISCOVERY_STUN_DEFAULTS}. */
  readonly stun?: StunClientOptions;
  /** Minimum spacing of new transactions in ms (default 100, RFC 5780 §5). */
  readonly pacing?: number;
}

interface PlannedTest {
  readonly name: NatTestName;
  readonly transport: TransportProtocol;
  readonly to: TransportAddress;
  readonly change?: ChangeRequestValue;
}

interface HairpinProbe {
  readonly slot: number;
  readonly to: TransportAddress;
  readonly tidHex: string;
  readonly bytes: Uint8Array;
  readonly startedAt: number;
  readonly rto: number;
  sends: number;
  interval: number;
  nextAt: number;
}

type Phase = "idle" | "connectivity" | "tcp" | "filtering" | "mapping" | "done";

/**
 * RFC 5780 NAT behaviour discovery: see the module comment for the driver loop and the order of
 * the tests.
 *
 * Methods: {@link NatDiscovery.start} once; then the five verbs of the sans-IO contract
 * ({@link NatDiscovery.handleReceive}, {@link NatDiscovery.handleTimeout},
 * {@link NatDiscovery.pollTransmit}, {@link NatDiscovery.pollTimeout},
 * {@link NatDiscovery.pollEvent}), plus {@link NatDiscovery.handleTransportError} for ICMP and
 * TCP failures. The last event is `done` with the {@link NatReport}, also available as
 * {@link NatDiscovery.report} afterwards.
 *
 * @example
 * ```ts
 * // In the simulator, against an RFC 5780 StunServer (primary 192.0.2.1:3478, alternate 192.0.2.2:3479):
 * const alice = net.nat(portRestrictedCone()).host();
 * const server = { family: "IPv4", address: "192.0.2.1", port: 3478 } as const;
 * const att = net.attach(alice, new NatDiscovery({ server, random: alice.random }));
 * att.engine.start(net.now);
 * net.runUntil(() => att.engine.report !== undefined);
 * att.engine.report?.natType; // → "port-restricted-cone"
 * ```
 */
export class NatDiscovery implements Engine<NatDiscoveryEvent> {
  readonly #server: TransportAddress;
  readonly #optionLocal: TransportAddress | undefined;
  readonly #testHairpinning: boolean;
  readonly #hairpinLocal: TransportAddress | undefined;
  readonly #tcpProbe: boolean;
  readonly #auth: StunAuth | undefined;
  readonly #random: RandomSource;
  readonly #pacing: number;
  readonly #rc: number;
  readonly #rm: number;
  readonly #initialRto: number;
  readonly #client: StunClient;
  readonly #events = new Queue<NatDiscoveryEvent>();
  readonly #transmits = new Queue<Transmit>();
  readonly #pending: PlannedTest[] = [];
  /** Client transaction id → the test and its slot in #results. */
  readonly #running = new Map<number, { test: PlannedTest; slot: number; startedAt: number }>();
  readonly #results: (NatTestResult | undefined)[] = [];
  readonly #byName = new Map<NatTestName, NatTestResult>();
  #phase: Phase = "idle";
  #nextStartAt = 0;
  #hairpin: HairpinProbe | undefined;
  #local: TransportAddress | undefined;
  #mapped: TransportAddress | undefined;
  #otherAddress: TransportAddress | undefined;
  #supported = false;
  #behindNat: boolean | undefined;
  /** Test I ended in silence or a transport error: the path is dead, not the server unwilling. */
  #pathFailed = false;
  #report: NatReport | undefined;

  /**
   * @param options - see {@link NatDiscoveryOptions}
   * @throws {@link IcekitError} when `server` is not a transport address or `pacing` is negative
   */
  constructor(options: NatDiscoveryOptions) {
    checkAddress("server", options?.server);
    if (options.local !== undefined) checkAddress("local", options.local);
    if (options.hairpinLocal !== undefined) checkAddress("hairpinLocal", options.hairpinLocal);
    const pacing = options.pacing ?? DEFAULT_PACING_MS;
    if (!(pacing >= 0) || !Number.isFinite(pacing)) {
      throw new IcekitError("INVALID_ARGUMENT", `pacing ${String(pacing)}: pass a number of milliseconds >= 0 (default 100)`);
    }
    this.#server = options.server;
    this.#optionLocal = options.local;
    this.#testHairpinning = options.testHairpinning ?? false;
    this.#hairpinLocal = options.hairpinLocal;
    this.#tcpProbe = options.tcpProbe ?? true;
    this.#auth = options.auth;
    this.#random = options.random ?? options.stun?.random ?? defaultRandom;
    this.#pacing = pacing;
    // RFC 5780 §5: ALTERNATE-SERVER is ignored during behaviour discovery.
    const stun: StunClientOptions = { ...NAT_DISCOVERY_STUN_DEFAULTS, followRedirects: false, ...options.stun, random: this.#random };
    this.#client = new StunClient(stun);
    this.#rc = stun.rc ?? NAT_DISCOVERY_STUN_DEFAULTS.rc;
    this.#rm = stun.rm ?? NAT_DISCOVERY_STUN_DEFAULTS.rm;
    this.#initialRto = stun.rto?.initialRto ?? 500;
  }

  /**
   * Starts discovery: queues test I.
   *
   * @throws {@link IcekitError} `INVALID_STATE` when called twice
   */
  start(now: number): void {
    if (this.#phase !== "idle") throw new IcekitError("INVALID_STATE", "NatDiscovery.start() was already called; create a new NatDiscovery (and, RFC 5780 §4.1, a fresh socket) to run again");
    this.#phase = "connectivity";
    this.#nextStartAt = now;
    this.#pending.push({ name: "udp-connectivity", transport: "udp", to: this.#server });
    this.#startDue(now);
  }

  /**
   * Hands in a datagram (or a framed TCP message for the TCP probe). Returns true when it was
   * discovery's (a response to one of its requests, or its own hairpinning probe coming back),
   * false otherwise, so that a driver sharing the socket can pass it on. Never throws.
   */
  handleReceive(now: number, received: Received): boolean {
    if (this.#phase === "idle" || this.#phase === "done") return false;
    if (this.#hairpin !== undefined && this.#isHairpinProbe(received.data)) {
      this.#finishHairpin(now, "response", received.remote);
      this.#advance(now);
      return true;
    }
    const consumed = this.#client.handleReceive(now, received);
    this.#pump(now, received);
    return consumed;
  }

  /** Retransmits, times out and starts tests whose time has come; early calls do nothing. */
  handleTimeout(now: number): void {
    if (this.#phase === "idle" || this.#phase === "done") return;
    this.#client.handleTimeout(now);
    this.#pump(now, undefined);
    const h = this.#hairpin;
    if (h !== undefined && h.nextAt <= now) {
      if (h.sends < this.#rc) this.#sendHairpin(h, now);
      else {
        this.#finishHairpin(now, "timeout", undefined);
        this.#advance(now);
      }
    }
    this.#startDue(now);
  }

  /**
   * The driver reports that the path to `remote` failed: an ICMP error for UDP, a refused or reset
   * connection for the TCP probe. The tests to it end as `error` (and a failed test I leads to the
   * TCP probe, as silence does).
   */
  handleTransportError(now: number, remote: TransportAddress, transport: TransportProtocol, detail?: string): void {
    if (this.#phase === "idle" || this.#phase === "done") return;
    this.#client.handleTransportError(now, remote, transport, detail);
    this.#pump(now, undefined);
  }

  /** Next datagram to send. */
  pollTransmit(): Transmit | undefined {
    return this.#client.pollTransmit() ?? this.#transmits.shift();
  }

  /** When to call {@link NatDiscovery.handleTimeout} next: a retransmission, a timeout or a paced test start. */
  pollTimeout(): number | undefined {
    if (this.#phase === "idle" || this.#phase === "done") return undefined;
    let t = this.#client.pollTimeout();
    if (this.#pending.length > 0 && (t === undefined || this.#nextStartAt < t)) t = this.#nextStartAt;
    if (this.#hairpin !== undefined && (t === undefined || this.#hairpin.nextAt < t)) t = this.#hairpin.nextAt;
    return t;
  }

  /** Next event: a `progress` per finished test, then one `done`. */
  pollEvent(): NatDiscoveryEvent | undefined {
    return this.#events.shift();
  }

  /** The report, once discovery is done; undefined before. */
  get report(): NatReport | undefined {
    return this.#report;
  }

  /** The inner STUN client's counters (unmatched and dropped datagrams, retransmissions). */
  stats(): Readonly<StunClientStats> {
    return this.#client.stats();
  }

  // ---- running tests ----

  #startDue(now: number): void {
    while (this.#pending.length > 0 && now >= this.#nextStartAt) {
      const test = this.#pending.shift()!;
      this.#launch(test, now);
      this.#nextStartAt = now + this.#pacing;
    }
  }

  #launch(test: PlannedTest, now: number): void {
    const slot = this.#results.length;
    this.#results.push(undefined);
    if (test.name === "hairpinning") {
      const tid = new Uint8Array(12);
      this.#random(tid);
      const bytes = new StunMessageBuilder().begin(Method.Binding, MessageClass.Request, tid).addFingerprint().finish().slice();
      const h: HairpinProbe = { slot, to: test.to, tidHex: toHex(tid), bytes, startedAt: now, rto: this.#initialRto, sends: 0, interval: this.#initialRto, nextAt: now };
      this.#hairpin = h;
      this.#sendHairpin(h, now);
      return;
    }
    const id = this.#client.request(now, {
      remote: test.to,
      transport: test.transport,
      // The TCP probe's source port is the connection's, not the UDP socket's.
      ...(test.transport === "udp" && this.#optionLocal !== undefined ? { local: this.#optionLocal } : {}),
      attributes: test.change !== undefined ? [attr(ChangeRequest, test.change)] : [],
      ...(this.#auth !== undefined ? { auth: this.#auth } : {}),
    });
    this.#running.set(id, { test, slot, startedAt: now });
  }

  /** Reads the inner client's events; each ends a test. */
  #pump(now: number, received: Received | undefined): void {
    for (let e; (e = this.#client.pollEvent()); ) {
      const run = this.#running.get(e.id);
      if (run === undefined) continue;
      this.#running.delete(e.id);
      this.#record(run.slot, this.#interpret(run.test, e, received));
    }
    this.#advance(now);
  }

  #interpret(test: PlannedTest, e: StunClientEvent, received: Received | undefined): NatTestResult {
    const base = {
      name: test.name,
      transport: test.transport,
      to: test.to,
      ...(test.change !== undefined ? { changeIp: test.change.changeIp, changePort: test.change.changePort } : {}),
    };
    if (e.type === "failure") {
      if (test.name === "udp-connectivity") this.#pathFailed = e.reason === "timeout" || e.reason === "transport";
      if (e.reason === "timeout") return { ...base, result: "timeout", detail: e.detail };
      return { ...base, result: "error", ...(e.errorCode !== undefined ? { errorCode: e.errorCode } : {}), detail: `${e.reason}: ${e.detail}` };
    }
    const from = received?.remote;
    const seen = { ...(from !== undefined ? { from } : {}), rttMs: e.rttMs };
    // RFC 5780 §5: ALTERNATE-SERVER is to be ignored; a redirected test measured another server.
    if (!sameTransportAddress(e.remote, test.to)) {
      return { ...base, result: "error", ...seen, detail: `redirected to ${formatTransportAddress(e.remote)} by 300 Try Alternate; RFC 5780 §5 tests must stay on one server` };
    }
    const mapped = mappedAddressOf(e.response);
    if (mapped === undefined) {
      return { ...base, result: "error", ...seen, detail: "the response carries no valid XOR-MAPPED-ADDRESS or MAPPED-ADDRESS" };
    }
    // A server that ignores CHANGE-REQUEST answers from the address we sent to, which would read
    // as endpoint-independent filtering; the RFC 5780 §6.1 Table 1 source must differ.
    if (test.change !== undefined && from !== undefined) {
      const ipKept = test.change.changeIp && from.address === test.to.address;
      const portKept = test.change.changePort && from.port === test.to.port;
      if (ipKept || portKept) {
        return { ...base, result: "error", ...seen, mapped, detail: `the response came from ${formatTransportAddress(from)}: the server did not honour CHANGE-REQUEST` };
      }
    }
    if (test.name === "udp-connectivity") this.#onTestI(e.response, mapped, received);
    return { ...base, result: "response", mapped, ...seen };
  }

  /** Test I answered: learn the mapped address, OTHER-ADDRESS and whether there is a NAT. */
  #onTestI(response: StunMessage, mapped: TransportAddress, received: Received | undefined): void {
    this.#mapped = mapped;
    this.#local = this.#optionLocal ?? received?.local;
    let other: TransportAddress | undefined;
    try {
      other = response.get(OtherAddress);
    } catch {
      other = undefined;
    }
    this.#otherAddress = other;
    const s = this.#server;
    this.#supported = other !== undefined && other.family === s.family && other.address !== s.address && other.port !== s.port;
    this.#behindNat = compareToLocal(mapped, this.#local);
  }

  #record(slot: number, result: NatTestResult): void {
    this.#results[slot] = result;
    this.#byName.set(result.name, result);
    this.#events.push({ type: "progress", test: result });
  }

  /** When the current phase has nothing left running, plans the next one (or finishes). */
  #advance(now: number): void {
    while (this.#pending.length === 0 && this.#running.size === 0 && this.#hairpin === undefined && this.#phase !== "done") {
      switch (this.#phase) {
        case "connectivity": {
          const testI = this.#byName.get("udp-connectivity");
          if (testI?.result === "response") {
            this.#phase = "filtering";
            if (this.#supported) {
              // RFC 5780 §4.4 tests II and III, both to the primary address.
              this.#pending.push(
                { name: "filtering-II", transport: "udp", to: this.#server, change: { changeIp: true, changePort: true } },
                { name: "filtering-III", transport: "udp", to: this.#server, change: { changeIp: false, changePort: true } },
              );
            }
          } else if (this.#tcpProbe && this.#pathFailed) {
            this.#phase = "tcp";
            this.#pending.push({ name: "tcp-connectivity", transport: "tcp", to: this.#server });
          } else {
            this.#finish();
          }
          break;
        }
        case "filtering": {
          this.#phase = "mapping";
          const other = this.#otherAddress;
          if (this.#supported && other !== undefined && this.#behindNat !== false) {
            // RFC 5780 §4.3 tests II (alternate IP, primary port) and III (alternate IP and port).
            this.#pending.push(
              { name: "mapping-II", transport: "udp", to: { family: other.family, address: other.address, port: this.#server.port } },
              { name: "mapping-III", transport: "udp", to: other },
            );
          }
          if (this.#testHairpinning && this.#mapped !== undefined && this.#behindNat !== false) {
            this.#pending.push({ name: "hairpinning", transport: "udp", to: this.#mapped });
          }
          break;
        }
        case "tcp":
        case "mapping":
          this.#finish();
          break;
        default:
          return;
      }
    }
    this.#startDue(now);
  }

  #finish(): void {
    this.#phase = "done";
    const testI = this.#byName.get("udp-connectivity");
    const tests = this.#results.filter((r): r is NatTestResult => r !== undefined);
    let natType: ClassicNatType;
    let mapping: MappingBehavior | undefined;
    let filtering: FilteringBehavior | undefined;
    if (testI?.result !== "response") {
      natType = this.#byName.get("tcp-connectivity")?.result === "response" ? "udp-blocked" : "blocked";
    } else {
      mapping = this.#mappingBehavior();
      filtering = this.#filteringBehavior();
      natType = classicNatType(mapping, filtering, this.#behindNat);
    }
    const hp = this.#byName.get("hairpinning");
    const local = this.#local ?? this.#optionLocal;
    const mapped = this.#mapped;
    this.#report = {
      mapping,
      filtering,
      natType,
      local,
      mapped,
      behindNat: this.#behindNat,
      portPreserved: mapped !== undefined && local !== undefined && local.port !== 0 ? mapped.port === local.port : undefined,
      hairpinning: hp === undefined ? undefined : hp.result === "response",
      otherAddress: this.#otherAddress,
      rfc5780Supported: this.#supported,
      tests,
    };
    this.#events.push({ type: "done", report: this.#report });
  }

  /** RFC 5780 §4.3. */
  #mappingBehavior(): MappingBehavior | undefined {
    // "If this address and port are the same as the local IP address and port of the socket used
    // to send the request, the client knows that it is not NATed and the effective mapping will be
    // Endpoint-Independent."
    if (this.#behindNat === false) return "endpoint-independent";
    const i = this.#mapped;
    const ii = this.#byName.get("mapping-II");
    const iii = this.#byName.get("mapping-III");
    if (i === undefined || ii?.result !== "response" || ii.mapped === undefined) return undefined;
    if (sameTransportAddress(ii.mapped, i)) return "endpoint-independent";
    if (iii?.result !== "response" || iii.mapped === undefined) return undefined;
    return sameTransportAddress(iii.mapped, ii.mapped) ? "address-dependent" : "address-and-port-dependent";
  }

  /** RFC 5780 §4.4. */
  #filteringBehavior(): FilteringBehavior | undefined {
    const ii = this.#byName.get("filtering-II");
    const iii = this.#byName.get("filtering-III");
    if (ii === undefined) return undefined;
    if (ii.result === "response") return "endpoint-independent";
    if (ii.result !== "timeout" || iii === undefined) return undefined;
    if (iii.result === "response") return "address-dependent";
    return iii.result === "timeout" ? "address-and-port-dependent" : undefined;
  }

  // ---- the hairpinning probe (RFC 5780 §3.4): our own request, not a transaction ----

  #sendHairpin(h: HairpinProbe, now: number): void {
    const local = this.#hairpinLocal ?? this.#optionLocal;
    this.#transmits.push({ local, remote: h.to, transport: "udp", data: h.bytes });
    h.sends++;
    // The RFC 8489 §6.2.1 schedule with discovery's Rc and Rm, as for the other tests.
    if (h.sends < this.#rc) {
      h.nextAt = now + h.interval;
      h.interval *= 2;
    } else {
      h.nextAt = now + this.#rm * h.rto;
    }
  }

  #isHairpinProbe(data: Uint8Array): boolean {
    let msg: StunMessage;
    try {
      msg = decodeStunMessage(data);
    } catch {
      return false;
    }
    return msg.messageClass === MessageClass.Request && msg.method === Method.Binding && msg.transactionIdHex === this.#hairpin?.tidHex;
  }

  #finishHairpin(now: number, result: "response" | "timeout", from: TransportAddress | undefined): void {
    const h = this.#hairpin!;
    this.#hairpin = undefined;
    this.#record(h.slot, {
      name: "hairpinning",
      transport: "udp",
      to: h.to,
      result,
      ...(from !== undefined ? { from, rttMs: now - h.startedAt } : { detail: `the probe to ${formatTransportAddress(h.to)} did not come back after ${h.sends} sends` }),
    });
  }
}

function mappedAddressOf(msg: StunMessage): TransportAddress | undefined {
  try {
    return msg.get(XorMappedAddress) ?? msg.get(MappedAddress);
  } catch {
    return undefined;
  }
}

/** RFC 5780 §4.3's comparison of the mapped address with the socket's own. */
function compareToLocal(mapped: TransportAddress, local: TransportAddress | undefined): boolean | undefined {
  if (local === undefined || local.address === "0.0.0.0" || local.address === "::") return undefined;
  if (local.family !== mapped.family || local.address !== mapped.address) return true;
  if (local.port === 0) return undefined;
  return local.port !== mapped.port;
}

function checkAddress(name: string, a: TransportAddress | undefined): void {
  if (
    a === null ||
    typeof a !== "object" ||
    (a.family !== "IPv4" && a.family !== "IPv6") ||
    typeof a.address !== "string" ||
    !Number.isInteger(a.port) ||
    a.port < 0 ||
    a.port > 65535
  ) {
    throw new IcekitError("INVALID_ARGUMENT", `${name}: pass a transport address such as { family: "IPv4", address: "192.0.2.1", port: 3478 } (see transportAddress())`);
  }
}
