/**
 * The client side of the long-term credential mechanism (RFC 8489 §9.2.3-§9.2.5) for one
 * server and one username: what the server's 401 and 438 responses taught the client (REALM,
 * NONCE, PASSWORD-ALGORITHMS, the nonce cookie's security features), and how to sign the next
 * request with it.
 *
 * @module
 */
import type { HmacFactory } from "../crypto/types";
import { Userhash } from "./attributes/auth";
import { PasswordAlgorithmAttr, PasswordAlgorithms } from "./attributes/auth";
import { Nonce, Realm, Username } from "./attributes/text";
import type { StunMessageBuilder } from "./builder";
import { AttributeType } from "./constants";
import { longTermCredential, parseNonceSecurityFeatures, passwordAlgorithmName, userHash } from "./credentials";
import type { PasswordAlgorithmName, StunCredential } from "./credentials";
import type { IntegrityKeys } from "./integrity";
import type { StunMessage } from "./message";

/**
 * What to do after a 401 or 438.
 *
 * @example
 * ```ts
 * const decision: AuthDecision = auth.onChallenge(response, 438, true, true);
 * if (decision.kind === "retry") resend();
 * else fail(decision.detail); // e.g. "438 Stale Nonce again after retrying with fresh nonces"
 * ```
 */
export type AuthDecision = { readonly kind: "retry" } | { readonly kind: "fail"; readonly detail: string };

const NO_PARAMETERS = new Uint8Array(0);

/**
 * Long-term credential state for one (server, username) pair.
 *
 * @example
 * ```ts
 * const auth = new LongTermAuth("alice", "s3cret", createHmacKey);
 * auth.onChallenge(response401, 401, false, true) // → { kind: "retry" }: REALM and NONCE learnt
 * const keys = auth.sign(builder.begin(Method.Allocate, MessageClass.Request, newTransactionId()));
 * checkIntegrity(response, keys) // the response must be signed with the same key
 * ```
 */
export class LongTermAuth {
  readonly #username: string;
  readonly #password: string;
  readonly #hmac: HmacFactory;
  #realm: string | undefined;
  #nonce: string | undefined;
  /** The PASSWORD-ALGORITHMS value as received, echoed byte for byte (§9.2.5 "same content"). */
  #algorithms: Uint8Array | undefined;
  #algorithm: PasswordAlgorithmName = "MD5";
  #userhash: Uint8Array | undefined;
  #credential: StunCredential | undefined;

  /**
   * @param username - the long-term username
   * @param password - its password
   * @param hmac - HMAC capability for the derived keys
   */
  constructor(username: string, password: string, hmac: HmacFactory) {
    this.#username = username;
    this.#password = password;
    this.#hmac = hmac;
  }

  /** True when this state is for these credentials. */
  matches(username: string, password: string): boolean {
    return this.#username === username && this.#password === password;
  }

  /** True once a 401 supplied REALM and NONCE, so requests can be signed (§9.2.3.2). */
  get ready(): boolean {
    return this.#credential !== undefined && this.#nonce !== undefined;
  }

  /** The realm the server announced, if any. */
  get realm(): string | undefined {
    return this.#realm;
  }

