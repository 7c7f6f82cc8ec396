import { settledWithin } from './settle.js';
import type { Row } from './types.js';

/** How batches are read: their size and row `i` as values (arrays of rows by default). */
export interface BatchRows<B> {
  size(batch: B): number;
  row(batch: B, i: number): Row;
}

export const ROW_ARRAYS: BatchRows<readonly Row[]> = {
  size: (batch) => batch.length,
  row: (batch, i) => batch[i] as Row,
};

/**
 * Reads batches until at least `minRows` rows are in hand (or the input ends), keeping the
 * batches to replay and up to `maxSample` rows as a sample (for inference, widths ...).
 * Batches of another kind (rows still in a source's bytes) come with their `read`.
 * With `patienceMs`, the sample also ends that long after its first row came: rows that come
 * slowly are not held back until `minRows` have come. The batch still awaited is then `next`,
 * to be taken before the iterator is read again.
 */
export async function sampleBatches<B = readonly Row[]>(
  iterator: AsyncIterator<B>,
  minRows: number,
  maxSample = minRows,
  read: BatchRows<B> = ROW_ARRAYS as unknown as BatchRows<B>,
  patienceMs?: number,
): Promise<{ pending: B[]; sample: Row[]; done: boolean; next?: Promise<IteratorResult<B>> }> {
  const pending: B[] = [];
  const sample: Row[] = [];
  let seen = 0;
  let deadline = Number.POSITIVE_INFINITY;
  while (seen < minRows) {
    const nextBatch = iterator.next();
    const waited = seen > 0 && patienceMs !== undefined;
    if (waited && !(await settledWithin(nextBatch, Math.max(0, deadline - performance.now())))) {
      return { pending, sample, done: false, next: nextBatch };
    }
    const next = await nextBatch;
    if (next.done) return { pending, sample, done: true };
    pending.push(next.value);
    const size = read.size(next.value);
    if (seen === 0 && patienceMs !== undefined) deadline = performance.now() + patienceMs;
    seen += size;
    for (let i = 0; i < size && sample.length < maxSample; i++) sample.push(read.row(next.value, i));
  }
  return { pending, sample, done: false };
}
