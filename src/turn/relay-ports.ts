/**
 * The TURN server's table of relay ports: which ports of the configured range are in use, per
 * address family, and how a new one is picked.
 *
 * RFC 8656 §7.2: "the server SHOULD only allocate ports from the range 49152 - 65535" and
 * "It is RECOMMENDED that a TURN server implement a randomized port assignment algorithm from
 * [RFC6056]". {@link RelayPorts} follows RFC 6056 §3.3.1 (Algorithm 1, "simple port
 * randomization"): a random starting point in the range, then the next free port, wrapping
 * around; EVEN-PORT requests walk even ports only, and the R bit asks for an even port N whose
 * neighbour N+1 is also free (§7.2: "looks for a pair of port numbers N and N+1 on the same IP
 * address, where N is even").
 *
 * A port whose socket the driver could not bind (another program holds it) is set aside for a
 * while ({@link RelayPorts.coolDown}), so that the next pick does not hit it again.
 *
 * @module
 */
import type { AddressFamily } from "../bytes/ip";
import { IcekitError } from "../errors";
import type { RandomSource } from "../engine";

/**
 * The default relay port range (RFC 8656 §7.2, the Dynamic and/or Private Port range).
 *
 * @example
 * ```ts
 * const ports = new RelayPorts(DEFAULT_RELAY_PORTS, random); // 49152-65535 (RFC 8656 §7.2)
 * ```
 */
export const DEFAULT_RELAY_PORTS: readonly [number, number] = [49152, 65535];

/**
 * What kind of port an Allocate asks for (RFC 8656 §7.2, §18.7).
 *
 * @example
 * ```ts
 * const kind: RelayPortKind = even === undefined ? "any" : even.reserve ? "pair" : "even"; // from EVEN-PORT
 * ports.take(now, "IPv4", kind); // → e.g. 53930; for "pair", 53931 is taken too
 * ```
 */
export type RelayPortKind =
  /** Any free port. */
  | "any"
  /** EVEN-PORT with R = 0: an even port. */
  | "even"
  /** EVEN-PORT with R = 1: an even port N with N + 1 free too; both are taken. */
  | "pair";

const FREE = 0;
const USED = 1;
const COOLING = 2;

/**
 * Port occupancy per family; see the module comment.
 *
 * @example
 * ```ts
 * const ports = new RelayPorts([49152, 65535], (b) => crypto.getRandomValues(b));
 * const port = ports.take(now, "IPv4", "pair"); // → an even N, e.g. 53930, with N + 1 taken too
 * ports.used("IPv4");                           // → 2
 * ports.coolDown("IPv4", port!, now + 60_000);  // its bind failed: out of the pool for a minute
 * ```
 */
export class RelayPorts {
  readonly #min: number;
  readonly #max: number;
  readonly #random: RandomSource;
  readonly #state: Record<AddressFamily, Uint8Array> = { IPv4: new Uint8Array(65536), IPv6: new Uint8Array(65536) };
  readonly #cooling: Record<AddressFamily, Map<number, number>> = { IPv4: new Map(), IPv6: new Map() };
  readonly #used: Record<AddressFamily, number> = { IPv4: 0, IPv6: 0 };
  readonly #rnd = new Uint8Array(4);

  /**
   * @param range - lowest and highest port, inclusive (1024-65535 unless `allowWellKnown`)
   * @param random - random source for the starting point
   * @throws {@link IcekitError} `INVALID_ARGUMENT` for a range that is empty or reaches into the
   *   well-known ports (RFC 8656 §7.2: "SHOULD NOT allocate ports in the range 0 - 1023")
   */
  constructor(range: readonly [number, number], random: RandomSource) {
    if (!Array.isArray(range) || range.length !== 2) throw new IcekitError("INVALID_ARGUMENT", "ports: pass [lowest, highest], e.g. [49152, 65535]");
    const [min, max] = range;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65535 || min > max) {
      throw new IcekitError("INVALID_ARGUMENT", `ports [${String(min)}, ${String(max)}]: pass integers with 1024 <= lowest <= highest <= 65535 (RFC 8656 §7.2 suggests 49152-65535)`);
    }
    this.#min = min;
    this.#max = max;
    this.#random = random;
  }

  /** The range, inclusive. */
  get range(): readonly [number, number] {
    return [this.#min, this.#max];
  }

  /** Ports of `family` in use (allocations, reservations and ports waiting for their socket). */
  used(family: AddressFamily): number {
    return this.#used[family];
  }

  /** True when `port` of `family` is taken. */
  isUsed(family: AddressFamily, port: number): boolean {
    return this.#state[family][port] === USED;
  }

  /**
   * Takes a port of `kind`; for `"pair"` it takes N and N + 1 and returns N.
   *
   * @param now - the time, ms (cooling ports come back once their time is up)
   * @returns the port, or undefined when the range has none left of that kind (508)
   */
  take(now: number, family: AddressFamily, kind: RelayPortKind): number | undefined {
    const min = this.#min;
    const max = this.#max;
    const step = kind === "any" ? 1 : 2;
    // The candidates: every port, or every even port (N + 1 within the range for pairs).
    const first = kind === "any" ? min : min + (min & 1);
    const last = kind === "pair" ? max - 1 : max;
    if (first > last) return undefined;
    const count = Math.floor((last - first) / step) + 1;
    this.#random(this.#rnd);
    const r = ((this.#rnd[0]! << 24) | (this.#rnd[1]! << 16) | (this.#rnd[2]! << 8) | this.#rnd[3]!) >>> 0;
    let i = r % count;
    for (let n = 0; n < count; n++, i = i + 1 === count ? 0 : i + 1) {
      const port = first + i * step;
      if (!this.#free(now, family, port)) continue;
      if (kind === "pair" && !this.#free(now, family, port + 1)) continue;
      this.#mark(family, port);
      if (kind === "pair") this.#mark(family, port + 1);
      return port;
    }
    return undefined;
  }

  /** Gives a port back. */
  release(family: AddressFamily, port: number): void {
    const s = this.#state[family];
    if (s[port] !== USED) return;
    s[port] = FREE;
    this.#used[family]--;
  }

  /**
   * Gives a port back but keeps it out of {@link RelayPorts.take} until `until` (ms): its socket could not
   * be bound, so something else holds it.
   */
  coolDown(family: AddressFamily, port: number, until: number): void {
    this.release(family, port);
    this.#state[family][port] = COOLING;
    this.#cooling[family].set(port, until);
  }

  #free(now: number, family: AddressFamily, port: number): boolean {
    const s = this.#state[family];
    const v = s[port];
    if (v === FREE) return true;
    if (v !== COOLING) return false;
    const until = this.#cooling[family].get(port) ?? 0;
    if (now < until) return false;
    this.#cooling[family].delete(port);
    s[port] = FREE;
    return true;
  }

  #mark(family: AddressFamily, port: number): void {
    this.#state[family][port] = USED;
    this.#used[family]++;
  }
}
