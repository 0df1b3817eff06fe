/**
 * PCP, the Port Control Protocol (RFC 6887): the common request and response headers (§7.1,
 * §7.2), the ANNOUNCE (§14.1), MAP (§11.1) and PEER (§12.1) opcodes, options (§7.3) and the
 * result codes (§7.4).
 *
 * Addresses travel as 128-bit fields; an IPv4 address is an IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, RFC 6887 §5). This codec takes and gives addresses as text and does the
 * mapping itself: encode `"192.0.2.1"` and it goes out as `::ffff:192.0.2.1`; decode that and you
 * get `"192.0.2.1"` back. The IPv4 "don't care" address is `"0.0.0.0"` (`::ffff:0:0`), the IPv6
 * one `"::"` (§5).
 *
 * The decoders throw {@link StunDecodeError} and nothing else:
 * - `TRUNCATED`: shorter than the header, the opcode's fields or an option header;
 * - `BAD_LENGTH`: longer than 1100 bytes or not a multiple of 4 (§7, §8.3);
 * - `NOT_STUN`: not a PCP version 2 message of the direction asked for (R bit, §7.1);
 * - `BAD_ATTRIBUTE`: an opcode this codec does not know;
 * - `ATTRIBUTE_OVERRUN`: an option's (padded) data runs past the message.
 *
 * One exception to "version 2 only": a response whose result code is UNSUPP_VERSION decodes as
 * `unsupported-version` whatever its version and length (from 4 bytes), because §8.3 handles
 * UNSUPP_VERSION before the length checks and §9 needs the server's version, 0 for a NAT-PMP
 * gateway (Appendix A).
 *
 * @module
 */
import { formatIPv4, formatIPv6, parseIPv4Into, parseIPv6Into } from "../bytes/ip";
import { IcekitError, StunDecodeError } from "../errors";

/**
 * The PCP version this document specifies (RFC 6887 §7.1).
 *
 * @example
 * ```ts
 * // On the shared port 5351 the first byte says which protocol answered: 2 PCP, 0 NAT-PMP.
 * const res = bytes[0] === PCP_VERSION ? decodePcpResponse(bytes) : decodeNatPmpResponse(bytes);
 * ```
 */
export const PCP_VERSION = 2;
/**
 * UDP port a PCP server listens on (RFC 6887 §19.1).
 *
 * @example
 * ```ts
 * const gateway = { family: "IPv4", address: "192.168.1.1", port: PCP_SERVER_PORT } as const; // port 5351
 * ```
 */
export const PCP_SERVER_PORT = 5351;
/**
 * UDP port clients listen on for multicast ANNOUNCE (RFC 6887 §14.1.1).
 *
 * @example
 * ```ts
 * // A restarted server multicasts ANNOUNCE to 224.0.0.1 (IPv4) and ff02::1 (IPv6) on this port.
 * announcements.bind(PCP_CLIENT_PORT, () => announcements.addMembership("224.0.0.1"));
 * ```
 */
export const PCP_CLIENT_PORT = 5350;
/**
 * Largest PCP message (RFC 6887 §7).
 *
 * @example
 * ```ts
 * const buffer = new Uint8Array(PCP_MAX_MESSAGE); // 1100 bytes: room for any request or response
 * ```
 */
export const PCP_MAX_MESSAGE = 1100;
/**
 * Size of either common header (RFC 6887 §7.1, §7.2).
 *
 * @example
 * ```ts
 * encodePcpRequest({ kind: "announce", lifetime: 0, clientAddress: "192.168.1.20" }).length; // → 24, PCP_HEADER_SIZE
 * ```
 */
export const PCP_HEADER_SIZE = 24;
/**
 * Size of the MAP opcode's fields (RFC 6887 §11.1).
 *
 * @example
 * ```ts
 * PCP_HEADER_SIZE + PCP_MAP_SIZE; // → 60, a MAP request or response without options
 * ```
 */
