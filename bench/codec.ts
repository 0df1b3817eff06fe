/**
 * icekit's STUN codec beside the `stun` npm package (2.x) and werift-ice's STUN codec, on the
 * same bytes in one process.
 *
 * Two messages, four workloads each (bench/README.md has the table):
 *
 * - an ICE connectivity check: Binding request with USERNAME, PRIORITY, ICE-CONTROLLING,
 *   USE-CANDIDATE, MESSAGE-INTEGRITY and FINGERPRINT, plus the RFC 5769 §2.1 sample request as a
 *   second input to the decode workloads;
 * - its answer: Binding success response with XOR-MAPPED-ADDRESS (plus MESSAGE-INTEGRITY and
 *   FINGERPRINT in the sign and verify workloads).
 *
 * Fairness rules:
 *
 * - Every side reads the attributes the workload names (icekit decodes attributes lazily, the
 *   peers eagerly), and stores what it read into a probe object, so the work cannot be dropped
 *   and the results can be compared.
 * - Before timing, each comparison runs every side once and checks they agree: decoders must read
 *   the same values and the same verdict, encoders must produce messages icekit decodes to the
 *   same values (and whose integrity and fingerprint check). A peer that disagrees gets a
 *   `warning:` line on stderr and is still timed and reported; a peer that throws is skipped.
 * - Each side uses its library the way its documentation has a user do it: icekit creates its
 *   HMAC key once per credential and reuses one {@link StunMessageBuilder}; `stun` takes the
 *   password per call; werift-ice takes the key per `parseMessage` call. Verification evaluates
 *   both checks without short-circuit, so a side that finds the fingerprint wrong still pays for
 *   the HMAC.
 * - The peers get the bytes as a `Buffer` (their API), icekit as a plain `Uint8Array` view of the
 *   same memory.
 *
 * werift-ice's `parseMessage` always checks FINGERPRINT when the message carries one, so its
 * plain "decode" of the signed request includes a CRC-32; that is its API, not a choice here.
 *
 * Run alone with `npx tsx bench/codec.ts [--quick]`; `npm run bench` runs it as suite "codec".
 *
 * @module
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import type * as WeriftConst from "werift-ice/lib/ice-server/src/stun/const";
import type * as WeriftMessage from "werift-ice/lib/ice-server/src/stun/message";
import {
  IceControlled,
  IceControlling,
  MessageClass,
  Method,
  Priority,
  StunMessageBuilder,
  UseCandidate,
  Username,
  XorMappedAddress,
  checkFingerprint,
  checkMessageIntegrity,
  createHmacKey,
  decodeStunMessage,
  fromHex,
  shortTermKey,
  toHex,
} from "../src/index";
import type { BenchResult, Side, SuiteOptions } from "./harness";
import { FULL, QUICK, compare, consume } from "./harness";

// ---------------------------------------------------------------------------------------------
// The peers. Neither ships an ES module entry for these parts: `stun` has no types and werift-ice
// keeps its codec in a deep CommonJS path, so both are loaded with require().

const require = createRequire(import.meta.url);

/** The part of `stun` 2.x this bench uses (it ships no type declarations). */
interface StunAttribute {
  readonly type: number;
  readonly value: unknown;
}
interface StunDecoded {
  getAttribute(type: number): StunAttribute | undefined;
  hasAttribute(type: number): boolean;
  getUsername(): string | undefined;
  getXorAddress(): { address: string; port: number; family: string } | undefined;
}
interface StunOutgoing {
  addUsername(username: string): unknown;
  addPriority(priority: number): unknown;
  addIceControlling(tiebreaker: Buffer): unknown;
  addUseCandidate(): unknown;
  addXorAddress(address: string, port: number): unknown;
  addMessageIntegrity(password: string): unknown;
  addFingerprint(): unknown;
}
interface StunModule {
  decode(message: Buffer): StunDecoded;
  encode(message: StunOutgoing): Buffer;
  createMessage(type: number, transactionId?: Buffer): StunOutgoing;
  validateFingerprint(message: StunDecoded): boolean;
  validateMessageIntegrity(message: StunDecoded, password: string): boolean;
  constants: Record<string, number>;
}

const stun = require("stun") as StunModule;
const werift = require("werift-ice/lib/ice-server/src/stun/message") as typeof WeriftMessage;
const weriftConst = require("werift-ice/lib/ice-server/src/stun/const") as typeof WeriftConst;

