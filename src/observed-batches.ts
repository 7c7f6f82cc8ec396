import { TakeoutError } from './errors.js';
import type { RunControls } from './pipeline.js';
import type { Row } from './types.js';

/** Wraps a source's batches: checks row shapes, counts rows, reports progress, honours abort. */
export async function* observed(
  batches: AsyncIterable<Row[]>,
  shape: 'array' | 'object',
  state: { rows: number },
  controls: RunControls,
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
    state.rows += batch.length;
    if (controls.maxRows !== undefined && state.rows > controls.maxRows) {
      throw new TakeoutError('sync_limit_exceeded', `The export has more than ${controls.maxRows} rows`, {
        details: { limit: controls.maxRows },
      });
    }
    yield batch;
    tick();
  }
}