export const PCP_MAP_SIZE = 36;
/**
 * Size of the PEER opcode's fields (RFC 6887 §12.1).
 *
 * @example
 * ```ts
 * PCP_HEADER_SIZE + PCP_PEER_SIZE; // → 80, a PEER request or response without options
 * ```
 */
export const PCP_PEER_SIZE = 56;
/**
 * Size of a mapping nonce, in bytes (RFC 6887 §11.1: 96 bits).
 *
 * @example
 * ```ts
 * const nonce = crypto.getRandomValues(new Uint8Array(PCP_NONCE_SIZE)); // keep it for renewals (§11.2)
 * ```
 */
export const PCP_NONCE_SIZE = 12;

/**
 * Opcodes (RFC 6887 §19.2).
 *
 * @example
 * ```ts
 * const bytes = encodePcpRequest(request);
 * bytes[1] === PcpOpcode.Map; // → true for a MAP request; a response sets the R bit: 0x80 | 1 = 129
 * ```
 */
export const PcpOpcode = { Announce: 0, Map: 1, Peer: 2 } as const;

/**
 * Result codes (RFC 6887 §7.4).
 *
 * @example
 * ```ts
 * const res = decodePcpResponse(bytes);
 * if (res.kind === "map" && res.resultCode === PcpResultCode.Success) use(res.externalAddress, res.externalPort);
 * ```
 */
export const PcpResultCode = {
  Success: 0,
  UnsuppVersion: 1,
  NotAuthorized: 2,
  MalformedRequest: 3,
  UnsuppOpcode: 4,
  UnsuppOption: 5,
  MalformedOption: 6,
  NetworkFailure: 7,
  NoResources: 8,
  UnsuppProtocol: 9,
  UserExQuota: 10,
  CannotProvideExternal: 11,
  AddressMismatch: 12,
  ExcessiveRemotePeers: 13,
} as const;

const RESULT_NAMES: readonly string[] = [
  "SUCCESS",
  "UNSUPP_VERSION",
  "NOT_AUTHORIZED",
  "MALFORMED_REQUEST",
  "UNSUPP_OPCODE",
  "UNSUPP_OPTION",
  "MALFORMED_OPTION",
  "NETWORK_FAILURE",
  "NO_RESOURCES",
  "UNSUPP_PROTOCOL",
  "USER_EX_QUOTA",
  "CANNOT_PROVIDE_EXTERNAL",
  "ADDRESS_MISMATCH",
  "EXCESSIVE_REMOTE_PEERS",
];

/**
 * The RFC 6887 §7.4 name of a result code (`"NO_RESOURCES"`), or `"UNKNOWN_<n>"`.
 *
 * @example
 * ```ts
 * pcpResultName(PcpResultCode.AddressMismatch); // → "ADDRESS_MISMATCH"
 * pcpResultName(99);                            // → "UNKNOWN_99"
 * ```
 */
export function pcpResultName(code: number): string {
  return RESULT_NAMES[code] ?? `UNKNOWN_${code}`;
}

/**
 * True for the §7.4 "short lifetime" errors (NETWORK_FAILURE, NO_RESOURCES, USER_EX_QUOTA),
 * which are worth retrying soon; the others hold for about 30 minutes.
 *
 * @example
 * ```ts
 * isShortLifetimePcpError(PcpResultCode.NoResources);   // → true: retry after res.lifetime seconds
 * isShortLifetimePcpError(PcpResultCode.NotAuthorized); // → false: the user turned PCP off
 * ```
 */
export function isShortLifetimePcpError(code: number): boolean {
  return code === PcpResultCode.NetworkFailure || code === PcpResultCode.NoResources || code === PcpResultCode.UserExQuota;
}

/**
 * Option codes (RFC 6887 §19.4). The top bit set means "optional to process" (§7.3).
 *
 * @example
 * ```ts
 * // PREFER_FAILURE (§13.2): fail rather than assign another port than the one suggested.
 * encodePcpRequest({ ...mapRequest, options: [{ code: PcpOptionCode.PreferFailure, data: new Uint8Array(0) }] });
 * ```
 */