const S = {
  BINDING_REQUEST: stun.constants.STUN_BINDING_REQUEST!,
  BINDING_RESPONSE: stun.constants.STUN_BINDING_RESPONSE!,
  USERNAME: stun.constants.STUN_ATTR_USERNAME!,
  PRIORITY: stun.constants.STUN_ATTR_PRIORITY!,
  ICE_CONTROLLING: stun.constants.STUN_ATTR_ICE_CONTROLLING!,
  ICE_CONTROLLED: stun.constants.STUN_ATTR_ICE_CONTROLLED!,
  USE_CANDIDATE: stun.constants.STUN_ATTR_USE_CANDIDATE!,
};

const STUN = "stun";
const WERIFT = "werift-ice";

// ---------------------------------------------------------------------------------------------
// The inputs.

/** RFC 5769 §2.1 sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME padded with spaces). */
const RFC5769_REQUEST = fromHex(
  "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e20746573" +
    "7420636c69656e74002400046e0001ff80290008932ff9b151263b3600060009" +
    "6576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249" +
    "c1b571a280280004e57a3bcf",
);
/** RFC 5769 §2.1's short-term password, transaction id, username and priority; reused below. */
const PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt";
const TID = fromHex("b7e7a701bc34d686fa87dfae");
const USERNAME = "evtj:h6vY";
const PRIORITY = 0x6e0001ff;
const TIEBREAKER = 0x932ff9b151263b36n;
const MAPPED = { family: "IPv4", address: "192.0.2.1", port: 32853 } as const;

/** icekit's key: created once per credential, as icekit's API intends. */
const ICEKIT_KEY = createHmacKey("sha1", shortTermKey(PASSWORD));
/** werift-ice takes the key as a Buffer; `stun` takes the password string. */
const WERIFT_KEY = Buffer.from(PASSWORD, "utf8");
const TID_BUF = Buffer.from(TID);
const TIEBREAKER_BUF = Buffer.from(fromHex(TIEBREAKER.toString(16).padStart(16, "0")));

const builder = new StunMessageBuilder();

function icekitRequest(sign: boolean): Uint8Array {
  builder
    .begin(Method.Binding, MessageClass.Request, TID)
    .add(Username, USERNAME)
    .add(Priority, PRIORITY)
    .add(IceControlling, TIEBREAKER)
    .add(UseCandidate, true);
  if (sign) builder.addMessageIntegrity(ICEKIT_KEY).addFingerprint();
  return builder.finish();
}

function icekitResponse(sign: boolean): Uint8Array {
  builder.begin(Method.Binding, MessageClass.SuccessResponse, TID).add(XorMappedAddress, MAPPED);
  if (sign) builder.addMessageIntegrity(ICEKIT_KEY).addFingerprint();
  return builder.finish();
}

/** One input: icekit's view and the peers' Buffer over the same memory. */
interface Input {
  readonly bytes: Uint8Array;
  readonly buf: Buffer;
}

function input(bytes: Uint8Array): Input {
  const copy = bytes.slice();
  return { bytes: copy, buf: Buffer.from(copy.buffer, copy.byteOffset, copy.length) };
}

// ---------------------------------------------------------------------------------------------
// Probes: each side writes what it read here, inside the timed call. Comparing probes after one
// untimed call is the equivalence check; the stores themselves keep the work observable.

interface Probe {
  valid: unknown;
  username: unknown;
  priority: unknown;
  tiebreaker: unknown;
  useCandidate: unknown;
  address: unknown;
  bytes: Uint8Array | undefined;
}

function probe(): Probe {
  return { valid: undefined, username: undefined, priority: undefined, tiebreaker: undefined, useCandidate: undefined, address: undefined, bytes: undefined };
}

