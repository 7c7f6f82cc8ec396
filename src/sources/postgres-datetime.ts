/**
 * Parsers for PostgreSQL's ISO date/time text (DateStyle ISO), independent of the Node
 * process's time zone:
 * - date `2024-02-29` -> Date at UTC midnight of that calendar day (a `date` column renders
 *   its UTC date parts, so it never shifts with a time zone);
 * - timestamp `2024-02-29 13:05:09.123456` (no zone) -> the instant of that wall time in UTC;
 * - timestamptz `2024-02-29 13:05:09.123456+00` -> the exact instant.
 * JavaScript Dates hold milliseconds: digits beyond them (microseconds) are truncated.
 * BC years become astronomical years (1 BC = year 0). `infinity`, `-infinity` and values
 * beyond the Date range are returned as their text.
 */

import { daysFromCivil, utcMs } from '../formats/datetime.js';

const DATE = /^(\d{4,})-(\d\d)-(\d\d)( BC)?$/;
const TIMESTAMP =
  /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?( BC)?$/;

/** Value of the two digits at s[i], s[i + 1] (the shape was checked by the caller). */
function d2(s: string, i: number): number {
  return (s.charCodeAt(i) - 48) * 10 + (s.charCodeAt(i + 1) - 48);
}

/** `YYYY-MM-DD` with a 4-digit year from 1000: PostgreSQL's usual date text. */
function isPlainDate(s: string): boolean {
  return s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45 && s.charCodeAt(0) !== 48;
}

/** Milliseconds of a fraction's digits, truncated: "123456" -> 123, "5" -> 500. */
function fractionMs(frac: string): number {
  return Number(frac.slice(0, 3).padEnd(3, '0'));
}

export function parseDate(s: string): Date | string {
  if (s.length === 10 && isPlainDate(s)) {
    return new Date(daysFromCivil(d2(s, 0) * 100 + d2(s, 2), d2(s, 5), d2(s, 8)) * 86_400_000);
  }
  const match = DATE.exec(s);
  if (!match) return s;
  const year = match[4] ? 1 - Number(match[1]) : Number(match[1]);
  const ms = utcMs(year, Number(match[2]), Number(match[3]));
  return Number.isNaN(ms) ? s : new Date(ms);
}

/**
 * Fast path for `YYYY-MM-DD HH:MM:SS[.f...][+HH[:MM[:SS]]]` with a 4-digit year from 1000
 * (PostgreSQL's ISO output; other shapes, BC included, take the regular expression).
 */
function fastTimestamp(s: string): number | undefined {
  const n = s.length;
  if (
    n < 19 ||
    !isPlainDate(s) ||
    s.charCodeAt(10) !== 32 ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58
  ) {
    return undefined;
  }
  let i = 19;
  let ms = 0;
  if (i < n && s.charCodeAt(i) === 46) {
    // Fraction: milliseconds from the first three digits; later digits are truncated.
    let scale = 100;
    for (i++; i < n; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      ms += c * scale;
      scale = (scale / 10) | 0;
    }
  }
  let offsetSec = 0;
  if (i < n) {
    const c = s.charCodeAt(i);
    const sign = c === 43 ? 1 : c === 45 ? -1 : 0;
    if (sign === 0 || n < i + 3) return undefined; // e.g. ` BC`
    offsetSec = d2(s, i + 1) * 3600;
    i += 3;
    if (i < n && s.charCodeAt(i) === 58) {
      offsetSec += d2(s, i + 1) * 60;
      i += 3;
    }
    if (i < n && s.charCodeAt(i) === 58) {
      offsetSec += d2(s, i + 1);
      i += 3;
    }
    if (i !== n) return undefined;
    offsetSec *= sign;
  }
  const days = daysFromCivil(d2(s, 0) * 100 + d2(s, 2), d2(s, 5), d2(s, 8));
  return (
    days * 86_400_000 + d2(s, 11) * 3_600_000 + d2(s, 14) * 60_000 + d2(s, 17) * 1000 + ms - offsetSec * 1000
  );
}

export function parseTimestamp(s: string): Date | string {
  const fast = fastTimestamp(s);
  if (fast !== undefined) return new Date(fast);
  const m = TIMESTAMP.exec(s);
  if (!m) return s;
  const year = m[12] ? 1 - Number(m[1]) : Number(m[1]);
  let ms = utcMs(
    year,
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    m[7] ? fractionMs(m[7]) : 0,
  );
  if (m[8]) {
    const offsetSec = Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0);
    ms -= (m[8] === '-' ? -1 : 1) * offsetSec * 1000;
  }
  return Number.isNaN(ms) ? s : new Date(ms);
}