export const PcpOptionCode = { ThirdParty: 1, PreferFailure: 2, Filter: 3 } as const;

/**
 * One option (RFC 6887 §7.3), undecoded: `data` is its semantic length, without padding. In a
 * decoded message it is a view into the input, valid while the input is.
 *
 * @example
 * ```ts
 * // THIRD_PARTY (§13.1): map a port for another host on the LAN.
 * const thirdParty: PcpOption = { code: PcpOptionCode.ThirdParty, data: new Uint8Array(16) };
 * writePcpAddress("192.168.1.30", thirdParty.data, 0);
 * encodePcpRequest({ ...mapRequest, options: [thirdParty] }).length; // → 80: 60 + 4 + 16
 * ```
 */
export interface PcpOption {
  readonly code: number;
  readonly data: Uint8Array;
}

/**
 * IANA protocol numbers PCP uses (RFC 6887 §11.1 "Protocol"); 0 means all protocols.
 *
 * @example
 * ```ts
 * const fields = { protocol: PcpProtocol.Udp, internalPort: 5000 }; // protocol 17
 * ```
 */
export const PcpProtocol = { All: 0, Tcp: 6, Udp: 17 } as const;

/** Fields every request carries (RFC 6887 §7.1). */
interface PcpRequestCommon {
  /** Requested lifetime in seconds; 0 deletes (MAP) and is required for ANNOUNCE. */
  readonly lifetime: number;
  /** The client's source IP address as it sends (§8.1); IPv4 goes out IPv4-mapped. */
  readonly clientAddress: string;
  /** Options, in order; default none. */
  readonly options?: readonly PcpOption[];
}

/**
 * MAP request fields (RFC 6887 §11.1, Figure 9).
 *
 * @example
 * ```ts
 * const fields: PcpMapRequestFields = { nonce, protocol: PcpProtocol.Udp, internalPort: 5000,
 *   suggestedExternalPort: 0, suggestedExternalAddress: "0.0.0.0" }; // no preference
 * encodePcpRequest({ kind: "map", lifetime: 7200, clientAddress: "192.168.1.20", ...fields }).length; // → 60
 * ```
 */
export interface PcpMapRequestFields {
  /** 12 random bytes, the same on every retransmission and renewal (§8.1.1, §11.2). */
  readonly nonce: Uint8Array;
  /** IANA protocol number: 17 UDP, 6 TCP, 0 all. */
  readonly protocol: number;
  readonly internalPort: number;
  /** 0 when the client has no preference (§11.1); on renewal, the assigned port (§11.2.1). */
  readonly suggestedExternalPort: number;
  /** `"0.0.0.0"` or `"::"` when the client has no preference. */
  readonly suggestedExternalAddress: string;
}

/**
 * PEER request fields (RFC 6887 §12.1, Figure 11): MAP's plus the remote peer.
 *
 * @example
 * ```ts
 * // Keep the mapping that talks to a STUN server alive (and learn it) with PEER:
 * const fields: PcpPeerRequestFields = { nonce, protocol: PcpProtocol.Udp, internalPort: 5000,
 *   suggestedExternalPort: 0, suggestedExternalAddress: "0.0.0.0", remotePeerPort: 3478, remotePeerAddress: "198.51.100.9" };
 * encodePcpRequest({ kind: "peer", lifetime: 7200, clientAddress: "192.168.1.20", ...fields }).length; // → 80
 * ```
 */
export interface PcpPeerRequestFields extends PcpMapRequestFields {
  readonly remotePeerPort: number;
  readonly remotePeerAddress: string;
}

/**
 * A PCP request.
 *
 * @example
 * ```ts
 * const announce: PcpRequest = { kind: "announce", lifetime: 0, clientAddress: "192.168.1.20" };
 * const map: PcpRequest = { kind: "map", lifetime: 7200, clientAddress: "192.168.1.20", nonce,
 *   protocol: PcpProtocol.Udp, internalPort: 5000, suggestedExternalPort: 0, suggestedExternalAddress: "0.0.0.0" };
 * const remove: PcpRequest = { ...map, lifetime: 0 }; // same nonce: §15 deletion
 * ```
 */
