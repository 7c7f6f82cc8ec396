import type { XlsxSettings } from './formats/xlsx/options.js';
import type { JsonSchema } from './schema.js';

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

/** Options every format takes: request members rather than options of one format. */
export interface CommonFormatOptions {
  /** IANA time zone in which datetimes are rendered. Default `UTC`. */
  timezone?: string;
  /** BCP 47 locale; CSV writes numbers with its decimal separator (docs/formats.md). */
  locale?: string;
}

/**
 * Options as a format receives them: the common ones, and whatever its own schema lists
 * (checked at run time by `checkFormatOptions`; the built-in formats' are typed, see
 * `BuiltinFormatOptions`).
 */
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

/**
 * The options a format knows, each described by a JSON Schema: requests naming any other
 * option are refused (`invalid_option`), and the request schema embeds these.
 */
export type FormatOptionSchema = Readonly<Record<string, JsonSchema>>;

/** Plain CSV as a database can write it (PostgreSQL's COPY): what the passthrough must produce. */
export interface CsvDialect {
  /** One ASCII character (TAB allowed), never a quote. */
  delimiter: string;
  lineEnding: '\r\n' | '\n';
  header: boolean;
  bom: boolean;
  escapeFormulas: boolean;
  /** IANA zone datetimes are written in. */
  timezone: string;
}

/** Turns batches of rows into bytes. Pure: no I/O of its own. */
export interface FormatWriter {
  readonly name: string;
  readonly contentType: string;
  readonly extension: string;
  /** Every option this format understands, besides `timezone` and `locale` (request members). */
  readonly options: FormatOptionSchema;
  /**
   * When this format's bytes with `options` are exactly plain CSV in some dialect, that
   * dialect: the export core may then let a source write the file itself (COPY).
   */
  plainCsv?(options: FormatOptions): CsvDialect | undefined;
  /**
   * When this format is the single-sheet XLSX writer, its settings for `options`: the export
   * core may then let a source hand the writer rows still in its own bytes (binary COPY).
   */
  xlsxSettings?(options: FormatOptions): XlsxSettings;
  /**
   * Throws when no file with `options` can hold `rows` rows (XLSX: more sheets than a
   * workbook may have). The export core asks before the first byte, when the rows are counted.
   */
  checkRowCount?(rows: number, options: FormatOptions): void;
  write(batches: AsyncIterable<readonly Row[]>, ctx: FormatContext): AsyncIterable<Uint8Array>;
}

/** Where rows come from, in batches. */
export interface Source {
  columns(): Promise<ResolvedColumn[]>;
  /** Whether batches hold arrays in column order or objects; default `object`. */
  rowShape?(): Promise<'array' | 'object'>;
  /** Rough row count, for the sync/async decision; undefined when unknown or too costly. */
  estimate?(): Promise<number | undefined>;
  /**
   * True when `estimate()` counts rather than guesses: its answer is the number of rows, or
   * a lower bound past a cap. A format that cannot hold that many rows then refuses before
   * the first byte, instead of failing part-way through the file, and so does an export with
   * fewer `maxRows`. (A SQLite file written to meanwhile may have gained rows the export's own
   * snapshot will not see: a count a few rows high, at the edge of a limit.)
   */
  readonly estimateCounts?: boolean;
  batches(signal?: AbortSignal): AsyncIterable<Row[]>;
  /**
   * Optional fast path: the source writes the whole file as plain CSV in `request.dialect`
   * itself (PostgreSQL's COPY). The export core asks only when the format's bytes would be
   * exactly that CSV; the source returns undefined when it will not (not enabled, or the
   * dialect is beyond it), and then `batches` is used.
   */
  csvPassthrough?(request: CsvPassthroughRequest, signal: AbortSignal): AsyncIterable<Uint8Array> | undefined;
  /**
   * Optional fast path, as csvPassthrough: the whole XLSX file with `request.settings`, its
   * cells written from the source's own bytes (PostgreSQL's binary COPY). Exactly the file the
   * XLSX writer makes of `batches`; undefined when the source will not.
   */
  xlsxPassthrough?(
    request: XlsxPassthroughRequest,
    signal: AbortSignal,
  ): AsyncIterable<Uint8Array> | undefined;
  /**
   * Optional: stops a `columns()` or `estimate()` in flight at once (a query waiting on a lock),
   * which then rejects; `close()` follows once it has settled. The export core calls it when
   * the client leaves while the export is planned. Without it that step runs to its end.
   */
  interrupt?(): void;
  close?(): Promise<void>;
}

export interface CsvPassthroughRequest {
  dialect: CsvDialect;
  /** The columns to write, in order; `index` is the position in the source's declared columns. */
  columns: readonly ResolvedColumn[];
  /** Called with the number of rows in the bytes as they stream. */
  onRows(rows: number): void;
}

export interface XlsxPassthroughRequest {
  settings: XlsxSettings;
  /** The columns to write, in order; `index` is the position in the source's declared columns. */
  columns: readonly ResolvedColumn[];
  /** Called with the number of rows as they go to the writer. */
  onRows(rows: number): void;
}

export interface Progress {
  rows: number;
  bytes: number;
  /** Milliseconds since the export started. */
  elapsedMs: number;
  done: boolean;
}
