/**
 * The server side of STUN authentication: the short-term checks of RFC 8489 §9.1.3 and the
 * long-term ladder of §9.2.4, with stateless nonces that carry the nonce cookie (§9.2),
 * PASSWORD-ALGORITHMS with its bid-down check (§9.2.4, §14.11) and USERHASH (§14.4).
 *
 * {@link StunServerAuthenticator} is what `StunServer` runs on every request before its method
 * handler; a TURN server runs the same object in front of Allocate, Refresh and the rest. It
 * reads a decoded request and says either "authenticated as this user, sign the response with
 * these keys" or "answer with this error code and these attributes". It keeps no per-client
 * state: a nonce is `cookie + features + issue time + salt + MAC(secret, all that + client
 * transport address)`, so the server checks it by recomputing the MAC and reading the time.
 *
 * @example
 * ```ts
 * const auth = new StunServerAuthenticator({ kind: "long-term", realm: "example.org", users: { alice: "s3cret" } });
 * const outcome = auth.check(now, request, received.remote, received.transport);
 * if (!outcome.ok) reply(outcome.code, outcome.attributes); // 400, 401 or 438
 * else sign(outcome.keys, outcome.sha256);                  // MESSAGE-INTEGRITY(-SHA256)
 * ```
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { toHex } from "../bytes/hex";
import { createHmacKey } from "../crypto/hmac";
import type { HmacFactory, HmacKey } from "../crypto/types";
import { IcekitError } from "../errors";
import { defaultRandom } from "../engine";
import type { RandomSource, TransportProtocol } from "../engine";
import { PasswordAlgorithmAttr, PasswordAlgorithms, Userhash } from "./attributes/auth";
import type { PasswordAlgorithmEntry } from "./attributes/auth";
import { Nonce, Realm, Username } from "./attributes/text";
import type { AttributeEntry } from "./client";
import { attr } from "./client";
import { AttributeType } from "./constants";
import {
  longTermKey,
  makeNonceWithFeatures,
  parseNonceSecurityFeatures,
  passwordAlgorithmName,
  passwordAlgorithmNumber,
  shortTermKey,
  userHash,
  NONCE_COOKIE,
} from "./credentials";
import type { PasswordAlgorithmName, SecurityFeatures } from "./credentials";
import { checkIntegrity } from "./integrity";
import type { IntegrityKeys } from "./integrity";
import type { StunMessage } from "./message";
import { opaqueString } from "./opaque-string";

/**
 * Where a server looks users up: a `Map`, a plain object (own properties only, so
 * `"__proto__"` is never a user) or a function, which lets users come and go at run time (e.g.
 * the TURN REST API's time-limited usernames).
 *
 * Keys are compared with the USERNAME value as received, which clients send in OpaqueString
 * form (RFC 8489 §14.3): NFC-normalised, non-ASCII spaces mapped to U+0020. Printable ASCII is
 * unchanged by it.
 *
 * @typeParam V - what a username maps to
 * @example
 * ```ts
 * const fixed: StunUserLookup<string> = new Map([["alice", "s3cret"]]);
 * const live: StunUserLookup<string> = (username) => passwords.get(username); // users may come and go
 * ```
 */
export type StunUserLookup<V> =
  | ReadonlyMap<string, V>
  | { readonly [username: string]: V }
  | ((username: string) => V | undefined);

/**
 * A long-term user's secret: the password, or keys derived in advance (RFC 8489 §9.2.2: "SIP
 * systems ... store a value called H(A1)"), `md5` = MD5(username ":" realm ":" password) and
 * `sha256` its SHA-256 counterpart (§18.5.1). A user with only one of the two keys can
 * authenticate only with that password algorithm.
 *
 * @example
 * ```ts
 * const users: Record<string, LongTermSecret> = {
 *   alice: "s3cret",
 *   bob: { md5: longTermKey("bob", "example.org", "hunter2") }, // stored as MD5(bob:example.org:hunter2)
 * };
 * ```
 */
export type LongTermSecret = string | { readonly md5?: Uint8Array; readonly sha256?: Uint8Array };

