/**
 * Pure, synchronous hashes for STUN and TURN: SHA-1, SHA-256 (FIPS 180-4), MD5 (RFC 1321),
 * HMAC with per-key cached pad states (RFC 2104) and CRC-32 (ISO-HDLC). No `node:*`, no
 * clocks, no allocation on the keyed-MAC path: the same code runs in browsers, Deno, Bun and
 * workers, and per packet in game loops.
 *
 * @module
 */
export { crc32 } from "./crc32";
export { createHmacKey, hmac, hmacSha1, hmacSha256 } from "./hmac";
export { Md5, md5 } from "./md5";
export { Sha1, sha1 } from "./sha1";
export { Sha256, sha256 } from "./sha256";
export type { HashState, HmacAlgorithm, HmacFactory, HmacKey } from "./types";
