import { TakeoutError } from '../../errors.js';
import type { ResolvedColumn } from '../../types.js';
import { dateText, jsonText, looksLikeFormula, numberText } from '../cells.js';
import { EXCEL_MAX_CELL_CHARS, type XlsxSettings } from './options.js';
import { STYLE_HEADER, STYLE_HEADER_QUOTED, STYLE_QUOTED, type StyleSheet } from './styles.js';
import { cellText, NEEDS_ESCAPE, needsPreserve } from './xml.js';

/**
 * Writes one value as a `<c>` element without its reference (`<c s="4"><v>45352.5</v></c>`; the
 * row writer adds `r` where needed), or '' for an empty cell. `row` is the row number as text.
 */
export type CellWriter = (value: unknown, row: string) => string;

/** Excel keeps 15 significant digits; more would be silently rounded, so such values stay text. */
const EXCEL_DIGITS = 15;
const NUMERIC_TEXT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const DAY_MS = 86_400_000;
/** Serial of 1970-01-01 in Excel's 1900 date system. */
const UNIX_EPOCH_SERIAL = 25_569;
/** 1900-03-01: before it, Excel's serials are one less (its fictitious 1900-02-29). */
const LEAP_BUG_SERIAL = 61;
/** 10000-01-01: Excel's dates end with 9999. */
const END_SERIAL = 2_958_466;
export const TRUNCATION_MARKER = '…[truncated]';

/** First characters that need no look: not a formula start (= + - @ TAB CR) nor white space. */
const EDGE_PLAIN = new Uint8Array(128).fill(1);
for (const c of [9, 10, 13, 32, 43, 45, 61, 64]) EDGE_PLAIN[c] = 0;
const EDGE_SPACE = (c: number): boolean => c === 32 || c === 9 || c === 10;

/** Units of 1e-10 day per millisecond. */
const TEN_DIGITS_PER_MS = 1e10 / DAY_MS;

/**
 * `.xxxxxxxxxx`: the fraction of a day to 10 places (8.64 µs, so the millisecond reads back
 * exactly), trailing zeros dropped, '' at midnight. Built from small integers: turning a full
 * double such as 45587.166076388894 into text is the slowest step of a date cell in V8.
 */
export function dayFractionText(msOfDay: number): string {
  let v = Math.round(msOfDay * TEN_DIGITS_PER_MS);
  if (v === 0) return '';
  let digits = 10;
  while (v % 10 === 0) {
    v /= 10;
    digits--;
  }
  let text: string;
  if (v < 1e9) text = `${v}`;
  else {
    const high = Math.floor(v / 100_000);
    const low = `${v - high * 100_000}`;
    text = `${high}${low.length < 5 ? '0'.repeat(5 - low.length) : ''}${low}`;
  }
  return text.length === digits ? `.${text}` : `.${'0'.repeat(digits - text.length)}${text}`;
}

const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

/**
 * The text of a number below 1e9 that is not an int32, exact (it reads back as the same
 * double). V8 turns a fractional double into text in several hundred nanoseconds; values with
 * up to 6 decimals (prices, amounts, rates) are built here from two integers in a fraction of
 * that. `c / 10^k === v` means the k-digit decimal `c / 10^k` rounds to v (division is
 * correctly rounded), so that text reads back as v; the first k that works has a non-zero last
 * digit. Other values fall back to String(v).
 */
export function decimalText(v: number): string {
  const negative = v < 0;
  const a = negative ? -v : v;
  for (let k = 1; k <= 6; k++) {
    const p = POW10[k]!;
    const c = Math.round(a * p);
    if (c / p === a) {
      const whole = Math.floor(a);
      const fraction = String(c - whole * p);
      const text = `${whole}.${fraction.length === k ? fraction : '0'.repeat(k - fraction.length) + fraction}`;
      return negative ? `-${text}` : text;
    }
  }
  return String(v);
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
  if (!NUMERIC_TEXT.test(v)) return undefined;
  const digits = significantDigits(v);
  if (digits > EXCEL_DIGITS) return undefined;
  const n = Number(v);
  const abs = Math.abs(n);
  if (digits === 0) return '0';
  // Out of Excel's range (about 2.2e-308 to 1.8e308): it would become 0 or an error.
  if (!(abs >= 2.3e-308 && abs < 1e308)) return undefined;
  return String(n);
}

