import { TakeoutError } from '../../errors.js';
import type { ResolvedColumn } from '../../types.js';
import { dateText, jsonText, looksLikeFormula, numberText } from '../cells.js';
import { EXCEL_MAX_CELL_CHARS, type XlsxSettings } from './options.js';
import { STYLE_HEADER, STYLE_HEADER_QUOTED, STYLE_QUOTED, type StyleSheet } from './styles.js';
import {
  DAY_MS,
  dayFractionText,
  decimalText,
  END_SERIAL,
  EXCEL_DIGITS,
  exactNumberText,
  LEAP_BUG_SERIAL,
  significantDigits,
  truncateText,
  UNIX_EPOCH_SERIAL,
} from './values.js';
import { cellText, NEEDS_ESCAPE, needsPreserve } from './xml.js';

/**
 * Where a sheet's XML is gathered: pieces of text pushed in order and joined per chunk (pushing
 * is cheaper than concatenating: no intermediate strings for the collector). `longChars` counts
 * the characters of pieces longer than LONG_PIECE, so every other piece is known to be at most
 * that long and the pending XML has a cheap upper bound.
 */
export interface XmlSink {
  readonly parts: unknown[];
  longChars: number;
}

export const LONG_PIECE = 256;

export function xmlSink(): XmlSink {
  return { parts: [], longChars: 0 };
}

/**
 * Writes one value of row `n` (its number as text) into the sink as a `<c>` element, and says
 * whether it wrote one (empty values write nothing). `gap`: the previous cell of the row was
 * not written, so this one carries its reference (`r="D7"`); others follow without one.
 */
export type CellWriter = (value: unknown, n: string, gap: boolean) => boolean;

/** First characters that need no look: not a formula start (= + - @ TAB CR) nor white space. */
const EDGE_PLAIN = new Uint8Array(128).fill(1);
for (const c of [9, 10, 13, 32, 43, 45, 61, 64]) EDGE_PLAIN[c] = 0;
const EDGE_SPACE = (c: number): boolean => c === 32 || c === 9 || c === 10;
const VALUE_TAIL = '</v></c>';
const TEXT_TAIL = '</t></is></c>';

function attrS(style: number): string {
  return style === 0 ? '' : ` s="${style}"`;
}

function columnStyle(column: ResolvedColumn, settings: XlsxSettings, styles: StyleSheet): number {
  if (column.format !== undefined) return styles.forFormat(column.format);
  if (column.type === 'date') return styles.forFormat(settings.dateFormat);
  if (column.type === 'datetime') return styles.forFormat(settings.datetimeFormat);
  return 0;
}

/** A cell's opening markup both ways: after `<c` alone, and after `<c r="D7` (then `"`). */
interface Head {
  plain: string;
  afterRef: string;
}

function head(attributes: string): Head {
  return { plain: `<c${attributes}`, afterRef: `"${attributes}` };
}

/**
 * The writer of one column's cells (docs/xlsx.md, "Values"). Its pieces of markup are built once,
 * so a cell costs a typeof switch and a few pushes.
 */
