/**
 * The lease logic of one UPnP IGD port mapping as a sans-IO engine: which SOAP action to send
 * next, what a response means, when to renew. The caller does the HTTP (one request at a time)
 * and the timers; the engine never reads a clock.
 *
 * What it does, and why:
 * - each mapping cycle asks GetExternalIPAddress first (AddPortMapping answers carry no
 *   address), then adds the mapping;
 * - on WANIPConnection:2 it sends AddAnyPortMapping, so the gateway picks a free port itself
 *   when the asked one is taken; a gateway that answers 401 Invalid Action, 602 or an HTTP
 *   error without a UPnP fault (IGDv1 stacks that only claim :2) gets AddPortMapping instead,
 *   for this and every later request;
 * - 718 ConflictInMappingEntry (and IGDv2's 729 ConflictWithOtherMechanisms) on AddPortMapping:
 *   another external port, chosen at random from 1024-65535, up to `maxPortAttempts` tries in
 *   all (the WANIPConnection:1 way of doing what AddAnyPortMapping does);
 * - 725 OnlyPermanentLeasesSupported: an IGDv1 gateway that keeps only static mappings; the
 *   request is repeated with NewLeaseDuration 0, the mapping is marked `permanent`, and it must
 *   be deleted explicitly (it never expires by itself), which {@link UpnpMappingClient.unmap}
 *   does;
 * - 724 SamePortValuesRequired: repeated once with the external port equal to the internal one;
 * - renewal at half the lease by AddPortMapping of the granted port (the specification's way
 *   of extending a mapping: same client, same port → the entry is updated); a failed renewal is
 *   retried halfway to expiry while 8 s or more remain; at expiry the mapping is reported
 *   `lost`; a renewal that meets 718 reports `lost` ("conflict") and maps another port;
 * - WANIPConnection:2 keeps leases of at most 604800 s (§2.3.16): a longer lease is reported
 *   as 604800.
 *
 * The driver loop:
 *
 * ```ts
 * const m = new UpnpMappingClient({ service, protocol: "udp", internalPort: 5000, internalClient: "192.168.1.20", lifetime: 3600 });
 * m.map(clock());
 * async function drive() {
 *   for (let req; (req = m.pollRequest()); ) {
 *     try {
 *       const res = await http(req);                      // POST req.body to req.host:req.port req.path
 *       m.handleResponse(clock(), res.status, res.body);
 *     } catch (e) {
 *       m.handleError(clock(), e);                        // timeout, refused, too large
 *     }
 *   }
 *   for (let e; (e = m.pollEvent()); ) handle(e);
 *   const at = m.pollTimeout();
 *   if (at !== undefined) setTimer(() => { m.handleTimeout(clock()); drive(); }, at - clock());
 * }
 * ```
 *
 * @module
 */
import type { TransportAddress } from "../bytes/ip";
import { ipFamily } from "../bytes/ip";
import { defaultRandom } from "../engine";
import type { RandomSource } from "../engine";
import { IcekitError } from "../errors";
import { UpnpError, UpnpErrorCodes, isUpnpError } from "./upnp-error";
import {
  UPNP_MAX_LEASE_V2,
  encodeAddAnyPortMapping,
  encodeAddPortMapping,
  encodeDeletePortMapping,
  encodeGetExternalIpAddress,
  parseAddAnyPortMappingResponse,
  parseAddPortMappingResponse,
  parseDeletePortMappingResponse,
  parseGetExternalIpAddressResponse,
} from "./upnp";
import type { SoapRequest, UpnpProtocol, UpnpServiceEndpoint } from "./upnp";

/**
 * What a {@link UpnpMappingClient} reports.
 *
 * @example
 * ```ts
 * for (let e; (e = client.pollEvent()); ) if (e.type === "lost") console.log("mapping gone:", e.reason);
 * ```
 */
export type UpnpMappingEvent =
  /** The mapping was created, renewed or re-created on another port. */
  | {
      readonly type: "mapped";
      readonly protocol: UpnpProtocol;
      readonly internalPort: number;
      /** The gateway's external address and the granted external port. */
      readonly external: TransportAddress;
      /** Lease in seconds as the gateway keeps it; 0 for a permanent mapping. */
      readonly lifetime: number;
      /** True when the gateway accepts only permanent mappings (725): delete it when done. */
      readonly permanent: boolean;
      /** True for a renewal or a re-creation of a mapping reported before. */
      readonly renewal: boolean;
    }
  /** The mapping was deleted (or the gateway had no such mapping any more: 714). */
  | { readonly type: "unmapped"; readonly protocol: UpnpProtocol; readonly internalPort: number; readonly externalPort: number | undefined }
  /** A map or unmap attempt failed; for a renewal, the engine retries while the lease lasts. */
  | {
      readonly type: "failed";
      readonly operation: "map" | "unmap";
      readonly protocol: UpnpProtocol;
      readonly internalPort: number;
      /** True when a renewal failed (the mapping still stands until it expires). */
      readonly renewal: boolean;
      /** The UPnP error code of a fault, the HTTP status, or undefined (timeout, transport). */
      readonly errorCode: number | undefined;
      readonly error: UpnpError;
    }
  /** The mapping is gone: its lease ran out unrenewed, or its port now belongs to someone else. */
  | { readonly type: "lost"; readonly protocol: UpnpProtocol; readonly internalPort: number; readonly reason: "expired" | "conflict" };

