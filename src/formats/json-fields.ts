import type { FormatContext, ResolvedColumn } from '../types.js';
import { type ByteSink, isLowSurrogate, utf8 } from './byte-sink.js';
import { writeDateTime, writeDay, writeNumber } from './byte-values.js';
import { jsonText } from './cells.js';
import { columnsShape, compiledByShape, readExpression, writeBytesCode } from './compile.js';
import { DAY_MS, type ZoneClock } from './datetime.js';

/**
 * JSON values written as UTF-8 bytes in place (the JSON and NDJSON writers), as csv-fields.ts
 * does for CSV: no string per cell or per row, so nothing for the garbage collector and no
 * second pass to encode. The value rules are in docs/formats.md.
 */

/** Per ASCII character: 0 = as is; `u` = `\u00XX`; else the letter written after a backslash. */
const ESCAPE = new Uint8Array(128);
for (let c = 0; c < 32; c++) ESCAPE[c] = 117;
ESCAPE[8] = 98; // \b
ESCAPE[9] = 116; // \t
ESCAPE[10] = 110; // \n
ESCAPE[12] = 102; // \f
ESCAPE[13] = 114; // \r
ESCAPE[34] = 34; // \"
ESCAPE[92] = 92; // \\
const HEX = Buffer.from('0123456789abcdef');

/** Above this length a native scan and copy beat a loop over characters, despite the call. */
const LONG_TEXT = 64;
/** What makes long text take JSON.stringify: characters to escape, and any surrogate. */
const NOT_PLAIN = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Writes `\uXXXX` (lowercase hex, as JSON.stringify does) at b[p]. */
function writeUnicodeEscape(b: Buffer, p: number, c: number): number {
  b[p++] = 92;
  b[p++] = 117;
  b[p++] = HEX[c >> 12]!;
  b[p++] = HEX[(c >> 8) & 15]!;
  b[p++] = HEX[(c >> 4) & 15]!;
  b[p++] = HEX[c & 15]!;
  return p;
}

/**
 * Writes `s` as a JSON string, byte for byte what JSON.stringify(s) gives: `"` and `\` and
 * control characters escaped (`\n`, `\u0001` ...), everything else as UTF-8, and an unpaired
 * UTF-16 surrogate as its `\uXXXX` escape (well-formed JSON.stringify, ES2019), which JSON.parse
 * reads back as the same lone surrogate: the text survives exactly, and the output is valid UTF-8.
 */
export function writeJsonString(o: ByteSink, s: string): void {
  const n = s.length;
  if (n > LONG_TEXT) {
    writeLongJsonString(o, s);
    return;
  }
  o.ensure(6 * n + 2); // \uXXXX is the longest form of a UTF-16 unit
  const b = o.buf;
  let p = o.pos;
  b[p++] = 34;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // Printable ASCII other than a quote or backslash is written as it is: two comparisons per
    // character in the common case instead of a table read.
    if (c > 34 ? c < 0x80 && c !== 92 : c > 31 && c !== 34) b[p++] = c;
    else if (c < 0x80) {
      const e = ESCAPE[c]!;
      if (e === 0) b[p++] = c;
      else if (e === 117) p = writeUnicodeEscape(b, p, c);
      else {
        b[p++] = 92;
        b[p++] = e;
      }
    } else {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c >= 0xd800 && c <= 0xdfff && !(c <= 0xdbff && isLowSurrogate(next))) {
        p = writeUnicodeEscape(b, p, c); // unpaired
      } else {
        p = utf8(b, p, c, next);
        if (c >= 0xd800 && c <= 0xdbff) i++; // the pair's low half is written
      }
    }
  }
  b[p++] = 34;
  o.pos = p;
}

/** writeJsonString for long text: the same bytes, by a regular expression and Buffer#write. */
function writeLongJsonString(o: ByteSink, s: string): void {
  if (NOT_PLAIN.test(s)) {
    writeJsonText(o, JSON.stringify(s));
    return;
  }
  o.ensure(3 * s.length + 2);
  o.buf[o.pos++] = 34;
  o.pos += o.buf.write(s, o.pos, 'utf8');
  o.buf[o.pos++] = 34;
}

/** Writes JSON text made by JSON.stringify (well-formed: no lone surrogates) as UTF-8. */
function writeJsonText(o: ByteSink, text: string): void {
  o.ensure(3 * text.length);
  o.pos += o.buf.write(text, o.pos, 'utf8');
}

const NULL = Buffer.from('null');
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function quote(o: ByteSink): void {
  o.ensure(1);
  o.buf[o.pos++] = 34;
}

