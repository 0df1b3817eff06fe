/**
 * `icekit decode <hex | base64 | ->`: decodes a STUN message or a TURN ChannelData frame and
 * prints it, as JSON (`--json`, the shape fixed in DESIGN.md) or as a readable tree.
 *
 * @module
 */
import { fromBase64, fromHex, looksLikeHex, toHex } from "../bytes/hex";
import { isStunDecodeError, StunDecodeError } from "../errors";
import { MESSAGE_CLASS_NAMES, methodName, AttributeType } from "../stun/constants";
import { decodeStunMessage } from "../stun/message";
import type { StunMessage } from "../stun/message";
import { attributeName, codecForType } from "../stun/attributes/registry";
import type { PasswordAlgorithmEntry } from "../stun/attributes/auth";
import { PasswordAlgorithmAttr } from "../stun/attributes/auth";
import { Username, Realm } from "../stun/attributes/text";
import { checkFingerprint, checkIntegrity } from "../stun/integrity";
import type { CheckResult, IntegrityKeys } from "../stun/integrity";
import { longTermCredential, passwordAlgorithmName, shortTermKey } from "../stun/credentials";
import { createHmacKey } from "../crypto/hmac";
import { decodeChannelData } from "../turn/channel-data";
import { parseArgs } from "./args";
import { CliError, toJsonLine } from "./output";
import type { CliIo } from "./output";

/** Integrity as the CLI reports it: `unchecked` when present but no credential was given. */
export type IntegrityReport = CheckResult | "unchecked";

/** The JSON form of a decoded STUN message (the CLI contract). */
export interface DecodedStunJson {
  readonly kind: "stun";
  readonly class: string;
  readonly method: string;
  readonly transactionId: string;
  readonly attributes: readonly Record<string, unknown>[];
  readonly integrity: IntegrityReport;
  readonly fingerprint: CheckResult;
}

/** The JSON form of a ChannelData frame. */
export interface DecodedChannelDataJson {
  readonly kind: "channel-data";
  readonly channelNumber: number;
  readonly length: number;
  readonly data: string;
}

/** Parses the input text: `-` is stdin; hex when it looks like hex, otherwise base64. */
export async function readInput(arg: string, io: CliIo): Promise<Uint8Array> {
  if (arg === "-") {
    const bytes = await io.readStdin();
    const text = new TextDecoder().decode(bytes).trim();
    // Text on stdin is hex or base64; anything else is taken as the raw message bytes.
    if (text.length > 0 && looksLikeHex(text)) return fromHex(text);
    if (text.length > 0 && /^[A-Za-z0-9+/=_\-\s]+$/.test(text)) return fromBase64(text);
    return bytes;
  }
  // All hex digits (even an odd count, which fromHex reports) means hex; base64 otherwise.
  if (looksLikeHex(arg) || /^(?:0x)?[0-9a-fA-F\s:]+$/.test(arg)) return fromHex(arg);
  return fromBase64(arg);
}

/** JSON value of one attribute value. Byte strings print as hex. */
function jsonValue(type: number, value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (typeof value === "bigint") return value.toString();
  if (type === AttributeType.UnknownAttributes) return (value as number[]).map(attributeName);
  if (type === AttributeType.PasswordAlgorithms || type === AttributeType.PasswordAlgorithm) {
    const one = (e: PasswordAlgorithmEntry) => ({ algorithm: passwordAlgorithmName(e.algorithm) ?? e.algorithm, parameters: toHex(e.parameters) });
    return Array.isArray(value) ? value.map(one) : one(value as PasswordAlgorithmEntry);
  }
  return value;
}

/**
 * The credential to check integrity with, from `--password` or `--long-term USER:REALM:PASS`.
 * The message's own USERNAME and REALM disambiguate a username that contains `:` (TURN REST
 * usernames such as `1700000000:alice` do).
 */
function credentialFor(msg: StunMessage, password: string | undefined, longTerm: string | undefined): IntegrityKeys | undefined {
  if (password !== undefined) {
    // §9.1.1: the short-term key is the password alone; the username plays no part in it.
    const key = shortTermKey(password);
    return { sha1: createHmacKey("sha1", key), sha256: createHmacKey("sha256", key) };
  }
  if (longTerm === undefined) return undefined;
  let user: string | undefined;
  let realm: string | undefined;
  let pass: string | undefined;
  let u: string | undefined;
  let r: string | undefined;
  try {
    u = msg.get(Username);
    r = msg.get(Realm);
  } catch {
    // A malformed USERNAME or REALM: fall back to splitting on the first two colons.
  }
  if (u !== undefined && r !== undefined && longTerm.startsWith(`${u}:${r}:`)) {
    user = u;
    realm = r;
    pass = longTerm.slice(u.length + r.length + 2);
  } else {
    const a = longTerm.indexOf(":");
    const b = a < 0 ? -1 : longTerm.indexOf(":", a + 1);
    if (b < 0) throw new CliError("USAGE", "--long-term takes USER:REALM:PASS");
    user = longTerm.slice(0, a);
    realm = longTerm.slice(a + 1, b);
    pass = longTerm.slice(b + 1);
  }
  let algorithm: "MD5" | "SHA-256" = "MD5";
  try {
    const pa = msg.get(PasswordAlgorithmAttr);
    if (pa && passwordAlgorithmName(pa.algorithm) === "SHA-256") algorithm = "SHA-256";
  } catch {
    // A malformed PASSWORD-ALGORITHM is shown in the attribute list; MD5 is the default.
  }
  return longTermCredential(user, realm, pass, { algorithm });
}