export type PcpRequest =
  | (PcpRequestCommon & { readonly kind: "announce" })
  | (PcpRequestCommon & PcpMapRequestFields & { readonly kind: "map" })
  | (PcpRequestCommon & PcpPeerRequestFields & { readonly kind: "peer" });

/** Fields every response carries (RFC 6887 §7.2). */
interface PcpResponseCommon {
  /** 0 is SUCCESS; see {@link PcpResultCode}. */
  readonly resultCode: number;
  /** Seconds: the mapping's lifetime on success, how long the error holds on failure (§7.2). */
  readonly lifetime: number;
  /** The server's Epoch Time (§8.5). */
  readonly epoch: number;
  readonly options: readonly PcpOption[];
}

/**
 * MAP response fields (RFC 6887 §11.1, Figure 10).
 *
 * @example
 * ```ts
 * const res = decodePcpResponse(bytes);
 * if (res.kind === "map" && res.resultCode === 0) console.log(`${res.externalAddress}:${res.externalPort}`); // → "203.0.113.7:5000"
 * ```
 */
export interface PcpMapResponseFields {
  readonly nonce: Uint8Array;
  readonly protocol: number;
  readonly internalPort: number;
  /** Assigned on success; the suggestion copied back on failure. */
  readonly externalPort: number;
  /** Assigned on success (IPv4 unmapped to dotted text); the suggestion on failure. */
  readonly externalAddress: string;
}

/**
 * PEER response fields (RFC 6887 §12.1, Figure 12).
 *
 * @example
 * ```ts
 * const res = decodePcpResponse(bytes);
 * if (res.kind === "peer") console.log(res.externalPort, "→", res.remotePeerAddress, res.remotePeerPort); // → 5000 → 198.51.100.9 3478
 * ```
 */
export interface PcpPeerResponseFields extends PcpMapResponseFields {
  readonly remotePeerPort: number;
  readonly remotePeerAddress: string;
}

/**
 * A PCP response.
 *
 * @example
 * ```ts
 * const ok: PcpResponse = { kind: "map", resultCode: 0, lifetime: 7200, epoch: 1200, options: [], nonce,
 *   protocol: PcpProtocol.Udp, internalPort: 5000, externalPort: 5000, externalAddress: "203.0.113.7" };
 * const natPmpGateway: PcpResponse = { kind: "unsupported-version", version: 0, epoch: 1200 }; // §9
 * ```
 */
export type PcpResponse =
  | (PcpResponseCommon & { readonly kind: "announce" })
  | (PcpResponseCommon & PcpMapResponseFields & { readonly kind: "map" })
  | (PcpResponseCommon & PcpPeerResponseFields & { readonly kind: "peer" })
  /**
   * UNSUPP_VERSION (§9): `version` is the version the server speaks, 0 for a NAT-PMP gateway.
   * `epoch` is read where that version keeps it (offset 4 for version 0, 8 otherwise) when the
   * bytes are there.
   */
  | { readonly kind: "unsupported-version"; readonly version: number; readonly epoch: number | undefined };

function argError(message: string): IcekitError {
  return new IcekitError("INVALID_ARGUMENT", message);
}

function checkInt(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw argError(`${name} ${v} is out of range; pass an integer from 0 to ${max}`);
}

/**
 * Writes `address` as a 128-bit PCP address field at `out[offset]`: IPv6 as is, IPv4 as an
 * IPv4-mapped IPv6 address (RFC 6887 §5).
 *
 * @example
 * ```ts
 * const field = new Uint8Array(16);
 * writePcpAddress("192.0.2.1", field, 0);
 * toHex(field); // → "00000000000000000000ffffc0000201" (::ffff:192.0.2.1)
 * ```
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` if `address` is not an IP address.
 */
