/**
 * NAT-PMP (RFC 6886) messages: encode and decode every request and response, and the result
 * codes as typed values.
 *
 * NAT-PMP is the IPv4-only predecessor of PCP (RFC 6887): a client sends a 2- or 12-byte request
 * to port 5351 of its default gateway and gets back an 8-, 12- or 16-byte response carrying a
 * result code and the gateway's Seconds Since Start of Epoch (SSSoE, §3.6). The gateway also
 * multicasts gratuitous external-address responses to 224.0.0.1:5350 when its state changes
 * (§3.2.1); they decode with {@link decodeNatPmpResponse} like any other response.
 *
 * The decoders throw {@link StunDecodeError} (icekit's one decode error type) and nothing else:
 * - `TRUNCATED` when fewer bytes are present than the message needs;
 * - `NOT_STUN` when the version is not 0, or a request decoder is handed a response (and back):
 *   the bytes are not the NAT-PMP message asked for.
 * Bytes past a message's fixed size are ignored: the RFC gives no length field to check them
 * against, and deployed gateways are known to pad.
 *
 * ```ts
 * const bytes = encodeNatPmpRequest({ kind: "map", protocol: "udp", internalPort: 5000, suggestedExternalPort: 0, lifetime: 7200 });
 * const res = decodeNatPmpResponse(reply);
 * if (res.kind === "map" && res.resultCode === NatPmpResultCode.Success) use(res.externalPort, res.lifetime);
 * ```
 *
 * @module
 */
import { formatIPv4, parseIPv4Into } from "../bytes/ip";
import { IcekitError, StunDecodeError } from "../errors";

/**
 * UDP port a NAT-PMP (and PCP) server listens on (RFC 6886 §3.1).
 *
 * @example
 * ```ts
 * socket.send(encodeNatPmpRequest({ kind: "external-address" }), NATPMP_SERVER_PORT, "192.168.1.1");
 * ```
 */
export const NATPMP_SERVER_PORT = 5351;
/**
 * UDP port clients listen on, at 224.0.0.1, for gateway announcements (RFC 6886 §3.2.1).
 *
 * @example
 * ```ts
 * const announcements = dgram.createSocket({ type: "udp4", reuseAddr: true });
 * announcements.bind(NATPMP_CLIENT_PORT, () => announcements.addMembership("224.0.0.1"));
 * ```
 */
export const NATPMP_CLIENT_PORT = 5350;
/**
 * The only NAT-PMP version (RFC 6886 §3).
 *
 * @example
 * ```ts
 * // The first byte tells NAT-PMP (0) from PCP (2) on the shared port 5351.
 * const res = bytes[0] === NATPMP_VERSION ? decodeNatPmpResponse(bytes) : decodePcpResponse(bytes);
 * ```
 */
export const NATPMP_VERSION = 0;

/**
 * Request opcodes (RFC 6886 §3.2, §3.3). A response carries 128 + the request's opcode.
 *
 * @example
 * ```ts
 * encodeNatPmpRequest({ kind: "map", protocol: "tcp", internalPort: 22, suggestedExternalPort: 0, lifetime: 7200 })[1];
 * // → 2 (NatPmpOpcode.MapTcp); its response's opcode is 130
 * ```
 */
export const NatPmpOpcode = {
  /** Determine the external address (§3.2). */
  ExternalAddress: 0,
  /** Map a UDP port (§3.3). */
  MapUdp: 1,
  /** Map a TCP port (§3.3). */
  MapTcp: 2,
} as const;

/**
 * Result codes (RFC 6886 §3.5). Codes not listed are possible and are fatal to the request.
 *
 * @example
 * ```ts
 * if (res.kind === "map" && res.resultCode === NatPmpResultCode.Success) use(res.externalPort, res.lifetime);
 * else if (res.kind === "map") console.log(natPmpResultName(res.resultCode)); // e.g. "NOT_AUTHORIZED" for 2
 * ```
 */
