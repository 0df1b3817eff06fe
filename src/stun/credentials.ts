/**
 * STUN credentials: the HMAC keys of the short-term (RFC 8489 §9.1.1) and long-term (§9.2.2,
 * §18.5.1) mechanisms, USERHASH (§14.4), the password-algorithm numbers (§18.5) and the
 * security-feature bits a server hides in its NONCE (§9.2, §9.2.1, §18.1).
 *
 * A {@link StunCredential} bundles the derived key with its HMAC key objects, so an engine
 * keys HMAC-SHA1 and HMAC-SHA256 once per credential and never once per message.
 *
 * Strings go through the OpaqueString profile ({@link opaqueString}, RFC 8265 §4.2) exactly
 * where RFC 8489 says so. RFC 5389 peers used SASLprep (RFC 4013) instead, which differs for
 * passwords holding soft hyphens, zero-width characters or compatibility characters (NFKC
 * against NFC): see {@link longTermKey} for how to interoperate with them.
 *
 * @module
 */
import { md5 } from "../crypto/md5";
import { sha256 } from "../crypto/sha256";
import { createHmacKey } from "../crypto/hmac";
import type { HmacFactory, HmacKey } from "../crypto/types";
import { IcekitError } from "../errors";
import { opaqueString } from "./opaque-string";

/**
 * The password algorithms of RFC 8489 §18.5 by name: the key is MD5 or SHA-256 of the same text.
 *
 * @example
 * ```ts
 * const algorithm: PasswordAlgorithmName = passwordAlgorithmName(offered[0]!.algorithm) ?? "MD5";
 * longTermCredential("alice", "example.org", "s3cret", { algorithm });
 * ```
 */
export type PasswordAlgorithmName = "MD5" | "SHA-256";

/**
 * The "STUN Password Algorithms" registry numbers (RFC 8489 §18.5) that go in the
 * PASSWORD-ALGORITHM and PASSWORD-ALGORITHMS attributes (§14.11, §14.12). 0x0000 is reserved.
 *
 * @example
 * ```ts
 * PasswordAlgorithm.SHA256 // → 2
 * builder.add(PasswordAlgorithmAttr, { algorithm: PasswordAlgorithm.SHA256, parameters: new Uint8Array(0) });
 * ```
 */
export const PasswordAlgorithm = { MD5: 0x0001, SHA256: 0x0002 } as const;

/**
 * The registry number (RFC 8489 §18.5) of a password algorithm.
 *
 * @param name - `"MD5"` or `"SHA-256"`
 * @returns 1 or 2
 * @example
 * ```ts
 * passwordAlgorithmNumber("SHA-256") // → 2
 * passwordAlgorithmNumber("MD5")     // → 1
 * ```
 */
export function passwordAlgorithmNumber(name: PasswordAlgorithmName): 1 | 2 {
  return name === "SHA-256" ? PasswordAlgorithm.SHA256 : PasswordAlgorithm.MD5;
}

/**
 * The name of a password algorithm number received in PASSWORD-ALGORITHM(S) (RFC 8489 §18.5).
 *
 * @param n - the 16-bit number from the attribute
 * @returns `"MD5"` for 1, `"SHA-256"` for 2, `undefined` for any number icekit does not know
 * @example
 * ```ts
 * passwordAlgorithmName(1) // → "MD5"
 * passwordAlgorithmName(3) // → undefined
 * ```
 */
export function passwordAlgorithmName(n: number): PasswordAlgorithmName | undefined {
  return n === PasswordAlgorithm.MD5 ? "MD5" : n === PasswordAlgorithm.SHA256 ? "SHA-256" : undefined;
}

const utf8 = /* @__PURE__ */ new TextEncoder();
const LONE_SURROGATE = /\p{Cs}/u;

/** Fails like {@link opaqueString} does for a string used without OpaqueString. */
function checkEncodable(s: string, what: string): void {
  if (typeof s !== "string") {
    throw new IcekitError("INVALID_ARGUMENT", `${what} must be a string, not ${s === null ? "null" : typeof s}`);
  }
  if (LONE_SURROGATE.test(s)) {
    throw new IcekitError(
      "INVALID_ARGUMENT",
      `${what} contains an unpaired surrogate, which UTF-8 cannot encode; pass a well-formed string`,
    );
  }
}

/** RFC 8489 §9.2.2: "with any trailing nulls removed". */
function stripTrailingNulls(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0) end--;
  return end === s.length ? s : s.slice(0, end);
}

