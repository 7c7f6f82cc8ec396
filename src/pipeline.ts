import { Readable } from 'node:stream';
import { resolveColumns } from './columns.js';
import { coerceError, TakeoutError } from './errors.js';
import { assertTimeZone } from './formats/datetime.js';
import { getFormat } from './formats/index.js';
import { type RowsInput, type RowsSourceOptions, rowsSource } from './sources/rows.js';
import type {
  ColumnSpec,
  FormatOptions,
  FormatWriter,
  Progress,
  ResolvedColumn,
  Row,
  Source,
} from './types.js';

export interface ExportOptions extends FormatOptions {
  /** `csv`, `tsv`, `json`, `ndjson` or `xlsx`. */
  format: string;
  /** Columns to write (keys or Column objects); inferred from the first rows when absent. */
  columns?: readonly ColumnSpec[];
  /** Name of the file (used by the HTTP and storage layers; the stream itself is unnamed). */
  filename?: string;
  signal?: AbortSignal;
  /** Called with rows and bytes written, at most every `progressIntervalMs`, and once at the end. */
  onProgress?: (progress: Progress) => void;
  progressIntervalMs?: number;
  /** Fail (with `sync_limit_exceeded`) when the source yields more rows than this. */
  maxRows?: number;
}

export interface PreparedExport {
  format: FormatWriter;
  columns: ResolvedColumn[];
  /** The file's bytes. The first chunk is already produced, so setup errors surface before it. */
  stream: Readable;
}

const FORMAT_OPTION_KEYS = new Set([
  'format',
  'columns',
  'filename',
  'signal',
  'onProgress',
  'progressIntervalMs',
  'maxRows',
]);

function formatOptionsOf(options: ExportOptions): FormatOptions {
  const out: FormatOptions = {};
  for (const [k, v] of Object.entries(options)) if (!FORMAT_OPTION_KEYS.has(k) && v !== undefined) out[k] = v;
  if (out.timezone !== undefined) {
    if (typeof out.timezone !== 'string')
      throw new TakeoutError('invalid_timezone', 'timezone must be a string');
    out.timezone = assertTimeZone(out.timezone);
  }
  return out;
}

/** Wraps a source's batches: checks row shapes, counts rows, reports progress, honours abort. */
async function* observed(
  batches: AsyncIterable<Row[]>,
  shape: 'array' | 'object',
  state: { rows: number },
  options: ExportOptions,
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
    if (options.maxRows !== undefined && state.rows > options.maxRows) {
      throw new TakeoutError('sync_limit_exceeded', `The export has more than ${options.maxRows} rows`, {
        details: { limit: options.maxRows },
      });
    }
    yield batch;
    tick();
  }
}