export const NatPmpResultCode = {
  Success: 0,
  UnsupportedVersion: 1,
  /** Not Authorized/Refused: e.g. the user turned the feature off. */
  NotAuthorized: 2,
  /** Network Failure: e.g. the gateway has no DHCP lease yet. */
  NetworkFailure: 3,
  /** Out of resources: the gateway cannot create more mappings now. */
  OutOfResources: 4,
  UnsupportedOpcode: 5,
} as const;

const RESULT_NAMES: readonly string[] = [
  "SUCCESS",
  "UNSUPPORTED_VERSION",
  "NOT_AUTHORIZED",
  "NETWORK_FAILURE",
  "OUT_OF_RESOURCES",
  "UNSUPPORTED_OPCODE",
];

/**
 * A name for a NAT-PMP result code, for logs and events: `"OUT_OF_RESOURCES"`, `"UNKNOWN_9"`.
 *
 * @example
 * ```ts
 * natPmpResultName(NatPmpResultCode.OutOfResources); // → "OUT_OF_RESOURCES"
 * natPmpResultName(9);                               // → "UNKNOWN_9"
 * ```
 */
export function natPmpResultName(code: number): string {
  return RESULT_NAMES[code] ?? `UNKNOWN_${code}`;
}

/**
 * Transport a NAT-PMP mapping is for.
 *
 * @example
 * ```ts
 * const protocol: NatPmpProtocol = "tcp"; // sent as opcode 2 (MapTcp); "udp" as 1
 * encodeNatPmpRequest({ kind: "map", protocol, internalPort: 8080, suggestedExternalPort: 8080, lifetime: 7200 });
 * ```
 */
export type NatPmpProtocol = "udp" | "tcp";

/**
 * A NAT-PMP request (RFC 6886 §3.2, §3.3, §3.4).
 *
 * @example
 * ```ts
 * const ask: NatPmpRequest = { kind: "external-address" };
 * const map: NatPmpRequest = { kind: "map", protocol: "udp", internalPort: 5000, suggestedExternalPort: 0, lifetime: 7200 };
 * const remove: NatPmpRequest = { ...map, lifetime: 0 }; // §3.4: suggestedExternalPort 0 and lifetime 0
 * ```
 */
export type NatPmpRequest =
  /** `Vers = 0, OP = 0`: ask for the external IPv4 address (§3.2). */
  | { readonly kind: "external-address" }
  /**
   * Create, renew (§3.3) or, with `lifetime` 0 and `suggestedExternalPort` 0, destroy (§3.4) a
   * mapping. `internalPort` 0 with lifetime 0 deletes all of this client's mappings.
   */
  | {
      readonly kind: "map";
      readonly protocol: NatPmpProtocol;
      readonly internalPort: number;
      /** 0 for "any port"; on renewal, the port the gateway assigned before (§3.3). */
      readonly suggestedExternalPort: number;
      /** Seconds; 7200 is the RFC's recommendation, 0 destroys (§3.4). */
      readonly lifetime: number;
    }
  /** An opcode this codec does not know; the server answers `UnsupportedOpcode` (§3.5). */
  | { readonly kind: "unknown-opcode"; readonly opcode: number };

/**
 * A NAT-PMP response (RFC 6886 §3.2, §3.3, §3.5).
 *
 * @example
 * ```ts
 * const res: NatPmpResponse = decodeNatPmpResponse(bytes);
 * if (res.kind === "external-address" && res.resultCode === 0) console.log(res.externalAddress); // → "203.0.113.7"
 * if (res.kind === "map" && res.resultCode === 0) console.log(res.externalPort, res.lifetime);   // → 5000 7200
 * ```
 */