export function writePcpAddress(address: string, out: Uint8Array, offset: number): void {
  if (parseIPv4Into(address, out, offset + 12)) {
    out.fill(0, offset, offset + 10);
    out[offset + 10] = 0xff;
    out[offset + 11] = 0xff;
    return;
  }
  if (!parseIPv6Into(address, out, offset)) throw argError(`'${address}' is not an IP address; pass e.g. "192.0.2.1" or "2001:db8::1"`);
}

/**
 * Reads a 128-bit PCP address field: an IPv4-mapped address comes back as dotted IPv4 text, any
 * other as RFC 5952 IPv6 text.
 *
 * @example
 * ```ts
 * readPcpAddress(fromHex("00000000000000000000ffffc0000201"), 0); // → "192.0.2.1"
 * readPcpAddress(fromHex("20010db8000000000000000000000001"), 0); // → "2001:db8::1"
 * ```
 */
export function readPcpAddress(bytes: Uint8Array, offset: number): string {
  let mapped = bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
  for (let k = 0; k < 10 && mapped; k++) if (bytes[offset + k] !== 0) mapped = false;
  return mapped ? formatIPv4(bytes, offset + 12) : formatIPv6(bytes, offset);
}

function optionsSize(options: readonly PcpOption[]): number {
  let n = 0;
  for (const o of options) {
    checkInt("option code", o.code, 255);
    if (!(o.data instanceof Uint8Array) || o.data.length > 0xffff) throw argError(`option ${o.code}: pass data as a Uint8Array of at most 65535 bytes`);
    n += 4 + ((o.data.length + 3) & ~3);
  }
  return n;
}

function writeOptions(options: readonly PcpOption[], out: Uint8Array, view: DataView, offset: number): void {
  for (const o of options) {
    out[offset] = o.code;
    view.setUint16(offset + 2, o.data.length);
    out.set(o.data, offset + 4);
    offset += 4 + ((o.data.length + 3) & ~3); // padding bytes stay zero (§7.3)
  }
}

function opcodeSize(kind: "announce" | "map" | "peer"): number {
  return kind === "announce" ? 0 : kind === "map" ? PCP_MAP_SIZE : PCP_PEER_SIZE;
}

function opcodeOf(kind: "announce" | "map" | "peer"): number {
  return kind === "announce" ? PcpOpcode.Announce : kind === "map" ? PcpOpcode.Map : PcpOpcode.Peer;
}

function checkMapFields(f: PcpMapResponseFields | PcpMapRequestFields): void {
  if (!(f.nonce instanceof Uint8Array) || f.nonce.length !== PCP_NONCE_SIZE) throw argError(`nonce: pass ${PCP_NONCE_SIZE} random bytes`);
  checkInt("protocol", f.protocol, 255);
  checkInt("internalPort", f.internalPort, 0xffff);
}

/** Writes the MAP/PEER fields both directions share, at `o`, with `port`/`addr` the external pair. */
function writeMapFields(f: PcpMapRequestFields | PcpMapResponseFields, port: number, addr: string, out: Uint8Array, view: DataView, o: number): void {
  checkMapFields(f);
  checkInt("external port", port, 0xffff);
  out.set(f.nonce, o);
  out[o + 12] = f.protocol;
  view.setUint16(o + 16, f.internalPort);
  view.setUint16(o + 18, port);
  writePcpAddress(addr, out, o + 20);
}

function writePeerFields(port: number, addr: string, out: Uint8Array, view: DataView, o: number): void {
  checkInt("remotePeerPort", port, 0xffff);
  view.setUint16(o + 36, port);
  writePcpAddress(addr, out, o + 40);
}

function finishSize(size: number): void {
  if (size > PCP_MAX_MESSAGE) throw argError(`the message would be ${size} bytes; PCP allows ${PCP_MAX_MESSAGE} (RFC 6887 §7): send fewer options`);
}