/**
 * RFC 8489 §9.2.2: "with any quotes ... removed", read as one pair of enclosing double quotes,
 * the quoting of a SIP or HTTP Digest `realm-value`/`username-value` (RFC 3261 §25.1) that the
 * REALM and USERNAME attributes leave out (§14.9). A value without them is unchanged.
 */
function stripQuotes(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/**
 * The short-term HMAC key (RFC 8489 §9.1.1): `key = OpaqueString(password)`, UTF-8 encoded.
 *
 * @param password - the password, e.g. the peer's ICE password (RFC 8445 §7.2.2)
 * @returns the key bytes
 * @throws `IcekitError` `INVALID_ARGUMENT` when OpaqueString rejects the password.
 * @example
 * ```ts
 * shortTermKey("VOkJxbRl1RmTxUk/WvJxBt") // the UTF-8 bytes of the password, unchanged
 * ```
 */
export function shortTermKey(password: string): Uint8Array {
  return utf8.encode(opaqueString(password, "password"));
}

/**
 * Options of {@link longTermKey}.
 *
 * @example
 * ```ts
 * const options: LongTermKeyOptions = { algorithm: "SHA-256", processPassword: false };
 * longTermKey("alice", "example.org", saslPreparedPassword, options).length // → 32
 * ```
 */
export interface LongTermKeyOptions {
  /** The password algorithm (RFC 8489 §18.5); default `"MD5"`, the algorithm of RFC 5389. */
  readonly algorithm?: PasswordAlgorithmName;
  /**
   * Apply OpaqueString to the password (default `true`, as RFC 8489 §9.2.2 says). Pass
   * `false` to hash the password's UTF-8 bytes as given, e.g. a password an RFC 5389 peer
   * prepared with SASLprep.
   */
  readonly processPassword?: boolean;
}

/**
 * The long-term HMAC key (RFC 8489 §9.2.2, §18.5.1):
 *
 * ```
 * key = MD5(username ":" OpaqueString(realm) ":" OpaqueString(password))      // 16 bytes
 * key = SHA-256(username ":" OpaqueString(realm) ":" OpaqueString(password))  // 32 bytes
 * ```
 *
 * As §9.2.2 says, the username is "taken from the USERNAME attribute (in which case
 * OpaqueString has already been applied)", so it is used as given: a client should pass
 * `opaqueString(username)` (what {@link longTermCredential} does), a server the value it
 * received. Trailing NULs are removed from all three, and one pair of enclosing double quotes
 * from the username and the realm ("with any quotes and trailing nulls removed").
 *
 * Compatibility: RFC 5389 prepared the realm and password with SASLprep (RFC 4013), which maps
 * soft hyphens and zero-width characters to nothing and normalizes with NFKC. OpaqueString
 * rejects the former and keeps compatibility characters as they are (NFC), so for such
 * passwords the two give different keys. The RFC 5769 §2.4 password "The\u00ADM\u00AAtr\u2168"
 * is SASLprep'd to "TheMatrIX", while OpaqueString rejects it (U+00AD). To talk to an RFC 5389
 * peer with such a password, SASLprep it yourself and pass `processPassword: false`. Printable
 * ASCII passwords, the common case, give the same key both ways.
 *
 * @param username - the username as sent in USERNAME (already OpaqueString-enforced)
 * @param realm - the realm from REALM
 * @param password - the password
 * @param options - the password algorithm and whether to enforce OpaqueString on the password
 * @returns the 16-byte (MD5) or 32-byte (SHA-256) key
 * @throws `IcekitError` `INVALID_ARGUMENT` when OpaqueString rejects the realm or password, a
 *   string cannot be UTF-8 encoded, or the algorithm is not `"MD5"` or `"SHA-256"`.
 * @example
 * ```ts
 * longTermKey("user", "realm", "pass") // MD5("user:realm:pass") = 8493fbc5…6bdc40eb (§9.2.2)
 * ```
 */
export function longTermKey(
  username: string,
  realm: string,
  password: string,
  options: LongTermKeyOptions = {},
): Uint8Array {
  const algorithm = options.algorithm ?? "MD5";
  if (algorithm !== "MD5" && algorithm !== "SHA-256") {
    throw new IcekitError(
      "INVALID_ARGUMENT",
      `longTermKey: algorithm ${JSON.stringify(algorithm)} is not "MD5" or "SHA-256" (RFC 8489 §18.5)`,
    );
  }
  checkEncodable(username, "username");
  checkEncodable(realm, "realm");
  checkEncodable(password, "password");
  const u = stripQuotes(stripTrailingNulls(username));
  const r = opaqueString(stripQuotes(stripTrailingNulls(realm)), "realm");
  const rawPassword = stripTrailingNulls(password);
  const p = options.processPassword === false ? rawPassword : opaqueString(rawPassword, "password");
  const text = utf8.encode(`${u}:${r}:${p}`);
  return algorithm === "SHA-256" ? sha256(text) : md5(text);
}

/**
 * USERHASH (RFC 8489 §14.4): `SHA-256(OpaqueString(username) ":" OpaqueString(realm))`, sent
 * instead of USERNAME when the server's nonce sets the "Username anonymity" feature (§9.2.5).
 *
 * @param username - the username
 * @param realm - the realm from REALM
 * @returns the 32-byte USERHASH value
 * @throws `IcekitError` `INVALID_ARGUMENT` when OpaqueString rejects either string.
 * @example
 * ```ts
 * userHash("\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9", "example.org") // 4a3cf38f…407f1704 (Appendix B.1)
 * ```
 */
export function userHash(username: string, realm: string): Uint8Array {
  return sha256(utf8.encode(`${opaqueString(username, "username")}:${opaqueString(realm, "realm")}`));
}

/**
 * A credential as engines take it: the key and its HMAC key objects, created at most once
 * each (on first use) and reused for every message. Treat it as immutable: the HMAC key
 * objects copied `key` when they were made, so writing into `key` changes nothing.
 *
 * @example
 * ```ts
 * const cred: StunCredential = longTermCredential("alice", "example.org", "s3cret");
 * cred.key.length                // → 16: MD5("alice:example.org:s3cret")
 * checkIntegrity(response, cred) // → "valid" or "invalid": a credential is also the IntegrityKeys
 * ```
 */
export interface StunCredential {
  /** Which mechanism: short-term (RFC 8489 §9.1) or long-term (§9.2). */
  readonly kind: "short-term" | "long-term";
  /** The username for the USERNAME attribute, OpaqueString-enforced (§14.3). */
  readonly username: string;
  /** The realm, OpaqueString-enforced (§14.9); present only on long-term credentials. */
  readonly realm?: string;
  /**
   * The password algorithm that derived `key` (§18.5). Short-term keys are not derived by a
   * password algorithm; short-term credentials carry `"MD5"`, the value that means "no
   * PASSWORD-ALGORITHM", and nothing should read it from them.
   */
  readonly algorithm: PasswordAlgorithmName;
  /** The HMAC key: OpaqueString(password) (§9.1.1) or the MD5/SHA-256 digest (§9.2.2). */
  readonly key: Uint8Array;
  /** HMAC-SHA1 key object for MESSAGE-INTEGRITY (§14.5). */
  readonly sha1: HmacKey;
  /** HMAC-SHA256 key object for MESSAGE-INTEGRITY-SHA256 (§14.6). */
  readonly sha256: HmacKey;
}

function makeCredential(
  kind: "short-term" | "long-term",
  username: string,
  realm: string | undefined,
  algorithm: PasswordAlgorithmName,
  key: Uint8Array,
  hmac: HmacFactory,
): StunCredential {
  let sha1Key: HmacKey | undefined;
  let sha256Key: HmacKey | undefined;
  return {
    kind,
    username,
    ...(realm === undefined ? {} : { realm }),
    algorithm,
    key,
    get sha1(): HmacKey {
      return (sha1Key ??= hmac("sha1", key));
    },
    get sha256(): HmacKey {
      return (sha256Key ??= hmac("sha256", key));
    },
  };
}

/**
 * A short-term credential (RFC 8489 §9.1), e.g. for ICE connectivity checks where the username
 * is `"<remote ufrag>:<local ufrag>"` and the password the remote ICE password (RFC 8445 §7.2.2).
 *
 * @param username - the USERNAME value; OpaqueString is enforced on it (§14.3)
 * @param password - the password; the key is OpaqueString(password) (§9.1.1)
 * @param hmac - the HMAC capability (default: the pure {@link createHmacKey})
 * @returns the credential; its HMAC keys are made on first use and then reused
 * @throws `IcekitError` `INVALID_ARGUMENT` when OpaqueString rejects the username or password.
 * @example
 * ```ts
 * const cred = shortTermCredential("evtj:h6vY", "VOkJxbRl1RmTxUk/WvJxBt");
 * builder.add(Username, cred.username).addMessageIntegrity(cred.sha1); // HMAC-SHA1 with the password
 * ```
 */
export function shortTermCredential(username: string, password: string, hmac: HmacFactory = createHmacKey): StunCredential {
  const u = opaqueString(username, "username");
  return makeCredential("short-term", u, undefined, "MD5", shortTermKey(password), hmac);
}

/**
 * Options of {@link longTermCredential}.
 *
 * @example
 * ```ts
 * const options: LongTermCredentialOptions = { algorithm: "SHA-256", hmac: createHmacKey };
 * longTermCredential("alice", "example.org", "s3cret", options).key.length // → 32
 * ```
 */
export interface LongTermCredentialOptions extends LongTermKeyOptions {
  /** The HMAC capability (default: the pure {@link createHmacKey}). */
  readonly hmac?: HmacFactory;
}

/**
 * A long-term credential (RFC 8489 §9.2): the username and realm OpaqueString-enforced as the
 * USERNAME and REALM attributes need them (§14.3, §14.9), and the key of {@link longTermKey}.
 *
 * @param username - the username; OpaqueString is enforced on it before it is hashed into the key
 * @param realm - the realm from the server's 401 response
 * @param password - the password
 * @param options - `algorithm` (default `"MD5"`, or the one chosen from PASSWORD-ALGORITHMS),
 *   `hmac` and `processPassword` (see {@link longTermKey})
 * @returns the credential; its HMAC keys are made on first use and then reused
 * @throws `IcekitError` `INVALID_ARGUMENT` when OpaqueString rejects a string or the algorithm
 *   is unknown.
 * @example
 * ```ts
 * const cred = longTermCredential("user", "example.org", "pass", { algorithm: "SHA-256" });
 * cred.key.length // 32
 * ```
 */
export function longTermCredential(
  username: string,
  realm: string,
  password: string,
  options: LongTermCredentialOptions = {},
): StunCredential {
  checkEncodable(username, "username");
  checkEncodable(realm, "realm");
  const u = opaqueString(stripTrailingNulls(username), "username");
  const r = opaqueString(stripTrailingNulls(realm), "realm");
  const algorithm = options.algorithm ?? "MD5";
  const key = longTermKey(u, r, password, { algorithm, processPassword: options.processPassword !== false });
  return makeCredential("long-term", u, r, algorithm, key, options.hmac ?? createHmacKey);
}

/**
 * The nonce cookie (RFC 8489 §9.2): a server that supports RFC 8489 starts every NONCE with
 * these 9 characters and then 4 base64 characters holding its 24 security-feature bits.
 *
 * @example
 * ```ts
 * nonce.startsWith(NONCE_COOKIE) // an RFC 8489 server: "obMatJos2" and 4 characters of features
 * ```
 */
export const NONCE_COOKIE = "obMatJos2";

/**
 * The STUN Security Features (RFC 8489 §18.1) a server announces in its nonce cookie.
 *
 * @example
 * ```ts
 * const features: SecurityFeatures = { passwordAlgorithms: true, usernameAnonymity: false };
 * makeNonceWithFeatures(features, "5f3a9c") // → "obMatJos2gAAA5f3a9c"
 * ```
 */
export interface SecurityFeatures {
  /** Bit 0, "Password algorithms": the server sends PASSWORD-ALGORITHMS (§9.2.4). */
  readonly passwordAlgorithms: boolean;
  /** Bit 1, "Username anonymity": the client must send USERHASH, not USERNAME (§9.2.5). */
  readonly usernameAnonymity: boolean;
}

/** RFC 4648 §4 base64 alphabet. */
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** §18.1: "Bit 0 is the leftmost bit and Bit 23 is the rightmost bit" of the 24. */
const BIT_PASSWORD_ALGORITHMS = 1 << 23;
const BIT_USERNAME_ANONYMITY = 1 << 22;

/**
 * The raw 24 security-feature bits of a nonce cookie (RFC 8489 §9.2), with bit 0 of §18.1 as
 * the most significant (0x800000), including bits no RFC has assigned yet.
 *
 * @param nonce - a NONCE attribute value
 * @returns the 24-bit number, or `undefined` when `nonce` does not start with
 *   {@link NONCE_COOKIE} followed by 4 base64 characters
 * @example
 * ```ts
 * nonceSecurityFeatureBits("obMatJos2gAAA5f3a9c") // → 0x800000: "Password algorithms"
 * nonceSecurityFeatureBits("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA") // → 0x000002 (Appendix B.1)
 * nonceSecurityFeatureBits("f//499k954d6OL34oL9FSTvy64sA") // → undefined: no cookie
 * ```
 */
export function nonceSecurityFeatureBits(nonce: string): number | undefined {
  if (typeof nonce !== "string" || nonce.length < 13 || !nonce.startsWith(NONCE_COOKIE)) return undefined;
  let bits = 0;
  for (let i = 9; i < 13; i++) {
    const v = BASE64.indexOf(nonce.charAt(i));
    if (v < 0) return undefined;
    bits = (bits << 6) | v;
  }
  return bits;
}

/**
 * The security features a server announces in its nonce (RFC 8489 §9.2, §9.2.1), read as
 * §18.1 numbers them: "Bit 0 is the leftmost bit", so "Password algorithms" is 0x800000 and
 * "Username anonymity" 0x400000 of the 24 bits the 4 base64 characters after the cookie encode.
 *
 * Note that the RFC's own example nonce (Appendix B.1, `obMatJos2AAAC…`) encodes 0x000002,
 * i.e. bit 22 by §18.1's numbering, even though that request carries USERHASH: it looks like
 * bit 1 counted from the right. This function follows §9.2 and §18.1, so that nonce reads as
 * no known features; {@link nonceSecurityFeatureBits} gives the raw bits.
 *
 * @param nonce - a NONCE attribute value
 * @returns the features, or `undefined` when the nonce carries no valid nonce cookie (an
 *   RFC 5389 server, or a cookie not followed by 4 base64 characters)
 * @example
 * ```ts
 * parseNonceSecurityFeatures("obMatJos2gAAAxyz") // { passwordAlgorithms: true, usernameAnonymity: false }
 * parseNonceSecurityFeatures("f//499k954d6OL34oL9FSTvy64sA") // undefined
 * ```
 */
export function parseNonceSecurityFeatures(nonce: string): SecurityFeatures | undefined {
  const bits = nonceSecurityFeatureBits(nonce);
  if (bits === undefined) return undefined;
  return {
    passwordAlgorithms: (bits & BIT_PASSWORD_ALGORITHMS) !== 0,
    usernameAnonymity: (bits & BIT_USERNAME_ANONYMITY) !== 0,
  };
}

/** §14.10: NONCE holds qdtext or quoted-pair (RFC 3261 §25.1), fewer than 128 characters. */
const NONCE_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\ud7ff\ue000-\u{10ffff}]*$/u;

