import type { Row } from './types.js';

/**
 * Reads batches until at least `minRows` rows are in hand (or the input ends), keeping the
 * batches to replay and up to `maxSample` rows as a sample (for inference, widths ...).
 */
export async function sampleBatches(
  iterator: AsyncIterator<readonly Row[]>,
  minRows: number,
  maxSample = minRows,
): Promise<{ pending: (readonly Row[])[]; sample: Row[]; done: boolean }> {
  const pending: (readonly Row[])[] = [];
  const sample: Row[] = [];
  let seen = 0;
  while (seen < minRows) {
    const next = await iterator.next();
    if (next.done) return { pending, sample, done: true };
    pending.push(next.value);
    seen += next.value.length;
    for (const row of next.value) {
      if (sample.length >= maxSample) break;
      sample.push(row);
    }
  }
  return { pending, sample, done: false };
}