/**
 * Encodes a request (RFC 6887 §7.1 header, then the opcode's fields, then options).
 *
 * @example
 * ```ts
 * const nonce = crypto.getRandomValues(new Uint8Array(12));
 * const bytes = encodePcpRequest({ kind: "map", lifetime: 7200, clientAddress: "192.168.1.20", nonce,
 *   protocol: PcpProtocol.Udp, internalPort: 5000, suggestedExternalPort: 0, suggestedExternalAddress: "0.0.0.0" });
 * bytes.length; // → 60: send it to the gateway's port 5351
 * ```
 *
 * @throws {@link IcekitError} `INVALID_ARGUMENT` for a field out of range, a nonce that is not
 *   12 bytes, an address that is not IP text, or a message over 1100 bytes.
 */
export function encodePcpRequest(request: PcpRequest): Uint8Array {
  checkInt("lifetime", request.lifetime, 0xffffffff);
  const options = request.options ?? [];
  const size = PCP_HEADER_SIZE + opcodeSize(request.kind) + optionsSize(options);
  finishSize(size);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = PCP_VERSION;
  out[1] = opcodeOf(request.kind); // R = 0
  view.setUint32(4, request.lifetime);
  writePcpAddress(request.clientAddress, out, 8);
  if (request.kind === "map" || request.kind === "peer") {
    writeMapFields(request, request.suggestedExternalPort, request.suggestedExternalAddress, out, view, PCP_HEADER_SIZE);
    if (request.kind === "peer") writePeerFields(request.remotePeerPort, request.remotePeerAddress, out, view, PCP_HEADER_SIZE);
  }
  writeOptions(options, out, view, PCP_HEADER_SIZE + opcodeSize(request.kind));
  return out;
}

/**
 * Encodes a response (RFC 6887 §7.2). The 96 reserved bits go out as zero (a successfully parsed
 * request, §7.2).
 *
 * @example
 * ```ts
 * // A scripted gateway granting a decoded MAP request `req`:
 * const bytes = encodePcpResponse({ kind: "map", resultCode: PcpResultCode.Success, lifetime: 7200, epoch: 1200,
 *   options: [], nonce: req.nonce, protocol: req.protocol, internalPort: req.internalPort,
 *   externalPort: 5000, externalAddress: "203.0.113.7" });
 * bytes[1]; // → 129: the R bit and opcode MAP
 * ```
 *
 * @throws {@link IcekitError} as {@link encodePcpRequest}.
 */
export function encodePcpResponse(response: PcpResponse): Uint8Array {
  if (response.kind === "unsupported-version") {
    checkInt("version", response.version, 255);
    const epoch = response.epoch ?? 0;
    checkInt("epoch", epoch, 0xffffffff);
    if (response.version === 0) {
      // A NAT-PMP gateway's answer (RFC 6886 §3.5): 8 bytes, opcode 0, 16-bit result code 1.
      const out = new Uint8Array(8);
      out[3] = PcpResultCode.UnsuppVersion;
      new DataView(out.buffer).setUint32(4, epoch);
      return out;
    }
    const out = new Uint8Array(PCP_HEADER_SIZE);
    out[0] = response.version;
    out[1] = 0x80;
    out[3] = PcpResultCode.UnsuppVersion;
    new DataView(out.buffer).setUint32(8, epoch);
    return out;
  }
  checkInt("resultCode", response.resultCode, 255);
  checkInt("lifetime", response.lifetime, 0xffffffff);
  checkInt("epoch", response.epoch, 0xffffffff);
  const size = PCP_HEADER_SIZE + opcodeSize(response.kind) + optionsSize(response.options);
  finishSize(size);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = PCP_VERSION;
  out[1] = 0x80 | opcodeOf(response.kind);
  out[3] = response.resultCode;
  view.setUint32(4, response.lifetime);
  view.setUint32(8, response.epoch);
  if (response.kind === "map" || response.kind === "peer") {
    writeMapFields(response, response.externalPort, response.externalAddress, out, view, PCP_HEADER_SIZE);
    if (response.kind === "peer") writePeerFields(response.remotePeerPort, response.remotePeerAddress, out, view, PCP_HEADER_SIZE);
  }
  writeOptions(response.options, out, view, PCP_HEADER_SIZE + opcodeSize(response.kind));
  return out;
}

