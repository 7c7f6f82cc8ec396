import { ROW_ARRAYS, sampleBatches } from '../batches.js';
import { INFER_SAMPLE_ROWS, resolveColumns } from '../columns.js';
import { TakeoutError, throwIfAborted } from '../errors.js';
import { untilAborted } from '../settle.js';
import type { ColumnSpec, ResolvedColumn, Row, Source } from '../types.js';
import { asyncBatches } from './async-batches.js';

export { sampleBatches } from '../batches.js';

/** Rows as callers hand them over: rows or batches of rows, sync or async. */
export type RowsInput =
  | Iterable<Row>
  | AsyncIterable<Row>
  | Iterable<readonly Row[]>
  | AsyncIterable<readonly Row[]>;

export interface RowsSourceOptions {
  columns?: readonly ColumnSpec[];
  /** Rows per batch when single rows are given. Default 128 (see DEFAULT_BATCH_SIZE). */
  batchSize?: number;
  /**
   * Whether the input yields batches (arrays of rows) rather than rows. Detected from the
   * first element when absent: an array whose first element is an object or array is a
   * batch. Set it when array rows may start with an object cell.
   */
  batched?: boolean;
}

/**
 * Rows gathered before they are written. Small on purpose: a batch stays alive until it is
 * written, and rows that outlive a young-generation GC are copied by it; with the reference
 * table, batches of 1000 rows cost about 20% more CPU than batches of 100-200.
 */
export const DEFAULT_BATCH_SIZE = 128;

function isRowLike(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !(v instanceof Date) && !(v instanceof Uint8Array);
}

function looksLikeBatch(first: unknown): boolean {
  return Array.isArray(first) && (first.length === 0 || isRowLike(first[0]));
}

/** What a value given as rows is, for the message that refuses it. */
function kindOf(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  return typeof v === 'object' || typeof v === 'function'
    ? 'an object that is not iterable'
    : `a ${typeof v}`;
}

/** Whether `input` can be iterated for rows: a string iterates too, but as characters. */
function isRowsInput(input: unknown): input is RowsInput {
  if ((typeof input !== 'object' && typeof input !== 'function') || input === null) return false;
  const it = input as Partial<Record<symbol, unknown>>;
  return typeof it[Symbol.iterator] === 'function' || typeof it[Symbol.asyncIterator] === 'function';
}

/** Turns any RowsInput into batches of rows, never more than a batch or two at a time. */
export async function* toBatches(
  input: RowsInput,
  options: RowsSourceOptions = {},
): AsyncGenerator<readonly Row[]> {
  // Checked here, not by the caller: bad input fails as the export's error, as bad rows do.
  if (!isRowsInput(input)) {
    throw new TakeoutError(
      'invalid_rows',
      `rows must be an array, an Iterable or an AsyncIterable of rows, not ${kindOf(input)}`,
    );
  }
  const size = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (Array.isArray(input) && options.batched !== true && !(input.length > 0 && looksLikeBatch(input[0]))) {
    for (let i = 0; i < input.length; i += size) yield input.slice(i, i + size) as Row[];
    return;
  }
  try {
    if (!(Symbol.asyncIterator in input)) {
      yield* syncBatches((input as Iterable<unknown>)[Symbol.iterator](), size, options.batched);
      return;
    }
    yield* asyncBatches(input as AsyncIterable<unknown>, size, looksLikeBatch, options.batched);
  } catch (error) {
    throw rowsFailure(error);
  }
}

/**
 * What an export fails with when the caller's rows throw (a generator whose query failed): one
 * `source_error` whenever it happens, while columns are inferred or mid-file, with the thrown
 * error as its cause. Its message stays generic: a dataset's rows reach HTTP clients, and what
 * the app's code threw (SQL, host names) is for the logs. Takeout's own errors pass as they are.
 */
export function rowsFailure(error: unknown): unknown {
  if (error instanceof TakeoutError || (error instanceof Error && error.name === 'AbortError')) return error;
  return new TakeoutError('source_error', 'The rows could not be read: they threw an error (its cause)', {
    cause: error,
  });
}

/**
 * Batches of a synchronous iterable, pulled synchronously: `for await` over a sync iterator
 * would cost a promise and a microtask per row. The iterator is closed when we stop early.
 */
function* syncBatches(
  iterator: Iterator<unknown>,
  size: number,
  batchedOption: boolean | undefined,
): Generator<readonly Row[]> {
  let finished = false;
  try {
    let next = iterator.next();
    const batched = batchedOption ?? (!next.done && looksLikeBatch(next.value));
    while (!next.done) {
      if (batched) {
        if (!Array.isArray(next.value))
          throw new TakeoutError('invalid_rows', 'a batch must be an array of rows');
        if (next.value.length > 0) yield next.value as Row[];
        next = iterator.next();
        continue;
      }
      const batch: Row[] = [];
      while (!next.done && batch.length < size) {
        batch.push(next.value as Row);
        next = iterator.next();
      }
      yield batch;
    }
    finished = true;
  } finally {
    if (!finished) iterator.return?.();
  }
}

