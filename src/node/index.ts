/**
 * icekit/node: icekit on Node.js sockets and clocks. Everything in the pure `icekit` entry, plus
 * the driver that runs an engine on real sockets and the async helpers built on it.
 *
 * @module
 */
export * from "../index";
export * from "./address";
export * from "./clock";
export * from "./dns";
export * from "./driver";
export * from "./stun";
export * from "./stun-server";
export * from "./nat";
export * from "./turn-client";
export * from "./turn-server";
export * from "./ice";
export * from "./ice-mux";
export * from "./port-mapping";
export * from "./udp";
export * from "./gateway-probe";
export * from "./upnp";
export * from "./default-gateway";
export * from "./if-inet6";