function checkFrame(bytes: Uint8Array, what: string): void {
  if (bytes.length < PCP_HEADER_SIZE) throw new StunDecodeError("TRUNCATED", `PCP ${what}: ${bytes.length} bytes, the header needs ${PCP_HEADER_SIZE}`, bytes.length);
  if (bytes.length > PCP_MAX_MESSAGE) throw new StunDecodeError("BAD_LENGTH", `PCP ${what}: ${bytes.length} bytes, more than ${PCP_MAX_MESSAGE}`, PCP_MAX_MESSAGE);
  if (bytes.length % 4 !== 0) throw new StunDecodeError("BAD_LENGTH", `PCP ${what}: length ${bytes.length} is not a multiple of 4`, bytes.length);
}

function kindOf(opcode: number, what: string): "announce" | "map" | "peer" {
  if (opcode === PcpOpcode.Announce) return "announce";
  if (opcode === PcpOpcode.Map) return "map";
  if (opcode === PcpOpcode.Peer) return "peer";
  throw new StunDecodeError("BAD_ATTRIBUTE", `PCP ${what}: opcode ${opcode} is not ANNOUNCE (0), MAP (1) or PEER (2)`, 1);
}

function readOptions(bytes: Uint8Array, view: DataView, offset: number): PcpOption[] {
  const options: PcpOption[] = [];
  while (offset < bytes.length) {
    if (bytes.length - offset < 4) throw new StunDecodeError("TRUNCATED", "PCP option: header needs 4 bytes", offset);
    const length = view.getUint16(offset + 2);
    const end = offset + 4 + ((length + 3) & ~3);
    if (end > bytes.length) throw new StunDecodeError("ATTRIBUTE_OVERRUN", `PCP option ${bytes[offset]}: length ${length} runs past the message`, offset);
    options.push({ code: bytes[offset]!, data: bytes.subarray(offset + 4, offset + 4 + length) });
    offset = end;
  }
  return options;
}

function readOpcodeFields(bytes: Uint8Array, view: DataView, kind: "map" | "peer", what: string): PcpMapResponseFields & { remotePeerPort: number; remotePeerAddress: string } {
  const need = PCP_HEADER_SIZE + opcodeSize(kind);
  if (bytes.length < need) throw new StunDecodeError("TRUNCATED", `PCP ${kind.toUpperCase()} ${what}: ${bytes.length} bytes, needs ${need}`, bytes.length);
  const o = PCP_HEADER_SIZE;
  return {
    nonce: bytes.subarray(o, o + PCP_NONCE_SIZE),
    protocol: bytes[o + 12]!,
    internalPort: view.getUint16(o + 16),
    externalPort: view.getUint16(o + 18),
    externalAddress: readPcpAddress(bytes, o + 20),
    remotePeerPort: kind === "peer" ? view.getUint16(o + 36) : 0,
    remotePeerAddress: kind === "peer" ? readPcpAddress(bytes, o + 40) : "",
  };
}

/**
 * Decodes a request, as a server (or a test's scripted gateway) does. Byte arrays in the result
 * (nonce, option data) are views into `bytes`.
 *
 * @example
 * ```ts
 * const req = decodePcpRequest(bytes);
 * // → { kind: "map", lifetime: 7200, clientAddress: "192.168.1.20", options: [], nonce: Uint8Array(12),
 * //     protocol: 17, internalPort: 5000, suggestedExternalPort: 0, suggestedExternalAddress: "0.0.0.0" }
 * ```
 *
 * @throws {@link StunDecodeError} see the module comment; `NOT_STUN` for a version other than 2
 *   (a server answers with UNSUPP_VERSION, §9) or the R bit set.
 */
