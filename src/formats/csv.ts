import { TakeoutError } from '../errors.js';
import type { FormatContext, FormatWriter, ResolvedColumn, Row } from '../types.js';
import { dateText, looksLikeFormula, numberText, valueText } from './cells.js';
import { type CellEncoder, compileRow, encodeRows } from './compile.js';
import { type ZoneClock, zoneClock } from './datetime.js';

/** Options of the CSV and TSV writers (docs/formats.md). */
export interface CsvOptions {
  /** Field delimiter. CSV: `,` (`;` when `locale` uses a decimal comma); TSV: TAB. */
  delimiter?: string;
  /** Line ending. Default CRLF as RFC 4180 says. */
  lineEnding?: '\r\n' | '\n';
  /** Write the header row. Default true. */
  header?: boolean;
  /** Start with a UTF-8 byte order mark (Excel needs it to read UTF-8). Default false. */
  bom?: boolean;
  /**
   * A BCP 47 locale whose decimal separator numbers use, e.g. `de-DE`. When it is a comma the
   * delimiter becomes `;`, as Excel expects in those countries.
   */
  locale?: string;
  /** Preset: `excel` = BOM + CRLF (with `locale`, the `;`/decimal-comma variant). */
  preset?: 'rfc4180' | 'excel';
  /** Prefix formula-looking text with `'` (OWASP). Default true. */
  escapeFormulas?: boolean;
  timezone?: string;
}

const NUMERIC_TEXT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** `,` for decimal-comma locales (de-DE, fr-FR...), else `.` (spreadsheets know no other). */
export function decimalSeparatorOf(locale: string): ',' | '.' {
  try {
    const part = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal');
    return part?.value === ',' ? ',' : '.';
  } catch {
    throw new TakeoutError('invalid_option', `Unknown locale: ${JSON.stringify(locale).slice(0, 40)}`);
  }
}

interface Dialect {
  delimiter: string;
  lineEnding: string;
  header: boolean;
  bom: boolean;
  decimal: string;
  escapeFormulas: boolean;
  clock: ZoneClock;
}

function booleanOption(options: CsvOptions, name: 'header' | 'bom' | 'escapeFormulas'): boolean | undefined {
  const value: unknown = options[name];
  if (value === undefined || typeof value === 'boolean') return value;
  throw new TakeoutError('invalid_option', `${name} must be true or false`);
}

function dialectOf(options: CsvOptions, defaultDelimiter: string): Dialect {
  if (options.preset !== undefined && options.preset !== 'excel' && options.preset !== 'rfc4180') {
    throw new TakeoutError('invalid_option', 'preset must be "excel" or "rfc4180"');
  }
  const excel = options.preset === 'excel';
  const decimal = options.locale ? decimalSeparatorOf(options.locale) : '.';
  const delimiter =
    options.delimiter ?? (decimal === ',' && defaultDelimiter === ',' ? ';' : defaultDelimiter);
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || /["\r\n]/.test(delimiter)) {
    throw new TakeoutError(
      'invalid_option',
      'delimiter must be one character other than a quote or line break',
    );
  }
  const lineEnding = options.lineEnding ?? '\r\n';
  if (lineEnding !== '\r\n' && lineEnding !== '\n') {
    throw new TakeoutError('invalid_option', 'lineEnding must be "\\r\\n" or "\\n"');
  }
  return {
    delimiter,
    lineEnding,
    header: booleanOption(options, 'header') ?? true,
    bom: booleanOption(options, 'bom') ?? excel,
    decimal,
    escapeFormulas: booleanOption(options, 'escapeFormulas') ?? true,
    clock: zoneClock(options.timezone ?? 'UTC'),
  };
}

/** Characters of number and date texts: only a delimiter among them can need quotes there. */
const NUMBER_CHARS = '0123456789.-+eEInfityNa';
const DATE_CHARS = '0123456789-+:.TZ';

/**
 * The encoder of one column's cells. Hot: called once per cell, so the checks that depend only
 * on the dialect (does a number or date ever need quotes?) are decided here, once.
 */
function cellEncoder(column: ResolvedColumn, d: Dialect): CellEncoder {
  const special = new RegExp(
    `[${d.delimiter === '\t' ? '\\t' : d.delimiter.replace(/[\\\]^-]/g, '\\$&')}"\\r\\n]`,
  );
  const quote = (s: string): string => (special.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const numeric = column.type === 'integer' || column.type === 'number' || column.type === 'decimal';
  const decimalOut =
    d.decimal === '.' ? (s: string) => s : (s: string) => (s.includes('.') ? s.replace('.', d.decimal) : s);
  const numberCell: (v: number) => string =
    d.decimal === d.delimiter || NUMBER_CHARS.includes(d.delimiter)
      ? (v) => quote(decimalOut(numberText(v)))
      : d.decimal === '.'
        ? numberText
        : (v) => decimalOut(numberText(v));
  const dateCell: (v: Date) => string = DATE_CHARS.includes(d.delimiter)
    ? (v) => quote(dateText(v, column, d.clock))
    : (v) => dateText(v, column, d.clock);
  const trueText = quote('true');
  const falseText = quote('false');
  const escapeFormulas = d.escapeFormulas;
  return (v) => {
    if (typeof v === 'string') {
      if (v.length === 0) return v;
      if (numeric && NUMERIC_TEXT.test(v)) return quote(decimalOut(v));
      const text = escapeFormulas && looksLikeFormula(v) ? `'${v}` : v;
      return special.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    }
    if (typeof v === 'number') return numberCell(v);
    if (v === null || v === undefined) return '';
    if (typeof v === 'boolean') return v ? trueText : falseText;
    if (v instanceof Date) return dateCell(v);
    return quote(valueText(v, column, d.clock, decimalOut));
  };
}

function createCsvWriter(name: 'csv' | 'tsv', contentType: string, defaultDelimiter: string): FormatWriter {
  return {
    name,
    contentType,
    extension: name,
    write(batches: AsyncIterable<readonly Row[]>, ctx: FormatContext): AsyncIterable<Uint8Array> {
      const d = dialectOf(ctx.options as CsvOptions, defaultDelimiter);
      const between = ctx.columns.slice(1).map(() => d.delimiter);
      const row = compileRow(
        ctx,
        ctx.columns.map((c) => cellEncoder(c, d)),
        { before: '', between, after: d.lineEnding },
      );
      const headerEncoders = ctx.columns.map((c) => cellEncoder({ ...c, type: 'string' }, d));
      let prefix = d.bom ? '\uFEFF' : '';
      // No columns (no rows to infer them from): an empty file, not a lone line break.
      if (d.header && ctx.columns.length > 0) {
        prefix += ctx.columns.map((c, i) => headerEncoders[i]!(c.header)).join(d.delimiter) + d.lineEnding;
      }
      return encodeRows(batches, row, { prefix, signal: ctx.signal });
    },
  };
}

export const csvFormat: FormatWriter = createCsvWriter('csv', 'text/csv; charset=utf-8', ',');
export const tsvFormat: FormatWriter = createCsvWriter(
  'tsv',
  'text/tab-separated-values; charset=utf-8',
  '\t',
);
