import type { ResolvedColumn } from '../../types.js';
import { looksLikeFormula, plainLead } from '../formula.js';
import { ascii, type Markup } from './bytes.js';
import { EXCEL_MAX_CELL_CHARS, type XlsxSettings } from './options.js';
import { STYLE_HEADER, STYLE_HEADER_QUOTED, STYLE_QUOTED, type StyleSheet } from './styles.js';
import { truncateText } from './values.js';
import { cellText, needsPreserve } from './xml.js';

/** The markup of cells (cell.ts writes the values): encoded once per column. */

/**
 * ASCII first characters that need no look: not a formula start nor what may hide one
 * (formula.ts decides, so the rule cannot drift; white space is among those).
 */
export const EDGE_PLAIN = Uint8Array.from({ length: 128 }, (_, c) => (plainLead(c) ? 1 : 0));
export const EDGE_SPACE = (c: number): boolean => c === 32 || c === 9 || c === 10;

export const VALUE_TAIL = ascii('</v></c>');
export const TEXT_TAIL = ascii('</t></is></c>');
export const NO_BYTES = ascii('');

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
export interface Head {
  plain: Markup;
  afterRef: Markup;
}

function head(attributes: string): Head {
  return { plain: ascii(`<c${attributes}`), afterRef: ascii(`"${attributes}`) };
}

/** Every opening a column's cells may need, with its styles applied. */
export interface CellMarkup {
  /** `<c r="D` (the row number and `"` follow). */
  ref: Markup;
  num: Head;
  date: Head;
  yes: Head;
  no: Head;
  text: Head;
  textKeep: Head;
  quoted: Head;
  quotedKeep: Head;
}

export function cellMarkup(
  column: ResolvedColumn,
  letter: string,
  settings: XlsxSettings,
  styles: StyleSheet,
): CellMarkup {
  const style = columnStyle(column, settings, styles);
  const dateColumn = column.type === 'date' || column.type === 'datetime';
  const dateStyle = dateColumn ? style : styles.forFormat(settings.datetimeFormat);
  // A number in a date column (a SQLite DATETIME holding epoch seconds) is not a day count:
  // it shows as the number it is, as in CSV, unless the column's own `format` says otherwise.
  const numberStyle = dateColumn && column.format === undefined ? 0 : style;
  return {
    ref: ascii(`<c r="${letter}`),
    num: head(`${attrS(numberStyle)}><v>`),
    date: head(`${attrS(dateStyle)}><v>`),
    yes: head(`${attrS(style)} t="b"><v>1</v></c>`),
    no: head(`${attrS(style)} t="b"><v>0</v></c>`),
    text: head(`${attrS(style)} t="inlineStr"><is><t>`),
    textKeep: head(`${attrS(style)} t="inlineStr"><is><t xml:space="preserve">`),
    quoted: head(`${attrS(STYLE_QUOTED)} t="inlineStr"><is><t>`),
    quotedKeep: head(`${attrS(STYLE_QUOTED)} t="inlineStr"><is><t xml:space="preserve">`),
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
