/**
 * The shapes shared by icekit's hash functions and MACs.
 *
 * {@link HmacFactory} is the capability STUN and TURN take for MESSAGE-INTEGRITY and
 * MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.5, §14.6): the pure default is
 * `createHmacKey`, and `icekit/node` may pass one backed by `node:crypto` where a
 * benchmark shows it wins. Every method works on a range of a caller's buffer, so a STUN message
 * is signed in place without copying or concatenating.
 *
 * @module
 */

/**
 * The incremental form of a Merkle–Damgård hash (SHA-1, SHA-256, MD5): feed bytes with
 * {@link HashState.update}, finish with {@link HashState.digestInto}.
 *
 * Not re-entrant and not thread-safe: one state is one running hash.
 *
 * @example
 * ```ts
 * const h: HashState = new Sha256();
 * h.update(header).update(body, 0, bodyLength); // hash pieces without concatenating
 * const digest = new Uint8Array(h.outputLength); // 32
 * h.digestInto(digest);
 * h.reset(); // before the next hash
 * ```
 */
export interface HashState {
  /** Bytes per compression block: 64 for SHA-1, SHA-256 and MD5. */
  readonly blockLength: number;
  /** Bytes of digest: 20 (SHA-1), 32 (SHA-256), 16 (MD5). */
  readonly outputLength: number;
  /** Starts a new hash of the empty message. Returns `this` for chaining. */
  reset(): this;
  /**
   * Hashes `data[start..end)`, so callers hash part of a buffer without `subarray()`.
   *
   * @param data - the bytes; only read, never kept
   * @param start - first byte to hash (default 0)
   * @param end - one past the last byte to hash (default `data.length`)
   * @returns `this`, for chaining
   * @throws `IcekitError` `INVALID_ARGUMENT` when the range is not integers with
   *   `0 <= start <= end <= data.length`; `INVALID_STATE` after {@link HashState.digestInto}
   *   without a {@link HashState.reset} in between.
   */
  update(data: Uint8Array, start?: number, end?: number): this;
  /**
   * Finishes the hash and writes `outputLength` bytes at `out[offset]`. The state is then spent
   * until {@link HashState.reset} (or {@link HashState.copyFrom}).
   *
   * @param out - where the digest goes
   * @param offset - index in `out` of the first digest byte (default 0)
   * @throws `IcekitError` `BUFFER_TOO_SMALL` when `out` has fewer than `outputLength`
   *   bytes from `offset`; `INVALID_STATE` when the state is already spent.
   */
  digestInto(out: Uint8Array, offset?: number): void;
  /**
   * Copies the full internal state (chaining value, buffered bytes, length) of `other` into
   * this, so a common prefix is hashed once and resumed many times (the HMAC pads do this).
   *
   * @param other - a state of the same algorithm
   * @returns `this`, for chaining
   * @throws `IcekitError` `INVALID_ARGUMENT` when `other` is another algorithm.
   */
  copyFrom(other: this): this;
}

/**
 * The HMAC hash functions STUN uses: SHA-1 (RFC 8489 §14.5) and SHA-256 (§14.6).
 *
 * @example
 * ```ts
 * const algorithm: HmacAlgorithm = msg.has(AttributeType.MessageIntegritySha256) ? "sha256" : "sha1";
 * const key = createHmacKey(algorithm, shortTermKey("VOkJxbRl1RmTxUk/WvJxBt"));
 * ```
 */
export type HmacAlgorithm = "sha1" | "sha256";

/**
 * A keyed MAC, stateful and reusable: {@link HmacKey.init}, {@link HmacKey.update}...,
 * {@link HmacKey.digestInto}. {@link HmacKey.compute} does all three. Not re-entrant: one key
 * object computes one MAC at a time.
 *
 * @example
 * ```ts
 * const key: HmacKey = createHmacKey("sha1", shortTermKey("VOkJxbRl1RmTxUk/WvJxBt"));
 * key.compute(data).length // → 20
 * key.init().update(data, 0, 20).update(data, 20).digestInto(out); // the same MAC, in pieces
 * ```
 */
export interface HmacKey {
  /** The hash function under the MAC. */
  readonly algorithm: HmacAlgorithm;
  /** Bytes of MAC: 20 (HMAC-SHA1) or 32 (HMAC-SHA256). */
  readonly outputLength: number;
  /** Starts a new MAC under this key. Returns `this` for chaining. */
  init(): this;
  /**
   * Feeds `data[start..end)` into the MAC started by {@link HmacKey.init}.
   *
   * @param data - the bytes; only read, never kept
   * @param start - first byte (default 0)
   * @param end - one past the last byte (default `data.length`)
   * @returns `this`, for chaining
   */
  update(data: Uint8Array, start?: number, end?: number): this;
  /**
   * Finishes the MAC and writes `outputLength` bytes at `out[offset]`. Call
   * {@link HmacKey.init} before the next MAC.
   *
   * @param out - where the MAC goes
   * @param offset - index in `out` of the first MAC byte (default 0)
   */
  digestInto(out: Uint8Array, offset?: number): void;
  /**
   * One-shot: the MAC of `data[start..end)`.
   *
   * @param data - the message
   * @param start - first byte (default 0)
   * @param end - one past the last byte (default `data.length`)
   * @param out - where to write the MAC (default: a new `Uint8Array(outputLength)`)
   * @param outOffset - index in `out` of the first MAC byte (default 0)
   * @returns `out`
   */
  compute(data: Uint8Array, start?: number, end?: number, out?: Uint8Array, outOffset?: number): Uint8Array;
}

/**
 * Factory for HMAC keys: the injectable capability. The pure default is
 * `createHmacKey`; `icekit/node` may pass a `node:crypto` one.
 *
 * @param algorithm - the hash function under the MAC
 * @param key - the key bytes, any length; implementations copy what they need and never keep
 *   a reference to `key`
 * @example
 * ```ts
 * let keysMade = 0;
 * const counting: HmacFactory = (algorithm, key) => (keysMade++, createHmacKey(algorithm, key));
 * const cred = shortTermCredential("evtj:h6vY", "VOkJxbRl1RmTxUk/WvJxBt", counting);
 * cred.sha1; cred.sha1; // keysMade → 1: keys are made once per credential
 * ```
 */
export type HmacFactory = (algorithm: HmacAlgorithm, key: Uint8Array) => HmacKey;
