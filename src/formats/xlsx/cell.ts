import { TakeoutError } from '../../errors.js';
import { base64, bytesOf, RawJson } from '../../raw-json.js';
import type { ResolvedColumn } from '../../types.js';
import { dateText, jsonText, numberText, scalarOf } from '../cells.js';
import { isoDayNumber } from '../datetime.js';
import { looksLikeFormula, NUMBER_TEXT, plainLead } from '../formula.js';
import type { Markup, XmlBytes } from './bytes.js';
import {
  cellMarkup,
  EDGE_PLAIN,
  EDGE_SPACE,
  type Head,
  NO_BYTES,
  TEXT_TAIL,
  VALUE_TAIL,
} from './cell-markup.js';
import type { CellWriter } from './cell-writer.js';
import { EXCEL_MAX_CELL_CHARS, type XlsxSettings } from './options.js';
import type { StyleSheet } from './styles.js';
import {
  DAY_MS,
  decimalBytes,
  END_SERIAL,
  EXCEL_DIGITS,
  exactNumberText,
  LEAP_BUG_SERIAL,
  significantDigits,
  truncateText,
  UNIX_EPOCH_SERIAL,
  writeDayFraction,
  writeDecimal,
  writePlainDecimalBytes,
} from './values.js';
import { cellText, needsPreserve } from './xml.js';

export { headerCell } from './cell-markup.js';
export type { CellWriter, WriteCell } from './cell-writer.js';

/**
 * The writer of one column's cells (docs/xlsx.md, "Values"). Its markup is encoded once; a cell
 * costs a typeof switch and a few byte copies.
 */