export type NatPmpResponse =
  | {
      readonly kind: "external-address";
      readonly resultCode: number;
      /** Seconds Since Start of Epoch (§3.6). */
      readonly epoch: number;
      /** The external IPv4 address; undefined when `resultCode` is not 0 (§3.2: "MUST be ignored"). */
      readonly externalAddress: string | undefined;
    }
  | {
      readonly kind: "map";
      readonly protocol: NatPmpProtocol;
      readonly resultCode: number;
      readonly epoch: number;
      readonly internalPort: number;
      /** The assigned external port; 0 after a deletion or a failure. */
      readonly externalPort: number;
      /** Seconds the mapping lasts; 0 after a deletion. */
      readonly lifetime: number;
    }
  /**
   * `Result Code = 1`: the server speaks only version 0 (§3.5) and did not understand the
   * request's version. This is how a NAT-PMP gateway answers a PCP request (RFC 6887 §9,
   * Appendix A). The RFC's figure has opcode 0 here; gateways also send 128 + the opcode.
   */
  | { readonly kind: "unsupported-version"; readonly opcode: number; readonly epoch: number }
  /**
   * A response opcode this codec does not know, e.g. the echo of an unsupported request with
   * result code 5 (§3.5). Only the header is decoded, since the body is whatever was sent.
   */
  | { readonly kind: "unknown-opcode"; readonly opcode: number; readonly resultCode: number };

function checkU16(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new IcekitError("INVALID_ARGUMENT", `${name} ${v} is out of range; pass an integer from 0 to 65535`);
}

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new IcekitError("INVALID_ARGUMENT", `${name} ${v} is out of range; pass an integer from 0 to 4294967295 seconds`);
}

function mapOpcode(protocol: NatPmpProtocol): number {
  if (protocol === "udp") return NatPmpOpcode.MapUdp;
  if (protocol === "tcp") return NatPmpOpcode.MapTcp;
  throw new IcekitError("INVALID_ARGUMENT", `protocol '${String(protocol)}' is not "udp" or "tcp"`);
}

/**
 * Encodes a request (RFC 6886 §3.2: 2 bytes; §3.3: 12 bytes).
 *
 * @example
 * ```ts
 * toHex(encodeNatPmpRequest({ kind: "external-address" })); // → "0000"
 * toHex(encodeNatPmpRequest({ kind: "map", protocol: "udp", internalPort: 5000, suggestedExternalPort: 0, lifetime: 7200 }));
 * // → "000100001388000000001c20"
 * ```
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for a port or lifetime out of range, or an
 *   unknown opcode of 128 or more (that would be a response).
 */
export function encodeNatPmpRequest(request: NatPmpRequest): Uint8Array {
  if (request.kind === "external-address") return Uint8Array.of(NATPMP_VERSION, NatPmpOpcode.ExternalAddress);
  if (request.kind === "unknown-opcode") {
    if (!Number.isInteger(request.opcode) || request.opcode < 0 || request.opcode > 127) {
      throw new IcekitError("INVALID_ARGUMENT", `request opcode ${request.opcode} is out of range; pass 0-127`);
    }
    return Uint8Array.of(NATPMP_VERSION, request.opcode);
  }
  checkU16("internalPort", request.internalPort);
  checkU16("suggestedExternalPort", request.suggestedExternalPort);
  checkU32("lifetime", request.lifetime);
  const out = new Uint8Array(12);
  const view = new DataView(out.buffer);
  out[0] = NATPMP_VERSION;
  out[1] = mapOpcode(request.protocol);
  // Bytes 2-3 are Reserved: zero on transmission (§3.3).
  view.setUint16(4, request.internalPort);
  view.setUint16(6, request.suggestedExternalPort);
  view.setUint32(8, request.lifetime);
  return out;
}

