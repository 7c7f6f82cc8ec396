import { dayExists } from '../formats/datetime.js';
import { jsonDocument } from '../raw-json.js';
import type { ColumnType } from '../types.js';

/**
 * SQLite's values as Takeout's: column types from declared types, and the conversions of the
 * values better-sqlite3 reads (exact integers, datetime text, JSON text) per column type.
 */

/** Declared SQLite column type -> Takeout column type, by SQLite's own affinity rules plus names. */
export function columnTypeOfDeclared(declared: string | null): ColumnType | undefined {
  if (!declared) return undefined;
  const t = declared.toUpperCase();
  if (t.includes('BOOL')) return 'boolean';
  if (t.includes('DATETIME') || t.includes('TIMESTAMP')) return 'datetime';
  if (t === 'DATE') return 'date';
  if (t.includes('JSON')) return 'json';
  if (t.includes('INT')) return 'integer';
  if (t.includes('DECIMAL') || t.includes('NUMERIC')) return 'decimal';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'number';
  return 'string';
}

const SQLITE_DATETIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$/;

/** Two decimal digits at `i` as a number, or -1. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * `YYYY-MM-DD HH:MM:SS` (or with `T`, or a final `Z`), what `datetime()` writes: read from its
 * digits, a regular expression and a date string parse per value being most of the cost of a
 * datetime column. Undefined for anything else, or a date that does not exist (the general
 * path decides those).
 */
function plainUtcDatetime(text: string): Date | undefined {
  const n = text.length;
  if (n !== 19 && !(n === 20 && text.charCodeAt(19) === 90)) return undefined;
  const sep = text.charCodeAt(10);
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || (sep !== 32 && sep !== 84)) return undefined;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const century = twoDigits(text, 0);
  const yy = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if ((century | yy | month | day | hour | minute | second) < 0) return undefined;
  const year = century * 100 + yy;
  // Only what names itself exactly: no hour 24, no year < 100 (Date.UTC reads it as 19xx).
  if (year < 100 || !dayExists(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** Whether `YYYY-MM-DD` names a day of the calendar. */
function realDay(date: string): boolean {
  return dayExists(Number(date.slice(0, 4)), Number(date.slice(5, 7)), Number(date.slice(8, 10)));
}

/** SQLite keeps datetimes as text; without a zone they are UTC (what `datetime('now')` writes). */
export function parseSqliteDatetime(text: string): Date | string {
  const plain = plainUtcDatetime(text);
  if (plain) return plain;
  const m = SQLITE_DATETIME.exec(text);
  // The date must exist: JavaScript's parser would roll February 30 into March.
  if (!m || !realDay(m[1]!)) return text;
  const d = new Date(`${m[1]}T${m[2]}${m[3] ?? 'Z'}`);
  return Number.isNaN(d.getTime()) ? text : d;
}

export type Convert = (v: unknown) => unknown;

/** Integers are read as bigint (exact); those a number holds exactly become numbers. */
export function narrowBigint(v: unknown): unknown {
  return typeof v === 'bigint' && v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

export function converterOf(type: ColumnType): Convert | undefined {
  switch (type) {
    case 'integer':
    case 'number':
    case 'decimal':
      return narrowBigint;
    case 'boolean':
      return (v) => (typeof v === 'bigint' ? v !== 0n : typeof v === 'number' ? v !== 0 : v);
    // DATE text stays text (the XLSX writer makes `YYYY-MM-DD` in a date column a date cell; a
    // dataset may retype the column as text), and a number (epoch seconds, a Julian day) stays
    // the number it is.
    case 'date':
      return narrowBigint;
    case 'datetime':
      return (v) => (typeof v === 'string' ? parseSqliteDatetime(v) : narrowBigint(v));
    case 'json':
      // SQLite checks nothing: text that is not JSON stays text.
      return (v) => {
        if (typeof v !== 'string') return v;
        try {
          return jsonDocument(v, false);
        } catch {
          return v;
        }
      };
    default:
      return (v) => (typeof v === 'bigint' ? v.toString() : v);
  }
}
