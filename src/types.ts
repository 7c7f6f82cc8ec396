/** A row is an object keyed by column key, or an array in column order. */
export type Row = Record<string, unknown> | readonly unknown[];

export type ColumnType =
  | 'string'
  | 'integer'
  | 'number'
  | 'decimal'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'json';

export const COLUMN_TYPES: readonly ColumnType[] = [
  'string',
  'integer',
  'number',
  'decimal',
  'boolean',
  'date',
  'datetime',
  'json',
];

export interface Column {
  /** Property name (object rows) or label (array rows). */
  key: string;
  /** Text of the header cell; defaults to `key`. */
  header?: string;
  /** How values are rendered; inferred from the first rows when absent. */
  type?: ColumnType;
  /** Format hint, e.g. an Excel number format such as `#,##0.00`. */
  format?: string;
  /** Preferred width in characters (spreadsheet formats). */
  width?: number;
}

/** A column as callers may give it: a key or a full definition. */
export type ColumnSpec = string | Column;

/** A column after resolution: header and type are always known. */
export interface ResolvedColumn extends Column {
  header: string;
  type: ColumnType;
  /** Position of the value in array rows (set when rows are arrays). */
  index?: number;
}

/** Options every format understands; formats add their own. */
export interface FormatOptions {
  /** IANA time zone in which datetimes are rendered. Default `UTC`. */
  timezone?: string;
  /** Prefix text cells that a spreadsheet would run as a formula with `'`. Default true. */
  escapeFormulas?: boolean;
  /** Write a header row (tabular formats). Default true. */
  header?: boolean;
  [option: string]: unknown;
}

export interface FormatContext {
  columns: readonly ResolvedColumn[];
  /** `array`: rows are arrays in column order; `object`: rows are keyed by column key. */
  rowShape: 'array' | 'object';
  options: FormatOptions;
  signal?: AbortSignal;
}

/** Turns batches of rows into bytes. Pure: no I/O of its own. */
export interface FormatWriter {
  readonly name: string;
  readonly contentType: string;
  readonly extension: string;
  write(batches: AsyncIterable<readonly Row[]>, ctx: FormatContext): AsyncIterable<Uint8Array>;
}

/** Where rows come from, in batches. */
export interface Source {
  columns(): Promise<ResolvedColumn[]>;
  /** Whether batches hold arrays in column order or objects; default `object`. */
  rowShape?(): Promise<'array' | 'object'>;
  /** Rough row count, for the sync/async decision; undefined when unknown or too costly. */
  estimate?(): Promise<number | undefined>;
  batches(signal?: AbortSignal): AsyncIterable<Row[]>;
  /**
   * Optional fast path: the whole file's bytes written by the source itself (PostgreSQL's
   * COPY), used instead of `batches` + the format writer when it returns an iterable.
   * Returns undefined when it cannot produce what `request` asks for. Calls `onRows` with
   * the number of rows in the bytes as they stream.
   */
  rawCsv?(request: RawCsvRequest, signal: AbortSignal): AsyncIterable<Uint8Array> | undefined;
  close?(): Promise<void>;
}

export interface RawCsvRequest {
  /** The format's registered name (`csv`, `tsv`, ...); sources decline the ones they cannot write. */
  format: string;
  /** The columns to write, in order; `index` is the position in the source's declared columns. */
  columns: readonly ResolvedColumn[];
  options: FormatOptions;
  onRows(rows: number): void;
}

export interface Progress {
  rows: number;
  bytes: number;
  /** Milliseconds since the export started. */
  elapsedMs: number;
  done: boolean;
}
