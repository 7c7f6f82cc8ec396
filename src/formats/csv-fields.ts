import { RawJson } from '../raw-json.js';
import type { FormatContext, ResolvedColumn } from '../types.js';
import { type ByteSink, writeField } from './byte-sink.js';
import { writeDateTime, writeNumber } from './byte-values.js';
import { dateText, numberText, scalarOf, valueText } from './cells.js';
import { columnsShape, compiledByShape, readExpression, writeBytesCode } from './compile.js';
import type { ZoneClock } from './datetime.js';
import { looksLikeFormula, NUMBER_TEXT, plainLead } from './formula.js';

/** How a CSV/TSV file is written (resolved from CsvOptions in csv.ts). */
export interface Dialect {
  delimiter: string;
  lineEnding: string;
  header: boolean;
  bom: boolean;
  decimal: ',' | '.';
  escapeFormulas: boolean;
  clock: ZoneClock;
}

/** Writes one cell's value; the compiled row calls one per column. */
export type FieldWriter = (value: unknown) => void;

/** Characters of number and date texts: only a delimiter among them can need quotes there. */
const NUMBER_CHARS = '0123456789.-+eEInfityNa';
const DATE_CHARS = '0123456789-+:.TZ';
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

/**
 * The writer of one column's cells. Hot: called once per cell, so what depends only on the
 * dialect (can a number or date ever need quotes here?) is decided once, here.
 */