/** Cuts text to Excel's limit with a marker, without splitting a surrogate pair. */
export function truncateText(v: string): string {
  let end = EXCEL_MAX_CELL_CHARS - TRUNCATION_MARKER.length;
  const code = v.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return v.slice(0, end) + TRUNCATION_MARKER;
}

function attrS(style: number): string {
  return style === 0 ? '' : ` s="${style}"`;
}

function columnStyle(column: ResolvedColumn, settings: XlsxSettings, styles: StyleSheet): number {
  if (column.format !== undefined) return styles.forFormat(column.format);
  if (column.type === 'date') return styles.forFormat(settings.dateFormat);
  if (column.type === 'datetime') return styles.forFormat(settings.datetimeFormat);
  return 0;
}

/**
 * The writer of one column's cells (docs/xlsx.md, "Values"). Its pieces of markup are built once,
 * so a cell costs a typeof switch and a few concatenations.
 */
export function cellWriter(column: ResolvedColumn, settings: XlsxSettings, styles: StyleSheet): CellWriter {
  const { clock, escapeFormulas, longText } = settings;
  const apostrophe = settings.formulaEscape === 'apostrophe';
  const style = columnStyle(column, settings, styles);
  const calendar = column.type === 'date';
  const dateStyle =
    calendar || column.type === 'datetime' ? style : styles.forFormat(settings.datetimeFormat);
  const numericColumn = column.type === 'integer' || column.type === 'number' || column.type === 'decimal';
  const integerColumn = column.type === 'integer';
  const numHead = `<c${attrS(style)}><v>`;
  const dateHead = `<c${attrS(dateStyle)}><v>`;
  const boolTrue = `<c${attrS(style)} t="b"><v>1</v></c>`;
  const boolFalse = `<c${attrS(style)} t="b"><v>0</v></c>`;
  const textHead = `<c${attrS(style)} t="inlineStr"><is><t>`;
  const textHeadKeep = `<c${attrS(style)} t="inlineStr"><is><t xml:space="preserve">`;
  const quotedHead = `<c${attrS(STYLE_QUOTED)} t="inlineStr"><is><t>`;
  const quotedHeadKeep = `<c${attrS(STYLE_QUOTED)} t="inlineStr"><is><t xml:space="preserve">`;
  const valueTail = '</v></c>';
  const textTail = '</t></is></c>';

  function tooLong(v: string, row: string): string {
    if (longText === 'truncate') return truncateText(v);
    throw new TakeoutError(
      'cell_too_long',
      `A value of column ${JSON.stringify(column.key)} has ${v.length} characters; Excel allows ${EXCEL_MAX_CELL_CHARS}`,
      {
        details: { column: column.key, sheetRow: Number(row), length: v.length, limit: EXCEL_MAX_CELL_CHARS },
      },
    );
  }

  function text(v: string, row: string): string {
    const length = v.length;
    if (length === 0) return '';
    // Fast path: nothing at the start or end to look at, nothing to escape, not too long.
    const first = v.charCodeAt(0);
    if (
      (first >= 128 || EDGE_PLAIN[first] === 1) &&
      !EDGE_SPACE(v.charCodeAt(length - 1)) &&
      length <= EXCEL_MAX_CELL_CHARS &&
      !NEEDS_ESCAPE.test(v)
    ) {
      return textHead + v + textTail;
    }
    let quoted = false;
    if (escapeFormulas && looksLikeFormula(v)) {
      if (apostrophe) v = `'${v}`;
      else quoted = true;
    }
    if (v.length > EXCEL_MAX_CELL_CHARS) v = tooLong(v, row);
    const keep = needsPreserve(v);
    const head = quoted ? (keep ? quotedHeadKeep : quotedHead) : keep ? textHeadKeep : textHead;
    return head + cellText(v) + textTail;
  }

  function numberCell(v: string): string {
    return numHead + v + valueTail;
  }

  function number(v: number, row: string): string {
    const abs = v < 0 ? -v : v;
    if (abs < 1e9 && (v | 0) !== v) return numHead + decimalText(v) + valueTail;
    if (abs < 1e15 && (abs > 1e-300 || v === 0)) return numHead + v + valueTail;
    // NaN, infinities and numbers too small for Excel (it would show 0) stay readable as text.
    if (!Number.isFinite(v) || abs < 2.3e-308) return text(numberText(v), row);
    // An integer Excel would show rounded (past 15 digits, e.g. beyond 2^53) stays exact as text.
    if (integerColumn && Number.isInteger(v)) {
      const digits = numberText(v);
      if (significantDigits(digits) > EXCEL_DIGITS) return text(digits, row);
    }
    return numberCell(String(v));
  }

  function date(d: Date, row: string): string {
    const ms = d.getTime();
    if (Number.isNaN(ms)) return '';
    const local = calendar ? ms : ms + clock.offsetMinutes(ms) * 60_000;
    const days = Math.floor(local / DAY_MS);
    const serialDay = days + UNIX_EPOCH_SERIAL;
    if (serialDay >= LEAP_BUG_SERIAL && serialDay < END_SERIAL) {
      if (calendar) return dateHead + serialDay + valueTail;
      return dateHead + serialDay + dayFractionText(local - days * DAY_MS) + valueTail;
    }
    // Before 1900-03-01 Excel's serials are one less (its fictitious 1900-02-29); before 1900 and
    // after 9999 it has no dates, so those stay ISO 8601 text.
    const serial = (calendar ? serialDay : serialDay + (local - days * DAY_MS) / DAY_MS) - 1;
    if (serial < 1 || serialDay >= END_SERIAL) return text(dateText(d, column, clock), row);
    return dateHead + serial + valueTail;
  }

  return (v, row) => {
    switch (typeof v) {
      case 'string': {
        if (!numericColumn) return text(v, row);
        const exact = exactNumberText(v);
        return exact === undefined ? text(v, row) : numberCell(exact);
      }
      case 'number':
        return number(v, row);
      case 'boolean':
        return v ? boolTrue : boolFalse;
      case 'undefined':
        return '';
      case 'bigint': {
        const digits = v.toString();
        return significantDigits(digits) > EXCEL_DIGITS ? text(digits, row) : numberCell(digits);
      }
      case 'object':
        if (v === null) return '';
        if (v instanceof Date) return date(v, row);
        if (v instanceof Uint8Array) {
          return text(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'), row);
        }
        return text(jsonText(v), row);
      default:
        return text(String(v), row);
    }
  };
}

/** A header cell: bold text in row 1 (formula-looking headers are quote-prefixed too). */
export function headerCell(header: string, letter: string, settings: XlsxSettings): string {
  let v = header;
  let style = STYLE_HEADER;
  if (settings.escapeFormulas && looksLikeFormula(v)) {
    if (settings.formulaEscape === 'apostrophe') v = `'${v}`;
    else style = STYLE_HEADER_QUOTED;
  }
  if (v.length === 0) return '';
  if (v.length > EXCEL_MAX_CELL_CHARS) v = truncateText(v);
  const space = needsPreserve(v) ? ' xml:space="preserve"' : '';
  return `<c r="${letter}1" s="${style}" t="inlineStr"><is><t${space}>${cellText(v)}</t></is></c>`;
}
