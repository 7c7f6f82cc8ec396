import { TakeoutError } from '../errors.js';
import type {
  CsvDialect,
  FormatContext,
  FormatOptionSchema,
  FormatOptions,
  FormatWriter,
  Row,
} from '../types.js';
import { ByteSink } from './byte-sink.js';
import { compileCsvRow, type Dialect, writeCsvHead } from './csv-fields.js';
import { zoneClock } from './datetime.js';
import { sinkRows } from './sink-rows.js';

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

/** `,` for decimal-comma locales (de-DE, fr-FR...), else `.` (spreadsheets know no other). */
export function decimalSeparatorOf(locale: string): ',' | '.' {
  try {
    const part = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal');
    return part?.value === ',' ? ',' : '.';
  } catch {
    throw new TakeoutError('invalid_option', `Unknown locale: ${JSON.stringify(locale).slice(0, 40)}`);
  }
}

function booleanOption(options: CsvOptions, name: 'header' | 'bom' | 'escapeFormulas'): boolean | undefined {
  const value: unknown = options[name];
  if (value === undefined || typeof value === 'boolean') return value;
  throw new TakeoutError('invalid_option', `${name} must be true or false`);
}

type CsvFormatName = 'csv' | 'tsv';

function dialectOf(options: CsvOptions, format: CsvFormatName): Dialect {
  if (options.preset !== undefined && options.preset !== 'excel' && options.preset !== 'rfc4180') {
    throw new TakeoutError('invalid_option', 'preset must be "excel" or "rfc4180"');
  }
  const excel = options.preset === 'excel';
  const decimal = options.locale ? decimalSeparatorOf(options.locale) : '.';
  if (format === 'tsv' && options.delimiter !== undefined && options.delimiter !== '\t') {
    throw new TakeoutError(
      'invalid_option',
      'A TSV file is separated by TABs: for another delimiter, use csv',
    );
  }
  const delimiter = options.delimiter ?? (format === 'tsv' ? '\t' : decimal === ',' ? ';' : ',');
  if (!isDelimiter(delimiter)) {
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

/** One character (one UTF-16 unit) other than a quote or line break: what a field delimiter may be. */
export function isDelimiter(delimiter: unknown): delimiter is string {
  return typeof delimiter === 'string' && delimiter.length === 1 && !/["\r\n\uD800-\uDFFF]/.test(delimiter);
}

/** The options of the CSV and TSV writers, as the request schema and its parser know them. */
export const CSV_OPTION_SCHEMA: FormatOptionSchema = {
  delimiter: {
    type: 'string',
    minLength: 1,
    maxLength: 1,
    not: { enum: ['"', '\r', '\n'] },
    description: 'Field delimiter: one character other than a quote or line break.',
  },
  lineEnding: { enum: ['\r\n', '\n'], description: 'Line ending; default CRLF (RFC 4180).' },
  header: { type: 'boolean', description: 'Write the header row; default true.' },
  bom: {
    type: 'boolean',
    description: 'Start with a UTF-8 byte order mark; default false (true with preset excel).',
  },
  preset: {
    enum: ['rfc4180', 'excel'],
    description: '`excel`: BOM + CRLF, with `;` for decimal-comma locales.',
  },
  escapeFormulas: { type: 'boolean', description: "Prefix formula-looking text with `'`; default true." },
};

/** The dialect when the file is plain CSV (no locale: decimal commas are the writer's job). */
function plainCsvOf(options: FormatOptions, format: CsvFormatName): CsvDialect | undefined {
  if (options.locale !== undefined) return undefined;
  const d = dialectOf(options as CsvOptions, format);
  return {
    delimiter: d.delimiter,
    lineEnding: d.lineEnding as CsvDialect['lineEnding'],
    header: d.header,
    bom: d.bom,
    escapeFormulas: d.escapeFormulas,
    timezone: typeof options.timezone === 'string' ? options.timezone : 'UTC',
  };
}

/**
 * TSV's options: CSV's, but its delimiter is TAB by name, so another one is refused rather
 * than written into a file that calls itself tab-separated.
 */
const TSV_OPTION_SCHEMA: FormatOptionSchema = {
  ...CSV_OPTION_SCHEMA,
  delimiter: { type: 'string', const: '\t', description: 'Always TAB (for another delimiter, use csv).' },
};

function createCsvWriter(name: CsvFormatName, contentType: string): FormatWriter {
  return {
    name,
    contentType,
    extension: name,
    options: name === 'tsv' ? TSV_OPTION_SCHEMA : CSV_OPTION_SCHEMA,
    plainCsv: (options) => plainCsvOf(options, name),
    write(batches: AsyncIterable<readonly Row[]>, ctx: FormatContext): AsyncIterable<Uint8Array> {
      const d = dialectOf(ctx.options as CsvOptions, name);
      const sink = new ByteSink();
      const row = compileCsvRow(ctx, d, sink);
      writeCsvHead(sink, d, ctx.columns);
      return sinkRows(batches, row, sink, ctx);
    },
  };
}

export const csvFormat: FormatWriter = createCsvWriter('csv', 'text/csv; charset=utf-8');
export const tsvFormat: FormatWriter = createCsvWriter('tsv', 'text/tab-separated-values; charset=utf-8');
