import type { FormatContext, ResolvedColumn } from '../types.js';
import { type ByteSink, writeField, writeInteger } from './byte-sink.js';
import { dateText, numberText, valueText } from './cells.js';
import { readExpression } from './compile.js';
import { DAY_MS, dayText, offsetText, type ZoneClock } from './datetime.js';
import { looksLikeFormula } from './formula.js';

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
type FieldWriter = (value: unknown) => void;

const NUMERIC_TEXT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
/** Characters of number and date texts: only a delimiter among them can need quotes there. */
const NUMBER_CHARS = '0123456789.-+eEInfityNa';
const DATE_CHARS = '0123456789-+:.TZ';
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

/** `.01`..`.99` without trailing zeros, as in numberText's fast path. */
function writeCents(o: ByteSink, cents: number, decimal: number): void {
  o.ensure(3);
  const b = o.buf;
  b[o.pos++] = decimal;
  const tens = (cents / 10) | 0;
  b[o.pos++] = 48 + tens;
  if (cents % 10 !== 0) b[o.pos++] = 48 + (cents % 10);
}

/** Writes a number as numberText would (same digits), with `decimal` as the separator. */
function writeNumber(o: ByteSink, v: number, decimal: number): void {
  if (Number.isInteger(v) && v <= 9007199254740991 && v >= -9007199254740991) {
    writeInteger(o, v);
    return;
  }
  const k = Math.round(v * 100);
  if (k / 100 === v && v < 1e12 && v > -1e12) {
    const abs = k < 0 ? -k : k;
    const cents = abs % 100;
    if (k < 0) {
      o.ensure(1);
      o.buf[o.pos++] = 45;
    }
    writeInteger(o, (abs - cents) / 100);
    writeCents(o, cents, decimal);
    return;
  }
  const text = numberText(v);
  const start = o.pos;
  o.ascii(text);
  if (decimal !== 46) {
    for (let p = start; p < o.pos; p++) {
      if (o.buf[p] === 46) {
        o.buf[p] = decimal;
        break;
      }
    }
  }
}

// The bytes of `YYYY-MM-DD` per day, direct-mapped like dayText's strings: copying ten bytes
// from here is cheaper than reading ten characters of a string.
const DAY_SLOTS = 4096;
const slotDay = new Float64Array(DAY_SLOTS).fill(Number.NaN);
const slotBytes = new Uint8Array(DAY_SLOTS * 10);

function writeDay(o: ByteSink, day: number): void {
  const slot = day & (DAY_SLOTS - 1);
  if (slotDay[slot] !== day) {
    const text = dayText(day);
    if (text.length !== 10) {
      o.ascii(text); // a year outside 0000-9999
      return;
    }
    for (let i = 0; i < 10; i++) slotBytes[slot * 10 + i] = text.charCodeAt(i);
    slotDay[slot] = day;
  }
  o.ensure(10);
  const b = o.buf;
  let p = o.pos;
  for (let i = slot * 10, end = i + 10; i < end; i++) b[p++] = slotBytes[i]!;
  o.pos = p;
}

/** Writes an instant as ISO 8601 in the clock's zone, as ZoneClock.isoDateTime does. */
function writeDateTime(o: ByteSink, ms: number, clock: ZoneClock): void {
  const offset = clock.offsetMinutes(ms);
  const local = ms + offset * 60000;
  const day = Math.floor(local / DAY_MS);
  writeDay(o, day);
  const msOfDay = (local - day * DAY_MS) | 0;
  const millis = msOfDay % 1000;
  const second = (msOfDay / 1000) | 0;
  const minute = (second / 60) | 0;
  const hour = (minute / 60) | 0;
  o.ensure(13);
  const b = o.buf;
  let p = o.pos;
  b[p++] = 84; // T
  b[p++] = 48 + ((hour / 10) | 0);
  b[p++] = 48 + (hour % 10);
  b[p++] = 58;
  b[p++] = 48 + (((minute % 60) / 10) | 0);
  b[p++] = 48 + (minute % 10);
  b[p++] = 58;
  b[p++] = 48 + (((second % 60) / 10) | 0);
  b[p++] = 48 + (second % 10);
  if (millis !== 0) {
    b[p++] = 46;
    b[p++] = 48 + ((millis / 100) | 0);
    b[p++] = 48 + (((millis / 10) | 0) % 10);
    b[p++] = 48 + (millis % 10);
  }
  o.pos = p;
  if (offset === 0) {
    o.ensure(1);
    o.buf[o.pos++] = 90; // Z
  } else {
    if (offset !== lastOffset) {
      lastOffset = offset;
      lastOffsetText = offsetText(offset);
    }
    o.ascii(lastOffsetText);
  }
}

// The text of the last non-zero offset written: a zone has few offsets, in long runs.
let lastOffset = 0;
let lastOffsetText = 'Z';

/**
 * The writer of one column's cells. Hot: called once per cell, so what depends only on the
 * dialect (can a number or date ever need quotes here?) is decided once, here.
 */
function fieldWriter(column: ResolvedColumn, d: Dialect, o: ByteSink): FieldWriter {
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
  return (v) => {
    if (typeof v === 'string') {
      if (v.length === 0) return;
      if (numeric && NUMERIC_TEXT.test(v)) text(decimalOut(v));
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
    } else text(valueText(v, column, clock, decimalOut));
  };
}

/**
 * Compiles `row -> bytes` for a column set: one function with direct property reads
 * (`r[3]` or `r["name"]`) calling each column's writer, then the delimiter or line ending.
 * Keys enter the code only through JSON.stringify, so no key can inject code.
 */
export function compileCsvRow(
  ctx: Pick<FormatContext, 'columns' | 'rowShape'>,
  d: Dialect,
  o: ByteSink,
): (row: unknown) => void {
  const writers = ctx.columns.map((c) => fieldWriter(c, d, o));
  const delimiter = Buffer.from(d.delimiter, 'utf8');
  const lineEnding = Buffer.from(d.lineEnding, 'utf8');
  const single = delimiter.length === 1 ? delimiter[0]! : -1;
  const separate =
    single >= 0
      ? () => {
          o.ensure(1);
          o.buf[o.pos++] = single;
        }
      : () => o.bytes(delimiter);
  const end = () => o.bytes(lineEnding);
  const calls = ctx.columns.map((column, i) => {
    const read = readExpression(column, i, ctx.rowShape);
    return `${i > 0 ? 'separate(); ' : ''}w${i}(${read});`;
  });
  const names = writers.map((_, i) => `w${i}`);
  const factory = new Function(
    ...names,
    'separate',
    'end',
    `return function row(r) { ${calls.join(' ')} end(); };`,
  );
  return factory(...writers, separate, end) as (row: unknown) => void;
}
