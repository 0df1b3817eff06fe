/**
 * Foundations (RFC 8445 §5.1.1.3): the frozen algorithm's notion of "candidates that will
 * probably work or fail together".
 *
 * "Two candidates have the same foundation when all of the following are true: They have the
 * same type [...]. Their bases have the same IP address (the ports can be different). For
 * reflexive and relayed candidates, the STUN or TURN servers used to obtain them have the same
 * IP address [...]. They were obtained using the same transport protocol (TCP, UDP)."
 *
 * @module
 */
import type { CandidateType } from "./priority";

/**
 * Hands out foundations: the same string for the same (type, base IP, server IP, transport),
 * a different one otherwise. Foundations are short decimal numbers, which are ice-chars.
 *
 * @example
 * ```ts
 * const foundations = new Foundations();
 * foundations.get("host", "192.168.1.2", undefined, "udp");     // → "1"
 * foundations.get("srflx", "192.168.1.2", "192.0.2.10", "udp"); // → "2"
 * foundations.get("srflx", "192.168.1.2", "192.0.2.10", "udp"); // → "2" again: same type, base IP, server
 * foundations.size;                                              // → 2
 * ```
 */
export class Foundations {
  readonly #byKey = new Map<string, string>();

  /**
   * @param type - candidate type
   * @param baseIp - the IP address of the candidate's base
   * @param serverIp - the STUN or TURN server's IP address (reflexive and relayed candidates)
   * @param transport - `"udp"` or `"tcp"`
   * @returns the foundation
   */
  get(type: CandidateType, baseIp: string, serverIp: string | undefined, transport: "udp" | "tcp"): string {
    // Peer-reflexive candidates learned from checks have no server: the key leaves it empty.
    const key = `${type}|${baseIp}|${type === "host" || type === "prflx" ? "" : serverIp ?? ""}|${transport}`;
    let f = this.#byKey.get(key);
    if (f === undefined) {
      f = String(this.#byKey.size + 1);
      this.#byKey.set(key, f);
    }
    return f;
  }

  /** How many distinct foundations were handed out. */
  get size(): number {
    return this.#byKey.size;
  }
}
