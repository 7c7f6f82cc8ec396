import { Readable } from 'node:stream';
import { resolveColumns } from './columns.js';
import { coerceError, TakeoutError } from './errors.js';
import { checkExportControls, type ExportOptions } from './export-options.js';
import { checkFormatOptions } from './formats/check-options.js';
import { getFormat } from './formats/index.js';
import { observed } from './observed-batches.js';
import { untilAborted, whenAborted } from './settle.js';
import { passthroughOf } from './source-passthrough.js';
import { type RowsInput, type RowsSourceOptions, rowsSource } from './sources/rows.js';
import type { FormatOptions, FormatWriter, Progress, ResolvedColumn, Source } from './types.js';

/** More rows than the caller's `maxRows` (a job's is reported as `export_too_large`). */
export function tooManyRows(maxRows: number): TakeoutError {
  return new TakeoutError('sync_limit_exceeded', `The export has more than ${maxRows} rows`, {
    details: { limit: maxRows },
  });
}

export type {
  BuiltinFormatOptions,
  ExportControls,
  ExportOptions,
  FormatOptionsOf,
} from './export-options.js';
export { checkFormatOptions } from './formats/check-options.js';

export interface PreparedExport {
  format: FormatWriter;
  columns: ResolvedColumn[];
  /** The file's bytes. The first chunk is already produced, so setup errors surface before it. */
  stream: Readable;
  /** Settles (never rejects) once the export has ended and its source is closed. */
  closed: Promise<void>;
}

/** How an export runs once its format, columns and row shape are settled. */
export interface ResolvedExport {
  format: FormatWriter;
  /** Checked against the format's option schema (`checkFormatOptions`). */
  formatOptions: FormatOptions;
  columns: ResolvedColumn[];
  rowShape: 'array' | 'object';
}

/** What every export accepts while it runs. */
export interface RunControls {
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: Progress) => void) | undefined;
  progressIntervalMs?: number | undefined;
  maxRows?: number | undefined;
  /** Handed the source's close when an abort comes before the first chunk (it is not awaited). */
  onBackgroundClose?: ((closing: Promise<void>) => void) | undefined;
}

const EXPORT_OPTION_KEYS = new Set([
  'format',
  'columns',
  'filename',
  'signal',
  'onProgress',
  'progressIntervalMs',
  'maxRows',
]);

function formatOptionsOf(format: FormatWriter, options: ExportOptions): FormatOptions {
  const picked: FormatOptions = {};
  for (const [k, v] of Object.entries(options)) if (!EXPORT_OPTION_KEYS.has(k)) picked[k] = v;
  return checkFormatOptions(format, picked);
}

/** Why an export's own signal ends with the export: shared, as an Error per export was costly. */
const STOPPED = new TakeoutError('aborted', 'The export was stopped');

/**
 * Starts an export: `resolve` settles format, options and columns (it may wait on the source,
 * never past an abort), then the format writer runs and the first chunk is awaited so that
 * bad input fails here, before any byte is sent. Backpressure holds end to end: the stream
 * pulls from the writer, which pulls batches from the source, only when the consumer reads.
 * Aborting (signal or destroying the stream) stops the source and closes it. When the format
 * is plain CSV and the source can write that CSV itself (COPY), the source's bytes are used.
 */
