/**
 * What the hashes, HMAC keys and CRC-32 do when called wrongly: each mistake throws an
 * `IcekitError` with a code at the call, instead of hashing the wrong bytes in silence.
 *
 * @module
 */
import { describe, expect, it } from "vitest";
import { crc32, createHmacKey, Md5, Sha1, Sha256 } from "../../src/crypto/index";
import type { HashState, HmacAlgorithm } from "../../src/crypto/index";
import { isIcekitError } from "../../src/errors";

/** The `code` of the IcekitError `fn` throws, or "no error". */
function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isIcekitError(e)) return e.code;
    throw e;
  }
  return "no error";
}

const data = new Uint8Array(10);

describe.each<[string, () => HashState]>([
  ["Sha1", () => new Sha1()],
  ["Sha256", () => new Sha256()],
  ["Md5", () => new Md5()],
])("%s", (_name, create) => {
  it("refuses a range outside the data, reversed, negative or fractional", () => {
    for (const [start, end] of [
      [0, 11],
      [5, 4],
      [-1, 3],
      [1.5, 3],
      [Number.NaN, 3],
    ] as const) {
      expect(thrownCode(() => create().update(data, start, end))).toBe("INVALID_ARGUMENT");
    }
  });

  it("accepts the empty range at either end", () => {
    expect(thrownCode(() => create().update(data, 0, 0).update(data, 10, 10))).toBe("no error");
  });

  it("refuses to continue after digestInto() until reset()", () => {
    const h = create();
    const out = new Uint8Array(h.outputLength);
    h.update(data).digestInto(out);
    expect(thrownCode(() => h.update(data))).toBe("INVALID_STATE");
    expect(thrownCode(() => h.digestInto(out))).toBe("INVALID_STATE");
    expect(thrownCode(() => h.reset().update(data).digestInto(out))).toBe("no error");
  });

  it("refuses an output buffer too small for the digest, and stays usable", () => {
    const h = create().update(data);
    expect(thrownCode(() => h.digestInto(new Uint8Array(h.outputLength - 1)))).toBe("BUFFER_TOO_SMALL");
    expect(thrownCode(() => h.digestInto(new Uint8Array(h.outputLength), 1))).toBe("BUFFER_TOO_SMALL");
    expect(thrownCode(() => h.digestInto(new Uint8Array(h.outputLength)))).toBe("no error");
  });

  it("refuses to copy the state of another algorithm", () => {
    const other = create() instanceof Sha1 ? new Sha256() : new Sha1();
    expect(thrownCode(() => create().copyFrom(other as never))).toBe("INVALID_ARGUMENT");
  });
});

describe("createHmacKey", () => {
  it("refuses an unknown algorithm", () => {
    expect(thrownCode(() => createHmacKey("md5" as HmacAlgorithm, data))).toBe("INVALID_ARGUMENT");
  });

  it("refuses a key that is not a Uint8Array", () => {
    expect(thrownCode(() => createHmacKey("sha1", "secret" as unknown as Uint8Array))).toBe("INVALID_ARGUMENT");
  });

  it("accepts a Node Buffer as the key (a Uint8Array subclass)", () => {
    const a = createHmacKey("sha1", Buffer.from("secret")).compute(data);
    const b = createHmacKey("sha1", new TextEncoder().encode("secret")).compute(data);
    expect(Buffer.from(a)).toEqual(Buffer.from(b));
  });

  it("reports its algorithm and MAC length", () => {
    const a = createHmacKey("sha1", data);
    const b = createHmacKey("sha256", data);
    expect([a.algorithm, a.outputLength, b.algorithm, b.outputLength]).toEqual(["sha1", 20, "sha256", 32]);
  });

  it("refuses a short output buffer without spending the MAC", () => {
    const mac = createHmacKey("sha1", data).init().update(data);
    expect(thrownCode(() => mac.digestInto(new Uint8Array(19)))).toBe("BUFFER_TOO_SMALL");
    const out = new Uint8Array(20);
    mac.digestInto(out);
    expect(Buffer.from(out)).toEqual(Buffer.from(createHmacKey("sha1", data).compute(data)));
  });

  it("refuses update() after digestInto() until init()", () => {
    const mac = createHmacKey("sha256", data);
    mac.init().update(data).digestInto(new Uint8Array(32));
    expect(thrownCode(() => mac.update(data))).toBe("INVALID_STATE");
    expect(thrownCode(() => mac.init().update(data))).toBe("no error");
  });

  it("is ready for update() straight after creation", () => {
    const out = new Uint8Array(20);
    createHmacKey("sha1", data).update(data).digestInto(out);
    expect(Buffer.from(out)).toEqual(Buffer.from(createHmacKey("sha1", data).compute(data)));
  });
});

describe("crc32", () => {
  it("refuses a range outside the data", () => {
    expect(thrownCode(() => crc32(data, 0, 11))).toBe("INVALID_ARGUMENT");
    expect(thrownCode(() => crc32(data, 4, 3))).toBe("INVALID_ARGUMENT");
    expect(thrownCode(() => crc32(data, -1))).toBe("INVALID_ARGUMENT");
  });
});
