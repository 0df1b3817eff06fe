/**
 * The error UPnP IGD code throws: a malformed SSDP response, a device description without a
 * usable WAN connection service, a SOAP response that does not parse, a SOAP fault from the
 * gateway (with its UPnP `errorCode`), and, from `icekit/node`, HTTP and discovery failures.
 *
 * @module
 */

/**
 * Machine-readable reasons for an {@link UpnpError}.
 *
 * @example
 * ```ts
 * if (isUpnpError(e) && e.code === "FOREIGN_LOCATION") stats.spoofed++;
 * ```
 */
export type UpnpErrorCode =
  /** An SSDP response is not a well-formed `HTTP/1.1 200 OK` with LOCATION and ST, or breaks a size limit. */
  | "SSDP_MALFORMED"
  /**
   * An SSDP LOCATION (or a control URL in a description) is not `http://`, does not name an IP
   * address, or points at another host than the one that answered: refused, so that a spoofed
   * or hostile answer cannot make the client fetch from arbitrary hosts.
   */
  | "FOREIGN_LOCATION"
  /** The device description is not valid XML or has no root device. */
  | "DESCRIPTION_MALFORMED"
  /** The description lists no WANIPConnection or WANPPPConnection service with a control URL. */
  | "NO_WAN_SERVICE"
  /** A SOAP response does not parse or lacks the action's response element or an out argument. */
  | "SOAP_MALFORMED"
  /** The gateway answered with a SOAP fault; `errorCode` holds the UPnP error code. */
  | "SOAP_FAULT"
  /** An HTTP status other than 200 without a UPnP fault; `errorCode` holds the status. */
  | "HTTP_STATUS"
  /** A response body (or datagram) over its size limit; the read was cut off there. */
  | "TOO_LARGE"
  /** No answer in time: discovery found no gateway, or an HTTP request timed out. */
  | "TIMEOUT"
  /** A connection failed (refused, reset, unreachable). */
  | "TRANSPORT";

/**
 * UPnP error codes a gateway returns in `<UPnPError><errorCode>` (UPnP Device Architecture 1.1
 * §3.2.2 for 401-899 generic codes; WANIPConnection:1 and :2 service specifications for 7xx).
 *
 * @example
 * ```ts
 * if (e.errorCode === UpnpErrorCodes.OnlyPermanentLeasesSupported) retryWithLeaseZero();
 * ```
 */
export const UpnpErrorCodes = {
  /** No action by that name at this service (also what IGDv1 devices say to AddAnyPortMapping). */
  InvalidAction: 401,
  /** Not enough arguments, arguments in the wrong order, or of the wrong type. */
  InvalidArgs: 402,
  /** The current state of the service prevents the action. */
  ActionFailed: 501,
  /** An argument value is invalid. */
  ArgumentValueInvalid: 600,
  /** An argument value is out of range. */
  ArgumentValueOutOfRange: 601,
  /** The optional action is not implemented. */
  OptionalActionNotImplemented: 602,
  /** The device refuses the action for this control point (e.g. secure mode, another client's IP). */
  ActionNotAuthorized: 606,
  /** GetSpecificPortMappingEntry / DeletePortMapping: no such mapping. */
  NoSuchEntryInArray: 714,
  /** The RemoteHost wildcard is not allowed. */
  WildCardNotPermittedInSrcIP: 715,
  /** The ExternalPort wildcard (0) is not allowed. */
  WildCardNotPermittedInExtPort: 716,
  /** The external port is mapped to another internal client already. */
  ConflictInMappingEntry: 718,
  /** Internal and external ports must be equal on this device. */
  SamePortValuesRequired: 724,
  /** IGDv1 devices that only keep static mappings: retry with NewLeaseDuration 0. */
  OnlyPermanentLeasesSupported: 725,
  /** RemoteHost must be the wildcard (empty). */
  RemoteHostOnlySupportsWildcard: 726,
  /** ExternalPort must be the wildcard. */
  ExternalPortOnlySupportsWildcard: 727,
  /** IGDv2: no port left to map. */
  NoPortMapsAvailable: 728,
  /** IGDv2: conflict with another mechanism (PCP, static rule). */
  ConflictWithOtherMechanisms: 729,
  /** IGDv2: the port is blocked by the firewall or policy. */
  WildCardNotPermittedInIntPort: 732,
} as const;

/**
 * Thrown for bad UPnP input and failed UPnP operations. A SOAP fault carries the gateway's
 * UPnP `errorCode` (`718` ConflictInMappingEntry, `725` OnlyPermanentLeasesSupported, `606`
 * Action not authorized, ...) and `errorDescription`; `HTTP_STATUS` carries the status.
 *
 * @example
 * ```ts
 * try { parseSoapResponse(call, status, body) } catch (e) {
 *   if (isUpnpError(e) && e.errorCode === UpnpErrorCodes.ConflictInMappingEntry) tryAnotherPort();
 * }
 * ```
 */
export class UpnpError extends Error {
  /** Always `"UpnpError"`, for cross-realm checks. */
  override readonly name = "UpnpError";
  /** What went wrong. */
  readonly code: UpnpErrorCode;
  /** The UPnP errorCode of a SOAP fault, or the HTTP status for `HTTP_STATUS`. */
  readonly errorCode: number | undefined;
  /** The gateway's errorDescription of a SOAP fault. */
  readonly errorDescription: string | undefined;

  /**
   * @param code - what went wrong
   * @param message - a sentence naming the gateway or field and the cause
   * @param errorCode - the UPnP error code or HTTP status
   * @param errorDescription - the gateway's own words
   * @param options - `cause`: the underlying error (an {@link XmlError}, a socket error)
   */
  constructor(code: UpnpErrorCode, message: string, errorCode?: number, errorDescription?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.errorCode = errorCode;
    this.errorDescription = errorDescription;
  }
}

/**
 * True when `e` is an {@link UpnpError}, from this copy of icekit or another.
 *
 * @example
 * ```ts
 * if (isUpnpError(e) && e.code === "TIMEOUT") tryNatPmp();
 * ```
 */
export function isUpnpError(e: unknown): e is UpnpError {
  return e instanceof UpnpError || (e instanceof Error && e.name === "UpnpError" && "code" in e);
}