/**
 * Configuration of a {@link UpnpMappingClient}.
 *
 * @example
 * ```ts
 * const o: UpnpMappingOptions = { service: wan, protocol: "udp", internalPort: 5000, internalClient: "192.168.1.20", lifetime: 3600 };
 * ```
 */
export interface UpnpMappingOptions {
  /** The WAN connection service (from `selectWanConnectionService`); `version` 2 enables AddAnyPortMapping. */
  readonly service: UpnpServiceEndpoint & { readonly version?: number };
  readonly protocol: UpnpProtocol;
  /** The local port to forward to. */
  readonly internalPort: number;
  /** This host's LAN address (NewInternalClient). */
  readonly internalClient: string;
  /** The external port to ask for first; default the internal port. */
  readonly externalPort?: number;
  /** Lease to ask for, seconds, 1 or more (0 only on a 725 answer). */
  readonly lifetime: number;
  /** NewPortMappingDescription; default "icekit". */
  readonly description?: string;
  /** Add attempts that may meet 718 before giving up (default 4). */
  readonly maxPortAttempts?: number;
  /** Use AddAnyPortMapping (default: when `service.version` is 2 or more). */
  readonly useAddAnyPortMapping?: boolean;
  /** Random source for conflict ports. */
  readonly random?: RandomSource;
}

/**
 * Counters for {@link UpnpMappingClient.stats}.
 *
 * @example
 * ```ts
 * console.log(client.stats().conflicts);
 * ```
 */
export interface UpnpMappingStats {
  /** SOAP requests handed out. */
  requests: number;
  /** SOAP faults received. */
  faults: number;
  /** 718/729 conflicts met. */
  conflicts: number;
  /** Responses with no request in flight (ignored). */
  droppedUnexpected: number;
}

/**
 * Where the engine is.
 *
 * @example
 * ```ts
 * if (client.state === "active") console.log(client.external);
 * ```
 */
export type UpnpMappingState = "idle" | "mapping" | "active" | "lost" | "failed" | "closing" | "closed" | "stopped";

type Job = "external" | "add" | "delete";

/** Smallest port a conflict retry picks: below it are well-known ports gateways often refuse. */
const MIN_RANDOM_PORT = 1024;

/**
 * One UPnP IGD port mapping: map, renew at half the lease, unmap. See the module comment for
 * the driver loop and the rules it follows.
 *
 * @example
 * ```ts
 * const m = new UpnpMappingClient({ service: wan, protocol: "tcp", internalPort: 8080, internalClient: "192.168.1.20", lifetime: 3600 });
 * m.map(now);
 * const req = m.pollRequest()!;        // GetExternalIPAddress
 * m.handleResponse(now, 200, body);
 * ```
 */
export class UpnpMappingClient {
  readonly #service: UpnpServiceEndpoint;
  readonly #version: number;
  readonly #protocol: UpnpProtocol;
  readonly #internalPort: number;
  readonly #internalClient: string;
  readonly #description: string;
  readonly #maxAttempts: number;
  readonly #random: RandomSource;
  #useAddAny: boolean;
  #lease: number;
  #permanent = false;
  #askPort: number;
  #attempts = 0;
  #sameTried = false;
  #state: UpnpMappingState = "idle";
  #jobs: Job[] = [];
  #inFlight: { job: Job; addAny: boolean; port: number } | undefined;
  #cycleIsRenewal = false;
  #externalAddress: string | undefined;
  #external: TransportAddress | undefined;
  #grantedLifetime = 0;
  #everMapped = false;
  #renewAt: number | undefined;
  #expiresAt: number | undefined;
  #events: UpnpMappingEvent[] = [];
  #stats: UpnpMappingStats = { requests: 0, faults: 0, conflicts: 0, droppedUnexpected: 0 };

