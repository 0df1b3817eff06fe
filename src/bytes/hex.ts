/**
 * Hex and base64 text forms of byte strings, as the CLI and test vectors use them.
 *
 * @module
 */
import { StunDecodeError } from "../errors";

const HEX = "0123456789abcdef";

/**
 * Lower-case hex of `bytes[start..end)`, two digits per byte, no separators.
 *
 * @example
 * ```ts
 * toHex(new Uint8Array([0x21, 0x12])) // "2112"
 * ```
 */
export function toHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = "";
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    s += HEX[b >>> 4]! + HEX[b & 15]!;
  }
  return s;
}

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  c |= 0x20; // fold to lower case
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1;
}

/**
 * Parses hex text into bytes. Whitespace, `:` and a leading `0x` are ignored, so that dumps
 * copied from Wireshark or an RFC (`0x00 0x01 0x00 0x58`, `00:01:00:58`) parse as they are.
 *
 * @throws {@link StunDecodeError} `BAD_TEXT` on any other character or an odd digit count.
 * @example
 * ```ts
 * fromHex("21 12 a4 42")         // → Uint8Array [0x21, 0x12, 0xa4, 0x42]
 * fromHex("0x00 0x01 0x00 0x58") // → Uint8Array [0x00, 0x01, 0x00, 0x58]
 * fromHex("abc")                 // throws StunDecodeError BAD_TEXT: odd number of digits
 * ```
 */
export function fromHex(text: string): Uint8Array {
  const digits: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 58 /* : */) continue;
    if (c === 48 && (text.charCodeAt(i + 1) | 0x20) === 120 /* 0x */) {
      i++;
      continue;
    }
    const n = hexNibble(c);
    if (n < 0) throw new StunDecodeError("BAD_TEXT", `hex: '${text[i]}' is not a hex digit`, i);
    digits.push(n);
  }
  if (digits.length % 2 !== 0) throw new StunDecodeError("BAD_TEXT", `hex: odd number of digits (${digits.length})`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (digits[2 * i]! << 4) | digits[2 * i + 1]!;
  return out;
}

/**
 * True when `text` consists only of hex digits, whitespace, `:` and `0x` prefixes.
 *
 * @example
 * ```ts
 * looksLikeHex("00:01:00:58")  // → true
 * looksLikeHex("AAEAWCESpEI=") // → false: base64, decode it with fromBase64
 * ```
 */
export function looksLikeHex(text: string): boolean {
  return /^\s*(?:(?:0x)?[0-9a-fA-F]{2}[\s:]*)+$/.test(text);
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * Standard base64 (RFC 4648 §4) with padding.
 *
 * @example
 * ```ts
 * toBase64(fromHex("000100582112a442")) // → "AAEAWCESpEI="
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    s += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + "==";
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    s += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]! + "=";
  }
  return s;
}

/**
 * Parses base64 (RFC 4648 §4, and the URL-safe alphabet of §5), padding optional, whitespace
 * ignored.
 *
 * @throws {@link StunDecodeError} `BAD_TEXT` on a character outside both alphabets or a length
 *   that no base64 text has.
 * @example
 * ```ts
 * fromBase64("AAEAWCESpEI=") // → the 8 bytes 00 01 00 58 21 12 a4 42
 * fromBase64("AAEAWCESpEI")  // → the same bytes: padding is optional
 * ```
 */
export function fromBase64(text: string): Uint8Array {
  const vals: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === " " || c === "\n" || c === "\r" || c === "\t") continue;
    if (c === "=") break;
    let v = B64.indexOf(c);
    if (c === "-") v = 62;
    else if (c === "_") v = 63;
    if (v < 0) throw new StunDecodeError("BAD_TEXT", `base64: '${c}' is not a base64 character`, i);
    vals.push(v);
  }
  if (vals.length % 4 === 1) throw new StunDecodeError("BAD_TEXT", `base64: ${vals.length} characters cannot encode whole bytes`);
  const out = new Uint8Array(Math.floor((vals.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const v of vals) {
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  return out;
}
