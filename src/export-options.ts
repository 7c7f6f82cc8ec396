/**
 * What the library's export functions take (exportRows, exportSource, prepareExport): the
 * export's own options and its format's, typed by the format's name when the code names one.
 */
import { TakeoutError } from './errors.js';
import type { CsvOptions } from './formats/csv.js';
import type { XlsxFormatOptions } from './formats/xlsx/options.js';
import type { ColumnSpec, CommonFormatOptions, FormatOptions, FormatWriter, Progress } from './types.js';

/** The options of each built-in format, by name: a misspelled option is a type error. */
export interface BuiltinFormatOptions {
  csv: CsvOptions;
  tsv: CsvOptions;
  json: CommonFormatOptions;
  ndjson: CommonFormatOptions;
  xlsx: XlsxFormatOptions;
}

/** The options of format `F`: a built-in format's own, or any for a FormatWriter or a name only known at run time. */
export type FormatOptionsOf<F> = F extends keyof BuiltinFormatOptions
  ? BuiltinFormatOptions[F]
  : FormatOptions;

/**
 * What an export of format `F` takes: the format's options and the export's own. With a
 * format named in the code (`format: 'csv'`) the options are checked by the compiler too;
 * at run time every format refuses an option it does not know (`invalid_option`).
 */
export type ExportOptions<F extends string | FormatWriter = string | FormatWriter> = ExportControls & {
  /** `csv`, `tsv`, `json`, `ndjson` or `xlsx` (built-in formats), or any FormatWriter. */
  format: F;
} & FormatOptionsOf<F>;

/** An export's own options, besides its format and the format's options. */
export interface ExportControls {
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

/** The export's own options as every export function takes them at run time (RunControls). */
export interface CheckedControls {
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: Progress) => void) | undefined;
  progressIntervalMs?: number | undefined;
  maxRows?: number | undefined;
}

/**
 * What TypeScript checks, checked for JavaScript callers too: `maxRows: -1` failed every
 * export with "more than -1 rows", `maxRows: '10'` was no limit at all, and a signal or
 * onProgress that is not one failed deep inside (a TypeError, or `internal`).
 */
export function checkExportControls(controls: CheckedControls): void {
  const { signal, onProgress, progressIntervalMs, maxRows } = controls;
  const refuse = (option: string, message: string): never => {
    throw new TakeoutError('invalid_option', message, { details: { option } });
  };
  // Infinity is no limit: servers built with unbounded sync limits pass it on.
  if (maxRows !== undefined && !((Number.isSafeInteger(maxRows) || maxRows === Infinity) && maxRows >= 0)) {
    refuse(
      'maxRows',
      `maxRows must be a whole number of rows, 0 or more (or Infinity), not ${String(maxRows).slice(0, 40)}`,
    );
  }
  if (
    progressIntervalMs !== undefined &&
    !(typeof progressIntervalMs === 'number' && progressIntervalMs >= 0)
  ) {
    refuse('progressIntervalMs', 'progressIntervalMs must be a number of milliseconds, 0 or more');
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    refuse('onProgress', 'onProgress must be a function');
  }
  // Duck-typed: a signal of another realm (a test DOM, a polyfill) is one too.
  const signalLike = signal as Partial<AbortSignal> | null | undefined;
  if (
    signal !== undefined &&
    !(typeof signalLike?.aborted === 'boolean' && typeof signalLike.addEventListener === 'function')
  ) {
    refuse('signal', 'signal must be an AbortSignal (new AbortController().signal)');
  }
}
