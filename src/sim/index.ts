/**
 * icekit/sim: a deterministic virtual network for tests, with RFC 4787 NATs.
 *
 * Every icekit engine is sans-IO, so a whole network of them can run in virtual time: an hour
 * of simulated traffic takes milliseconds, and the same seed replays the same packet trace bit
 * for bit. Build a network with {@link Network}, put hosts behind NATs with the RFC 3489 presets
 * ({@link fullCone}, {@link restrictedCone}, {@link portRestrictedCone}, {@link symmetric},
 * {@link udpBlocked}) or any RFC 4787 {@link NatBehavior}, run engines on hosts with
 * {@link Network.attach}, and read the {@link TraceEvent trace}. See docs/simulator.md.
 *
 * This entry also re-exports the whole pure API, so a test needs one import.
 *
 * @module
 */
export * from "../index";
export { Network } from "./network";
export type { NetworkOptions, RunOptions, RunUntilOptions } from "./network";
export type { Host, HostOptions, InterfaceOptions, Socket, Datagram } from "./host";
export type { Nat, NatOptions, NatMapping } from "./nat";
export type { Attached, AttachOptions, EngineEvent } from "./attach";
export { Link } from "./link";
export type { LinkOptions, LinkStats, LinkDirection } from "./link";
export { DEFAULT_NAT_BEHAVIOR, natBehavior, classicNatName } from "./nat-behavior";
export type { NatBehavior, EndpointDependence, PortAssignment, ClassicNatName } from "./nat-behavior";
export { fullCone, restrictedCone, portRestrictedCone, symmetric, udpBlocked } from "./presets";
export { Scheduler } from "./clock";
export type { Timer } from "./clock";
export { Prng, normalizeSeed } from "./random";
export { formatTrace, formatTraceEvent, traceHash, traceJson, traceLine, Fnv64 } from "./trace";
export type { TraceEvent, TraceKind, DropReason, NetworkStats } from "./trace";
export { runNatMatrix, expectedPath, MATRIX_BEHAVIORS, SEED_BEHAVIORS } from "./matrix";
export type { MatrixBehavior, MatrixCell, NatMatrixOptions } from "./matrix";
export { attachTurnServer } from "./turn";
