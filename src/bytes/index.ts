/**
 * Byte-level helpers: hex/base64 text, IP address parsing and formatting.
 *
 * @module
 */
export * from "./hex";
export * from "./ip";
