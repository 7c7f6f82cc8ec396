import { resolveColumns } from '../columns.js';
import { sanitizeFilename } from '../content-disposition.js';
import type { Principal } from '../datasets/define.js';
import type { PostgresPools } from '../datasets/pools.js';
import { type DatasetRegistry, openDatasetSource } from '../datasets/registry.js';
import { coerceError } from '../errors.js';
import { checkFormatOptions } from '../formats/check-options.js';
import type { FormatRegistry } from '../formats/registry.js';
import type { ResolvedExport } from '../pipeline.js';
import { untilAborted } from '../settle.js';
import { rowsSource } from '../sources/rows.js';
import type { ColumnSpec, FormatOptions, FormatWriter, ResolvedColumn, Row, Source } from '../types.js';
import { pickColumns } from './columns.js';
import { downloadName } from './filename.js';
import { withJsonDatetimes } from './json-datetimes.js';
import type { ExportRequest } from './request.js';

/** What an export may be to be streamed in a response; larger ones become jobs. */
export interface ExportLimits {
  /** Rows. */
  syncMaxRows: number;
  /** Cells (rows × columns): wide rows cost as much as many rows. */
  syncMaxCells: number;
  /** Bytes of the file (estimated before, counted while streaming). */
  syncMaxBytes: number;
}

export const DEFAULT_EXPORT_LIMITS: ExportLimits = {
  syncMaxRows: 250_000,
  syncMaxCells: 10_000_000,
  syncMaxBytes: 1024 ** 3,
};

/**
 * A rough size of one cell in a file, for the byte estimate: numbers, dates and short text
 * with their separators are mostly 5 to 20 bytes. Only a guide for the sync decision: the
 * byte limit itself is enforced on the bytes actually written.
 */
export const ESTIMATED_BYTES_PER_CELL = 12;

/** What planning needs from the service: datasets, formats, limits and shared connections. */
export interface ExportContext {
  datasets: DatasetRegistry;
  formats: FormatRegistry;
  limits: ExportLimits;
  /** One pool per PostgreSQL connection string; without it each export opens its own client. */
  pools?: PostgresPools | undefined;
  /** Where a dataset's PostgreSQL `urlEnv` is read. Default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
}

export interface PlanOptions {
  /**
   * The inline rows, given apart from the request (a job's rows staged in storage, the
   * CLI's stdin): used instead of `request.rows`. Rows, never batches.
   */
  rows?: AsyncIterable<Row> | Iterable<Row> | undefined;
  /** How many `rows` there are, when known (for the estimate and the sync decision). */
  rowCount?: number | undefined;
  /** Stops planning (the client went away); the source opened so far is closed. */
  signal?: AbortSignal | undefined;
  /**
   * After an abort `planExport` rejects at once and closes the source in the background,
   * once the step it was running has settled; this is told of that close, so that a caller
   * holding a slot for the export can hold it until the source is closed.
   */
  onBackgroundClose?: ((closing: Promise<void>) => void) | undefined;
  /** Ask the source for an estimate (default true); the CLI, with no limits to decide, skips it. */
  estimate?: boolean | undefined;
  /** Count rows of dataset estimates up to this; default `limits.syncMaxRows`. */
  estimateCap?: number | undefined;
  /** For the default file name's time stamp. */
  now?: Date | undefined;
}

export interface ExportEstimate {
  /** Undefined when the source cannot tell cheaply. */
  rows: number | undefined;
  cells: number | undefined;
  bytes: number | undefined;
  /**
   * Whether `rows` was counted (rows handed over, `Source.estimateCounts`): the number of rows,
   * or a lower bound past the count's cap. Otherwise (or absent) it is a guess (PostgreSQL's planner).
   */
  counted?: boolean;
}

export interface SyncDecision {
  /** Whether the export fits the sync limits as far as the estimate tells. */
  fits: boolean;
  /** The first limit it exceeds. */
  reason?: 'rows' | 'cells' | 'bytes';
}

/** The caps that keep an export streamed in a response within the sync limits while it runs. */
export interface SyncCaps {
  /** Rows, from the rows limit and the cells limit over the RESOLVED columns. */
  maxRows: number;
  maxBytes: number;
}

/**
 * An export ready to run: the source is open, columns resolved, the file named. It owns the
 * source until `runExport` takes it; `close()` releases it when the plan is not run.
 */
export class ExportPlan implements ResolvedExport {
  #source: Source | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    source: Source,
    readonly request: ExportRequest,
    readonly format: FormatWriter,
    readonly formatOptions: FormatOptions,
    readonly columns: ResolvedColumn[],
    readonly rowShape: 'array' | 'object',
    readonly estimate: ExportEstimate,
    readonly filename: string,
    readonly sync: SyncDecision,
    readonly syncCaps: SyncCaps,
  ) {
    this.#source = source;
  }

  get contentType(): string {
    return this.format.contentType;
  }

  /** Whether the source is still the plan's (not run, not closed). */
  get open(): boolean {
    return this.#source !== undefined;
  }

  /** For `runExport`: hands the source over, once. */
  takeSource(): Source | undefined {
    const source = this.#source;
    this.#source = undefined;
    return source;
  }

  /** Releases the source when the plan is not run; idempotent, and a no-op after `runExport`. */
  close(): Promise<void> {
    const source = this.takeSource();
    if (source) this.#closing = Promise.resolve(source.close?.());
    return this.#closing ?? Promise.resolve();
  }
}