/** Writes one value of one column; the compiled row calls one per column. */
type ValueWriter = (value: unknown) => void;

function valueWriter(column: ResolvedColumn, clock: ZoneClock, o: ByteSink): ValueWriter {
  const calendar = column.type === 'date';
  return (v) => {
    switch (typeof v) {
      case 'string':
        writeJsonString(o, v);
        return;
      case 'number':
        if (v - v === 0) writeNumber(o, v, 46);
        else o.bytes(NULL); // NaN and infinities: JSON has no such numbers
        return;
      case 'boolean':
        o.bytes(v ? TRUE : FALSE);
        return;
      case 'undefined':
        o.bytes(NULL);
        return;
      case 'bigint':
        // Beyond 2^53 as a string of the exact digits: JavaScript readers would round a number.
        if (v >= -MAX_SAFE && v <= MAX_SAFE) o.ascii(v.toString());
        else {
          quote(o);
          o.ascii(v.toString());
          quote(o);
        }
        return;
      case 'object': {
        if (v === null) o.bytes(NULL);
        else if (v instanceof Date) writeDateValue(o, v, calendar, clock);
        else if (v instanceof Uint8Array) {
          quote(o);
          o.ascii(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
          quote(o);
        } else {
          const text = jsonText(v);
          if (text === '') o.bytes(NULL);
          else writeJsonText(o, text);
        }
        return;
      }
      default:
        writeJsonString(o, String(v));
    }
  };
}

/** Writes a Date as a JSON string (`date` columns: the calendar date), or null when invalid. */
function writeDateValue(o: ByteSink, d: Date, calendar: boolean, clock: ZoneClock): void {
  const ms = d.getTime();
  if (Number.isNaN(ms)) {
    o.bytes(NULL);
    return;
  }
  quote(o);
  if (calendar) writeDay(o, Math.floor(ms / DAY_MS));
  else writeDateTime(o, ms, clock);
  quote(o);
}

/**
 * The test for the value a column's type leads to expect, and the call that writes it: the
 * compiled row checks it inline (each column with its own type feedback, no call per cell
 * to find the type) and hands anything else to the column's general writer.
 */
function expected(column: ResolvedColumn): { test: string; write: string } | undefined {
  switch (column.type) {
    case 'string':
    case 'decimal':
      return { test: "typeof v === 'string'", write: 'str(o, v)' };
    case 'integer':
    case 'number':
      return { test: "typeof v === 'number' && v - v === 0", write: 'num(o, v, 46)' };
    case 'boolean':
      return { test: "typeof v === 'boolean'", write: 'o.bytes(v ? yes : no)' };
    case 'date':
    case 'datetime':
      return { test: 'v instanceof Date', write: `day(o, v, ${column.type === 'date'}, clock)` };
    default:
      return undefined;
  }
}

/**
 * Compiles `row -> bytes` for a column set: `{"key":value,...}` then `after`, with direct
 * property reads (`r[3]` or `r["name"]`), the expected type of each column written inline and
 * null written inline. Keys enter the code only through JSON.stringify, so no key can inject
 * code; their bytes are encoded once.
 */
export function compileJsonRow(
  ctx: Pick<FormatContext, 'columns' | 'rowShape'>,
  clock: ZoneClock,
  o: ByteSink,
  after: string,
): (row: unknown) => void {
  const writers = ctx.columns.map((c) => valueWriter(c, clock, o));
  const end = Buffer.from(`${ctx.columns.length === 0 ? '{' : ''}}${after}`);
  const code = () => {
    const keys = ctx.columns.map((c, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(c.key)}:`));
    const statements = ctx.columns.map((column, i) => {
      const known = expected(column);
      const write = known ? `if (${known.test}) ${known.write}; else ` : '';
      return `${writeBytesCode(keys[i]!)} v = ${readExpression(column, i, ctx.rowShape)}; ${write}if (v === null) o.bytes(nil); else w${i}(v);`;
    });
    return `return function row(r) { let v; ${statements.join('\n')} o.bytes(end); };`;
  };
  const names = ctx.columns.map((_, i) => `w${i}`);
  // The code holds the keys' bytes and reads each column by its type; `end` is an argument.
  const factory = compiledByShape<(...args: unknown[]) => (row: unknown) => void>(
    `json ${columnsShape(ctx.columns, ctx.rowShape)}`,
    ['o', 'end', 'str', 'num', 'day', 'clock', 'yes', 'no', 'nil', ...names],
    code,
  );
  return factory(o, end, writeJsonString, writeNumber, writeDateValue, clock, TRUE, FALSE, NULL, ...writers);
}