/**
 * How long inference waits for more rows once it has some: rows that come slowly (a pipe, a
 * feed) are written within about this, inferred from what came (formats.md).
 */
const SAMPLE_PATIENCE_MS = 100;

/**
 * What TypeScript checks, checked for JavaScript callers too: a batch size of 0 would loop
 * forever, `'100'` would yield no rows at all, and columns given as a string failed deep inside.
 */
function checkRowsOptions(options: RowsSourceOptions): void {
  const { batchSize, batched, columns } = options;
  if (batchSize !== undefined && !(Number.isSafeInteger(batchSize) && batchSize >= 1)) {
    throw new TakeoutError(
      'invalid_option',
      `batchSize must be a whole number, 1 or more, not ${String(batchSize).slice(0, 40)}`,
      { details: { option: 'batchSize' } },
    );
  }
  if (batched !== undefined && typeof batched !== 'boolean') {
    throw new TakeoutError('invalid_option', 'batched must be true or false', {
      details: { option: 'batched' },
    });
  }
  if (columns !== undefined && !Array.isArray(columns)) {
    throw new TakeoutError('invalid_columns', 'columns must be an array');
  }
}

/** A Source over rows the application hands over; columns are inferred from the first rows. */
export function rowsSource(input: RowsInput, options: RowsSourceOptions = {}): Source {
  checkRowsOptions(options);
  const iterator = toBatches(input, options)[Symbol.asyncIterator]();
  const peeked: (readonly Row[])[] = [];
  let peekedDone = false;
  let sampled: Row[] | undefined;
  /** A batch was asked for and has not come (an abort may have ended the wait). */
  let inFlight = false;
  /** The batch the sample stopped waiting for (rows coming slowly): the next one to take. */
  let awaited: Promise<IteratorResult<readonly Row[]>> | undefined;

  // Columns that all declare a type need no inference: the first batch (for the rows' shape)
  // is enough, so a slow source's first rows are not held back until 100 have arrived.
  const typed =
    options.columns?.every((c) => typeof c === 'object' && c !== null && c.type !== undefined) === true;
  const sampleSize = typed ? 1 : INFER_SAMPLE_ROWS;

  async function sample(): Promise<Row[]> {
    if (sampled) return sampled;
    inFlight = true; // as in batches(): a close() now must not wait for rows that may not come
    const taken = await sampleBatches(
      iterator,
      sampleSize,
      INFER_SAMPLE_ROWS,
      ROW_ARRAYS,
      SAMPLE_PATIENCE_MS,
    );
    inFlight = false;
    peeked.push(...taken.pending);
    peekedDone = taken.done;
    awaited = taken.next;
    // Read later if nobody takes it (a failed plan): not an unhandled rejection meanwhile.
    awaited?.catch(() => {});
    sampled = taken.sample;
    return sampled;
  }

  // Worked out once from the sample, which can then go: the rows stay in their batch until
  // written, but the sample must not keep the first hundred alive for the whole export.
  let shape: Promise<'array' | 'object'> | undefined;
  let resolved: Promise<ResolvedColumn[]> | undefined;

  function rowShape(): Promise<'array' | 'object'> {
    shape ??= sample().then((rows) => {
      const first = rows[0];
      if (first === undefined) return options.columns ? 'array' : 'object';
      if (!isRowLike(first)) throw new TakeoutError('invalid_rows', 'rows must be objects or arrays');
      return Array.isArray(first) ? 'array' : 'object';
    });
    return shape;
  }

  function columns(): Promise<ResolvedColumn[]> {
    resolved ??= Promise.all([sample(), rowShape()]).then(([rows, kind]) =>
      resolveColumns(options.columns, rows, kind),
    );
    return resolved;
  }

  return {
    rowShape,
    columns,
    async *batches(signal?: AbortSignal) {
      await sample();
      // Settled (or failed) now, as the export would have them anyway; then the sample is let go.
      await Promise.allSettled([rowShape(), columns()]);
      sampled = [];
      while (peeked.length > 0) {
        throwIfAborted(signal);
        yield peeked.shift() as Row[];
      }
      if (peekedDone) return;
      while (true) {
        throwIfAborted(signal);
        // An abort ends the wait for rows that may never come (the input is the caller's).
        inFlight = true;
        const pending = awaited ?? iterator.next();
        awaited = undefined;
        const next = signal ? await untilAborted(pending, signal) : await pending;
        inFlight = false;
        if (next.done) return;
        yield next.value as Row[];
      }
    },
    async close() {
      // Still waiting for rows after an abort, or for the batch the sample stopped waiting
      // for: return() would wait for them too.
      const closing = Promise.resolve(iterator.return?.(undefined));
      if (inFlight || awaited) void closing.catch(() => {});
      else await closing;
    },
  };
}
