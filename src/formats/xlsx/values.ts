import { NUMBER_TEXT } from '../formula.js';
import { ascii, type XmlBytes } from './bytes.js';
import { EXCEL_MAX_CELL_CHARS } from './options.js';

/**
 * How values become Excel numbers and text (docs/xlsx.md, "Values"): exactness rules and fast,
 * exact number-to-text conversions for the hot loop.
 */

/** Excel keeps 15 significant digits; more would be silently rounded, so such values stay text. */
export const EXCEL_DIGITS = 15;
export const DAY_MS = 86_400_000;
/** Serial of 1970-01-01 in Excel's 1900 date system. */
export const UNIX_EPOCH_SERIAL = 25_569;
/** 1900-03-01: before it, Excel's serials are one less (its fictitious 1900-02-29). */
export const LEAP_BUG_SERIAL = 61;
/** 10000-01-01: Excel's dates end with 9999. */
export const END_SERIAL = 2_958_466;
export const TRUNCATION_MARKER = '…[truncated]';

/** Units of 1e-10 day per millisecond. */
const TEN_DIGITS_PER_MS = 1e10 / DAY_MS;
const DOT = ascii('.');
const MINUS = ascii('-');

/**
 * Writes `.xxxxxxxxxx`, the fraction of a day to 10 places (8.64 µs, so the millisecond reads
 * back exactly), trailing zeros dropped, nothing at midnight: digits of small integers, where
 * V8 would need hundreds of nanoseconds to turn 45587.166076388894 into text.
 */
export function writeDayFraction(out: XmlBytes, msOfDay: number): void {
  const v = Math.round(msOfDay * TEN_DIGITS_PER_MS);
  if (v === 0) return;
  // Two halves of five digits, so that dropping zeros needs no floating-point remainder.
  let high = Math.floor(v / 100_000);
  let low = v - high * 100_000;
  out.bytes(DOT);
  if (low === 0) {
    let digits = 5;
    while (high % 10 === 0) {
      high /= 10;
      digits--;
    }
    out.fixed(high, digits);
    return;
  }
  let digits = 5;
  while (low % 10 === 0) {
    low /= 10;
    digits--;
  }
  out.fixed(high, 5);
  out.fixed(low, digits);
}

const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

/**
 * Writes a number below 1e9 with up to 6 decimals (prices, amounts, rates) exactly, from two
 * integers, and returns true; false (nothing written) for other numbers. `c / 10^k === v` means
 * the k-digit decimal `c / 10^k` rounds to v (division is correctly rounded), so that text reads
 * back as v; the first k that works has a non-zero last digit.
 */
export function writeDecimal(out: XmlBytes, v: number): boolean {
  const negative = v < 0;
  const a = negative ? -v : v;
  for (let k = 1; k <= 6; k++) {
    const p = POW10[k]!;
    const c = Math.round(a * p);
    if (c / p === a) {
      const whole = Math.floor(a);
      if (negative) out.bytes(MINUS);
      out.int(whole);
      out.bytes(DOT);
      out.fixed(c - whole * p, k);
      return true;
    }
  }
  return false;
}

/** Significant digits of a decimal text: from the first to the last non-zero digit of the mantissa. */
export function significantDigits(text: string): number {
  let index = 0;
  let first = -1;
  let last = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 101 || c === 69) break; // exponent
    if (c < 48 || c > 57) continue;
    if (c !== 48) {
      if (first < 0) first = index;
      last = index;
    }
    index++;
  }
  return first < 0 ? 0 : last - first + 1;
}

/** The text of a numeric string as an exact Excel number, or undefined when it must stay text. */
export function exactNumberText(v: string): string | undefined {
  if (!NUMBER_TEXT.test(v)) return undefined;
  const digits = significantDigits(v);
  if (digits > EXCEL_DIGITS) return undefined;
  const n = Number(v);
  const abs = Math.abs(n);
  if (digits === 0) return '0';
  // Out of Excel's range (about 2.2e-308 to 1.8e308): it would become 0 or an error.
  if (!(abs >= 2.3e-308 && abs < 1e308)) return undefined;
  return String(n);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** ASCII copies of numeric strings for writePlainDecimal; a longer string gets its own. */
const scratch = new Uint8Array(64);

/**
 * A string's characters as ASCII bytes (its first `v.length`), or undefined at once for a
 * character a plain decimal cannot hold (so text in a numeric column costs no copy).
 */
export function decimalBytes(v: string): Uint8Array | undefined {
  const n = v.length;
  const b = n <= scratch.length ? scratch : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if ((c < 48 || c > 57) && c !== 46 && c !== 45) return undefined; // not a digit, `.` or `-`
    b[i] = c;
  }
  return b;
}

/** writePlainDecimalBytes for a string. */
export function writePlainDecimal(out: XmlBytes, v: string): boolean {
  const b = decimalBytes(v);
  return b !== undefined && writePlainDecimalBytes(out, b, 0, v.length);
}

/**
 * Writes a plain decimal text (`-12.50`, `.5`, `007`; ASCII bytes `b[start..end)`) as
 * exactNumberText gives it, straight into the sheet, and returns true; false (nothing written)
 * when it is not that simple: an exponent or `+`, more than 15 significant digits, or a size
 * where JavaScript writes an exponent (from 1e21, below 1e-6). No Number round trip is needed:
 * a decimal of at most 15 significant digits is exactly what its double reads back as (DBL_DIG),
 * so String(Number(v)) is the decimal without its leading and trailing zeros (PostgreSQL's
 * numeric amounts). Bytes, so a source's numeric text needs no string.
 */
export function writePlainDecimalBytes(out: XmlBytes, b: Uint8Array, start: number, end: number): boolean {
  const negative = end > start && b[start] === 45;
  let i = negative ? start + 1 : start;
  const intStart = i;
  while (i < end && isDigit(b[i]!)) i++;
  const intEnd = i;
  let fracStart = i;
  if (i < end && b[i] === 46) {
    fracStart = ++i;
    while (i < end && isDigit(b[i]!)) i++;
  }
  const fracEnd = i;
  if (i !== end || (intEnd === intStart && fracEnd === fracStart)) return false;
  let a = intStart; // first significant digit of the integer part
  while (a < intEnd && b[a] === 48) a++;
  let z = fracEnd; // end of the fraction without trailing zeros
  while (z > fracStart && b[z - 1] === 48) z--;
  const intDigits = intEnd - a;
  let significant: number;
  if (intDigits > 0 && z > fracStart) significant = intDigits + z - fracStart;
  else if (intDigits > 0) {
    let e = intEnd;
    while (b[e - 1] === 48) e--;
    significant = e - a;
  } else {
    if (z === fracStart) {
      out.ascii('0'); // zero, -0 included, is `0`
      return true;
    }
    let f = fracStart;
    while (b[f] === 48) f++;
    if (f - fracStart > 5) return false; // below 1e-6: an exponent
    significant = z - f;
  }
  if (significant > EXCEL_DIGITS || intDigits > 21) return false;
  if (negative) out.bytes(MINUS);
  if (intDigits === 0) out.ascii('0');
  else for (let k = a; k < intEnd; k++) out.byte(b[k]!);
  if (z > fracStart) {
    out.bytes(DOT);
    for (let k = fracStart; k < z; k++) out.byte(b[k]!);
  }
  return true;
}

/** Cuts text to Excel's limit with a marker, without splitting a surrogate pair. */
export function truncateText(v: string): string {
  let end = EXCEL_MAX_CELL_CHARS - TRUNCATION_MARKER.length;
  const code = v.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return v.slice(0, end) + TRUNCATION_MARKER;
}