/**
 * Decodes a request, as a gateway (or a test's scripted gateway) does.
 *
 * @example
 * ```ts
 * decodeNatPmpRequest(fromHex("000100001388000000001c20"));
 * // → { kind: "map", protocol: "udp", internalPort: 5000, suggestedExternalPort: 0, lifetime: 7200 }
 * ```
 *
 * @throws {@link StunDecodeError} `TRUNCATED` for too few bytes; `NOT_STUN` for a version other
 *   than 0 (a server answers those with result code 1, §3.5) or an opcode of 128 or more (a
 *   response, which a server silently ignores).
 */
export function decodeNatPmpRequest(bytes: Uint8Array): NatPmpRequest {
  if (bytes.length < 2) throw new StunDecodeError("TRUNCATED", `NAT-PMP request: ${bytes.length} bytes, the header needs 2`, 0);
  if (bytes[0] !== NATPMP_VERSION) throw new StunDecodeError("NOT_STUN", `NAT-PMP request: version ${bytes[0]} is not 0`, 0);
  const opcode = bytes[1]!;
  if (opcode >= 128) throw new StunDecodeError("NOT_STUN", `NAT-PMP request: opcode ${opcode} is a response opcode`, 1);
  if (opcode === NatPmpOpcode.ExternalAddress) return { kind: "external-address" };
  if (opcode !== NatPmpOpcode.MapUdp && opcode !== NatPmpOpcode.MapTcp) return { kind: "unknown-opcode", opcode };
  if (bytes.length < 12) throw new StunDecodeError("TRUNCATED", `NAT-PMP mapping request: ${bytes.length} bytes, needs 12`, bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    kind: "map",
    protocol: opcode === NatPmpOpcode.MapUdp ? "udp" : "tcp",
    internalPort: view.getUint16(4),
    suggestedExternalPort: view.getUint16(6),
    lifetime: view.getUint32(8),
  };
}

/**
 * Encodes a response (RFC 6886 §3.2: 12 bytes; §3.3: 16 bytes; §3.5: 8 bytes for unsupported
 * version, 4 for an unknown opcode's header).
 *
 * @example
 * ```ts
 * const bytes = encodeNatPmpResponse({ kind: "external-address", resultCode: 0, epoch: 1200, externalAddress: "203.0.113.7" });
 * toHex(bytes); // → "00800000000004b0cb007107"
 * ```
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for a field out of range or an external address
 *   that is not IPv4 text.
 */
export function encodeNatPmpResponse(response: NatPmpResponse): Uint8Array {
  if (response.kind === "unknown-opcode") {
    if (!Number.isInteger(response.opcode) || response.opcode < 128 || response.opcode > 255) {
      throw new IcekitError("INVALID_ARGUMENT", `response opcode ${response.opcode} is out of range; pass 128-255`);
    }
    checkU16("resultCode", response.resultCode);
    return Uint8Array.of(NATPMP_VERSION, response.opcode, response.resultCode >>> 8, response.resultCode & 0xff);
  }
  checkU32("epoch", response.epoch);
  if (response.kind === "unsupported-version") {
    if (!Number.isInteger(response.opcode) || response.opcode < 0 || response.opcode > 255) {
      throw new IcekitError("INVALID_ARGUMENT", `opcode ${response.opcode} is out of range; pass 0-255`);
    }
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    out[1] = response.opcode;
    view.setUint16(2, NatPmpResultCode.UnsupportedVersion);
    view.setUint32(4, response.epoch);
    return out;
  }
  checkU16("resultCode", response.resultCode);
  if (response.kind === "external-address") {
    const out = new Uint8Array(12);
    const view = new DataView(out.buffer);
    out[1] = 128 + NatPmpOpcode.ExternalAddress;
    view.setUint16(2, response.resultCode);
    view.setUint32(4, response.epoch);
    // §3.2: on failure the address "MUST be set to zero on transmission".
    if (response.externalAddress !== undefined && !parseIPv4Into(response.externalAddress, out, 8)) {
      throw new IcekitError("INVALID_ARGUMENT", `'${response.externalAddress}' is not an IPv4 address; NAT-PMP carries IPv4 only`);
    }
    return out;
  }
  checkU16("internalPort", response.internalPort);
  checkU16("externalPort", response.externalPort);
  checkU32("lifetime", response.lifetime);
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  out[1] = 128 + mapOpcode(response.protocol);
  view.setUint16(2, response.resultCode);
  view.setUint32(4, response.epoch);
  view.setUint16(8, response.internalPort);
  view.setUint16(10, response.externalPort);
  view.setUint32(12, response.lifetime);
  return out;
}