function decide(estimate: ExportEstimate, limits: ExportLimits): SyncDecision {
  if (estimate.rows !== undefined && estimate.rows > limits.syncMaxRows)
    return { fits: false, reason: 'rows' };
  if (estimate.cells !== undefined && estimate.cells > limits.syncMaxCells)
    return { fits: false, reason: 'cells' };
  if (estimate.bytes !== undefined && estimate.bytes > limits.syncMaxBytes)
    return { fits: false, reason: 'bytes' };
  return { fits: true };
}

/** The source of a request, its columns as far as the dataset says, and the file's base name. */
async function openSource(
  request: ExportRequest,
  principal: Principal,
  context: ExportContext,
  options: PlanOptions,
): Promise<{ source: Source; columns: ColumnSpec[] | undefined; rows: number | undefined; base: string }> {
  const inline = options.rows ?? request.rows;
  if (inline !== undefined) {
    // Rows, never batches: an array row whose first cell is an object is still one row.
    const source = rowsSource(withJsonDatetimes(inline, request.columns), {
      batched: false,
      ...(request.columns ? { columns: request.columns } : {}),
    });
    const rows = options.rows ? options.rowCount : request.rows?.length;
    return { source, columns: undefined, rows, base: 'export' };
  }
  const dataset = context.datasets.get(request.dataset, principal);
  const columns = pickColumns(dataset.columns, request.columns);
  const source = await openDatasetSource(dataset, request.params, principal, {
    estimateCap: options.estimateCap ?? context.limits.syncMaxRows,
    env: context.env,
    pools: context.pools,
  });
  return { source, columns, rows: undefined, base: dataset.name };
}

/**
 * Plans an export for `principal`: finds the dataset (scope bound from the principal) or
 * takes the inline rows, opens the source, resolves columns, estimates, names the file and
 * decides whether it fits the sync limits. On any failure the source is closed again.
 */
export async function planExport(
  request: ExportRequest,
  principal: Principal,
  context: ExportContext,
  options: PlanOptions = {},
): Promise<ExportPlan> {
  const signal = options.signal ?? new AbortController().signal;
  signal.throwIfAborted();
  const format = context.formats.get(request.format);
  const formatOptions = checkFormatOptions(format, {
    ...request.options,
    ...(request.timezone !== undefined ? { timezone: request.timezone } : {}),
    ...(request.locale !== undefined ? { locale: request.locale } : {}),
  });
  const opening = openSource(request, principal, context, options);
  let opened: Awaited<typeof opening>;
  try {
    opened = await untilAborted(opening, signal);
  } catch (error) {
    if (!signal.aborted) throw error;
    // Aborted while the source was opening: close it once it is open. Started here whether or
    // not the caller watches it (an argument of `f?.()` is not even evaluated without `f`).
    const closing = opening
      .then(
        (o) => o.source.close?.(),
        () => {},
      )
      .catch(() => {});
    options.onBackgroundClose?.(closing);
    throw coerceError(signal.reason);
  }
  const { source } = opened;
  // The source's step in flight when an abort comes (an estimate on its connection): the
  // source is closed once that step has settled, never under it.
  let inFlight: Promise<unknown> = Promise.resolve();
  const step = <T>(work: Promise<T> | T): Promise<T> => {
    inFlight = Promise.resolve(work);
    return untilAborted(work, signal);
  };
  try {
    const rowShape = (await step(source.rowShape?.())) ?? 'object';
    const declared = await step(source.columns());
    const columns = opened.columns ? resolveColumns(opened.columns, [], rowShape, declared) : declared;
    const rows = opened.rows ?? (options.estimate === false ? undefined : await step(source.estimate?.()));
    // Rows handed over are counted too; a guess (PostgreSQL's planner) is never a refusal.
    const counted = rows !== undefined && (opened.rows !== undefined || source.estimateCounts === true);
    if (counted) format.checkRowCount?.(rows, formatOptions);
    const cells = rows === undefined ? undefined : rows * columns.length;
    const estimate: ExportEstimate = {
      rows,
      cells,
      bytes: cells === undefined ? undefined : cells * ESTIMATED_BYTES_PER_CELL,
      counted,
    };
    const { limits } = context;
    const syncCaps: SyncCaps = {
      maxRows: Math.min(limits.syncMaxRows, Math.floor(limits.syncMaxCells / Math.max(1, columns.length))),
      maxBytes: limits.syncMaxBytes,
    };
    // A requested name that sanitises to nothing ("...", control characters) gets the default.
    const requested = request.filename === undefined ? '' : sanitizeFilename(request.filename, '');
    const filename = sanitizeFilename(
      downloadName(requested || undefined, opened.base, format.extension, options.now),
      `export.${format.extension}`,
    );
    return new ExportPlan(
      source,
      request,
      format,
      formatOptions,
      columns,
      rowShape,
      estimate,
      filename,
      decide(estimate, limits),
      syncCaps,
    );
  } catch (error) {
    // After an abort the answer does not wait: the step in flight is stopped if the source can,
    // and the source closed in the background once it has settled.
    if (signal.aborted) {
      source.interrupt?.();
      const closing = inFlight
        .catch(() => {})
        .then(() => source.close?.())
        .catch(() => {});
      options.onBackgroundClose?.(closing);
    } else await source.close?.();
    throw signal.aborted ? coerceError(signal.reason) : error;
  }
}
