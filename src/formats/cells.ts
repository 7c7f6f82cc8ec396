import { TakeoutError } from '../errors.js';
import { rewriteOutsideStrings } from '../json-scan.js';
import { base64, bytesOf, RawJson, rawJsonSerialized, stringifyExactly } from '../raw-json.js';
import type { ResolvedColumn } from '../types.js';
import { calendarDate, type ZoneClock } from './datetime.js';

/**
 * How values become text, shared by the text formats. The rules (docs/formats.md):
 * null/undefined -> empty; integers never in exponent form; bigint exact; booleans
 * `true`/`false`; Date -> ISO 8601 (a `date` column: the calendar date; otherwise the
 * instant in the export's time zone); bytes -> base64; objects/arrays -> JSON.
 */
export function numberText(v: number): string {
  // Beyond 2^53 String() keeps only the shortest round-trip digits (2**60 -> ...847000) and
  // from 1e21 switches to exponents; the exact decimal value of the double is what an exact
  // reader (a database, Python) should get. Every double this large is an integer.
  if (v > 9007199254740991 || v < -9007199254740991)
    return Number.isFinite(v) ? BigInt(v).toString() : String(v);
  // String(-0) is "0": a reader would get another number (1 / -0 is -Infinity).
  if (Number.isInteger(v)) return v === 0 && 1 / v < 0 ? '-0' : String(v);
  // Amounts with at most two decimals are the common case, and V8's shortest-digits
  // algorithm is slow: when k/100 is exactly v (and |v| < 1e12, where doubles are much
  // closer than 0.01), "int.ff" is the shortest text that reads back as v, i.e. String(v).
  const k = Math.round(v * 100);
  if (k / 100 === v && v < 1e12 && v > -1e12) {
    const abs = k < 0 ? -k : k;
    const cents = abs % 100;
    const whole = (abs - cents) / 100;
    return k < 0 ? `-${whole}${CENTS[cents]}` : `${whole}${CENTS[cents]}`;
  }
  return String(v);
}

/** `.01`..`.99` without trailing zeros (`.1`, not `.10`); index 0 is unused. */
const CENTS = Array.from({ length: 100 }, (_, i) => `.${`${i}`.padStart(2, '0')}`.replace(/0$/, ''));

/**
 * What JSON.stringify makes of bytes inside a value: a Buffer's `toJSON`, or a Uint8Array's
 * indices as keys (`{}` when empty). Either (or an object that merely looks like one) takes
 * the replacer, which writes the bytes as base64.
 */