/**
 * Decodes a response or a gateway announcement.
 *
 * A result code of 1 (Unsupported Version) decodes as `unsupported-version` whatever the opcode
 * (RFC 6886 §3.5 shows opcode 0; gateways also echo 128 + the request's). A failed
 * external-address response of only 8 bytes is accepted, since its address is ignored anyway.
 *
 * @example
 * ```ts
 * decodeNatPmpResponse(fromHex("00810000000004b01388138800001c20"));
 * // → { kind: "map", protocol: "udp", resultCode: 0, epoch: 1200, internalPort: 5000, externalPort: 5000, lifetime: 7200 }
 * decodeNatPmpResponse(fromHex("00000001000004b0")); // → { kind: "unsupported-version", opcode: 0, epoch: 1200 }
 * ```
 *
 * @throws {@link StunDecodeError} `TRUNCATED` for too few bytes; `NOT_STUN` for a version other
 *   than 0 or a request opcode (below 128) with another result code.
 */
export function decodeNatPmpResponse(bytes: Uint8Array): NatPmpResponse {
  if (bytes.length < 4) throw new StunDecodeError("TRUNCATED", `NAT-PMP response: ${bytes.length} bytes, the header needs 4`, 0);
  if (bytes[0] !== NATPMP_VERSION) throw new StunDecodeError("NOT_STUN", `NAT-PMP response: version ${bytes[0]} is not 0`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const opcode = bytes[1]!;
  const resultCode = view.getUint16(2);
  if (resultCode === NatPmpResultCode.UnsupportedVersion) {
    if (bytes.length < 8) throw new StunDecodeError("TRUNCATED", `NAT-PMP unsupported-version response: ${bytes.length} bytes, needs 8`, bytes.length);
    return { kind: "unsupported-version", opcode, epoch: view.getUint32(4) };
  }
  if (opcode < 128) throw new StunDecodeError("NOT_STUN", `NAT-PMP response: opcode ${opcode} is a request opcode`, 1);
  const request = opcode - 128;
  if (request !== NatPmpOpcode.ExternalAddress && request !== NatPmpOpcode.MapUdp && request !== NatPmpOpcode.MapTcp) {
    return { kind: "unknown-opcode", opcode, resultCode };
  }
  if (bytes.length < 8) throw new StunDecodeError("TRUNCATED", `NAT-PMP response: ${bytes.length} bytes, needs 8 for the epoch`, bytes.length);
  const epoch = view.getUint32(4);
  if (request === NatPmpOpcode.ExternalAddress) {
    if (resultCode !== NatPmpResultCode.Success) return { kind: "external-address", resultCode, epoch, externalAddress: undefined };
    if (bytes.length < 12) throw new StunDecodeError("TRUNCATED", `NAT-PMP external-address response: ${bytes.length} bytes, needs 12`, bytes.length);
    return { kind: "external-address", resultCode, epoch, externalAddress: formatIPv4(bytes, 8) };
  }
  if (bytes.length < 16) throw new StunDecodeError("TRUNCATED", `NAT-PMP mapping response: ${bytes.length} bytes, needs 16`, bytes.length);
  return {
    kind: "map",
    protocol: request === NatPmpOpcode.MapUdp ? "udp" : "tcp",
    resultCode,
    epoch,
    internalPort: view.getUint16(8),
    externalPort: view.getUint16(10),
    lifetime: view.getUint32(12),
  };
}