export async function startExport(
  source: Source,
  controls: RunControls,
  resolve: (signal: AbortSignal) => Promise<ResolvedExport>,
): Promise<PreparedExport> {
  checkExportControls(controls);
  const controller = new AbortController();
  const { signal } = controls;
  let stream: Readable | undefined;
  // The only listener on the caller's signal; removed when the export ends, so a long-lived
  // signal (a worker's shutdown signal) does not collect one per export.
  const onAbort = () => {
    // The caller's reason stays reachable as the cause (why: a timeout, a shutdown, a user).
    controller.abort(new TakeoutError('aborted', 'The export was aborted', { cause: signal?.reason }));
    stream?.destroy(coerceError(controller.signal.reason));
  };
  const stopWatching = signal ? whenAborted(signal, onAbort) : () => {};
  const started = Date.now();
  const state = { rows: 0, bytes: 0 };
  let lastReport = 0;
  const interval = controls.progressIntervalMs ?? 250;
  const report = (done: boolean) => {
    const now = Date.now();
    if (!controls.onProgress || (!done && now - lastReport < interval)) return;
    lastReport = now;
    controls.onProgress({ rows: state.rows, bytes: state.bytes, elapsedMs: now - started, done });
  };
  const countRows = (rows: number) => {
    state.rows += rows;
    if (controls.maxRows !== undefined && state.rows > controls.maxRows) throw tooManyRows(controls.maxRows);
  };

  let iterator: AsyncIterator<Uint8Array> | undefined;
  let finished: Promise<void> | undefined;
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  // Ends the export once, however it ends: stops the writer, closes the source, drops the listener.
  const finish = (): Promise<void> => {
    finished ??= (async () => {
      stopWatching();
      if (!controller.signal.aborted) controller.abort(STOPPED);
      try {
        await iterator?.return?.();
      } finally {
        await source.close?.();
      }
    })();
    finished.then(markClosed, markClosed);
    return finished;
  };
  try {
    controller.signal.throwIfAborted();
    const { format, formatOptions, columns, rowShape } = await resolve(controller.signal);
    controller.signal.throwIfAborted();
    const onRows = (rows: number) => {
      countRows(rows);
      report(false);
    };
    const passthrough = passthroughOf(source, format, formatOptions, columns, onRows, controller.signal);
    iterator = (passthrough ??
      format.write(
        observed(source.batches(controller.signal), rowShape, state, countRows, controller.signal, () =>
          report(false),
        ),
        { columns, rowShape, options: formatOptions, signal: controller.signal },
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
    // An abort destroys the stream with its reason: a consumer reading it (for await, pipe)
    // gets that through its own listeners. One that has not started yet (a storage still
    // connecting) has none: without this, that 'error' would crash the process.
    stream.on('error', () => {});
    // A stream destroyed before its first read never runs the generator's finally.
    stream.once('close', () => void finish().catch(() => {}));
    if (controller.signal.aborted) stream.destroy(coerceError(controller.signal.reason));
    return { format, columns, stream, closed };
  } catch (error) {
    const failure = controller.signal.aborted ? coerceError(controller.signal.reason) : coerceError(error);
    // After an abort the source may be stuck mid-read: it closes in the background (whether or
    // not anyone watches); a caller holding a slot for the export may wait on it, boundedly.
    const closing = controller.signal.aborted ? finish().catch(() => {}) : undefined;
    if (closing) controls.onBackgroundClose?.(closing);
    else await finish();
    throw failure;
  }
}

/** The writer of `options.format`: a FormatWriter as given, a name from the built-in formats. */
/** exportRows makes its own source. */
const NO_SOURCE = {};

/**
 * What TypeScript checks, checked for JavaScript callers too: without it a missing options
 * object or source is a TypeError from deep inside ("Cannot destructure property 'columns'").
 */
function checkArguments(name: string, options: unknown, source: unknown): void {
  if (typeof source !== 'object' || source === null || !('batches' in source || source === NO_SOURCE)) {
    throw new TakeoutError(
      'config_error',
      `${name} needs a source (rowsSource, sqliteSource, postgresSource...)`,
    );
  }
  if (typeof options !== 'object' || options === null || !('format' in options)) {
    throw new TakeoutError('config_error', `${name} needs options with a format: { format: 'csv' }`);
  }
}

function writerOf(format: string | FormatWriter): FormatWriter {
  return typeof format === 'object' && format !== null ? format : getFormat(format);
}

/** Starts an export of any Source (format, options, columns from `options`) as `startExport` does. */
export function prepareExport<F extends string | FormatWriter>(
  source: Source,
  options: ExportOptions<F>,
): Promise<PreparedExport> {
  return startExport(source, options, async (signal) => {
    const format = writerOf(options.format);
    const formatOptions = formatOptionsOf(format, options as ExportOptions);
    // Setup may wait on the source (sampling rows to infer columns): an abort must not.
    const rowShape = (await untilAborted(source.rowShape?.(), signal)) ?? 'object';
    const declared = await untilAborted(source.columns(), signal);
    const columns = options.columns ? resolveColumns(options.columns, [], rowShape, declared) : declared;
    return { format, formatOptions, columns, rowShape };
  });
}

/** Streams any Source through a format. Errors (including bad input) arrive as stream errors. */
export function exportSource<F extends string | FormatWriter>(
  source: Source,
  options: ExportOptions<F>,
): Readable {
  checkArguments('exportSource', options, source);
  checkExportControls(options);
  // Destroying the stream aborts the export too, even while it is still being prepared.
  const internal = new AbortController();
  const { signal } = options;
  let stream: Readable | undefined;
  const onAbort = () => {
    internal.abort(signal?.reason);
    // Ends the stream even when nobody has read from it yet (the export never started).
    stream?.destroy(new TakeoutError('aborted', 'The export was aborted', { cause: signal?.reason }));
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
  // Destroying waits for `run` to return, and `run` waits on the export: the export is told to
  // stop first, or a source stuck on its next rows would keep the stream from ever closing.
  const destroy = output._destroy;
  output._destroy = function (error, callback) {
    if (!internal.signal.aborted) internal.abort(new TakeoutError('aborted', 'The export was stopped'));
    destroy.call(this, error, callback);
  };
  output.once('close', () => {
    signal?.removeEventListener('abort', onAbort);
    if (!internal.signal.aborted) internal.abort(new TakeoutError('aborted', 'The export was stopped'));
  });
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return output;
}

/**
 * Public API: the bytes of a file with `rows` in `format`, as a Node stream. `rows`: an array,
 * Iterable or AsyncIterable of objects or arrays (arrays need `columns`), or of batches of rows.
 */
export function exportRows<F extends string | FormatWriter>(
  rows: RowsInput,
  options: ExportOptions<F> & Pick<RowsSourceOptions, 'batchSize' | 'batched'>,
): Readable {
  checkArguments('exportRows', options, NO_SOURCE);
  const { columns, batchSize, batched, ...rest } = options;
  const sourceOptions: RowsSourceOptions = {};
  if (columns !== undefined) sourceOptions.columns = columns;
  if (batchSize !== undefined) sourceOptions.batchSize = batchSize;
  if (batched !== undefined) sourceOptions.batched = batched;
  return exportSource(rowsSource(rows, sourceOptions), rest as ExportOptions);
}