const BYTES_SERIALIZED = /\{(?:"type":"Buffer","data":\[|"0":|\})/;

export function jsonText(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  const seen = rawJsonSerialized();
  try {
    // A replacer takes JSON.stringify off its fast path (2.5 times slower on a small object),
    // and only bigints, bytes and documents read from a database (an array of jsonb) need one:
    // a bigint makes the plain call throw, a document counts itself, bytes leave their mark.
    const text = JSON.stringify(v) ?? '';
    if (rawJsonSerialized() === seen && !BYTES_SERIALIZED.test(text)) return exactIntegers(text);
  } catch {
    // Written below with the replacer; a cycle fails there too.
  }
  let text: string;
  try {
    text = stringifyExactly(v) ?? '';
  } catch (cause) {
    // A cycle (or a throwing toJSON) is the caller's data, not our failure.
    throw new TakeoutError('invalid_rows', 'A cell holds a value that cannot be written as JSON', { cause });
  }
  // A document's numbers are its own exact text, not to be rewritten: rare enough (a big
  // number beside a bigint, bytes or a document) to look for documents only then.
  const exact = exactIntegers(text);
  return exact === text || holdsDocument(v) ? text : exact;
}

/** Whether JSON.stringify meets a RawJson in `v` (as a member, or what a toJSON gives). */
function holdsDocument(v: unknown): boolean {
  let found = false;
  JSON.stringify(v, function (this: Record<string, unknown>, key, x: unknown) {
    if (x instanceof RawJson || this[key] instanceof RawJson) found = true;
    return typeof x === 'bigint' ? 0 : x;
  });
  return found;
}

/**
 * Whether JSON.stringify may have rounded an integer beyond 2^53 in `text`: a run of 16 digits
 * or more, or an exponent (from 1e21 on). Hot (once per object cell): a run of 16 digits
 * covers one of the positions 15, 31, 47..., so only those are looked at (a regular
 * expression over every character cost 3-4 times as much).
 */
function mayHoldBigInteger(text: string): boolean {
  for (let i = 15; i < text.length; i += 16) {
    if (!isDigit(text.charCodeAt(i))) continue;
    let start = i;
    while (start > 0 && isDigit(text.charCodeAt(start - 1))) start--;
    let end = i + 1;
    while (end < text.length && isDigit(text.charCodeAt(end))) end++;
    if (end - start >= 16) return true;
  }
  return text.includes('e+');
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * `text` (JSON.stringify's, of doubles only) with each integer beyond 2^53 as the exact value
 * of its double, as numberText writes one in a cell of its own: JSON.stringify keeps only the
 * shortest digits that read back as the double (2**60 -> ...847000), which an exact reader
 * (Python, a database's bigint) takes for another integer.
 */
function exactIntegers(text: string): string {
  if (!mayHoldBigInteger(text)) return text;
  const rewritten = rewriteOutsideStrings(text, (i) => {
    const c = text.charCodeAt(i);
    if (c !== 45 && !isDigit(c)) return undefined;
    let end = i + 1;
    while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
    const n = Number(text.slice(i, end));
    // Every double beyond 2^53 is an integer; a finite one has an exact BigInt.
    return n > Number.MAX_SAFE_INTEGER || n < -Number.MAX_SAFE_INTEGER ? [end, BigInt(n).toString()] : end;
  });
  return rewritten ?? text;
}

function isNumberChar(c: number): boolean {
  return isDigit(c) || c === 45 || c === 43 || c === 46 || c === 69 || c === 101; // - + . E e
}

export function dateText(d: Date, column: ResolvedColumn, clock: ZoneClock): string {
  const ms = d.getTime();
  if (Number.isNaN(ms)) return '';
  return column.type === 'date' ? calendarDate(d) : clock.isoDateTime(ms);
}

/**
 * The scalar an object stands for, as JSON.stringify would write it: a boxed primitive, or
 * what its `toJSON` gives when that is no object (Decimal.js and Prisma's Decimal, Luxon's
 * and Moment's dates). A cell holds that string or number, not its quoted JSON text.
 */
export function scalarOf(v: object): string | number | boolean | bigint | undefined {
  if (v instanceof RawJson) return undefined;
  if (v instanceof String || v instanceof Number || v instanceof Boolean || v instanceof BigInt)
    return v.valueOf();
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON !== 'function') return undefined;
  let scalar: unknown;
  try {
    scalar = toJSON.call(v, '');
  } catch {
    return undefined; // jsonText says why
  }
  return typeof scalar === 'string' ||
    typeof scalar === 'number' ||
    typeof scalar === 'boolean' ||
    typeof scalar === 'bigint'
    ? scalar
    : undefined;
}

/** Text of any value; `numberOut` lets a locale swap the decimal point. */
export function valueText(
  v: unknown,
  column: ResolvedColumn,
  clock: ZoneClock,
  numberOut: (text: string) => string = identity,
): string {
  switch (typeof v) {
    case 'string':
      return column.type === 'decimal' ? numberOut(v) : v;
    case 'number':
      return numberOut(numberText(v));
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return '';
    case 'object':
      return v === null ? '' : objectText(v, column, clock, numberOut);
    default:
      return String(v);
  }
}

/** A Date, bytes, an object standing for a scalar, else its JSON text. */
function objectText(
  v: object,
  column: ResolvedColumn,
  clock: ZoneClock,
  numberOut: (text: string) => string,
): string {
  if (v instanceof Date) return dateText(v, column, clock);
  const bytes = bytesOf(v);
  if (bytes) return base64(bytes);
  const scalar = scalarOf(v);
  if (scalar !== undefined) return valueText(scalar, column, clock, numberOut);
  return jsonText(v);
}

function identity(s: string): string {
  return s;
}
