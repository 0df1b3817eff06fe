/**
 * The checklist of one data stream (RFC 8445 §6.1.2) with its triggered-check queue (§6.1.4.1),
 * as Trickle ICE grows it (RFC 8838 §10-§12).
 *
 * icekit runs one data stream, so the checklist set has one checklist; components are the
 * rows of RFC 8838 §12's tables, foundations the columns.
 *
 * @module
 */
import type { CandidatePair } from "./pair";

/**
 * What {@link Checklist.add} did with a pair.
 *
 * @example
 * ```ts
 * const result: AddResult = checklist.add(pair); // → "added"
 * checklist.add(pair);                           // → "redundant": a pair with its key is in the list
 * ```
 */
export type AddResult =
  /** Inserted, Waiting or Frozen by the rules of RFC 8838 §12. */
  | "added"
  /** A pair with the same local base and remote candidate is already in the list (§6.1.2.4). */
  | "redundant"
  /** The list holds the maximum number of pairs and none may make room (§6.1.2.5). */
  | "full";

/** Orders pairs: higher priority first, then lower component ID (§6.1.4.2 step 3). */
function before(a: CandidatePair, b: CandidatePair): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.component < b.component);
}

/**
 * One checklist: pairs in priority order and the triggered-check FIFO.
 *
 * @example
 * ```ts
 * const checklist = new Checklist(100);
 * pair.updatePriority(true);
 * checklist.add(pair); // → "added", and pair.state is "waiting": the first pair of its foundation
 * checklist.next();    // → { pair, triggered: false }; the caller sends its check
 * ```
 */
export class Checklist {
  /** The pairs, highest priority first. */
  readonly pairs: CandidatePair[] = [];
  readonly #triggered: CandidatePair[] = [];
  readonly #maxPairs: number;
  readonly #onEvict: ((pair: CandidatePair) => void) | undefined;

  /**
   * @param maxPairs - the limit of §6.1.2.5 (default 100 in the agent)
   * @param onEvict - told about each pair discarded to make room for a new one
   */
  constructor(maxPairs: number, onEvict?: (pair: CandidatePair) => void) {
    this.#maxPairs = maxPairs;
    this.#onEvict = onEvict;
  }

  /** Number of pairs. */
  get size(): number {
    return this.pairs.length;
  }

  /** Pairs waiting in the triggered-check queue. */
  get triggeredLength(): number {
    return this.#triggered.length;
  }

