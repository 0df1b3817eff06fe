/**
 * CRC-32 as zlib, Ethernet and PNG compute it (CRC-32/ISO-HDLC: reflected polynomial 0xEDB88320,
 * initial value and final XOR 0xFFFFFFFF): the checksum inside STUN's FINGERPRINT attribute
 * (RFC 8489 §14.7, which names ITU-T V.42 / ISO 3309).
 *
 * Slicing-by-16: sixteen 256-entry tables let each step fold 16 input bytes with 16 independent
 * lookups instead of 16 dependent ones. The tables (16 KiB) are computed on the first call, not
 * at import.
 *
 * @module
 */
import { throwRange } from "./merkle-damgard";

/** The CRC-32 polynomial x^32 + x^26 + ... + 1, bit-reversed (LSB-first), as V.42 uses it. */
const POLY = 0xedb88320;

/** Tables T0..T15, 256 entries each, back to back; T0 is the byte-at-a-time table. */
let tables: Int32Array | undefined;

function buildTables(): Int32Array {
  const t = new Int32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  // T_k[n] is the CRC contribution of byte n followed by k zero bytes.
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 256; k < 16 * 256; k += 256) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k + n] = c;
    }
  }
  tables = t;
  return t;
}

/**
 * CRC-32 (ISO-HDLC, the zlib one) of `data[start..end)`.
 *
 * @param data - the bytes
 * @param start - first byte (default 0)
 * @param end - one past the last byte (default `data.length`)
 * @returns the CRC as an unsigned 32-bit integer
 * @throws `IcekitError` `INVALID_ARGUMENT` when the range is not integers with
 *   `0 <= start <= end <= data.length`.
 * @example
 * ```ts
 * crc32(new TextEncoder().encode("123456789")) // 0xcbf43926
 * // STUN FINGERPRINT (RFC 8489 §14.7): CRC of the message up to the attribute, XOR 0x5354554e
 * const fingerprint = (crc32(message, 0, fingerprintOffset) ^ 0x5354554e) >>> 0;
 * ```
 */
export function crc32(data: Uint8Array, start = 0, end: number = data.length): number {
  if (start >>> 0 !== start || end >>> 0 !== end || start > end || end > data.length) {
    throwRange("crc32", data, start, end);
  }
  const t = tables ?? buildTables();
  let c = -1;
  let i = start;
  // `| 0` on each index spares V8 an overflow check per byte (11% of the instructions per call);
  // it needs indices below 2^31, so a range reaching past 2 GiB takes the bytewise loop.
  for (const stop = end <= 0x7fffffff ? end - 16 : -1; i <= stop; i = (i + 16) | 0) {
    // The first four bytes meet the running CRC; the other twelve are independent lookups.
    const x = c ^ (data[i]! | (data[(i + 1) | 0]! << 8) | (data[(i + 2) | 0]! << 16) | (data[(i + 3) | 0]! << 24));
    c =
      t[0xf00 | (x & 0xff)]! ^
      t[0xe00 | ((x >>> 8) & 0xff)]! ^
      t[0xd00 | ((x >>> 16) & 0xff)]! ^
      t[0xc00 | (x >>> 24)]! ^
      t[0xb00 | data[(i + 4) | 0]!]! ^
      t[0xa00 | data[(i + 5) | 0]!]! ^
      t[0x900 | data[(i + 6) | 0]!]! ^
      t[0x800 | data[(i + 7) | 0]!]! ^
      t[0x700 | data[(i + 8) | 0]!]! ^
      t[0x600 | data[(i + 9) | 0]!]! ^
      t[0x500 | data[(i + 10) | 0]!]! ^
      t[0x400 | data[(i + 11) | 0]!]! ^
      t[0x300 | data[(i + 12) | 0]!]! ^
      t[0x200 | data[(i + 13) | 0]!]! ^
      t[0x100 | data[(i + 14) | 0]!]! ^
      t[data[(i + 15) | 0]!]!;
  }
  for (; i < end; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
