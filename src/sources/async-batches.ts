import { Alarm } from '../alarm.js';
import { TakeoutError } from '../errors.js';
import { FLUSH_MS } from '../formats/compile.js';
import type { Row } from '../types.js';

/**
 * Batches of an async input of rows (or of batches). Rows that come slowly go out as a
 * part-filled batch FLUSH_MS after the batch's first row, not when the batch is full: the
 * first rows of a slow source are not held back, and a sync export's first byte does not wait
 * for a 128th row. A pump pulls the input while the consumer waits, so a wait for the next
 * row can be cut short by the alarm without a race per row (which tripled the cost of a row);
 * it pauses whenever a batch is ready, until that batch has been written.
 */
export async function* asyncBatches(
  input: AsyncIterable<unknown>,
  size: number,
  looksLikeBatch: (item: unknown) => boolean,
  batchedOption: boolean | undefined,
): AsyncGenerator<readonly Row[]> {
  const iterator = input[Symbol.asyncIterator]();
  const ready: (readonly Row[])[] = [];
  let pending: Row[] = [];
  let since = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let stopped = false;
  /** The pump is inside the input's next(): a return() now would wait for that row. */
  let pulling = false;
  let wake: (() => void) | undefined;
  let resume: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const alarm = new Alarm();

  const pump = async () => {
    let batched = batchedOption;
    try {
      for (;;) {
        while (ready.length > 0 && !stopped) await new Promise<void>((r) => (resume = r));
        if (stopped) return;
        pulling = true;
        const next = await iterator.next();
        pulling = false;
        if (stopped) return;
        if (next.done) break;
        const item: unknown = next.value;
        batched ??= looksLikeBatch(item);
        if (batched) {
          if (!Array.isArray(item))
            throw new TakeoutError('invalid_rows', 'a batch must be an array of rows');
          if (item.length > 0) ready.push(item as Row[]);
        } else {
          if (pending.length === 0) {
            since = Date.now();
            alarm.arm(since + FLUSH_MS).then(notify);
          }
          pending.push(item as Row);
          if (pending.length >= size) {
            alarm.disarm();
            ready.push(pending);
            pending = [];
          }
        }
        if (ready.length > 0) notify();
      }
      ended = true;
    } catch (error) {
      failure = { error };
    } finally {
      pulling = false;
    }
    notify();
  };
  void pump();

  try {
    for (;;) {
      let batch: readonly Row[] | undefined;
      for (;;) {
        if (ready.length > 0) {
          batch = ready.shift();
          break;
        }
        if (failure) throw failure.error;
        if (ended || (pending.length > 0 && Date.now() >= since + FLUSH_MS)) {
          if (pending.length > 0) batch = pending;
          pending = [];
          alarm.disarm();
          break;
        }
        await new Promise<void>((r) => (wake = r));
      }
      if (batch === undefined) return;
      yield batch;
      // The pump goes on only now that the batch is written: an input may reuse its array
      // once it asks for the next one, and may run code there (a commit) that must follow it.
      const r = resume;
      resume = undefined;
      r?.();
    }
  } finally {
    stopped = true;
    alarm.stop();
    const r = resume;
    resume = undefined;
    r?.();
    if (!ended && !failure) {
      // The input is told to stop; waited for only when it is not stuck on a row.
      const closing = Promise.resolve(iterator.return?.()).catch(() => {});
      if (!pulling) await closing;
    }
  }
}