  /**
   * Adds the authentication attributes to a request being built and signs it: USERNAME or
   * USERHASH, REALM, NONCE, PASSWORD-ALGORITHMS and PASSWORD-ALGORITHM when the server offered
   * algorithms, then MESSAGE-INTEGRITY-SHA256 (when it did, §9.2.5) or MESSAGE-INTEGRITY.
   *
   * @returns the keys the response must be checked with
   */
  sign(b: StunMessageBuilder): IntegrityKeys {
    const cred = this.#credential!;
    if (this.#userhash) b.add(Userhash, this.#userhash);
    else b.add(Username, cred.username);
    b.add(Realm, this.#realm!);
    b.add(Nonce, this.#nonce!);
    if (this.#algorithms) {
      b.addRaw(AttributeType.PasswordAlgorithms, this.#algorithms);
      b.add(PasswordAlgorithmAttr, { algorithm: this.#algorithm === "SHA-256" ? 2 : 1, parameters: NO_PARAMETERS });
      b.addMessageIntegritySha256(cred.sha256);
    } else {
      b.addMessageIntegrity(cred.sha1);
    }
    return cred;
  }

  /**
   * True when `msg` must be ignored under §9.2.5's bid-down rule: its NONCE carries the nonce
   * cookie with the "Password algorithms" bit, yet PASSWORD-ALGORITHMS is missing.
   */
  isBidDown(msg: StunMessage): boolean {
    let nonce: string | undefined;
    try {
      nonce = msg.get(Nonce);
    } catch {
      return false;
    }
    if (nonce === undefined) return false;
    return parseNonceSecurityFeatures(nonce)?.passwordAlgorithms === true && !msg.has(AttributeType.PasswordAlgorithms);
  }

  /**
   * Learns from a 401 (Unauthenticated) or 438 (Stale Nonce) and decides whether to retry.
   *
   * @param msg - the error response
   * @param code - 401 or 438
   * @param wasSigned - whether the request it answers carried our credentials
   * @param mayRetryStale - false once the 438 retry budget is spent
   */
  onChallenge(msg: StunMessage, code: 401 | 438 | number, wasSigned: boolean, mayRetryStale: boolean): AuthDecision {
    let realm: string | undefined;
    let nonce: string | undefined;
    let algorithms: Uint8Array | undefined;
    let offered: readonly { algorithm: number }[] | undefined;
    try {
      realm = msg.get(Realm);
      nonce = msg.get(Nonce);
      algorithms = msg.rawValue(AttributeType.PasswordAlgorithms)?.slice();
      offered = msg.get(PasswordAlgorithms);
    } catch (e) {
      return { kind: "fail", detail: `malformed ${code} response: ${(e as Error).message}` };
    }
    if (nonce === undefined) return { kind: "fail", detail: `${code} response without NONCE` };
    // §9.2.5: a nonce that promises PASSWORD-ALGORITHMS without the attribute is a bid-down.
    const features = parseNonceSecurityFeatures(nonce);
    if (features?.passwordAlgorithms && algorithms === undefined) {
      return { kind: "fail", detail: `${code} response's nonce announces PASSWORD-ALGORITHMS but the attribute is missing (possible bid-down attack)` };
    }
    let algorithm: PasswordAlgorithmName = "MD5";
    if (offered !== undefined) {
      // §9.2.5: the first algorithm on the list that the client supports.
      const first = offered.map((o) => passwordAlgorithmName(o.algorithm)).find((n) => n !== undefined);
      if (first === undefined) return { kind: "fail", detail: "the server offers no password algorithm icekit supports (MD5, SHA-256)" };
      algorithm = first;
    }
    if (code === 438) {
      if (!mayRetryStale) return { kind: "fail", detail: "438 Stale Nonce again after retrying with fresh nonces" };
      realm ??= this.#realm;
      if (realm === undefined) return { kind: "fail", detail: "438 Stale Nonce without REALM before any 401" };
    } else {
      if (realm === undefined) return { kind: "fail", detail: "401 response without REALM" };
      // §9.2.5: do not retry with the same username, realm and password that just failed.
      if (wasSigned && realm === this.#realm) return { kind: "fail", detail: `401 ${realm ? `for realm "${realm}"` : ""}: the server rejected the username or password` };
    }
    try {
      if (this.#credential === undefined || realm !== this.#realm || algorithm !== this.#algorithm) {
        this.#credential = longTermCredential(this.#username, realm, this.#password, { algorithm, hmac: this.#hmac });
      }
      this.#userhash = features?.usernameAnonymity ? userHash(this.#username, realm) : undefined;
    } catch (e) {
      return { kind: "fail", detail: `cannot derive the long-term key: ${(e as Error).message}` };
    }
    this.#realm = realm;
    this.#nonce = nonce;
    this.#algorithms = algorithms;
    this.#algorithm = algorithm;
    return { kind: "retry" };
  }
}
