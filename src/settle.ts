/** Waiting on work that may never settle: bounded waits and waits an abort cuts short. */

/** The longest an export's owner waits for its source to close once the export has ended. */
export const SOURCE_CLOSE_WAIT_MS = 5000;

/**
 * Resolves when `work` settles (true) or after `ms` (false), whichever comes first; never
 * rejects.
 */
export function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * A shutdown's grace period, which a second signal may end early. `wait(work)` resolves true
 * once `work` settles, false once `ms` pass (from that call) or `end()` is called first; never
 * rejects. `ms` past the largest timer (Infinity included) is no limit.
 */
export class Grace {
  #end: () => void = () => {};
  readonly #ended = new Promise<false>((resolve) => {
    this.#end = () => resolve(false);
  });

  constructor(private readonly ms: number) {}

  end(): void {
    this.#end();
  }

  async wait(work: Promise<unknown>): Promise<boolean> {
    const settled = work.then(
      () => true,
      () => true,
    );
    if (this.ms >= 2 ** 31) return Promise.race([settled, this.#ended]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.ms);
    });
    return Promise.race([settled, this.#ended, timeout]).finally(() => clearTimeout(timer));
  }
}

/** `work`, or a rejection (`no answer within ms`) once `ms` passes first. */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A signal's one real listener and the callbacks behind it (see whenAborted). */
interface Dispatcher {
  callbacks: Set<() => void>;
  listener: () => void;
  /** A check for an empty set is scheduled. */
  sweeping: boolean;
}

const dispatchers = new WeakMap<AbortSignal, Dispatcher>();

/**
 * Calls `callback` once when `signal` aborts (at once when it has); returns what stops that.
 * An EventTarget listener costs ~2 µs to add and remove, and a small sync export added and
 * removed a dozen on the same few signals: here each signal gets one listener, and each wait
 * is a set entry. Callbacks run in the order they were added, each whatever the others do.
 * The listener is removed once nothing has waited for a turn of the event loop: a listener
 * keeps a signal of `AbortSignal.any()` or `AbortSignal.timeout()` alive.
 */
export function whenAborted(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) {
    callback();
    return () => {};
  }
  const dispatcher = dispatchers.get(signal) ?? dispatcherOf(signal);
  // Wrapped, so that one function added twice runs twice, and removing one leaves the other.
  const entry = () => callback();
  dispatcher.callbacks.add(entry);
  return () => {
    if (!dispatcher.callbacks.delete(entry) || dispatcher.callbacks.size > 0 || dispatcher.sweeping) return;
    dispatcher.sweeping = true;
    setImmediate(() => {
      dispatcher.sweeping = false;
      if (dispatcher.callbacks.size > 0 || dispatchers.get(signal) !== dispatcher) return;
      dispatchers.delete(signal);
      signal.removeEventListener('abort', dispatcher.listener);
    }).unref();
  };
}

/**
 * The signal's one listener and its set of callbacks. Made apart from whenAborted: a closure
 * made there would share its scope, and the listener would keep the first caller's callback
 * (and whatever that holds, such as a settled promise's value) for the signal's whole life.
 */
function dispatcherOf(signal: AbortSignal): Dispatcher {
  const callbacks = new Set<() => void>();
  const listener = () => {
    dispatchers.delete(signal);
    for (const f of callbacks) {
      try {
        f();
      } catch (error) {
        // As an EventTarget does with a listener that throws: the others still run.
        process.nextTick(() => {
          throw error;
        });
      }
    }
  };
  const dispatcher: Dispatcher = { callbacks, listener, sweeping: false };
  dispatchers.set(signal, dispatcher);
  signal.addEventListener('abort', listener, { once: true });
  return dispatcher;
}

/** Callbacks waiting on `signal` through whenAborted (for tests: none may be left behind). */
export function abortWaiters(signal: AbortSignal): number {
  return dispatchers.get(signal)?.callbacks.size ?? 0;
}

/**
 * Settles like `work`, or rejects as soon as `signal` aborts: with the abort reason, or with
 * what `abortError` makes of the signal. One wait behind the signal's listener per call
 * (whenAborted), given up when it settles.
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