/**
 * Short-term credentials on the server (RFC 8489 §9.1): every request carries USERNAME and an HMAC.
 *
 * @example
 * ```ts
 * const auth: ShortTermServerAuth = { kind: "short-term", users: { "evtj:h6vY": "VOkJxbRl1RmTxUk/WvJxBt" } };
 * const server = new StunServer({ auth });
 * ```
 */
export interface ShortTermServerAuth {
  readonly kind: "short-term";
  /** Username → password; the key is OpaqueString(password) (§9.1.1). */
  readonly users: StunUserLookup<string>;
}

/**
 * Long-term credentials on the server (RFC 8489 §9.2): 401 challenges with REALM and NONCE.
 *
 * @example
 * ```ts
 * const auth: LongTermServerAuth = {
 *   kind: "long-term", realm: "example.org", users: { alice: "s3cret" },
 *   passwordAlgorithms: ["SHA-256", "MD5"], nonceLifetimeMs: 3_600_000,
 * };
 * const server = new StunServer({ auth });
 * ```
 */
export interface LongTermServerAuth {
  readonly kind: "long-term";
  /** The REALM (§14.9); RFC 8489 §9.2.4 recommends the provider's domain name. */
  readonly realm: string;
  /** Username → password or precomputed keys. */
  readonly users: StunUserLookup<LongTermSecret>;
  /**
   * How long a nonce stays valid, in ms (default 600 000, ten minutes; RFC 8656 §7.2 asks for
   * at least one expiry an hour). A request with an older nonce gets 438 (Stale Nonce) and a
   * fresh one.
   */
  readonly nonceLifetimeMs?: number;
  /**
   * The password algorithms to offer in PASSWORD-ALGORITHMS (§14.11), in order of preference,
   * e.g. `["SHA-256", "MD5"]`. When given, every nonce sets the "Password algorithms" security
   * feature bit (§9.2.4) and clients that implement RFC 8489 choose the first one they know and
   * sign with MESSAGE-INTEGRITY-SHA256. When absent, the server speaks RFC 5389: MD5 keys and
   * MESSAGE-INTEGRITY only.
   */
  readonly passwordAlgorithms?: readonly PasswordAlgorithmName[];
  /**
   * Username anonymity (§9.2, §14.4): set the "Username anonymity" bit so that clients send
   * USERHASH instead of USERNAME. `true` hashes every user of a `Map` or object `users` once,
   * at construction; with a function `users`, pass a function from the 32-byte USERHASH to the
   * username instead.
   */
  readonly userhash?: boolean | ((userhash: Uint8Array) => string | undefined);
  /**
   * The key nonces are MAC'd with. By default 32 bytes from the random source, so nonces do not
   * survive a restart (clients then get one 438 and carry on); give several servers behind one
   * name the same secret and they accept each other's nonces.
   */
  readonly nonceSecret?: Uint8Array;
}

/**
 * The authentication a `StunServer` (or TURN server) demands of requests.
 *
 * @example
 * ```ts
 * const auth: StunServerAuth = { kind: "long-term", realm: "example.org", users: { alice: "s3cret" } };
 * new StunServer({ auth });
 * ```
 */
export type StunServerAuth = ShortTermServerAuth | LongTermServerAuth;

/**
 * Why a request failed authentication; `StunServer.stats().authFailures` counts each.
 *
 * - `challenge`: no MESSAGE-INTEGRITY(-SHA256): the long-term 401 that starts every session.
 * - `bad-request`: integrity present but USERNAME/USERHASH, REALM or NONCE missing or
 *   malformed (400; §9.1.3, §9.2.4).
 * - `bid-down`: PASSWORD-ALGORITHMS / PASSWORD-ALGORITHM missing, altered or not offered (400).
 * - `unknown-user`: no such USERNAME or USERHASH (401).
 * - `integrity`: the HMAC does not match (401).
 * - `stale-nonce`: the NONCE expired, was issued to another address or is not ours (438).
 *
 * @example
 * ```ts
 * const failure: StunAuthFailure = "stale-nonce";
 * server.stats().authFailures[failure] // → how many 438s were sent for expired nonces
 * ```
 */
export type StunAuthFailure = "challenge" | "bad-request" | "bid-down" | "unknown-user" | "integrity" | "stale-nonce";

