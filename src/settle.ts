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
    const onAbort = () => reject(abortError(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(work).then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