export function decodePcpRequest(bytes: Uint8Array): PcpRequest {
  if (bytes.length < 2) throw new StunDecodeError("TRUNCATED", `PCP request: ${bytes.length} bytes`, 0);
  if (bytes[0] !== PCP_VERSION) throw new StunDecodeError("NOT_STUN", `PCP request: version ${bytes[0]} is not 2`, 0);
  if (bytes[1]! & 0x80) throw new StunDecodeError("NOT_STUN", "PCP request: the R bit says this is a response", 1);
  checkFrame(bytes, "request");
  const kind = kindOf(bytes[1]! & 0x7f, "request");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lifetime = view.getUint32(4);
  const clientAddress = readPcpAddress(bytes, 8);
  if (kind === "announce") return { kind, lifetime, clientAddress, options: readOptions(bytes, view, PCP_HEADER_SIZE) };
  const f = readOpcodeFields(bytes, view, kind, "request");
  const options = readOptions(bytes, view, PCP_HEADER_SIZE + opcodeSize(kind));
  const map = {
    lifetime,
    clientAddress,
    options,
    nonce: f.nonce,
    protocol: f.protocol,
    internalPort: f.internalPort,
    suggestedExternalPort: f.externalPort,
    suggestedExternalAddress: f.externalAddress,
  };
  if (kind === "map") return { kind, ...map };
  return { kind, ...map, remotePeerPort: f.remotePeerPort, remotePeerAddress: f.remotePeerAddress };
}

/**
 * Decodes a response or an unsolicited ANNOUNCE (RFC 6887 §8.3, §14.1.3). Byte arrays in the
 * result are views into `bytes`.
 *
 * @example
 * ```ts
 * decodePcpResponse(bytes);
 * // → { kind: "map", resultCode: 0, lifetime: 7200, epoch: 1200, options: [], nonce: Uint8Array(12),
 * //     protocol: 17, internalPort: 5000, externalPort: 5000, externalAddress: "203.0.113.7" }
 * decodePcpResponse(fromHex("00000001000004b0")); // → { kind: "unsupported-version", version: 0, epoch: 1200 }
 * ```
 *
 * @throws {@link StunDecodeError} see the module comment.
 */
export function decodePcpResponse(bytes: Uint8Array): PcpResponse {
  // §8.3: under 4 octets, or R clear: dropped; UNSUPP_VERSION: version negotiation (§9).
  if (bytes.length < 4) throw new StunDecodeError("TRUNCATED", `PCP response: ${bytes.length} bytes, needs at least 4`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[0]!;
  // RFC 6886 §3.5 answers with opcode 0 (R clear) and a 16-bit result code: byte 3 is 1 in both.
  if (bytes[3] === PcpResultCode.UnsuppVersion && (version === 0 || bytes[1]! & 0x80)) {
    const at = version === 0 ? 4 : 8;
    return { kind: "unsupported-version", version, epoch: bytes.length >= at + 4 ? view.getUint32(at) : undefined };
  }
  if (!(bytes[1]! & 0x80)) throw new StunDecodeError("NOT_STUN", "PCP response: the R bit is clear", 1);
  if (version !== PCP_VERSION) throw new StunDecodeError("NOT_STUN", `PCP response: version ${version} is not 2`, 0);
  checkFrame(bytes, "response");
  const kind = kindOf(bytes[1]! & 0x7f, "response");
  const common = { resultCode: bytes[3]!, lifetime: view.getUint32(4), epoch: view.getUint32(8) };
  if (kind === "announce") return { kind, ...common, options: readOptions(bytes, view, PCP_HEADER_SIZE) };
  const f = readOpcodeFields(bytes, view, kind, "response");
  const options = readOptions(bytes, view, PCP_HEADER_SIZE + opcodeSize(kind));
  const map = { ...common, options, nonce: f.nonce, protocol: f.protocol, internalPort: f.internalPort, externalPort: f.externalPort, externalAddress: f.externalAddress };
  if (kind === "map") return { kind, ...map };
  return { kind, ...map, remotePeerPort: f.remotePeerPort, remotePeerAddress: f.remotePeerAddress };
}
