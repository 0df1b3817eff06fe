/**
 * icekit/node: the Node.js side of icekit (sockets, timers, servers). The drivers arrive with the
 * STUN transaction engine; this entry re-exports the pure API so far.
 *
 * @module
 */
export * from "../index";
