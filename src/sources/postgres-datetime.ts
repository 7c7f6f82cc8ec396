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

const DATE = /^(\d{4,})-(\d\d)-(\d\d)( BC)?$/;
const TIMESTAMP =
  /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?( BC)?$/;

/** Value of the decimal digits s[start..end), or -1 when one is not a digit. */
function digits(s: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Milliseconds of a fraction's digits, truncated: "123456" -> 123, "5" -> 500. */
function fractionMs(frac: string): number {
  return Number(frac.slice(0, 3).padEnd(3, '0'));
}

/** UTC milliseconds of a proleptic Gregorian date-time; years 0-99 and BC are handled. */
function utcMs(year: number, month: number, day: number, h = 0, mi = 0, sec = 0, ms = 0): number {
  if (year >= 100) return Date.UTC(year, month - 1, day, h, mi, sec, ms);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(h, mi, sec, ms);
  return d.getTime();
}

export function parseDate(s: string): Date | string {
  if (s.length === 10 && s.charCodeAt(0) !== 48) {
    const y = digits(s, 0, 4);
    const m = digits(s, 5, 7);
    const d = digits(s, 8, 10);
    if (y > 0 && m > 0 && d > 0) return new Date(Date.UTC(y, m - 1, d));
  }
  const match = DATE.exec(s);
  if (!match) return s;
  const year = match[4] ? 1 - Number(match[1]) : Number(match[1]);
  const ms = utcMs(year, Number(match[2]), Number(match[3]));
  return Number.isNaN(ms) ? s : new Date(ms);
}

/** Fast path for `YYYY-MM-DD HH:MM:SS[.f...][+HH[:MM[:SS]]]` with a 4-digit AD year. */
function fastTimestamp(s: string): number | undefined {
  if (
    s.length < 19 ||
    s.charCodeAt(0) === 48 ||
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(10) !== 32 ||
    s.charCodeAt(19) === 32
  ) {
    return undefined;
  }
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 7);
  const d = digits(s, 8, 10);
  const h = digits(s, 11, 13);
  const mi = digits(s, 14, 16);
  const sec = digits(s, 17, 19);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return undefined;
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    let end = i + 1;
    while (end < s.length && s.charCodeAt(end) >= 48 && s.charCodeAt(end) <= 57) end++;
    ms = fractionMs(s.slice(i + 1, end));
    i = end;
  }
  let offsetSec = 0;
  if (i < s.length) {
    const sign = s[i] === '+' ? 1 : s[i] === '-' ? -1 : 0;
    if (sign === 0) return undefined;
    const oh = digits(s, i + 1, i + 3);
    i += 3;
    let om = 0;
    let os = 0;
    if (s[i] === ':') {
      om = digits(s, i + 1, i + 3);
      i += 3;
    }
    if (s[i] === ':') {
      os = digits(s, i + 1, i + 3);
      i += 3;
    }
    if (oh < 0 || om < 0 || os < 0 || i !== s.length) return undefined;
    offsetSec = sign * (oh * 3600 + om * 60 + os);
  }
  return Date.UTC(y, mo - 1, d, h, mi, sec, ms) - offsetSec * 1000;
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
