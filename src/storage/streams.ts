/** Small helpers shared by the drivers. */
import { TakeoutError } from '../errors.js';
import { untilAborted } from '../settle.js';

export function abortError(signal: AbortSignal): TakeoutError {
  return new TakeoutError('aborted', 'The upload was aborted', { cause: signal.reason });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * Iterates `source` but stops at once when `signal` fires, even while the source is stuck in
 * `next()`: a stalled producer must not keep an aborted upload (and its parts) alive.
 */
export async function* abortable<T>(source: AsyncIterable<T>, signal?: AbortSignal): AsyncGenerator<T> {
  if (!signal) {
    yield* source;
    return;
  }
  throwIfAborted(signal);
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      // One abort wait per next(), not a race against one abort promise kept for the whole
      // upload: each race left a reaction on that never-settling promise holding its result,
      // so every chunk of the file stayed in memory until the upload ended.
      const result = await untilAborted(iterator.next(), signal, abortError);
      if (result.done) {
        finished = true;
        return;
      }
      yield result.value;
    }
  } finally {
    // Not awaited: a producer stuck in next() would otherwise hang the caller.
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

/** Maps a failed I/O call to `storage_error`, keeping TakeoutErrors as they are. */
export async function storageIo<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof TakeoutError) throw error;
    throw new TakeoutError('storage_error', `The file store failed to ${what}`, { cause: error });
  }
}

/** Runs `worker` over `items` with at most `concurrency` calls in flight; items are pulled lazily. */
export async function forEachConcurrent<T>(
  items: AsyncIterable<T>,
  concurrency: number,
  worker: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.asyncIterator]();
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (failure === undefined) {
      const next = await iterator.next();
      if (next.done) return;
      try {
        await worker(next.value);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  // Pulling from one iterator in several lanes is safe: async generators queue next() calls.
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  if (failure !== undefined) throw failure;
}