/**
 * The result of {@link StunServerAuthenticator.check}.
 *
 * @example
 * ```ts
 * const outcome: StunAuthOutcome = authenticator.check(now, msg, received.remote, received.transport);
 * if (outcome.ok) console.log("user", outcome.user);
 * else console.log(outcome.code, outcome.failure); // → 401 "challenge" for a first, unsigned request
 * ```
 */
export type StunAuthOutcome =
  | {
      readonly ok: true;
      /** The authenticated username (the one USERHASH stood for, when USERHASH was used). */
      readonly user: string;
      /** The keys to sign the response with (§9.1.3, §9.2.4: the key that authenticated the request). */
      readonly keys: IntegrityKeys;
      /** Sign with MESSAGE-INTEGRITY-SHA256 (true) or MESSAGE-INTEGRITY (false). */
      readonly sha256: boolean;
    }
  | {
      readonly ok: false;
      /** The error response's code. */
      readonly code: 400 | 401 | 438;
      readonly failure: StunAuthFailure;
      /** Attributes for the error response after ERROR-CODE: REALM, NONCE, PASSWORD-ALGORITHMS. */
      readonly attributes: readonly AttributeEntry[];
      /** A sentence for logs. */
      readonly detail: string;
    };

/**
 * Options of {@link StunServerAuthenticator}.
 *
 * @example
 * ```ts
 * const options: StunServerAuthenticatorOptions = { random: seeded, hmac: createHmacKey };
 * new StunServerAuthenticator(auth, options);
 * ```
 */
export interface StunServerAuthenticatorOptions {
  /** Random source for nonce salts and the default nonce secret. */
  readonly random?: RandomSource;
  /** HMAC capability (default: icekit's pure implementation). */
  readonly hmac?: HmacFactory;
}

const NO_PARAMETERS = new Uint8Array(0);
/** Derived-key cache bound: cleared when full, so a flood of usernames cannot grow it. */
const CACHE_LIMIT = 4096;
const utf8 = /* @__PURE__ */ new TextEncoder();

function lookup<V>(users: StunUserLookup<V>, name: string): V | undefined {
  if (typeof users === "function") return users(name);
  if (users instanceof Map) return users.get(name);
  const rec = users as { readonly [k: string]: V };
  return Object.prototype.hasOwnProperty.call(rec, name) ? rec[name] : undefined;
}

function usernamesOf<V>(users: StunUserLookup<V>): string[] | undefined {
  if (typeof users === "function") return undefined;
  if (users instanceof Map) return [...users.keys()];
  return Object.keys(users);
}

/** HMAC key objects for a raw key, made on first use. */
function integrityKeys(key: Uint8Array, hmac: HmacFactory): IntegrityKeys {
  let sha1: HmacKey | undefined;
  let sha256: HmacKey | undefined;
  return {
    get sha1(): HmacKey {
      return (sha1 ??= hmac("sha1", key));
    },
    get sha256(): HmacKey {
      return (sha256 ??= hmac("sha256", key));
    },
  };
}

/** Constant-time string equality, for MACs in nonces. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function fail(code: 400 | 401 | 438, failure: StunAuthFailure, detail: string, attributes: readonly AttributeEntry[] = []): StunAuthOutcome {
  return { ok: false, code, failure, detail, attributes };
}

/**
 * Checks requests against a {@link StunServerAuth}: see the module comment. Holds no
 * per-client state; caches derived keys (bounded).
 *
 * @example
 * ```ts
 * const auth = new StunServerAuthenticator({ kind: "long-term", realm: "example.org", users: { alice: "s3cret" } });
 * auth.challenge(now, client, "udp").map((e) => e.codec.name) // → ["REALM", "NONCE"]
 * auth.check(now, unsignedRequest, client, "udp")              // → { ok: false, code: 401, failure: "challenge", … }
 * ```
 */
