/**
 * icekit: STUN, TURN and ICE for TypeScript, with no dependencies and no I/O.
 *
 * This entry point is pure: it never touches a socket, a clock or the environment, so it runs
 * unchanged in Node, browsers, Deno, Bun and workers. `icekit/node` adds sockets; `icekit/sim`
 * adds a deterministic virtual network for tests.
 *
 * @module
 */
export * from "./errors";
export * from "./engine";
export * from "./bytes/index";
export * from "./crypto/index";
export * from "./stun/index";
export * from "./turn/index";
export * from "./uri";
export * from "./nat/index";
export * from "./ice/index";
