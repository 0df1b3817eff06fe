/**
 * Turning an engine's event stream into a promise, for the async helpers that run one request
 * at a time on an engine (port mapping over PCP/NAT-PMP, UPnP leases).
 *
 * @module
 */

/** What a {@link awaitEvent} picker says about one event: settle with a value, fail, or keep waiting. */
export type EventPick<T> = { ok: T } | { err: Error } | undefined;

/**
 * Installs a waiter with `setWaiter`, calls `start` (which sends the request and drains the
 * engine), and settles with the first event `pick` accepts. The waiter returns true for the
 * event it consumed, so the caller's event handler can pass the others on. `signal` rejects it
 * with its reason.
 *
 * @example
 * ```ts
 * let waiter: ((e: Ev) => boolean) | undefined;
 * const mapped = await awaitEvent<Ev, Ev>((w) => (waiter = w), () => engine.map(now), (e) => (e.type === "mapped" ? { ok: e } : undefined));
 * ```
 */
export function awaitEvent<E, T>(setWaiter: (waiter: ((e: E) => boolean) | undefined) => void, start: () => void, pick: (e: E) => EventPick<T>, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      setWaiter(undefined);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      done();
      reject(signal?.reason ?? new Error("aborted"));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    setWaiter((e) => {
      const r = pick(e);
      if (r === undefined) return false;
      done();
      if ("ok" in r) resolve(r.ok);
      else reject(r.err);
      return true;
    });
    start();
  });
}
