import { TakeoutError } from '../../errors.js';
import type { CommonFormatOptions, FormatOptionSchema, FormatOptions } from '../../types.js';
import { type ZoneClock, zoneClock } from '../datetime.js';

/** Excel's row limit per sheet, header included. */
export const EXCEL_MAX_ROWS = 1_048_576;
/**
 * Worksheets one workbook may have. Excel sets no number (memory does), but every sheet costs
 * entries in the ZIP directory and the workbook part, so a request with a tiny
 * `maxRowsPerSheet` must not be able to make millions of them.
 */
export const MAX_SHEETS = 1_000;
/** Excel's limit on the characters of one cell. */
export const EXCEL_MAX_CELL_CHARS = 32_767;

/**
 * Deflate level of the default. Measured on the reference table (docs/xlsx.md, "Compression"):
 * level 2 costs about 2% more deflate time than level 1 for files 4.5% smaller; from level 4 on
 * zlib switches to lazy matching, and time grows much faster than the file shrinks.
 */
export const DEFAULT_LEVEL = 2;

/**
 * Options of the XLSX writer (docs/xlsx.md, "Options"); all optional. Closed: the options an
 * export with `format: 'xlsx'` type-checks against (`BuiltinFormatOptions`).
 */
export interface XlsxFormatOptions extends CommonFormatOptions {
  /** Write a header row. Default true. */
  header?: boolean;
  /** Keep text that a spreadsheet would run as a formula from running. Default true. */
  escapeFormulas?: boolean;
  /** Name of the (first) sheet; sanitised to Excel's rules. Default `Sheet1`. */
  sheetName?: string;
  /** Deflate level 0-9: 1 is fast, 9 small. Default 2, chosen by measurement (docs/xlsx.md). */
  compressionLevel?: number;
  /** Text longer than Excel's 32,767 characters: `truncate` (with a marker, default) or `error`. */
  longText?: 'truncate' | 'error';
  /** Column widths in characters by column key; win over the estimate (Column.width wins over both). */
  widths?: Record<string, number>;
  /** Freeze the header row. Default true (when there is a header). */
  freezeHeader?: boolean;
  /** Autofilter over the header and data. Default true (when there is a header). */
  autoFilter?: boolean;
  /**
   * How formula-looking text is kept from running (with `escapeFormulas`, default on):
   * `quotePrefix` (default) marks the cell as Excel's own `'`-prefixed text, value unchanged;
   * `apostrophe` puts a `'` before the text as the CSV writer does.
   */
  formulaEscape?: 'quotePrefix' | 'apostrophe';
  /** Number format of `date` columns without a `format`. Default `yyyy-mm-dd`. */
  dateFormat?: string;
  /** Number format of `datetime` columns without a `format`. Default `yyyy-mm-dd hh:mm:ss`. */
  datetimeFormat?: string;
  /** Rows per sheet before rolling over to a new one, header included; at most (and default) 1,048,576. */
  maxRowsPerSheet?: number;
}

/** The XLSX options, open to others as every format's options are (FormatOptions). */
export interface XlsxOptions extends XlsxFormatOptions, FormatOptions {}

const numberFormat = (description: string) =>
  ({ type: 'string', minLength: 1, maxLength: 255, description }) as const;