/**
 * Builds a NONCE value for a server (RFC 8489 §9.2): {@link NONCE_COOKIE}, the features as 4
 * base64 characters, then `opaque`, the part only the server interprets (e.g. an expiry and a
 * MAC over it, RFC 7616 §5.4).
 *
 * @param features - the features the server supports; set `passwordAlgorithms` when it sends
 *   PASSWORD-ALGORITHMS (§9.2.4)
 * @param opaque - the server's own nonce text: qdtext characters (no `"`, `\` or controls)
 * @returns the nonce
 * @throws `IcekitError` `INVALID_ARGUMENT` when `opaque` holds a character NONCE cannot carry
 *   or the nonce would be 128 characters or longer (§14.10).
 * @example
 * ```ts
 * makeNonceWithFeatures({ passwordAlgorithms: true, usernameAnonymity: false }, "5f3a9c")
 * // "obMatJos2gAAA5f3a9c"
 * ```
 */
export function makeNonceWithFeatures(features: SecurityFeatures, opaque: string): string {
  if (typeof opaque !== "string" || !NONCE_TEXT.test(opaque)) {
    throw new IcekitError(
      "INVALID_ARGUMENT",
      'makeNonceWithFeatures: opaque may hold only printable characters other than \'"\' and \'\\\' ' +
        "(RFC 8489 §14.10 qdtext); pass e.g. hex or base64 text",
    );
  }
  const bits =
    (features.passwordAlgorithms ? BIT_PASSWORD_ALGORITHMS : 0) | (features.usernameAnonymity ? BIT_USERNAME_ANONYMITY : 0);
  let encoded = "";
  for (let shift = 18; shift >= 0; shift -= 6) encoded += BASE64.charAt((bits >>> shift) & 0x3f);
  const nonce = NONCE_COOKIE + encoded + opaque;
  const chars = Array.from(nonce).length;
  if (chars >= 128) {
    throw new IcekitError(
      "INVALID_ARGUMENT",
      `makeNonceWithFeatures: the nonce would be ${chars} characters; RFC 8489 §14.10 needs fewer than 128, ` +
        `so pass an opaque part of at most ${127 - 13} characters`,
    );
  }
  return nonce;
}