/** The probe as plain JSON-able values, so the three libraries' types compare. */
function normalize(p: Probe): Record<string, unknown> {
  const hex = (x: unknown): unknown =>
    typeof x === "bigint" ? x.toString(16).padStart(16, "0") : x instanceof Uint8Array ? toHex(x) : x;
  const addr = (a: unknown): unknown => {
    if (Array.isArray(a)) return `${String(a[0])}:${String(a[1])}`; // werift-ice: [address, port]
    if (a !== null && typeof a === "object") {
      const o = a as { address?: unknown; port?: unknown };
      return `${String(o.address)}:${String(o.port)}`;
    }
    return a;
  };
  const out: Record<string, unknown> = {
    valid: p.valid,
    username: p.username,
    priority: p.priority,
    tiebreaker: hex(p.tiebreaker),
    useCandidate: p.useCandidate,
    address: addr(p.address),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** What icekit reads from `bytes`: the reference an encoder's output is held against. */
function icekitReads(bytes: Uint8Array): Record<string, unknown> {
  const m = decodeStunMessage(bytes);
  return {
    type: m.type,
    transactionId: toHex(m.transactionId),
    integrity: checkMessageIntegrity(m, ICEKIT_KEY),
    fingerprint: checkFingerprint(m),
    username: m.get(Username),
    priority: m.get(Priority),
    controlling: m.get(IceControlling)?.toString(16),
    useCandidate: m.get(UseCandidate),
    address: m.get(XorMappedAddress),
  };
}

// ---------------------------------------------------------------------------------------------
// The workloads. Each returns icekit's operation and the peers', all writing into probes.

interface Workload {
  readonly bench: string;
  /** What the README and the progress line say it does. */
  readonly what: string;
  readonly kind: "decode" | "encode";
  readonly icekit: (p: Probe) => void;
  readonly peers: readonly { readonly name: string; readonly run: (p: Probe) => void }[];
}

/** Request decode: read USERNAME, PRIORITY, the tiebreaker and USE-CANDIDATE. */
function requestDecode(bench: string, inp: Input, controlling: boolean): Workload {
  const { bytes, buf } = inp;
  const tie = controlling ? IceControlling : IceControlled;
  const weriftTie = controlling ? "ICE-CONTROLLING" : "ICE-CONTROLLED";
  const stunTie = controlling ? S.ICE_CONTROLLING : S.ICE_CONTROLLED;
  return {
    bench,
    what: "decode, read USERNAME, PRIORITY, ICE-CONTROLL(ED|ING), USE-CANDIDATE",
    kind: "decode",
    icekit(p) {
      const m = decodeStunMessage(bytes);
      p.username = m.get(Username);
      p.priority = m.get(Priority);
      p.tiebreaker = m.get(tie);
      p.useCandidate = m.get(UseCandidate) === true;
      consume(p.priority as number);
    },
    peers: [
      {
        name: STUN,
        run(p) {
          const m = stun.decode(buf);
          p.username = m.getUsername();
          // Not m.getPriority(): in 2.1.0 it reads `.value` of a number and returns undefined.
          p.priority = m.getAttribute(S.PRIORITY)?.value;
          p.tiebreaker = m.getAttribute(stunTie)?.value;
          p.useCandidate = m.hasAttribute(S.USE_CANDIDATE);
          consume(p.priority as number);
        },
      },
      {
        name: WERIFT,
        run(p) {
          const m = werift.parseMessage(buf);
          p.username = m?.getAttributeValue("USERNAME");
          p.priority = m?.getAttributeValue("PRIORITY");
          p.tiebreaker = m?.getAttributeValue(weriftTie);
          // Present USE-CANDIDATE decodes to null, absent to undefined.
          p.useCandidate = m !== undefined && m.getAttributeValue("USE-CANDIDATE") !== undefined;
          consume(p.priority as number);
        },
      },
    ],
  };
}

/** Request decode + verify: MESSAGE-INTEGRITY and FINGERPRINT, then USERNAME and PRIORITY. */
function requestVerify(bench: string, inp: Input): Workload {
  const { bytes, buf } = inp;
  return {
    bench,
    what: "decode, check MESSAGE-INTEGRITY + FINGERPRINT, read USERNAME, PRIORITY",
    kind: "decode",
    icekit(p) {
      const m = decodeStunMessage(bytes);
      const fp = checkFingerprint(m) === "valid";
      const mi = checkMessageIntegrity(m, ICEKIT_KEY) === "valid";
      p.valid = fp && mi;
      p.username = m.get(Username);
      p.priority = m.get(Priority);
      consume(p.priority as number);
    },
    peers: [
      {
        name: STUN,
        run(p) {
          const m = stun.decode(buf);
          const fp = stun.validateFingerprint(m);
          const mi = stun.validateMessageIntegrity(m, PASSWORD);
          p.valid = fp && mi;
          p.username = m.getUsername();
          p.priority = m.getAttribute(S.PRIORITY)?.value;
          consume(p.priority as number);
        },
      },
      {
        name: WERIFT,
        run(p) {
          // With a key, parseMessage checks both and returns undefined when either is wrong.
          const m = werift.parseMessage(buf, WERIFT_KEY);
          p.valid = m !== undefined;
          p.username = m?.getAttributeValue("USERNAME");
          p.priority = m?.getAttributeValue("PRIORITY");
          consume(p.priority as number);
        },
      },
    ],
  };
}

/** Request encode, with or without MESSAGE-INTEGRITY + FINGERPRINT. */
function requestEncode(bench: string, sign: boolean): Workload {
  return {
    bench,
    what: sign ? "encode the request + MESSAGE-INTEGRITY + FINGERPRINT" : "encode the request (no integrity)",
    kind: "encode",
    icekit(p) {
      const out = icekitRequest(sign);
      p.bytes = out;
      consume(out[out.length - 1]!);
    },
    peers: [
      {
        name: STUN,
        run(p) {
          const m = stun.createMessage(S.BINDING_REQUEST, TID_BUF);
          m.addUsername(USERNAME);
          m.addPriority(PRIORITY);
          m.addIceControlling(TIEBREAKER_BUF);
          m.addUseCandidate();
          if (sign) {
            m.addMessageIntegrity(PASSWORD);
            m.addFingerprint();
          }
          const out = stun.encode(m);
          p.bytes = out;
          consume(out[out.length - 1]!);
        },
      },
      {
        name: WERIFT,
        run(p) {
          const m = new werift.Message(weriftConst.methods.BINDING, weriftConst.classes.REQUEST, TID_BUF)
            .setAttribute("USERNAME", USERNAME)
            .setAttribute("PRIORITY", PRIORITY)
            .setAttribute("ICE-CONTROLLING", TIEBREAKER)
            .setAttribute("USE-CANDIDATE", null) as WeriftMessage.Message;
          if (sign) m.addMessageIntegrity(WERIFT_KEY).addFingerprint();
          const out = m.bytes;
          p.bytes = out;
          consume(out[out.length - 1]!);
        },
      },
    ],
  };
}

/** Response decode (optionally + verify): read XOR-MAPPED-ADDRESS. */
function responseDecode(bench: string, inp: Input, verify: boolean): Workload {
  const { bytes, buf } = inp;
  return {
    bench,
    what: verify ? "decode, check MESSAGE-INTEGRITY + FINGERPRINT, read XOR-MAPPED-ADDRESS" : "decode, read XOR-MAPPED-ADDRESS",
    kind: "decode",
    icekit(p) {
      const m = decodeStunMessage(bytes);
      if (verify) {
        const fp = checkFingerprint(m) === "valid";
        const mi = checkMessageIntegrity(m, ICEKIT_KEY) === "valid";
        p.valid = fp && mi;
      }
      const a = m.get(XorMappedAddress);
      p.address = a;
      consume(a?.port ?? 0);
    },
    peers: [
      {
        name: STUN,
        run(p) {
          const m = stun.decode(buf);
          if (verify) {
            const fp = stun.validateFingerprint(m);
            const mi = stun.validateMessageIntegrity(m, PASSWORD);
            p.valid = fp && mi;
          }
          const a = m.getXorAddress();
          p.address = a;
          consume(a?.port ?? 0);
        },
      },
      {
        name: WERIFT,
        run(p) {
          const m = verify ? werift.parseMessage(buf, WERIFT_KEY) : werift.parseMessage(buf);
          if (verify) p.valid = m !== undefined;
          const a = m?.getAttributeValue("XOR-MAPPED-ADDRESS") as [string, number] | undefined;
          p.address = a;
          consume(a?.[1] ?? 0);
        },
      },
    ],
  };
}

/** Response encode, with or without MESSAGE-INTEGRITY + FINGERPRINT. */
function responseEncode(bench: string, sign: boolean): Workload {
  return {
    bench,
    what: sign ? "encode the response + MESSAGE-INTEGRITY + FINGERPRINT" : "encode the response (no integrity)",
    kind: "encode",
    icekit(p) {
      const out = icekitResponse(sign);
      p.bytes = out;
      consume(out[out.length - 1]!);
    },
    peers: [
      {
        name: STUN,
        run(p) {
          const m = stun.createMessage(S.BINDING_RESPONSE, TID_BUF);
          m.addXorAddress(MAPPED.address, MAPPED.port);
          if (sign) {
            m.addMessageIntegrity(PASSWORD);
            m.addFingerprint();
          }
          const out = stun.encode(m);
          p.bytes = out;
          consume(out[out.length - 1]!);
        },
      },
      {
        name: WERIFT,
        run(p) {
          const m = new werift.Message(weriftConst.methods.BINDING, weriftConst.classes.RESPONSE, TID_BUF).setAttribute(
            "XOR-MAPPED-ADDRESS",
            [MAPPED.address, MAPPED.port],
          ) as WeriftMessage.Message;
          if (sign) m.addMessageIntegrity(WERIFT_KEY).addFingerprint();
          const out = m.bytes;
          p.bytes = out;
          consume(out[out.length - 1]!);
        },
      },
    ],
  };
}

/** The comparisons, in output order. Built lazily: the inputs come from icekit's builder. */
export function workloads(): Workload[] {
  const request = input(icekitRequest(true));
  const response = input(icekitResponse(false));
  const responseSigned = input(icekitResponse(true));
  const rfc5769 = input(RFC5769_REQUEST);
  return [
    requestDecode("stun-decode", request, true),
    requestDecode("stun-decode-rfc5769", rfc5769, false),
    requestEncode("stun-encode", false),
    requestEncode("stun-encode-sign", true),
    requestVerify("stun-decode-verify", request),
    requestVerify("stun-decode-verify-rfc5769", rfc5769),
    responseDecode("stun-response-decode", response, false),
    responseEncode("stun-response-encode", false),
    responseEncode("stun-response-encode-sign", true),
    responseDecode("stun-response-decode-verify", responseSigned, true),
  ];
}

/** The comparison names, in output order (bench/run.ts matches filters against them). */
export function benchNames(): string[] {
  return workloads().map((w) => w.bench);
}

// ---------------------------------------------------------------------------------------------
// Checking, then timing.

function warn(text: string): void {
  process.stderr.write(`warning: ${text}\n`);
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Runs every side once and holds the peers' results against icekit's. Returns the peers that
 * can be timed (those that did not throw); warns on stderr about each disagreement.
 */
function check(w: Workload): Side[] {
  const ours = probe();
  w.icekit(ours);
  const reference = w.kind === "decode" ? normalize(ours) : icekitReads(ours.bytes!.slice());
  if (w.kind === "decode" && ours.valid === false) warn(`${w.bench}: icekit says the input is invalid`);
  if (w.kind === "encode" && (w.bench.endsWith("-sign") ? reference.integrity !== "valid" || reference.fingerprint !== "valid" : false)) {
    warn(`${w.bench}: icekit's own signed message does not verify`);
  }
  const sides: Side[] = [];
  for (const peer of w.peers) {
    const p = probe();
    try {
      peer.run(p);
    } catch (e) {
      warn(`${w.bench}: ${peer.name} threw (${e instanceof Error ? e.message : String(e)}); not timed`);
      continue;
    }
    if (w.kind === "decode") {
      const theirs = normalize(p);
      if (!same(theirs, reference)) {
        warn(`${w.bench}: ${peer.name} reads ${JSON.stringify(theirs)}, icekit reads ${JSON.stringify(reference)}; timed anyway`);
      }
    } else {
      let theirs: Record<string, unknown>;
      try {
        theirs = icekitReads(p.bytes!);
      } catch (e) {
        theirs = { error: e instanceof Error ? e.message : String(e) };
      }
      if (!same(theirs, reference)) {
        warn(`${w.bench}: icekit decodes ${peer.name}'s message as ${JSON.stringify(theirs)}, its own as ${JSON.stringify(reference)}; timed anyway`);
      } else if (toHex(p.bytes!) !== toHex(ours.bytes!)) {
        process.stderr.write(`  note: ${w.bench}: ${peer.name}'s bytes differ from icekit's but decode to the same message\n`);
      }
    }
    const run = peer.run;
    const pp = p;
    sides.push({ name: peer.name, run: () => run(pp) });
  }
  return sides;
}

/**
 * Runs the codec comparisons.
 *
 * @param quick - about a second per comparison instead of about seven
 * @param options - a name filter and a per-result callback
 * @returns one result per comparison and peer
 */
export async function run(quick: boolean, options: SuiteOptions = {}): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const w of workloads()) {
    if (options.filter && !options.filter(w.bench)) continue;
    process.stderr.write(`${w.bench}: ${w.what}\n`);
    const peers = check(w);
    if (peers.length === 0) continue;
    const p = probe();
    const ours = w.icekit;
    for (const r of compare(w.bench, () => ours(p), peers, quick ? QUICK : FULL)) {
      results.push(r);
      options.onResult?.(r);
    }
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run(process.argv.includes("--quick"), { onResult: (r) => console.log(JSON.stringify(r)) });
}
