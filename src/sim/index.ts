/**
 * icekit/sim: a deterministic virtual network for tests. Arrives with the simulator; this entry
 * re-exports the pure API so far.
 *
 * @module
 */
export * from "../index";