/** Settles like `work`, or rejects with the abort reason as soon as `signal` aborts. */
function untilAborted<T>(work: Promise<T> | T, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
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

/**
 * Starts an export: resolves columns and options, runs the format writer, and waits for the
 * first chunk so that bad input fails here, before any byte is sent. Backpressure holds end
 * to end: the stream pulls from the writer, which pulls batches from the source, only when
 * the consumer reads. Aborting (signal or destroying the stream) stops the source and closes it.
 */
export async function prepareExport(source: Source, options: ExportOptions): Promise<PreparedExport> {
  const controller = new AbortController();
  const { signal } = options;
  let stream: Readable | undefined;
  // The only listener on the caller's signal; removed when the export ends, so a long-lived
  // signal (a worker's shutdown signal) does not collect one per export.
  const onAbort = () => {
    controller.abort(new TakeoutError('aborted', 'The export was aborted'));
    stream?.destroy(coerceError(controller.signal.reason));
  };
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const started = Date.now();
  const state = { rows: 0, bytes: 0 };
  let lastReport = 0;
  const interval = options.progressIntervalMs ?? 250;
  const report = (done: boolean) => {
    const now = Date.now();
    if (!options.onProgress || (!done && now - lastReport < interval)) return;
    lastReport = now;
    options.onProgress({ rows: state.rows, bytes: state.bytes, elapsedMs: now - started, done });
  };

  let iterator: AsyncIterator<Uint8Array> | undefined;
  let finished: Promise<void> | undefined;
  // Ends the export once, however it ends: stops the writer, closes the source, drops the listener.
  const finish = (): Promise<void> => {
    finished ??= (async () => {
      signal?.removeEventListener('abort', onAbort);
      if (!controller.signal.aborted) controller.abort(new TakeoutError('aborted', 'The export was stopped'));
      try {
        await iterator?.return?.();
      } finally {
        await source.close?.();
      }
    })();
    return finished;
  };
  try {
    controller.signal.throwIfAborted();
    const format = getFormat(options.format);
    const formatOptions = formatOptionsOf(options);
    // Setup may wait on the source (sampling rows to infer columns): an abort must not.
    const shape = (await untilAborted(source.rowShape?.(), controller.signal)) ?? 'object';
    const declared = await untilAborted(source.columns(), controller.signal);
    const columns = options.columns ? resolveColumns(options.columns, [], shape, declared) : declared;
    // A source may write the file itself (PostgreSQL COPY) when it can match the request.
    const raw = source.rawCsv?.(
      {
        format: format.name,
        columns,
        options: formatOptions,
        onRows: (rows) => {
          state.rows += rows;
          if (options.maxRows !== undefined && state.rows > options.maxRows) {
            throw new TakeoutError(
              'sync_limit_exceeded',
              `The export has more than ${options.maxRows} rows`,
              {
                details: { limit: options.maxRows },
              },
            );
          }
          report(false);
        },
      },
      controller.signal,
    );
    iterator = (raw ??
      format.write(
        observed(source.batches(controller.signal), shape, state, options, controller.signal, () =>
          report(false),
        ),
        { columns, rowShape: shape, options: formatOptions, signal: controller.signal },
      ))[Symbol.asyncIterator]();
    const first = await untilAborted(iterator.next(), controller.signal);
    const it = iterator;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        let next = first;
        while (!next.done) {
          state.bytes += next.value.byteLength;
          yield next.value;
          next = await it.next();
        }
        report(true);
      } catch (error) {
        throw controller.signal.aborted ? coerceError(controller.signal.reason) : coerceError(error);
      } finally {
        await finish();
      }
    }
    stream = Readable.from(chunks(), { objectMode: false });
    // A stream destroyed before its first read never runs the generator's finally.
    stream.once('close', () => void finish().catch(() => {}));
    if (controller.signal.aborted) stream.destroy(coerceError(controller.signal.reason));
    return { format, columns, stream };
  } catch (error) {
    const failure = controller.signal.aborted ? coerceError(controller.signal.reason) : coerceError(error);
    // After an abort the source may be stuck mid-read: close it in the background, never wait.
    if (controller.signal.aborted) void finish().catch(() => {});
    else await finish();
    throw failure;
  }
}

/** Streams any Source through a format. Errors (including bad input) arrive as stream errors. */
export function exportSource(source: Source, options: ExportOptions): Readable {
  // Destroying the stream aborts the export too, even while it is still being prepared.
  const internal = new AbortController();
  const { signal } = options;
  let stream: Readable | undefined;
  const onAbort = () => {
    internal.abort(signal?.reason);
    // Ends the stream even when nobody has read from it yet (the export never started).
    stream?.destroy(new TakeoutError('aborted', 'The export was aborted'));
  };
  async function* run(): AsyncGenerator<Uint8Array> {
    const prepared = await prepareExport(source, { ...options, signal: internal.signal });
    try {
      for await (const chunk of prepared.stream) yield chunk as Uint8Array;
    } finally {
      prepared.stream.destroy();
    }
  }
  const output = Readable.from(run(), { objectMode: false });
  stream = output;
  output.once('close', () => {
    signal?.removeEventListener('abort', onAbort);
    if (!internal.signal.aborted) internal.abort(new TakeoutError('aborted', 'The export was stopped'));
  });
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return output;
}

/**
 * Public API: the bytes of a file with `rows` in `format`, as a Node stream. `rows` may be
 * an array, an Iterable or an AsyncIterable of objects or arrays (arrays need `columns`),
 * or of batches of rows.
 */
export function exportRows(
  rows: RowsInput,
  options: ExportOptions & Pick<RowsSourceOptions, 'batchSize' | 'batched'>,
): Readable {
  const { columns, batchSize, batched, ...rest } = options;
  const sourceOptions: RowsSourceOptions = {};
  if (columns !== undefined) sourceOptions.columns = columns;
  if (batchSize !== undefined) sourceOptions.batchSize = batchSize;
  if (batched !== undefined) sourceOptions.batched = batched;
  return exportSource(rowsSource(rows, sourceOptions), rest);
}