export function cellWriter(
  column: ResolvedColumn,
  letter: string,
  settings: XlsxSettings,
  styles: StyleSheet,
  sink: XmlSink,
): CellWriter {
  const parts = sink.parts;
  const { clock, escapeFormulas, longText } = settings;
  const apostrophe = settings.formulaEscape === 'apostrophe';
  const style = columnStyle(column, settings, styles);
  const calendar = column.type === 'date';
  const dateStyle =
    calendar || column.type === 'datetime' ? style : styles.forFormat(settings.datetimeFormat);
  const numericColumn = column.type === 'integer' || column.type === 'number' || column.type === 'decimal';
  const integerColumn = column.type === 'integer';
  const ref = `<c r="${letter}`;
  const num = head(`${attrS(style)}><v>`);
  const date = head(`${attrS(dateStyle)}><v>`);
  const yes = head(`${attrS(style)} t="b"><v>1</v></c>`);
  const no = head(`${attrS(style)} t="b"><v>0</v></c>`);
  const text = head(`${attrS(style)} t="inlineStr"><is><t>`);
  const textKeep = head(`${attrS(style)} t="inlineStr"><is><t xml:space="preserve">`);
  const quoted = head(`${attrS(STYLE_QUOTED)} t="inlineStr"><is><t>`);
  const quotedKeep = head(`${attrS(STYLE_QUOTED)} t="inlineStr"><is><t xml:space="preserve">`);

  function emit(h: Head, n: string, gap: boolean, value: unknown, tail: string): true {
    if (gap) parts.push(ref, n, h.afterRef, value, tail);
    else parts.push(h.plain, value, tail);
    return true;
  }

  function emitFixed(h: Head, n: string, gap: boolean): true {
    if (gap) parts.push(ref, n, h.afterRef);
    else parts.push(h.plain);
    return true;
  }

  function tooLong(v: string, n: string): string {
    if (longText === 'truncate') return truncateText(v);
    throw new TakeoutError(
      'cell_too_long',
      `A value of column ${JSON.stringify(column.key)} has ${v.length} characters; Excel allows ${EXCEL_MAX_CELL_CHARS}`,
      { details: { column: column.key, sheetRow: Number(n), length: v.length, limit: EXCEL_MAX_CELL_CHARS } },
    );
  }

  function writeText(v: string, n: string, gap: boolean): boolean {
    const length = v.length;
    if (length === 0) return false;
    // Fast path: nothing at the start or end to look at, nothing to escape, not too long.
    const first = v.charCodeAt(0);
    if (
      (first >= 128 || EDGE_PLAIN[first] === 1) &&
      !EDGE_SPACE(v.charCodeAt(length - 1)) &&
      length <= EXCEL_MAX_CELL_CHARS &&
      !NEEDS_ESCAPE.test(v)
    ) {
      if (length > LONG_PIECE) sink.longChars += length;
      return emit(text, n, gap, v, TEXT_TAIL);
    }
    let isQuoted = false;
    if (escapeFormulas && looksLikeFormula(v)) {
      if (apostrophe) v = `'${v}`;
      else isQuoted = true;
    }
    if (v.length > EXCEL_MAX_CELL_CHARS) v = tooLong(v, n);
    const keep = needsPreserve(v);
    const escaped = cellText(v);
    if (escaped.length > LONG_PIECE) sink.longChars += escaped.length;
    const h = isQuoted ? (keep ? quotedKeep : quoted) : keep ? textKeep : text;
    return emit(h, n, gap, escaped, TEXT_TAIL);
  }

  function writeNumber(v: number, n: string, gap: boolean): boolean {
    const abs = v < 0 ? -v : v;
    if (abs < 1e9 && (v | 0) !== v) return emit(num, n, gap, decimalText(v), VALUE_TAIL);
    if (abs < 1e15 && (abs > 1e-300 || v === 0)) return emit(num, n, gap, v, VALUE_TAIL);
    // NaN, infinities and numbers too small for Excel (it would show 0) stay readable as text.
    if (!Number.isFinite(v) || abs < 2.3e-308) return writeText(numberText(v), n, gap);
    // An integer Excel would show rounded (past 15 digits, e.g. beyond 2^53) stays exact as text.
    if (integerColumn && Number.isInteger(v)) {
      const digits = numberText(v);
      if (significantDigits(digits) > EXCEL_DIGITS) return writeText(digits, n, gap);
    }
    return emit(num, n, gap, String(v), VALUE_TAIL);
  }

  function writeDate(d: Date, n: string, gap: boolean): boolean {
    const ms = d.getTime();
    if (Number.isNaN(ms)) return false;
    const local = calendar ? ms : ms + clock.offsetMinutes(ms) * 60_000;
    const days = Math.floor(local / DAY_MS);
    const serialDay = days + UNIX_EPOCH_SERIAL;
    if (serialDay >= LEAP_BUG_SERIAL && serialDay < END_SERIAL) {
      if (calendar) return emit(date, n, gap, serialDay, VALUE_TAIL);
      return emit(date, n, gap, serialDay, `${dayFractionText(local - days * DAY_MS)}${VALUE_TAIL}`);
    }
    // Before 1900-03-01 Excel's serials are one less (its fictitious 1900-02-29); before 1900 and
    // after 9999 it has no dates, so those stay ISO 8601 text.
    const serial = (calendar ? serialDay : serialDay + (local - days * DAY_MS) / DAY_MS) - 1;
    if (serial < 1 || serialDay >= END_SERIAL) return writeText(dateText(d, column, clock), n, gap);
    return emit(date, n, gap, serial, VALUE_TAIL);
  }

  return (v, n, gap) => {
    switch (typeof v) {
      case 'string': {
        if (!numericColumn) return writeText(v, n, gap);
        const exact = exactNumberText(v);
        return exact === undefined ? writeText(v, n, gap) : emit(num, n, gap, exact, VALUE_TAIL);
      }
      case 'number':
        return writeNumber(v, n, gap);
      case 'boolean':
        return emitFixed(v ? yes : no, n, gap);
      case 'undefined':
        return false;
      case 'bigint': {
        const digits = v.toString();
        if (significantDigits(digits) > EXCEL_DIGITS) return writeText(digits, n, gap);
        return emit(num, n, gap, digits, VALUE_TAIL);
      }
      case 'object':
        if (v === null) return false;
        if (v instanceof Date) return writeDate(v, n, gap);
        if (v instanceof Uint8Array) {
          return writeText(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'), n, gap);
        }
        return writeText(jsonText(v), n, gap);
      default:
        return writeText(String(v), n, gap);
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
