import { TakeoutError } from './errors.js';
import type { Row } from './types.js';

/**
 * Wraps a source's batches: checks row shapes, counts rows (`count` adds them to `state.rows`
 * and throws past the export's row limit), reports progress, honours abort.
 */
export async function* observed(
  batches: AsyncIterable<Row[]>,
  shape: 'array' | 'object',
  state: { readonly rows: number },
  count: (rows: number) => void,
  signal: AbortSignal,
  tick: () => void,
): AsyncGenerator<Row[]> {
  for await (const batch of batches) {
    signal.throwIfAborted();
    for (let i = 0; i < batch.length; i++) {
      const row = batch[i];
      if (typeof row !== 'object' || row === null || Array.isArray(row) !== (shape === 'array')) {
        throw new TakeoutError(
          'invalid_rows',
          `row ${state.rows + i + 1} is not ${shape === 'array' ? 'an array' : 'an object'}`,
          {
            details: { row: state.rows + i + 1 },
          },
        );
      }
    }
    count(batch.length);
    yield batch;
    tick();
  }
}
