import type { ResolvedColumn } from '../types.js';
import { calendarDate, type ZoneClock } from './datetime.js';

/**
 * How values become text, shared by the text formats. The rules (docs/formats.md):
 * null/undefined -> empty; integers never in exponent form; bigint exact; booleans
 * `true`/`false`; Date -> ISO 8601 (a `date` column: the calendar date; otherwise the
 * instant in the export's time zone); bytes -> base64; objects/arrays -> JSON.
 */
export function numberText(v: number): string {
  if (Number.isInteger(v) && (v >= 1e21 || v <= -1e21)) return BigInt(v).toString();
  return String(v);
}

export function jsonText(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? '';
}

export function dateText(d: Date, column: ResolvedColumn, clock: ZoneClock): string {
  const ms = d.getTime();
  if (Number.isNaN(ms)) return '';
  return column.type === 'date' ? calendarDate(d) : clock.isoDateTime(ms);
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
      if (v === null) return '';
      if (v instanceof Date) return dateText(v, column, clock);
      if (v instanceof Uint8Array)
        return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
      return jsonText(v);
    default:
      return String(v);
  }
}

function identity(s: string): string {
  return s;
}

/** OWASP CSV injection: text starting with = + - @ TAB or CR would run as a formula. */
export function looksLikeFormula(s: string): boolean {
  const c = s.charCodeAt(0);
  return c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13;
}
