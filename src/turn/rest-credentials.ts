/**
 * Ephemeral TURN credentials from a shared secret: the "TURN REST API" scheme
 * (draft-uberti-behave-turn-rest-00) that coturn implements as `--use-auth-secret
 * --static-auth-secret=S`, and most WebRTC deployments use to hand browsers short-lived TURN
 * passwords.
 *
 * The web service and the TURN server share a secret. The service gives a client
 * `username = "<expiry>:<user>"` (expiry in Unix seconds) and
 * `password = base64(HMAC-SHA1(secret, username))`; the TURN server recomputes the password from
 * the username and refuses it once the expiry has passed. The client then uses them as ordinary
 * long-term credentials (RFC 8489 §9.2).
 *
 * @example
 * ```ts
 * const { username, password } = turnRestCredentials("north", "alice", 3600, nowSeconds); // the wall clock, in Unix seconds
 * const turn = new TurnClient({ server, username, password });
 * ```
 *
 * @module
 */
import type { HmacFactory } from "../crypto/types";
import { IcekitError } from "../errors";
import { restSecretPassword } from "./server-rest";

/**
 * A username and password for the TURN REST API scheme.
 *
 * @example
 * ```ts
 * const creds: TurnRestCredentials = turnRestCredentials("north", "alice", 3600, 1_700_000_000);
 * // → { username: "1700003600:alice", password: "wjwSXO2ch1B6VaLTLMy2Avn5O9o=", expiresAt: 1700003600 }
 * ```
 */
export interface TurnRestCredentials {
  /** `"<expiry>:<user>"`, or `"<expiry>"` for an empty user. */
  readonly username: string;
  /** base64(HMAC-SHA1(secret, username)), with padding. */
  readonly password: string;
  /** When the credentials stop working, Unix seconds (the number in the username). */
  readonly expiresAt: number;
}

/**
 * Options for {@link turnRestCredentials}.
 *
 * @example
 * ```ts
 * const options: TurnRestCredentialOptions = { separator: "-" }; // coturn's --rest-api-separator=-
 * turnRestCredentials("north", "alice", 3600, 1_700_000_000, options).username; // → "1700003600-alice"
 * ```
 */
export interface TurnRestCredentialOptions {
  /** Between expiry and user: coturn's `--rest-api-separator`, default `":"`. */
  readonly separator?: string;
  /** HMAC capability (default: icekit's pure implementation). */
  readonly hmac?: HmacFactory;
}

/**
 * Makes TURN REST API credentials: what coturn with `--use-auth-secret
 * --static-auth-secret=<secret>` accepts until `nowSeconds + ttlSeconds`. Pure: the time is
 * passed in.
 *
 * @param secret - the shared secret (UTF-8), as given to the TURN server
 * @param user - the application's user id; may be empty (the username is then the expiry alone)
 * @param ttlSeconds - how long the credentials last, whole seconds > 0
 * @param nowSeconds - the current Unix time in seconds (whole seconds since 1970, read from the wall clock by the caller)
 * @param options - the separator (default `":"`) and HMAC capability
 * @returns the username, the password and the expiry
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for an empty secret, a ttl that is not a
 *   positive integer, a time that is not a non-negative number, or a user that contains the
 *   separator (the server would read the wrong expiry)
 *
 * @example
 * ```ts
 * turnRestCredentials("secret", "user", 600, 1_700_000_000)
 * // → { username: "1700000600:user", password: "Agcx/EhjAfaNg7MhzV//om6OmIk=", expiresAt: 1700000600 }
 * ```
 */
export function turnRestCredentials(
  secret: string,
  user: string,
  ttlSeconds: number,
  nowSeconds: number,
  options: TurnRestCredentialOptions = {},
): TurnRestCredentials {
  if (typeof secret !== "string" || secret === "") throw new IcekitError("INVALID_ARGUMENT", "secret: pass the TURN server's static-auth-secret, a non-empty string");
  if (typeof user !== "string") throw new IcekitError("INVALID_ARGUMENT", "user: pass a string (it may be empty)");
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new IcekitError("INVALID_ARGUMENT", `ttlSeconds ${ttlSeconds}: pass whole seconds > 0, e.g. 86400`);
  if (typeof nowSeconds !== "number" || !Number.isFinite(nowSeconds) || nowSeconds < 0) {
    throw new IcekitError("INVALID_ARGUMENT", `nowSeconds ${nowSeconds}: pass the wall clock's Unix time in seconds (since 1970)`);
  }
  const separator = options.separator ?? ":";
  if (separator.length !== 1) throw new IcekitError("INVALID_ARGUMENT", `separator ${JSON.stringify(separator)}: pass one character`);
  // coturn takes the text before the first separator as the expiry, so a user containing it is fine
  // for coturn, but not for servers that split on the last one; refuse what is ambiguous.
  if (user.includes(separator)) throw new IcekitError("INVALID_ARGUMENT", `user ${JSON.stringify(user)} contains the separator ${JSON.stringify(separator)}; pick another separator or user id`);
  const expiresAt = Math.floor(nowSeconds) + ttlSeconds;
  const username = user === "" ? String(expiresAt) : `${expiresAt}${separator}${user}`;
  // The same derivation the server checks with: one definition for both ends.
  return { username, password: restSecretPassword(secret, username, options.hmac), expiresAt };
}