  /**
   * Adds a newly formed pair (RFC 8838 §10 steps 5-6, §11 steps 4-5, §12).
   *
   * Redundancy: the caller has already replaced a reflexive local candidate by its base, so a
   * pair is redundant exactly when a pair with the same key exists. Limit: at the maximum, a
   * Failed pair makes room, else a lower-priority pair that is not In-Progress; if neither
   * exists the new pair is not added. State: Waiting when it is the topmost pair of its
   * foundation (lowest component, then highest priority: rule 1) or its foundation has a
   * Succeeded pair (rule 2), Frozen otherwise (rule 3).
   *
   * @param pair - a pair whose priority is computed
   * @returns what happened; on `"added"` the pair's `inChecklist` is set
   */
  add(pair: CandidatePair): AddResult {
    if (this.pairs.some((p) => p.key === pair.key)) return "redundant";
    if (this.pairs.length >= this.#maxPairs && !this.#makeRoom(pair)) return "full";
    const f = pair.foundation;
    let top = true;
    let succeeded = false;
    for (const p of this.pairs) {
      if (p.foundation !== f) continue;
      if (p.state === "succeeded") succeeded = true;
      if (p.component < pair.component || (p.component === pair.component && p.priority > pair.priority)) top = false;
    }
    pair.state = top || succeeded ? "waiting" : "frozen";
    this.#insert(pair);
    return "added";
  }

  /**
   * Puts a pair back into the list (a triggered check for a pair that was removed, RFC 8445
   * §7.3.1.4 "If the pair is not already on the checklist") without changing its state.
   *
   * @returns false when the list is full and nothing may make room
   */
  reinsert(pair: CandidatePair): boolean {
    if (pair.inChecklist) return true;
    if (this.pairs.length >= this.#maxPairs && !this.#makeRoom(pair)) return false;
    this.#insert(pair);
    return true;
  }

  /** Removes a pair from the list and the triggered queue. */
  remove(pair: CandidatePair): void {
    const i = this.pairs.indexOf(pair);
    if (i >= 0) this.pairs.splice(i, 1);
    const j = this.#triggered.indexOf(pair);
    if (j >= 0) this.#triggered.splice(j, 1);
    pair.inChecklist = false;
  }

  /**
   * RFC 8445 §8.1.2: once a pair for a component is nominated, "remove all candidate pairs for
   * the same component from the checklist and from the triggered-check queue".
   *
   * @returns the removed pairs (the caller cancels their In-Progress transactions)
   */
  removeComponent(component: number): CandidatePair[] {
    const removed = this.pairs.filter((p) => p.component === component);
    for (const p of removed) this.remove(p);
    return removed;
  }

  /** Re-sorts after priorities changed (a role switch, §7.2.5.1; a prflx upgrade, RFC 8838 §11). */
  resort(): void {
    this.pairs.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  }

  /** Appends a pair to the triggered-check queue unless it is there already (§7.3.1.4). */
  enqueueTriggered(pair: CandidatePair): void {
    if (!this.#triggered.includes(pair)) this.#triggered.push(pair);
  }

  /** True when `pair` waits in the triggered-check queue. */
  isTriggered(pair: CandidatePair): boolean {
    return this.#triggered.includes(pair);
  }

  /**
   * RFC 8445 §7.2.5.3.3: "The agent MUST set the states for all other Frozen candidate pairs in
   * all checklists with the same foundation to Waiting."
   */
  unfreezeFoundation(foundation: string): void {
    for (const p of this.pairs) if (p.state === "frozen" && p.foundation === foundation) p.state = "waiting";
  }

  /**
   * Picks the pair to check when Ta fires (RFC 8445 §6.1.4.2): the head of the triggered-check
   * queue; else, when no pair is Waiting, unfreezes one Frozen pair per foundation that has
   * none Waiting or In-Progress (step 2); then the highest-priority Waiting pair (step 3).
   * The caller performs the check and sets the pair In-Progress.
   *
   * @returns the pair and whether it came from the triggered queue, or undefined (step 4)
   */
  next(): { pair: CandidatePair; triggered: boolean } | undefined {
    const t = this.#triggered.shift();
    if (t !== undefined) return { pair: t, triggered: true };
    let waiting = this.pairs.find((p) => p.state === "waiting");
    if (waiting === undefined) {
      const busy = new Set<string>();
      for (const p of this.pairs) if (p.state === "in-progress") busy.add(p.foundation);
      for (const p of this.pairs) {
        // Pairs are in priority order, so the first Frozen pair of a foundation is its best.
        if (p.state !== "frozen" || busy.has(p.foundation)) continue;
        p.state = "waiting";
        busy.add(p.foundation);
      }
      waiting = this.pairs.find((p) => p.state === "waiting");
    }
    return waiting === undefined ? undefined : { pair: waiting, triggered: false };
  }

  /** True while a check may still be sent, now or later: a triggered check, or a pair Frozen or Waiting. */
  hasWork(): boolean {
    return this.#triggered.length > 0 || this.pairs.some((p) => p.state === "waiting" || p.state === "frozen");
  }

  /**
   * True when {@link next} would return a pair now: a triggered check, a Waiting pair, or a
   * Frozen pair whose foundation has no pair In-Progress (step 2 would unfreeze it).
   */
  canCheck(): boolean {
    if (this.#triggered.length > 0) return true;
    let frozen = false;
    for (const p of this.pairs) {
      if (p.state === "waiting") return true;
      if (p.state === "frozen") frozen = true;
    }
    if (!frozen) return false;
    const busy = new Set<string>();
    for (const p of this.pairs) if (p.state === "in-progress") busy.add(p.foundation);
    return this.pairs.some((p) => p.state === "frozen" && !busy.has(p.foundation));
  }

  /** Pairs Waiting and In-Progress, for the RTO of RFC 8445 §14.3. */
  pending(): number {
    let n = 0;
    for (const p of this.pairs) if (p.state === "waiting" || p.state === "in-progress") n++;
    return n;
  }

  /** Removes everything (an ICE restart, RFC 8445 §9). */
  clear(): void {
    for (const p of this.pairs) p.inChecklist = false;
    this.pairs.length = 0;
    this.#triggered.length = 0;
  }

  #insert(pair: CandidatePair): void {
    let i = this.pairs.length;
    while (i > 0 && before(pair, this.pairs[i - 1]!)) i--;
    this.pairs.splice(i, 0, pair);
    pair.inChecklist = true;
  }

  /** RFC 8838 §10 step 6: discard a Failed pair, else one of lower priority that is not in flight. */
  #makeRoom(pair: CandidatePair): boolean {
    let victim: CandidatePair | undefined;
    for (let i = this.pairs.length - 1; i >= 0; i--) {
      const p = this.pairs[i]!;
      if (p.state === "failed") {
        victim = p;
        break;
      }
    }
    if (victim === undefined) {
      for (let i = this.pairs.length - 1; i >= 0; i--) {
        const p = this.pairs[i]!;
        if (!before(pair, p)) break;
        if (p.state === "frozen" || p.state === "waiting") {
          victim = p;
          break;
        }
      }
    }
    if (victim === undefined) return false;
    this.remove(victim);
    this.#onEvict?.(victim);
    return true;
  }
}