  /**
   * @throws {@link IcekitError} for ports out of range, a lease that is not a positive integer,
   *   an internal client that is not an IP address
   */
  constructor(options: UpnpMappingOptions) {
    this.#service = { serviceType: options.service.serviceType, controlUrl: options.service.controlUrl };
    this.#version = options.service.version ?? 1;
    if (options.protocol !== "udp" && options.protocol !== "tcp") throw new IcekitError("INVALID_ARGUMENT", `protocol '${String(options.protocol)}' is not "udp" or "tcp"`);
    this.#protocol = options.protocol;
    checkInt("internalPort", options.internalPort, 1, 65535);
    this.#internalPort = options.internalPort;
    if (ipFamily(options.internalClient) === undefined) throw new IcekitError("INVALID_ARGUMENT", `internalClient '${options.internalClient}' is not an IP address; pass this host's LAN address`);
    this.#internalClient = options.internalClient;
    if (options.externalPort !== undefined) checkInt("externalPort", options.externalPort, 1, 65535);
    this.#askPort = options.externalPort ?? options.internalPort;
    checkInt("lifetime", options.lifetime, 1, 0xffffffff);
    this.#lease = options.lifetime;
    this.#description = options.description ?? "icekit";
    this.#maxAttempts = options.maxPortAttempts ?? 4;
    checkInt("maxPortAttempts", this.#maxAttempts, 1, 64);
    this.#useAddAny = options.useAddAnyPortMapping ?? this.#version >= 2;
    this.#random = options.random ?? defaultRandom;
  }

  /** Where the engine is: `active` while a mapping stands. */
  get state(): UpnpMappingState {
    return this.#state;
  }

  /** The granted external address and port, while mapped. */
  get external(): TransportAddress | undefined {
    return this.#external;
  }

  /** True when the gateway only keeps permanent mappings (it answered 725): delete when done. */
  get permanent(): boolean {
    return this.#permanent;
  }

  /** Counters. */
  stats(): Readonly<UpnpMappingStats> {
    return { ...this.#stats };
  }

  /**
   * Starts mapping. Events follow: `mapped`, or `failed`.
   *
   * @throws {@link IcekitError} `INVALID_STATE` when called twice
   */
  map(_now: number): void {
    if (this.#state !== "idle") throw new IcekitError("INVALID_STATE", `map() on a mapping that is ${this.#state}; create a new UpnpMappingClient`);
    this.#state = "mapping";
    this.#startCycle(false);
  }

  /**
   * Deletes the mapping (and stops renewing). Ends with `unmapped` or `failed` (operation
   * `unmap`). With nothing mapped it reports `unmapped` at once; with a request in flight, the
   * deletion follows it.
   */
  unmap(_now: number): void {
    if (this.#state === "closing" || this.#state === "closed" || this.#state === "stopped") return;
    this.#renewAt = undefined;
    this.#expiresAt = undefined;
    this.#jobs = [];
    const wasMapped = this.#external !== undefined;
    this.#state = "closing";
    if (this.#inFlight) return; // its answer decides whether there is something to delete
    if (wasMapped) this.#jobs.push("delete");
    else this.#closed(undefined);
  }

  /** Stops renewing without deleting (the gateway keeps the mapping until its lease ends). */
  stop(): void {
    this.#state = "stopped";
    this.#jobs = [];
    this.#inFlight = undefined;
    this.#renewAt = undefined;
    this.#expiresAt = undefined;
  }

  /**
   * The next SOAP request to send, or undefined. One request is in flight at a time: after a
   * request, this returns undefined until {@link handleResponse} or {@link handleError}.
   */
  pollRequest(): SoapRequest | undefined {
    if (this.#inFlight || this.#state === "stopped") return undefined;
    const job = this.#jobs.shift();
    if (job === undefined) return undefined;
    this.#stats.requests++;
    if (job === "external") {
      this.#inFlight = { job, addAny: false, port: 0 };
      return encodeGetExternalIpAddress(this.#service);
    }
    if (job === "delete") {
      const port = this.#external?.port ?? this.#askPort;
      this.#inFlight = { job, addAny: false, port };
      return encodeDeletePortMapping(this.#service, { externalPort: port, protocol: this.#protocol });
    }
    // Renewals refresh exactly the granted port; only a fresh mapping lets the gateway choose.
    const addAny = this.#useAddAny && !this.#cycleIsRenewal;
    const port = this.#askPort;
    this.#inFlight = { job, addAny, port };
    const args = { externalPort: port, protocol: this.#protocol, internalPort: this.#internalPort, internalClient: this.#internalClient, description: this.#description, leaseDuration: this.#permanent ? 0 : this.#lease };
    return addAny ? encodeAddAnyPortMapping(this.#service, args) : encodeAddPortMapping(this.#service, args);
  }

  /** Hands in the HTTP response to the request in flight. Never throws on its content. */
  handleResponse(now: number, status: number, body: Uint8Array | string): void {
    const tx = this.#inFlight;
    if (!tx) {
      this.#stats.droppedUnexpected++;
      return;
    }
    this.#inFlight = undefined;
    try {
      if (tx.job === "external") {
        const ip = parseGetExternalIpAddressResponse(status, body);
        this.#onExternal(now, ip);
      } else if (tx.job === "add") {
        const port = tx.addAny ? parseAddAnyPortMappingResponse(status, body) : (parseAddPortMappingResponse(status, body), tx.port);
        this.#onAdded(now, port);
      } else {
        parseDeletePortMappingResponse(status, body);
        this.#closed(tx.port);
      }
    } catch (e) {
      this.#onError(now, tx, toUpnpError(e));
    }
  }

  /**
   * The request in flight failed without an HTTP response: timeout, refused connection, a body
   * over its size limit. Pass an {@link UpnpError} (`TIMEOUT`, `TRANSPORT`, `TOO_LARGE`);
   * anything else counts as `TRANSPORT`.
   */
  handleError(now: number, error: unknown): void {
    const tx = this.#inFlight;
    if (!tx) {
      this.#stats.droppedUnexpected++;
      return;
    }
    this.#inFlight = undefined;
    this.#onError(now, tx, toUpnpError(error));
  }

  /** When {@link handleTimeout} is next due, or undefined. */
  pollTimeout(): number | undefined {
    if (this.#renewAt === undefined) return this.#expiresAt;
    if (this.#expiresAt === undefined) return this.#renewAt;
    return Math.min(this.#renewAt, this.#expiresAt);
  }

  /** Renews or expires the mapping when due; early calls do nothing. */
  handleTimeout(now: number): void {
    if (this.#expiresAt !== undefined && now >= this.#expiresAt) {
      this.#expiresAt = undefined;
      this.#renewAt = undefined;
      if (this.#state === "active") {
        this.#external = undefined;
        this.#state = "lost";
        this.#events.push({ type: "lost", protocol: this.#protocol, internalPort: this.#internalPort, reason: "expired" });
        // A renewal still in flight may yet bring it back; nothing else is tried.
      }
      return;
    }
    if (this.#renewAt !== undefined && now >= this.#renewAt) {
      this.#renewAt = undefined;
      if (this.#state === "active" && !this.#inFlight && this.#jobs.length === 0) this.#startCycle(true);
    }
  }

  /** The next event, or undefined. */
  pollEvent(): UpnpMappingEvent | undefined {
    return this.#events.shift();
  }

  #startCycle(renewal: boolean): void {
    this.#cycleIsRenewal = renewal;
    this.#attempts = 0;
    this.#jobs.push("external", "add");
  }

  #onExternal(now: number, ip: string): void {
    if (this.#state === "closing") return this.#afterClosingAnswer(false);
    if (this.#state === "stopped") return;
    if (ip === "" || ip === "0.0.0.0") {
      // The WAN side is down or unconfigured: a mapping would be unreachable.
      if (this.#cycleIsRenewal && this.#externalAddress !== undefined) return; // keep the old one and renew anyway
      this.#jobs = [];
      this.#cycleFailed(now, new UpnpError("SOAP_MALFORMED", "the gateway reports no external address (its WAN connection is down)"), "map");
      return;
    }
    this.#externalAddress = ip;
  }

  #onAdded(now: number, port: number): void {
    const renewal = this.#everMapped;
    this.#everMapped = true;
    const lifetime = this.#permanent ? 0 : this.#version >= 2 ? Math.min(this.#lease, UPNP_MAX_LEASE_V2) : this.#lease;
    const address = this.#externalAddress ?? "0.0.0.0";
    this.#external = { family: ipFamily(address) ?? "IPv4", address, port };
    this.#askPort = port;
    this.#grantedLifetime = lifetime;
    if (this.#state === "closing") {
      this.#jobs.push("delete");
      return;
    }
    if (this.#state === "stopped") return;
    this.#state = "active";
    this.#expiresAt = lifetime === 0 ? undefined : now + lifetime * 1000;
    this.#renewAt = lifetime === 0 ? undefined : now + lifetime * 500;
    this.#events.push({ type: "mapped", protocol: this.#protocol, internalPort: this.#internalPort, external: this.#external, lifetime, permanent: this.#permanent, renewal });
  }

  #onError(now: number, tx: { job: Job; addAny: boolean; port: number }, error: UpnpError): void {
    if (error.code === "SOAP_FAULT") this.#stats.faults++;
    if (this.#state === "stopped") return;
    if (tx.job === "delete") {
      if (error.errorCode === UpnpErrorCodes.NoSuchEntryInArray) return this.#closed(tx.port); // gone already
      this.#state = "closed";
      this.#external = undefined;
      this.#events.push({ type: "failed", operation: "unmap", protocol: this.#protocol, internalPort: this.#internalPort, renewal: false, errorCode: error.errorCode, error });
      return;
    }
    if (this.#state === "closing") return this.#afterClosingAnswer(false);
    if (tx.job === "external") {
      if (this.#cycleIsRenewal && this.#externalAddress !== undefined) return; // renew the port anyway
      this.#jobs = [];
      return this.#cycleFailed(now, error, "map");
    }
    const code = error.code === "SOAP_FAULT" ? error.errorCode : undefined;
    // IGDv1 stacks answer AddAnyPortMapping with 401/602, or with a bare HTTP error.
    if (tx.addAny && (code === UpnpErrorCodes.InvalidAction || code === UpnpErrorCodes.OptionalActionNotImplemented || error.code === "HTTP_STATUS")) {
      this.#useAddAny = false;
      this.#jobs.unshift("add");
      return;
    }
    if (code === UpnpErrorCodes.OnlyPermanentLeasesSupported && !this.#permanent) {
      this.#permanent = true;
      this.#jobs.unshift("add");
      return;
    }
    if (code === UpnpErrorCodes.SamePortValuesRequired && !this.#sameTried && tx.port !== this.#internalPort) {
      this.#sameTried = true;
      this.#askPort = this.#internalPort;
      this.#jobs.unshift("add");
      return;
    }
    if (code === UpnpErrorCodes.ConflictInMappingEntry || code === UpnpErrorCodes.ConflictWithOtherMechanisms) {
      this.#stats.conflicts++;
      if (this.#cycleIsRenewal && this.#state === "active") {
        // Our port now belongs to another client: the mapping is gone; make a new one.
        this.#state = "lost";
        this.#external = undefined;
        this.#expiresAt = undefined;
        this.#events.push({ type: "lost", protocol: this.#protocol, internalPort: this.#internalPort, reason: "conflict" });
      }
      if (++this.#attempts < this.#maxAttempts) {
        this.#askPort = this.#randomPort(tx.port);
        this.#jobs.unshift("add");
        return;
      }
    }
    this.#cycleFailed(now, error, "map");
  }

  /** A map cycle failed: a first mapping fails for good; a renewal retries while the lease lasts. */
  #cycleFailed(now: number, error: UpnpError, operation: "map"): void {
    const renewal = this.#cycleIsRenewal;
    this.#events.push({ type: "failed", operation, protocol: this.#protocol, internalPort: this.#internalPort, renewal, errorCode: error.errorCode, error });
    if (renewal && this.#state === "active" && this.#expiresAt !== undefined) {
      const left = this.#expiresAt - now;
      if (left >= 8000) this.#renewAt = now + Math.floor(left / 2);
      return;
    }
    if (this.#state !== "active") {
      this.#state = "failed";
      this.#renewAt = undefined;
      this.#expiresAt = undefined;
    }
  }

  /** An answer came for a request sent before unmap(): delete what may exist, or finish. */
  #afterClosingAnswer(added: boolean): void {
    if (added || this.#external !== undefined) this.#jobs.push("delete");
    else this.#closed(undefined);
  }

  #closed(port: number | undefined): void {
    this.#state = "closed";
    this.#external = undefined;
    this.#events.push({ type: "unmapped", protocol: this.#protocol, internalPort: this.#internalPort, externalPort: port });
  }

  /** A port in 1024-65535 other than `avoid`, from the random source. */
  #randomPort(avoid: number): number {
    const b = new Uint8Array(2);
    for (;;) {
      this.#random(b);
      const p = MIN_RANDOM_PORT + (((b[0]! << 8) | b[1]!) % (65536 - MIN_RANDOM_PORT));
      if (p !== avoid) return p;
    }
  }

  /** The lease the gateway keeps, as last granted (0: permanent). */
  get lifetime(): number {
    return this.#grantedLifetime;
  }
}

function toUpnpError(e: unknown): UpnpError {
  if (isUpnpError(e)) return e;
  return new UpnpError("TRANSPORT", e instanceof Error ? e.message : String(e), undefined, undefined, { cause: e });
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new IcekitError("INVALID_ARGUMENT", `${name} ${v} is out of range; pass an integer from ${min} to ${max}`);
}