export function cellWriter(
  column: ResolvedColumn,
  letter: string,
  settings: XlsxSettings,
  styles: StyleSheet,
  out: XmlBytes,
): CellWriter {
  const { clock, escapeFormulas, longText } = settings;
  const apostrophe = settings.formulaEscape === 'apostrophe';
  const calendar = column.type === 'date';
  const numericColumn = column.type === 'integer' || column.type === 'number' || column.type === 'decimal';
  const integerColumn = column.type === 'integer';
  const { ref, num, date, yes, no, text, textKeep, quoted, quotedKeep } = cellMarkup(
    column,
    letter,
    settings,
    styles,
  );

  function open(h: Head, n: number, gap: boolean): void {
    if (gap) {
      out.bytes(ref);
      out.int(n);
      out.bytes(h.afterRef);
    } else out.bytes(h.plain);
  }

  /** Writes the reference when there is a gap, and gives the plain text cell's opening. */
  function plainTextHead(n: number, gap: boolean): Markup {
    if (!gap) return text.plain;
    out.bytes(ref);
    out.int(n);
    return text.afterRef;
  }

  function tooLong(v: string, n: number): string {
    if (longText === 'truncate') return truncateText(v);
    throw new TakeoutError(
      'cell_too_long',
      `A value of column ${JSON.stringify(column.key)} has ${v.length} characters; Excel allows ${EXCEL_MAX_CELL_CHARS}`,
      { details: { column: column.key, sheetRow: n, length: v.length, limit: EXCEL_MAX_CELL_CHARS } },
    );
  }

  function writeText(v: string, n: number, gap: boolean): boolean {
    return textCell(v, n, gap, escapeFormulas);
  }

  /**
   * A number's or a date's text (NaN, digits past Excel's 15, a year Excel has no serial for):
   * never a formula, so never escaped, as the CSV writer leaves it (a `'` would change it).
   */
  function writeValueText(v: string, n: number, gap: boolean): boolean {
    return textCell(v, n, gap, false);
  }

  function textCell(v: string, n: number, gap: boolean, mayEscape: boolean): boolean {
    const length = v.length;
    if (length === 0) return false;
    // Fast path: nothing at the start or end to look at, not too long, and (checked while
    // copying) nothing to escape.
    const first = v.charCodeAt(0);
    if (
      (first < 128 ? EDGE_PLAIN[first] === 1 : plainLead(first)) &&
      !EDGE_SPACE(v.charCodeAt(length - 1)) &&
      length <= EXCEL_MAX_CELL_CHARS
    ) {
      const mark = out.pos;
      if (out.textCell(plainTextHead(n, gap), v, TEXT_TAIL)) return true;
      out.pos = mark;
    }
    let isQuoted = false;
    if (mayEscape && looksLikeFormula(v)) {
      if (apostrophe) v = `'${v}`;
      else isQuoted = true;
    }
    if (v.length > EXCEL_MAX_CELL_CHARS) v = tooLong(v, n);
    const body = cellText(v);
    // Only characters XML cannot hold (U+FFFE, a lone surrogate): as empty as '' is.
    if (body === '') return false;
    const keep = needsPreserve(v);
    open(isQuoted ? (keep ? quotedKeep : quoted) : keep ? textKeep : text, n, gap);
    out.utf8(body);
    out.bytes(TEXT_TAIL);
    return true;
  }

  function writeNumberText(v: string, n: number, gap: boolean): true {
    open(num, n, gap);
    out.ascii(v);
    out.bytes(VALUE_TAIL);
    return true;
  }

  function writeNumber(v: number, n: number, gap: boolean): boolean {
    const abs = v < 0 ? -v : v;
    if (Number.isInteger(v) && abs < 1e15) {
      if (gap) {
        out.bytes(ref);
        out.int(n);
        out.intCell(num.afterRef, v === 0 ? 0 : v, VALUE_TAIL); // -0 is 0
      } else out.intCell(num.plain, v === 0 ? 0 : v, VALUE_TAIL);
      return true;
    }
    if (abs < 1e9 && abs > 1e-300) {
      open(num, n, gap);
      if (!writeDecimal(out, v)) out.ascii(String(v));
      out.bytes(VALUE_TAIL);
      return true;
    }
    // NaN, infinities and numbers too small for Excel (it would show 0) stay readable as text.
    if (!Number.isFinite(v) || abs < 2.3e-308) return writeValueText(numberText(v), n, gap);
    // An integer Excel would show rounded (past 15 digits, e.g. beyond 2^53) stays exact as text,
    // in any column but a `number` one (SQLite expressions, `max(id)`, come in string columns).
    if ((integerColumn || column.type !== 'number') && Number.isInteger(v)) {
      const digits = numberText(v);
      if (significantDigits(digits) > EXCEL_DIGITS) return writeValueText(digits, n, gap);
    }
    return writeNumberText(String(v), n, gap);
  }

  function writeAsciiText(bytes: Uint8Array, at: number, len: number, n: number, gap: boolean): boolean {
    // writeText's fast path, on bytes.
    const first = bytes[at]!;
    if (len === 0 || first >= 128 || EDGE_PLAIN[first] !== 1) return false;
    if (EDGE_SPACE(bytes[at + len - 1]!) || len > EXCEL_MAX_CELL_CHARS) return false;
    const mark = out.pos;
    if (out.asciiCell(plainTextHead(n, gap), bytes, at, len, TEXT_TAIL)) return true;
    out.pos = mark;
    return false;
  }

  function writePlainDecimal(
    bytes: Uint8Array,
    start: number,
    end: number,
    n: number,
    gap: boolean,
  ): boolean {
    const mark = out.pos;
    open(num, n, gap);
    if (writePlainDecimalBytes(out, bytes, start, end)) {
      out.bytes(VALUE_TAIL);
      return true;
    }
    out.pos = mark;
    return false;
  }

  function writeDate(d: Date, n: number, gap: boolean): boolean {
    const ms = d.getTime();
    return Number.isNaN(ms) ? false : writeInstant(ms, n, gap);
  }

  function writeInstant(ms: number, n: number, gap: boolean): boolean {
    // A cell has no offset: its wall time is exact to the second (Monrovia's -00:44:30), not
    // shifted by the minute-rounded offset the ISO texts write.
    const local = calendar ? ms : ms + clock.offsetMs(ms);
    const days = Math.floor(local / DAY_MS);
    const serialDay = days + UNIX_EPOCH_SERIAL;
    if (serialDay >= LEAP_BUG_SERIAL && serialDay < END_SERIAL) {
      if (gap) {
        out.bytes(ref);
        out.int(n);
      }
      if (calendar) {
        out.intCell(gap ? date.afterRef : date.plain, serialDay, VALUE_TAIL);
        return true;
      }
      out.intCell(gap ? date.afterRef : date.plain, serialDay, NO_BYTES);
      writeDayFraction(out, local - days * DAY_MS);
      out.bytes(VALUE_TAIL);
      return true;
    }
    // Before 1900-03-01 Excel's serials are one less (its fictitious 1900-02-29); before 1900 and
    // after 9999 it has no dates, so those stay ISO 8601 text.
    const serial = (calendar ? serialDay : serialDay + (local - days * DAY_MS) / DAY_MS) - 1;
    if (serial < 1 || serialDay >= END_SERIAL)
      return writeValueText(dateText(new Date(ms), column, clock), n, gap);
    open(date, n, gap);
    out.ascii(String(serial));
    out.bytes(VALUE_TAIL);
    return true;
  }

  function writeBoolean(v: boolean, n: number, gap: boolean): true {
    open(v ? yes : no, n, gap);
    return true;
  }

  function writeAny(v: unknown, n: number, gap: boolean): boolean {
    switch (typeof v) {
      case 'string': {
        if (calendar) {
          // `2024-02-29` in a date column (SQLite DATE text, a date from JSON) is a date.
          const day = isoDayNumber(v);
          return day === undefined ? writeText(v, n, gap) : writeInstant(day * DAY_MS, n, gap);
        }
        if (!numericColumn) return writeText(v, n, gap);
        const bytes = decimalBytes(v);
        if (bytes && writePlainDecimal(bytes, 0, v.length, n, gap)) return true;
        const exact = exactNumberText(v);
        if (exact !== undefined) return writeNumberText(exact, n, gap);
        // A number's text that Excel cannot hold exactly stays as given; other text is text.
        return NUMBER_TEXT.test(v) ? writeValueText(v, n, gap) : writeText(v, n, gap);
      }
      case 'number':
        return writeNumber(v, n, gap);
      case 'boolean':
        return writeBoolean(v, n, gap);
      case 'undefined':
        return false;
      case 'bigint': {
        const digits = v.toString();
        // Past 15 digits Excel rounds; past the largest double readers see Infinity.
        if (significantDigits(digits) > EXCEL_DIGITS || !Number.isFinite(Number(v)))
          return writeValueText(digits, n, gap);
        return writeNumberText(digits, n, gap);
      }
      case 'object':
        if (v === null) return false;
        if (v instanceof Date) return writeDate(v, n, gap);
        if (v instanceof RawJson && v.isNumber) {
          // A JSON number as stored: an Excel number when exact, else its text.
          const exact = exactNumberText(v.text);
          return exact === undefined ? writeValueText(v.text, n, gap) : writeNumberText(exact, n, gap);
        }
        return writeObject(v, n, gap);
      default:
        return writeText(String(v), n, gap);
    }
  }

  /** Bytes as base64, an object standing for a scalar as that scalar, else its JSON text. */
  function writeObject(v: object, n: number, gap: boolean): boolean {
    const bytes = bytesOf(v);
    if (bytes) return writeText(base64(bytes), n, gap);
    const scalar = scalarOf(v);
    return scalar === undefined ? writeText(jsonText(v), n, gap) : writeAny(scalar, n, gap);
  }

  return {
    any: writeAny,
    text: numericColumn ? writeAny : writeText,
    number: writeNumber,
    date: writeDate,
    boolean: writeBoolean,
    // Text bytes a date column may read as a day (`2024-02-29`) take the general path too.
    asciiText: numericColumn || calendar ? () => false : writeAsciiText,
    plainDecimal: numericColumn ? writePlainDecimal : () => false,
    instant: writeInstant,
  };
}
