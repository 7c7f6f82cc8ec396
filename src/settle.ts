/** Waiting on work that may never settle: bounded waits and waits an abort cuts short. */

/** The longest an export's owner waits for its source to close once the export has ended. */
export const SOURCE_CLOSE_WAIT_MS = 5000;

/** Resolves when `work` settles or after `ms`, whichever comes first; never rejects. */
export function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(
      () => {},
      () => {},
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The callbacks waiting on each signal, behind its one real listener (see whenAborted). */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `callback` once when `signal` aborts (at once when it has); returns what stops that.
 * An EventTarget listener costs ~2 µs to add and remove, and a small sync export added and
 * removed a dozen on the same few signals: here each signal gets one listener, and each wait
 * is a set entry. Callbacks run in the order they were added.
 */
export function whenAborted(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) {
    callback();
    return () => {};
  }
  const set = waiting.get(signal) ?? dispatcherOf(signal);
  // Wrapped, so that one function added twice runs twice, and removing one leaves the other.
  const entry = () => callback();
  set.add(entry);
  return () => {
    set.delete(entry);
  };
}

/**
 * The signal's one listener and its set of callbacks. Made apart from whenAborted: a closure
 * made there would share its scope, and the listener would keep the first caller's callback
 * (and whatever that holds, such as a settled promise's value) for the signal's whole life.
 */
function dispatcherOf(signal: AbortSignal): Set<() => void> {
  const set = new Set<() => void>();
  waiting.set(signal, set);
  signal.addEventListener(
    'abort',
    () => {
      waiting.delete(signal);
      for (const f of set) f();
    },
    { once: true },
  );
  return set;
}

/** Callbacks waiting on `signal` through whenAborted (for tests: none may be left behind). */
export function abortWaiters(signal: AbortSignal): number {
  return waiting.get(signal)?.size ?? 0;
}

/**
 * Settles like `work`, or rejects as soon as `signal` aborts: with the abort reason, or with
 * what `abortError` makes of the signal. One listener per call, removed when it settles.
 */
export function untilAborted<T>(
  work: Promise<T> | T,
  signal: AbortSignal,
  abortError: (signal: AbortSignal) => unknown = (s) => s.reason,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = whenAborted(signal, () => reject(abortError(signal)));
    Promise.resolve(work).then(
      (value) => {
        stop();
        resolve(value);
      },
      (error: unknown) => {
        stop();
        reject(error);
      },
    );
  });
}
