import { Alarm, RANG } from '../alarm.js';
import type { FormatContext } from '../types.js';
import type { ByteSink } from './byte-sink.js';
import { FLUSH_MS } from './compile.js';
import { rowFailure } from './row-errors.js';

/**
 * Runs a row writer over batches, yielding the sink's chunks (about CHUNK_BYTES each).
 * When batches arrive slowly, what is ready goes out every FLUSH_MS. `end` writes what
 * follows the last row (JSON's `]`). A row that throws when read fails as `invalid_rows`
 * with its number (row-errors.ts).
 */
export async function* sinkRows(
  batches: AsyncIterable<readonly unknown[]>,
  row: (r: unknown) => void,
  o: ByteSink,
  ctx: Pick<FormatContext, 'columns' | 'rowShape' | 'signal'>,
  end?: () => void,
): AsyncIterable<Uint8Array> {
  const { signal } = ctx;
  let lastYield = Date.now();
  /** Rows written before the current batch. */
  let written = 0;
  const iterator = batches[Symbol.asyncIterator]();
  // A source that stalls with rows written but not sent: they go out FLUSH_MS after the last
  // chunk, not when the next batch comes (a sync export's first byte would wait for it).
  const alarm = new Alarm();
  // Rows were written since the last chunk. Only they make an early chunk: a header alone must
  // not be the first chunk, so that what fails before the first row still fails before any byte.
  let unsent = false;
  let done = false;
  let failed = false;
  // Set while the source's next batch is awaited by nobody (its bytes sent meanwhile).
  let waiting = false;
  try {
    for (;;) {
      const next = iterator.next();
      let result: IteratorResult<readonly unknown[]> | typeof RANG;
      if (unsent) {
        result = await Promise.race([next, alarm.arm(lastYield + FLUSH_MS)]);
        // The race left a reaction holding the batch on the armed promise: not kept past it.
        if (result !== RANG) alarm.disarm();
      } else result = await next;
      if (result === RANG) {
        waiting = true;
        yield* o.take();
        unsent = false;
        lastYield = Date.now();
        result = await next;
        waiting = false;
      }
      if (result.done) {
        done = true;
        break;
      }
      const batch = result.value;
      signal?.throwIfAborted();
      for (let i = 0; i < batch.length; i++) {
        try {
          row(batch[i]);
        } catch (error) {
          throw rowFailure(error, batch[i], written + i + 1, ctx.columns, ctx.rowShape);
        }
        if (o.ready()) {
          yield* o.take();
          lastYield = Date.now();
        }
      }
      written += batch.length;
      unsent = o.pos > 0 && (unsent || batch.length > 0);
      if (unsent && Date.now() - lastYield >= FLUSH_MS) {
        yield* o.take();
        unsent = false;
        lastYield = Date.now();
      }
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    alarm.stop();
    // Stopped while the source is still on its next batch: a return() would wait for that
    // batch, maybe forever; the source is told to stop without waiting (it is aborted too).
    if (waiting) void Promise.resolve(iterator.return?.()).catch(() => {});
    else if (!done) {
      const closing = Promise.resolve(iterator.return?.());
      // After a failure, a failing cleanup must not hide why (as `for await` has it).
      await (failed ? closing.catch(() => {}) : closing);
    }
  }
  end?.();
  yield* o.take();
}
