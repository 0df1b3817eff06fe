/**
 * The STUN message codec: header, attributes, integrity, fingerprint, credentials and the
 * first-byte demultiplexer.
 *
 * @module
 */
export * from "./attribute";
export * from "./attributes/index";
export * from "./builder";
export * from "./client";
export * from "./long-term-auth";
export * from "./rto";
export * from "./server";
export * from "./constants";
export * from "./credentials";
export * from "./demux";
export * from "./header";
export * from "./integrity";
export * from "./message";
export * from "./opaque-string";
export * from "./encode";