/** Decodes a STUN message into the CLI's JSON shape. Malformed attributes are listed with their error. */
export function describeStun(msg: StunMessage, credential?: IntegrityKeys): DecodedStunJson {
  const attributes: Record<string, unknown>[] = [];
  for (let i = 0; i < msg.attributeCount; i++) {
    const type = msg.attributeType(i);
    const off = msg.attributeOffset(i);
    const len = msg.attributeLength(i);
    const codec = codecForType(type);
    const entry: Record<string, unknown> = { type: attributeName(type) };
    if (codec === undefined) {
      entry["raw"] = toHex(msg.raw, off, off + len);
    } else {
      try {
        entry["value"] = jsonValue(type, codec.decode(msg.raw, off, len));
      } catch (e) {
        if (!isStunDecodeError(e)) throw e;
        entry["raw"] = toHex(msg.raw, off, off + len);
        entry["error"] = { code: e.code, message: e.message };
      }
    }
    if (msg.isIgnored(i)) entry["ignored"] = true;
    attributes.push(entry);
  }
  const hasIntegrity = msg.has(AttributeType.MessageIntegrity) || msg.has(AttributeType.MessageIntegritySha256);
  const integrity: IntegrityReport = !hasIntegrity ? "absent" : credential === undefined ? "unchecked" : checkIntegrity(msg, credential);
  return {
    kind: "stun",
    class: MESSAGE_CLASS_NAMES[msg.messageClass],
    method: methodName(msg.method),
    transactionId: toHex(msg.transactionId),
    attributes,
    integrity,
    fingerprint: checkFingerprint(msg),
  };
}

/** Attributes whose JSON value is hex or a decimal string rather than text. */
const BARE_STRING_TYPES = new Set([
  "MESSAGE-INTEGRITY",
  "MESSAGE-INTEGRITY-SHA256",
  "USERHASH",
  "DATA",
  "RESERVATION-TOKEN",
  "PADDING",
  "ICE-CONTROLLED",
  "ICE-CONTROLLING",
]);

function formatValue(type: string, v: unknown): string {
  if (typeof v === "string") return BARE_STRING_TYPES.has(type) ? v : JSON.stringify(v);
  if (v !== null && typeof v === "object" && "address" in v && "port" in v) {
    const a = v as { family: string; address: string; port: number };
    return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }
  if (typeof v === "number") return `${v} (0x${v.toString(16)})`;
  return JSON.stringify(v);
}

/** The readable tree, one line per field, like Wireshark's packet details. */
export function formatStunTree(d: DecodedStunJson, totalLength: number): string[] {
  const lines = [`STUN ${d.method} ${d.class} (${totalLength} bytes, transaction ${d.transactionId})`];
  for (const a of d.attributes) {
    let text: string;
    if ("error" in a) text = `malformed: ${(a["error"] as { message: string }).message} [${String(a["raw"])}]`;
    else if ("raw" in a) text = `unknown, ${String(a["raw"]).length / 2} bytes: ${String(a["raw"])}`;
    else text = formatValue(String(a["type"]), a["value"]);
    if (a["type"] === "MESSAGE-INTEGRITY" || a["type"] === "MESSAGE-INTEGRITY-SHA256") text += ` (${d.integrity})`;
    if (a["type"] === "FINGERPRINT") text += ` (${d.fingerprint})`;
    if (a["ignored"]) text += " (ignored: follows MESSAGE-INTEGRITY or FINGERPRINT)";
    lines.push(`  ${String(a["type"])}: ${text}`);
  }
  if (d.attributes.length === 0) lines.push("  (no attributes)");
  return lines;
}

/** Runs `icekit decode`. Returns the exit status. */
export async function decodeCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { values: ["password", "long-term"] });
  const json = args.flags.has("json");
  if (args.flags.has("help") || args.positionals.length !== 1) {
    if (args.flags.has("help")) {
      io.stdout("usage: icekit decode <hex | base64 | -> [--password P | --long-term USER:REALM:PASS] [--json]");
      return 0;
    }
    throw new CliError("USAGE", "usage: icekit decode <hex | base64 | -> [--password P | --long-term USER:REALM:PASS] [--json]");
  }
  const bytes = await readInput(args.positionals[0]!, io);
  if (bytes.length === 0) throw new CliError("NOT_STUN", "the input is empty");
  // RFC 7983: a first byte of 64-79 is TURN ChannelData; 0-3 is STUN.
  const first = bytes[0]!;
  if (first >= 0x40 && first <= 0x4f) {
    const cd = decodeChannelData(bytes);
    const out: DecodedChannelDataJson = { kind: "channel-data", channelNumber: cd.channelNumber, length: cd.data.length, data: toHex(cd.data) };
    if (json) io.stdout(toJsonLine(out));
    else io.stdout(`TURN ChannelData channel 0x${cd.channelNumber.toString(16)} (${cd.data.length} bytes of data)\n  data: ${out.data}`);
    return 0;
  }
  let msg: StunMessage;
  try {
    msg = decodeStunMessage(bytes);
  } catch (e) {
    if (e instanceof StunDecodeError || isStunDecodeError(e)) throw new CliError(e.code, `not a STUN message: ${e.message}`);
    throw e;
  }
  const credential = credentialFor(msg, args.values.get("password"), args.values.get("long-term"));
  const d = describeStun(msg, credential);
  if (json) io.stdout(toJsonLine(d));
  else for (const line of formatStunTree(d, msg.raw.length)) io.stdout(line);
  return 0;
}