export class StunServerAuthenticator {
  readonly #auth: StunServerAuth;
  readonly #hmac: HmacFactory;
  readonly #random: RandomSource;
  readonly #keys = new Map<string, IntegrityKeys>();
  // Long-term only:
  readonly #realm: string = "";
  readonly #lifetime: number = 600_000;
  readonly #features: SecurityFeatures = { passwordAlgorithms: false, usernameAnonymity: false };
  readonly #offered: readonly PasswordAlgorithmEntry[] | undefined;
  /** PASSWORD-ALGORITHMS as this server encodes it, for the §9.2.4 "matches the value sent" check. */
  readonly #offeredBytes: Uint8Array | undefined;
  readonly #userhash: ((hash: Uint8Array) => string | undefined) | undefined;
  readonly #nonceKey: HmacKey | undefined;
  readonly #salt = new Uint8Array(6);
  readonly #mac = new Uint8Array(32);

  /**
   * @param auth - the users and the mechanism
   * @param options - random source and HMAC capability
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for a realm OpaqueString rejects, an unknown
   *   or repeated password algorithm, a bad nonce lifetime, or `userhash: true` with a
   *   function `users`.
   */
  constructor(auth: StunServerAuth, options: StunServerAuthenticatorOptions = {}) {
    this.#auth = auth;
    this.#hmac = options.hmac ?? createHmacKey;
    this.#random = options.random ?? defaultRandom;
    if (typeof auth !== "object" || auth === null || (auth.kind !== "short-term" && auth.kind !== "long-term")) {
      throw new IcekitError("INVALID_ARGUMENT", 'auth: pass { kind: "short-term", users } or { kind: "long-term", realm, users }');
    }
    if (typeof auth.users !== "function" && (typeof auth.users !== "object" || auth.users === null)) {
      throw new IcekitError("INVALID_ARGUMENT", "auth.users: pass a Map, an object or a function from username to secret");
    }
    if (auth.kind === "short-term") {
      this.#offered = undefined;
      this.#offeredBytes = undefined;
      this.#userhash = undefined;
      this.#nonceKey = undefined;
      return;
    }
    this.#realm = opaqueString(auth.realm, "auth.realm");
    const lifetime = auth.nonceLifetimeMs ?? 600_000;
    if (!(lifetime > 0) || !Number.isFinite(lifetime)) {
      throw new IcekitError("INVALID_ARGUMENT", `auth.nonceLifetimeMs ${lifetime}: pass a positive number of milliseconds`);
    }
    this.#lifetime = lifetime;
    const algorithms = auth.passwordAlgorithms;
    if (algorithms !== undefined) {
      if (!Array.isArray(algorithms) || algorithms.length === 0) {
        throw new IcekitError("INVALID_ARGUMENT", 'auth.passwordAlgorithms: pass a non-empty list such as ["SHA-256", "MD5"], or leave it out');
      }
      for (const [i, a] of algorithms.entries()) {
        if (a !== "MD5" && a !== "SHA-256") throw new IcekitError("INVALID_ARGUMENT", `auth.passwordAlgorithms: ${JSON.stringify(a)} is not "MD5" or "SHA-256"`);
        if (algorithms.indexOf(a) !== i) throw new IcekitError("INVALID_ARGUMENT", `auth.passwordAlgorithms: ${a} is listed twice`);
      }
      this.#offered = algorithms.map((a) => ({ algorithm: passwordAlgorithmNumber(a), parameters: NO_PARAMETERS }));
      const bytes = new Uint8Array(4 * algorithms.length);
      PasswordAlgorithms.encode(this.#offered, bytes, 0);
      this.#offeredBytes = bytes;
    } else {
      this.#offered = undefined;
      this.#offeredBytes = undefined;
    }
    this.#userhash = this.#userhashLookup(auth);
    this.#features = { passwordAlgorithms: this.#offered !== undefined, usernameAnonymity: this.#userhash !== undefined };
    const secret = auth.nonceSecret ?? new Uint8Array(32);
    if (auth.nonceSecret === undefined) this.#random(secret);
    else if (!(secret instanceof Uint8Array) || secret.length < 16) {
      throw new IcekitError("INVALID_ARGUMENT", "auth.nonceSecret: pass a Uint8Array of at least 16 random bytes");
    }
    this.#nonceKey = this.#hmac("sha256", secret);
  }

  /** The mechanism: `"short-term"` or `"long-term"`. */
  get kind(): "short-term" | "long-term" {
    return this.#auth.kind;
  }

  /** The realm (long-term), in OpaqueString form; empty for short-term. */
  get realm(): string {
    return this.#realm;
  }

  #userhashLookup(auth: LongTermServerAuth): ((hash: Uint8Array) => string | undefined) | undefined {
    const option = auth.userhash;
    if (option === undefined || option === false) return undefined;
    if (typeof option === "function") return option;
    if (option !== true) throw new IcekitError("INVALID_ARGUMENT", "auth.userhash: pass true, false or a function from USERHASH to username");
    const names = usernamesOf(auth.users);
    if (names === undefined) {
      throw new IcekitError("INVALID_ARGUMENT", "auth.userhash: true needs users as a Map or an object; with a users function, pass userhash as a function from the 32-byte USERHASH to the username");
    }
    // §14.4: USERHASH = SHA-256(OpaqueString(username) ":" OpaqueString(realm)), hashed once per user.
    const table = new Map<string, string>();
    for (const name of names) table.set(toHex(userHash(name, this.#realm)), name);
    return (hash) => table.get(toHex(hash));
  }

  /**
   * REALM, a fresh NONCE for `remote` and PASSWORD-ALGORITHMS (when offered): the attributes of
   * a 401 or 438 (RFC 8489 §9.2.4). Empty for short-term credentials.
   *
   * @param now - the time, ms; the nonce expires `nonceLifetimeMs` after it
   * @param remote - the client's transport address, which the nonce is bound to
   * @param transport - the transport the request came on
   */
  challenge(now: number, remote: TransportAddress, transport: TransportProtocol): AttributeEntry[] {
    if (this.#auth.kind === "short-term") return [];
    const out: AttributeEntry[] = [attr(Realm, this.#realm), attr(Nonce, this.#makeNonce(now, remote, transport))];
    // §9.2.4: the 401 and 438 responses carry PASSWORD-ALGORITHMS when the server offers them.
    if (this.#offered) out.push(attr(PasswordAlgorithms, this.#offered));
    return out;
  }

  /**
   * Authenticates a request (or indication, short-term only) per RFC 8489 §9.1.3 or §9.2.4, in
   * the order those sections list the checks. Never throws on what the message holds.
   *
   * @param now - the time, ms
   * @param msg - the decoded request
   * @param remote - its source transport address
   * @param transport - the transport it arrived on
   */
  check(now: number, msg: StunMessage, remote: TransportAddress, transport: TransportProtocol): StunAuthOutcome {
    return this.#auth.kind === "short-term" ? this.#checkShortTerm(msg, this.#auth) : this.#checkLongTerm(now, msg, remote, transport, this.#auth);
  }

  #checkShortTerm(msg: StunMessage, auth: ShortTermServerAuth): StunAuthOutcome {
    const hasMi = msg.has(AttributeType.MessageIntegrity);
    const hasMi256 = msg.has(AttributeType.MessageIntegritySha256);
    let username: string | undefined;
    try {
      username = msg.get(Username);
    } catch {
      username = undefined;
    }
    // §9.1.3: no MESSAGE-INTEGRITY(-SHA256) or no USERNAME → 400.
    if ((!hasMi && !hasMi256) || username === undefined) {
      return fail(400, "bad-request", "the request lacks USERNAME or MESSAGE-INTEGRITY(-SHA256)");
    }
    const password = lookup(auth.users, username);
    if (typeof password !== "string") return fail(401, "unknown-user", `unknown username ${JSON.stringify(username)}`);
    const keys = this.#cached(`s\0${username}\0${password}`, () => shortTermKey(password));
    if (keys === undefined) return fail(401, "unknown-user", `the password of ${JSON.stringify(username)} is not valid OpaqueString`);
    // §9.1.3: MESSAGE-INTEGRITY-SHA256 decides when present, else MESSAGE-INTEGRITY.
    if (checkIntegrity(msg, keys) !== "valid") return fail(401, "integrity", `wrong MESSAGE-INTEGRITY${hasMi256 ? "-SHA256" : ""} for ${JSON.stringify(username)}`);
    // §9.1.3: the response carries the same one of the two the request used.
    return { ok: true, user: username, keys, sha256: hasMi256 };
  }

  #checkLongTerm(now: number, msg: StunMessage, remote: TransportAddress, transport: TransportProtocol, auth: LongTermServerAuth): StunAuthOutcome {
    const hasMi = msg.has(AttributeType.MessageIntegrity);
    const hasMi256 = msg.has(AttributeType.MessageIntegritySha256);
    // §9.2.4, first check: no integrity → 401 with REALM and a NONCE (and PASSWORD-ALGORITHMS).
    if (!hasMi && !hasMi256) return fail(401, "challenge", "no MESSAGE-INTEGRITY: challenge", this.challenge(now, remote, transport));

    // Second check: USERNAME or USERHASH, REALM and NONCE must all be there → else 400.
    let username: string | undefined;
    let hash: Uint8Array | undefined;
    let realm: string | undefined;
    let nonce: string | undefined;
    try {
      username = msg.get(Username);
      hash = msg.get(Userhash);
      realm = msg.get(Realm);
      nonce = msg.get(Nonce);
    } catch (e) {
      return fail(400, "bad-request", `malformed authentication attribute: ${(e as Error).message}`);
    }
    if ((username === undefined && hash === undefined) || realm === undefined || nonce === undefined) {
      return fail(400, "bad-request", "MESSAGE-INTEGRITY without USERNAME/USERHASH, REALM or NONCE");
    }

    // Third check: a nonce that announces PASSWORD-ALGORITHMS makes the client echo the list
    // and choose from it; anything else is a bid-down attempt → 400.
    let algorithm: PasswordAlgorithmName = "MD5";
    let negotiated = false;
    if (parseNonceSecurityFeatures(nonce)?.passwordAlgorithms) {
      const listRaw = msg.rawValue(AttributeType.PasswordAlgorithms);
      const hasChoice = msg.has(AttributeType.PasswordAlgorithm);
      if (listRaw !== undefined || hasChoice) {
        let chosen: PasswordAlgorithmEntry | undefined;
        let list: readonly PasswordAlgorithmEntry[] | undefined;
        try {
          chosen = msg.get(PasswordAlgorithmAttr);
          list = msg.get(PasswordAlgorithms);
        } catch {
          return fail(400, "bid-down", "malformed PASSWORD-ALGORITHM(S)");
        }
        if (chosen === undefined || list === undefined || listRaw === undefined) {
          return fail(400, "bid-down", "PASSWORD-ALGORITHM and PASSWORD-ALGORITHMS must come together");
        }
        if (this.#offeredBytes === undefined || !sameBytes(listRaw, this.#offeredBytes)) {
          return fail(400, "bid-down", "PASSWORD-ALGORITHMS differs from the list this server sent");
        }
        if (!list.some((e) => e.algorithm === chosen.algorithm && sameBytes(e.parameters, chosen.parameters))) {
          return fail(400, "bid-down", "PASSWORD-ALGORITHM is not one of PASSWORD-ALGORITHMS");
        }
        const name = passwordAlgorithmName(chosen.algorithm);
        if (name === undefined) return fail(400, "bid-down", `unsupported PASSWORD-ALGORITHM ${chosen.algorithm}`);
        algorithm = name;
        negotiated = true;
      }
      // Neither attribute: "processed as though PASSWORD-ALGORITHM were MD5".
    }

    // Fourth check: the user must exist → 401 with REALM, NONCE, PASSWORD-ALGORITHMS.
    let user: string | undefined;
    if (hash !== undefined) user = this.#userhash?.(hash);
    else user = username;
    const secret = user === undefined ? undefined : lookup(auth.users, user);
    if (user === undefined || secret === undefined) {
      const who = hash !== undefined ? (this.#userhash ? "unknown USERHASH" : "USERHASH, but username anonymity is off") : `unknown username ${JSON.stringify(username)}`;
      return fail(401, "unknown-user", who, this.challenge(now, remote, transport));
    }
    const keys = this.#longTermKeys(user, secret, algorithm);
    if (keys === undefined) {
      return fail(401, "unknown-user", `no ${algorithm} key for ${JSON.stringify(user)}`, this.challenge(now, remote, transport));
    }

    // Fifth check: the HMAC, MESSAGE-INTEGRITY-SHA256 when present → 401.
    if (checkIntegrity(msg, keys) !== "valid") {
      return fail(401, "integrity", `wrong MESSAGE-INTEGRITY${hasMi256 ? "-SHA256" : ""} for ${JSON.stringify(user)}`, this.challenge(now, remote, transport));
    }

    // Sixth check: the nonce must be ours, for this client, and fresh → 438 with a new one.
    const stale = this.#nonceProblem(now, nonce, remote, transport);
    if (stale !== undefined) return fail(438, "stale-nonce", stale, this.challenge(now, remote, transport));

    // §9.2.4: MESSAGE-INTEGRITY-SHA256 in the response unless the request was processed as MD5
    // for lack of PASSWORD-ALGORITHM(S); then MESSAGE-INTEGRITY.
    return { ok: true, user, keys, sha256: negotiated };
  }

  #longTermKeys(user: string, secret: LongTermSecret, algorithm: PasswordAlgorithmName): IntegrityKeys | undefined {
    if (typeof secret === "string") {
      return this.#cached(`${algorithm}\0${user}\0${secret}`, () => longTermKey(user, this.#realm, secret, { algorithm }));
    }
    if (typeof secret !== "object" || secret === null) return undefined;
    const key = algorithm === "SHA-256" ? secret.sha256 : secret.md5;
    if (!(key instanceof Uint8Array)) return undefined;
    return this.#cached(`${algorithm}\0${user}\0#${toHex(key)}`, () => key);
  }

  /** Cached HMAC keys for a derived key; undefined when deriving it fails (a bad configured password). */
  #cached(id: string, derive: () => Uint8Array): IntegrityKeys | undefined {
    let keys = this.#keys.get(id);
    if (keys !== undefined) return keys;
    let key: Uint8Array;
    try {
      key = derive();
    } catch {
      return undefined;
    }
    if (this.#keys.size >= CACHE_LIMIT) this.#keys.clear();
    keys = integrityKeys(key, this.#hmac);
    this.#keys.set(id, keys);
    return keys;
  }

  /**
   * A nonce: the cookie and feature bits (§9.2), then `<time hex>.<salt hex>.<MAC hex>` where the
   * MAC covers everything before it and the client's transport address, so that no two clients
   * share a nonce (§9.2.4) and the server can check it without state.
   */
  #makeNonce(now: number, remote: TransportAddress, transport: TransportProtocol): string {
    this.#random(this.#salt);
    const head = `${makeNonceWithFeatures(this.#features, "")}${Math.floor(now).toString(16)}.${toHex(this.#salt)}`;
    return `${head}.${this.#nonceMac(head, remote, transport)}`;
  }

  #nonceMac(head: string, remote: TransportAddress, transport: TransportProtocol): string {
    const key = this.#nonceKey!;
    key.init().update(utf8.encode(`${head}|${transport}|${remote.address}|${remote.port}`)).digestInto(this.#mac, 0);
    return toHex(this.#mac, 0, 16);
  }

  /** Why `nonce` is not valid now for this client, or undefined when it is. */
  #nonceProblem(now: number, nonce: string, remote: TransportAddress, transport: TransportProtocol): string | undefined {
    const cut = nonce.lastIndexOf(".");
    if (!nonce.startsWith(NONCE_COOKIE) || cut < 0) return "the NONCE is not one this server issued";
    const head = nonce.slice(0, cut);
    if (!sameText(nonce.slice(cut + 1), this.#nonceMac(head, remote, transport))) {
      return "the NONCE was not issued by this server to this client";
    }
    const time = head.slice(13, head.indexOf(".", 13));
    const issued = Number.parseInt(time, 16);
    if (!/^-?[0-9a-f]{1,14}$/.test(time) || !Number.isFinite(issued)) return "the NONCE has no valid time";
    const age = now - issued;
    if (age < 0 || age >= this.#lifetime) return `the NONCE is ${Math.floor(age)} ms old; it lasts ${this.#lifetime} ms`;
    return undefined;
  }
}
