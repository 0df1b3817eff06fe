/**
 * NAT behaviour discovery (RFC 5780) and the classic NAT names (RFC 3489 §5, RFC 4787 terms).
 *
 * @module
 */
export * from "./nat-type";
export * from "./discovery";
export * from "./natpmp";
export * from "./pcp";
export * from "./port-mapping";
export * from "./gateway-probe";
export * from "./xml-error";
export * from "./xml";
export * from "./upnp-error";
export * from "./ssdp";
export * from "./upnp-description";
export * from "./upnp";
export * from "./upnp-mapping";