/** The options of the XLSX writer, as the request schema and its parser know them. */
export const XLSX_OPTION_SCHEMA: FormatOptionSchema = {
  sheetName: {
    type: 'string',
    maxLength: 255,
    description: "Name of the (first) sheet, sanitised to Excel's rules.",
  },
  compressionLevel: { type: 'integer', minimum: 0, maximum: 9, description: 'Deflate level; default 2.' },
  longText: { enum: ['truncate', 'error'], description: 'Text beyond 32,767 characters; default truncate.' },
  widths: {
    type: 'object',
    additionalProperties: { type: 'number', exclusiveMinimum: 0, maximum: 255 },
    description: 'Column widths in characters by column key.',
  },
  header: { type: 'boolean', description: 'Write the header row; default true.' },
  freezeHeader: { type: 'boolean', description: 'Freeze the header row; default true.' },
  autoFilter: { type: 'boolean', description: 'Autofilter over the header and data; default true.' },
  escapeFormulas: { type: 'boolean', description: 'Keep formula-looking text from running; default true.' },
  formulaEscape: { enum: ['quotePrefix', 'apostrophe'], description: 'How formulas are escaped.' },
  dateFormat: numberFormat('Number format of date columns; default yyyy-mm-dd.'),
  datetimeFormat: numberFormat('Number format of datetime columns; default yyyy-mm-dd hh:mm:ss.'),
  maxRowsPerSheet: {
    type: 'integer',
    minimum: 2,
    maximum: EXCEL_MAX_ROWS,
    description: 'Rows per sheet, header included, before rolling over to a new sheet.',
  },
};

/** Options checked and filled in. */
export interface XlsxSettings {
  sheetName: string | undefined;
  level: number;
  longText: 'truncate' | 'error';
  widths: Record<string, number>;
  header: boolean;
  freezeHeader: boolean;
  autoFilter: boolean;
  escapeFormulas: boolean;
  formulaEscape: 'quotePrefix' | 'apostrophe';
  dateFormat: string;
  datetimeFormat: string;
  maxRowsPerSheet: number;
  clock: ZoneClock;
}

function invalid(message: string): TakeoutError {
  return new TakeoutError('invalid_option', message);
}

function bool(options: FormatOptions, key: string, fallback: boolean): boolean {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw invalid(`${key} must be true or false`);
  return v;
}

function oneOf<T extends string>(options: FormatOptions, key: string, allowed: readonly T[], fallback: T): T {
  const v = options[key];
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) throw invalid(`${key} must be one of: ${allowed.join(', ')}`);
  return v as T;
}

function formatCode(options: FormatOptions, key: string, fallback: string): string {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || v.length === 0 || v.length > 255) {
    throw invalid(`${key} must be a number format of 1 to 255 characters`);
  }
  return v;
}

function integer(options: FormatOptions, key: string, min: number, max: number, fallback: number): number {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(`${key} must be an integer from ${min} to ${max}`);
  }
  return v;
}

function widthsOf(v: unknown): Record<string, number> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw invalid('widths must be an object of column key -> width');
  }
  const out: Record<string, number> = {};
  for (const [key, width] of Object.entries(v)) {
    if (typeof width !== 'number' || !(width > 0 && width <= 255)) {
      throw invalid(`widths[${JSON.stringify(key).slice(0, 60)}] must be a number from 1 to 255`);
    }
    out[key] = width;
  }
  return out;
}

export function xlsxSettings(options: FormatOptions): XlsxSettings {
  const sheetName = options.sheetName;
  if (sheetName !== undefined && typeof sheetName !== 'string') throw invalid('sheetName must be a string');
  const header = bool(options, 'header', true);
  return {
    sheetName,
    level: integer(options, 'compressionLevel', 0, 9, DEFAULT_LEVEL),
    longText: oneOf(options, 'longText', ['truncate', 'error'] as const, 'truncate'),
    widths: widthsOf(options.widths),
    header,
    freezeHeader: header && bool(options, 'freezeHeader', true),
    autoFilter: header && bool(options, 'autoFilter', true),
    escapeFormulas: bool(options, 'escapeFormulas', true),
    formulaEscape: oneOf(options, 'formulaEscape', ['quotePrefix', 'apostrophe'] as const, 'quotePrefix'),
    dateFormat: formatCode(options, 'dateFormat', 'yyyy-mm-dd'),
    datetimeFormat: formatCode(options, 'datetimeFormat', 'yyyy-mm-dd hh:mm:ss'),
    maxRowsPerSheet: integer(options, 'maxRowsPerSheet', 2, EXCEL_MAX_ROWS, EXCEL_MAX_ROWS),
    clock: zoneClock(typeof options.timezone === 'string' ? options.timezone : 'UTC'),
  };
}
