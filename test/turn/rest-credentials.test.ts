import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IcekitError } from "../../src/errors";
import { turnRestCredentials } from "../../src/turn/rest-credentials";

describe("turnRestCredentials (coturn --use-auth-secret)", () => {
  it("makes '<expiry>:<user>' and base64(HMAC-SHA1(secret, username))", () => {
    // Expected password from: printf %s 1700000600:user | openssl dgst -sha1 -hmac secret -binary | base64
    expect(turnRestCredentials("secret", "user", 600, 1_700_000_000)).toEqual({
      username: "1700000600:user",
      password: "Agcx/EhjAfaNg7MhzV//om6OmIk=",
      expiresAt: 1_700_000_600,
    });
  });

  it("uses the expiry alone for an empty user, floors fractional seconds, and takes another separator", () => {
    expect(turnRestCredentials("secret", "", 600, 1_700_000_000.9)).toEqual({
      username: "1700000600",
      password: "mKmuWLuhughjLdwFTs8cnQ9qiNA=",
      expiresAt: 1_700_000_600,
    });
    expect(turnRestCredentials("secret", "user", 1, 0, { separator: "-" }).username).toBe("1-user");
  });

  it("agrees with node:crypto for any secret, user and time", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ maxLength: 30 }).filter((u) => !u.includes(":")),
        fc.integer({ min: 1, max: 10 ** 7 }),
        fc.integer({ min: 0, max: 2 ** 33 }),
        (secret, user, ttl, now) => {
          const c = turnRestCredentials(secret, user, ttl, now);
          expect(c.username.split(":")[0]).toBe(String(now + ttl));
          expect(c.password).toBe(createHmac("sha1", secret).update(c.username).digest("base64"));
        },
      ),
    );
  });

  it("refuses what would give unusable credentials", () => {
    expect(() => turnRestCredentials("", "u", 60, 0)).toThrow(IcekitError);
    expect(() => turnRestCredentials("s", "u", 0, 0)).toThrow(/ttlSeconds/);
    expect(() => turnRestCredentials("s", "u", 1.5, 0)).toThrow(/ttlSeconds/);
    expect(() => turnRestCredentials("s", "u", 60, Number.NaN)).toThrow(/nowSeconds/);
    expect(() => turnRestCredentials("s", "a:b", 60, 0)).toThrow(/separator/);
  });
});
