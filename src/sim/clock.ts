/**
 * Virtual time: a scheduler that runs callbacks in time order, with no real timers.
 *
 * Events sit in a binary heap keyed by (time, sequence number). The sequence number is the
 * order in which events were scheduled, so two events at the same virtual time always run in
 * the order they were scheduled: a run is a pure function of its inputs. Cancelled events stay in
 * the heap and are skipped when they reach the top (cancellation is O(1)).
 *
 * @module
 */
import { IcekitError } from "../errors";

/**
 * A scheduled callback.
 *
 * @example
 * ```ts
 * const timer = net.after(1_000, () => alice.link.configure({ loss: 1 }));
 * timer.time;     // → 1000, at net.now = 0
 * timer.cancel(); // the link stays up
 * ```
 */
export interface Timer {
  /** The virtual time it runs (or ran) at, in ms. */
  readonly time: number;
  /** Stops it from running; harmless after it ran. */
  cancel(): void;
}

interface Entry {
  readonly time: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

function before(a: Entry, b: Entry): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * A discrete-event scheduler over virtual milliseconds.
 *
 * @example
 * ```ts
 * const s = new Scheduler();
 * s.after(10, () => console.log("at", s.now)); // at 10
 * while (s.step());
 * ```
 */
export class Scheduler {
  readonly #heap: Entry[] = [];
  #seq = 0;
  #now = 0;
  #executed = 0;

  /** Current virtual time in ms; starts at 0 and never goes back. */
  get now(): number {
    return this.#now;
  }

  /** Events run so far. */
  get executed(): number {
    return this.#executed;
  }

  /**
   * Schedules `fn` at virtual time `time`. A time in the past runs at the current time, after
   * what is already due then.
   *
   * @throws {@link IcekitError} when `time` is not a finite number.
   */
  at(time: number, fn: () => void): Timer {
    if (!Number.isFinite(time)) throw new IcekitError("INVALID_ARGUMENT", `time ${String(time)} is not a finite number of ms`);
    const entry: Entry = { time: Math.max(time, this.#now), seq: this.#seq++, fn, cancelled: false };
    this.#push(entry);
    return {
      time: entry.time,
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Schedules `fn` `delay` ms from now. */
  after(delay: number, fn: () => void): Timer {
    return this.at(this.#now + Math.max(0, delay), fn);
  }

  /** Time of the next live event, or undefined when nothing is scheduled. */
  nextTime(): number | undefined {
    this.#skipCancelled();
    return this.#heap[0]?.time;
  }

  /** Runs the next live event, advancing the clock to it. False when there was none. */
  step(): boolean {
    this.#skipCancelled();
    const entry = this.#pop();
    if (entry === undefined) return false;
    this.#now = entry.time;
    this.#executed++;
    entry.fn();
    return true;
  }

  /** Moves the clock forward to `time` without running anything (the caller checked nothing is due). */
  advanceTo(time: number): void {
    if (time > this.#now) this.#now = time;
  }

  #skipCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
  }

  #push(entry: Entry): void {
    const h = this.#heap;
    let i = h.length;
    h.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = entry;
  }

  #pop(): Entry | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[child]!, last)) break;
      h[i] = h[child]!;
      i = child;
    }
    h[i] = last;
    return top;
  }
}
