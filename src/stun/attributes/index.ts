/**
 * Every STUN, TURN, ICE and RFC 5780 attribute codec.
 *
 * @module
 */
export * from "./address";
export * from "./auth";
export * from "./error";
export * from "./ice";
export * from "./nat-behavior";
export * from "./registry";
export * from "./text";
export * from "./turn";
