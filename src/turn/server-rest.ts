/**
 * The server side of the TURN REST API's shared-secret credentials, as coturn implements them
 * (`--use-auth-secret`, draft-uberti-behave-turn-rest-00 §2.2): a web service that shares a secret
 * with the TURN server hands out
 *
 * ```text
 * username = "<unix expiry time>:<user id>"          (or just "<unix expiry time>")
 * password = base64(HMAC-SHA1(secret, username))
 * ```
 *
 * and the TURN server accepts them, as long-term credentials (RFC 8489 §9.2), until the expiry
 * time. The server needs no user table: {@link restSecretUsers} derives the password from the
 * username, and refuses usernames whose time has passed (the client then gets 401, like an
 * unknown user).
 *
 * @module
 */
import { toBase64 } from "../bytes/hex";
import { createHmacKey } from "../crypto/hmac";
import type { HmacFactory, HmacKey } from "../crypto/types";
import { IcekitError } from "../errors";

const utf8 = /* @__PURE__ */ new TextEncoder();

function secretBytes(secret: string | Uint8Array): Uint8Array {
  if (secret instanceof Uint8Array) {
    if (secret.length === 0) throw new IcekitError("INVALID_ARGUMENT", "secret: pass a non-empty shared secret");
    return secret;
  }
  if (typeof secret !== "string" || secret.length === 0) throw new IcekitError("INVALID_ARGUMENT", "secret: pass the non-empty shared secret text (coturn's static-auth-secret)");
  return utf8.encode(secret);
}

/**
 * The password the TURN REST API gives `username`: base64(HMAC-SHA1(secret, username)).
 *
 * @param secret - the shared secret (text as UTF-8, or bytes)
 * @param username - `"<unix expiry>:<user>"`
 * @param hmac - HMAC capability (default icekit's pure one)
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for an empty secret
 * @example
 * ```ts
 * const username = `${nowSeconds + 3600}:alice`; // nowSeconds: the wall clock in Unix seconds
 * const password = restSecretPassword("s3cret", username); // what the web service hands out
 * ```
 */
export function restSecretPassword(secret: string | Uint8Array, username: string, hmac: HmacFactory = createHmacKey): string {
  const key = hmac("sha1", secretBytes(secret));
  return passwordWith(key, username);
}

function passwordWith(key: HmacKey, username: string): string {
  const mac = new Uint8Array(20);
  key.init().update(utf8.encode(username)).digestInto(mac, 0);
  return toBase64(mac);
}

/**
 * The expiry time in a REST username: the digits before the first separator, or the whole
 * username when it is all digits; undefined when it has no such time.
 *
 * @param username - `"<unix expiry>:<user>"`
 * @param separator - coturn's `--rest-api-separator` (default `":"`)
 *
 * @example
 * ```ts
 * restUsernameExpiry("1700003600:alice"); // → 1700003600
 * restUsernameExpiry("alice");            // → undefined: not a REST username
 * ```
 */
export function restUsernameExpiry(username: string, separator = ":"): number | undefined {
  const cut = username.indexOf(separator);
  const head = cut < 0 ? username : username.slice(0, cut);
  if (!/^\d{1,15}$/.test(head)) return undefined;
  return Number(head);
}

/**
 * Which quota a REST username counts against: the user id after the first separator (a web
 * service mints a new username per session, so the expiry part would give every session its
 * own quota), or the whole username when there is no separator.
 *
 * @param username - `"<unix expiry>:<user>"`
 * @param separator - coturn's `--rest-api-separator` (default `":"`)
 *
 * @example
 * ```ts
 * restQuotaKey("1700003600:alice"); // → "alice": every session of alice shares one quota
 * restQuotaKey("alice");            // → "alice"
 * ```
 */
export function restQuotaKey(username: string, separator = ":"): string {
  const cut = username.indexOf(separator);
  return cut < 0 ? username : username.slice(cut + separator.length);
}

/**
 * A `users` lookup for long-term authentication that accepts REST API usernames whose expiry
 * time is still ahead of `unixTime()`, with the password {@link restSecretPassword} gives.
 *
 * @param secret - the shared secret
 * @param unixTime - the current wall-clock time in seconds since 1970
 * @param hmac - HMAC capability
 * @param separator - between expiry and user, coturn's `--rest-api-separator` (default `":"`)
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for an empty secret, a missing clock or a
 *   separator that is not one character
 *
 * @example
 * ```ts
 * const users = restSecretUsers("s3cret", () => 1_700_000_000); // a fixed clock, for the example
 * users("1700003600:alice"); // → "YAFdW/YDZewZsR1QSgUk2IrfbRI=": valid for another hour
 * users("1699999999:alice"); // → undefined: expired, so the request gets 401
 * ```
 */
export function restSecretUsers(
  secret: string | Uint8Array,
  unixTime: () => number,
  hmac: HmacFactory = createHmacKey,
  separator = ":",
): (username: string) => string | undefined {
  if (typeof unixTime !== "function") throw new IcekitError("INVALID_ARGUMENT", "unixTime: pass a function giving seconds since 1970, e.g. one reading the wall clock in src/node");
  if (typeof separator !== "string" || separator.length !== 1 || /\d/.test(separator)) {
    throw new IcekitError("INVALID_ARGUMENT", `restSeparator ${JSON.stringify(separator)}: pass one character that is not a digit, e.g. ":"`);
  }
  const key = hmac("sha1", secretBytes(secret));
  return (username) => {
    const expiry = restUsernameExpiry(username, separator);
    // An expired username is as good as an unknown one: 401 (RFC 8489 §9.2.4).
    if (expiry === undefined || expiry < unixTime()) return undefined;
    return passwordWith(key, username);
  };
}