export function fieldWriter(column: ResolvedColumn, d: Dialect, o: ByteSink): FieldWriter {
  const delimiter = d.delimiter.charCodeAt(0);
  const decimal = d.decimal.charCodeAt(0);
  const numeric = column.type === 'integer' || column.type === 'number' || column.type === 'decimal';
  const decimalOut = d.decimal === '.' ? (s: string) => s : (s: string) => s.replace('.', d.decimal);
  const escapeFormulas = d.escapeFormulas;
  const text = (s: string) => writeField(o, s, delimiter, 0);
  const numbersBare = d.decimal !== d.delimiter && !NUMBER_CHARS.includes(d.delimiter);
  const datesBare = !DATE_CHARS.includes(d.delimiter);
  const booleansBare = !'truefals'.includes(d.delimiter);
  const asDate = column.type === 'date';
  const clock = d.clock;
  const write: FieldWriter = (v) => {
    if (typeof v === 'string') {
      if (v.length === 0) return;
      if (numeric && NUMBER_TEXT.test(v)) text(decimalOut(v));
      else writeField(o, v, delimiter, escapeFormulas && looksLikeFormula(v) ? 39 : 0);
    } else if (typeof v === 'number') {
      if (numbersBare) writeNumber(o, v, decimal);
      else text(decimalOut(numberText(v)));
    } else if (v === null || v === undefined) {
      // empty field
    } else if (typeof v === 'boolean') {
      if (booleansBare) o.bytes(v ? TRUE : FALSE);
      else text(v ? 'true' : 'false');
    } else if (v instanceof Date) {
      const ms = v.getTime();
      if (Number.isNaN(ms)) return;
      if (!datesBare) text(dateText(v, column, clock));
      else if (asDate) o.ascii(dateText(v, column, clock));
      else writeDateTime(o, ms, clock);
    } else if (typeof v === 'bigint') text(valueText(v, column, clock, decimalOut));
    else if (v instanceof RawJson && v.isNumber)
      text(decimalOut(v.text)); // a JSON number as stored, with the locale's separator: no escape
    else {
      // An object standing for a scalar (a Decimal, a boxed number) is written as that value:
      // `-12.30` in a numeric column is a number, not text to escape.
      const scalar = v instanceof Uint8Array ? undefined : scalarOf(v as object);
      if (scalar !== undefined) return write(scalar);
      // Bytes (base64, which may start with + or /) and anything else shown as text get the
      // same formula escaping as strings.
      const shown = valueText(v, column, clock, decimalOut);
      writeField(o, shown, delimiter, escapeFormulas && looksLikeFormula(shown) ? 39 : 0);
    }
  };
  return write;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/**
 * A record of one empty field written as `""`: bare it would be a blank line, which most
 * readers (Python's csv.DictReader, pandas) skip, losing the row. Python's csv.writer does the same.
 */
export const EMPTY_FIELD = Buffer.from('""');

/** Writes what comes before the rows: the BOM and the header row, as the dialect asks. */
export function writeCsvHead(o: ByteSink, d: Dialect, columns: readonly ResolvedColumn[]): void {
  // No columns: an empty file (docs/formats.md), not a BOM or a lone line break.
  if (columns.length === 0) return;
  if (d.bom) o.bytes(BOM);
  if (!d.header) return;
  const delimiter = Buffer.from(d.delimiter, 'utf8');
  columns.forEach((c, i) => {
    if (i > 0) o.bytes(delimiter);
    const formula = d.escapeFormulas && looksLikeFormula(c.header);
    writeField(o, c.header, d.delimiter.charCodeAt(0), formula ? 39 : 0);
  });
  if (columns.length === 1 && columns[0]!.header === '') o.bytes(EMPTY_FIELD);
  o.bytes(Buffer.from(d.lineEnding, 'utf8'));
}

/**
 * The test for the value a column's type leads to expect, and the code that writes it when the
 * dialect lets it go bare: the compiled row checks it inline (each column with its own type
 * feedback, no call through a general writer to find the type), anything else goes to the
 * column's fieldWriter. The same bytes either way.
 */
function expected(column: ResolvedColumn, d: Dialect): { test: string; write: string } | undefined {
  switch (column.type) {
    case 'string':
      return {
        test: "typeof v === 'string'",
        write:
          'if (v.length !== 0) text(o, v, delimiter, escape && !plainLead(v.charCodeAt(0)) && formula(v) ? 39 : 0)',
      };
    case 'integer':
    case 'number':
      return d.decimal !== d.delimiter && !NUMBER_CHARS.includes(d.delimiter)
        ? { test: "typeof v === 'number'", write: 'num(o, v, decimal)' }
        : undefined;
    case 'datetime':
      return DATE_CHARS.includes(d.delimiter)
        ? undefined
        : { test: 'v instanceof Date', write: 'ms = v.getTime(); if (ms === ms) dateTime(o, ms, clock)' };
    case 'boolean':
      return 'truefals'.includes(d.delimiter)
        ? undefined
        : { test: "typeof v === 'boolean'", write: 'o.bytes(v ? yes : no)' };
    default:
      return undefined;
  }
}

/**
 * Compiles `row -> bytes` for a column set: one function with direct property reads
 * (`r[3]` or `r["name"]`), each column's expected type written inline, null and undefined
 * as nothing, anything else through the column's writer; then the delimiter or line ending.
 * Keys enter the code only through JSON.stringify, so no key can inject code.
 */
export function compileCsvRow(
  ctx: Pick<FormatContext, 'columns' | 'rowShape'>,
  d: Dialect,
  o: ByteSink,
): (row: unknown) => void {
  // No columns: nothing per row, as nothing is in the head (an empty file).
  if (ctx.columns.length === 0) return () => {};
  const writers = ctx.columns.map((c) => fieldWriter(c, d, o));
  const code = () => {
    const separate = writeBytesCode(Buffer.from(d.delimiter, 'utf8'));
    const statements = ctx.columns.map((column, i) => {
      const known = expected(column, d);
      const write = known ? `if (${known.test}) { ${known.write}; } else ` : '';
      return `${i > 0 ? separate : ''} v = ${readExpression(column, i, ctx.rowShape)}; ${write}if (v !== null && v !== undefined) w${i}(v);`;
    });
    const fields = statements.join('\n');
    // One column: a field that came out empty is written `""` (see EMPTY_FIELD).
    const body =
      ctx.columns.length === 1
        ? `const start = o.written(); ${fields} if (o.written() === start) { ${writeBytesCode(EMPTY_FIELD)} }`
        : fields;
    return `return function row(r) { let v; let ms; ${body} ${writeBytesCode(Buffer.from(d.lineEnding, 'utf8'))} };`;
  };
  const names = writers.map((_, i) => `w${i}`);
  // Everything the code reads: the columns, and the dialect's delimiter, decimal and line end.
  const shape = `csv ${d.delimiter}${d.decimal}${d.lineEnding} ${columnsShape(ctx.columns, ctx.rowShape)}`;
  const factory = compiledByShape<(...args: unknown[]) => (row: unknown) => void>(
    shape,
    [
      'o',
      'text',
      'num',
      'dateTime',
      'plainLead',
      'formula',
      'delimiter',
      'decimal',
      'escape',
      'clock',
      'yes',
      'no',
      ...names,
    ],
    code,
  );
  return factory(
    o,
    writeField,
    writeNumber,
    writeDateTime,
    plainLead,
    looksLikeFormula,
    d.delimiter.charCodeAt(0),
    d.decimal.charCodeAt(0),
    d.escapeFormulas,
    d.clock,
    TRUE,
    FALSE,
    ...writers,
  );
}
