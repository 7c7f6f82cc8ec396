import type { ResolvedColumn, Row } from '../../types.js';
import { jsonText } from '../cells.js';
import { columnsShape, compiledByShape, readCell, readExpression } from '../compile.js';
import { unreadableRow } from '../row-errors.js';
import { ascii, type XmlBytes } from './bytes.js';
import type { CellWriter } from './cell.js';
import type { XlsxSettings } from './options.js';
import { NS_MAIN, NS_REL, XML_DECLARATION } from './xml.js';

/** Rows looked at to estimate column widths (and bytes per row). */
export const SAMPLE_ROWS = 100;
const MIN_WIDTH = 6;
const MAX_WIDTH = 60;
/** Room for the autofilter drop-down button in a header cell. */
const FILTER_BUTTON = 3;

/** Writes row `i` of a batch into the sheet's XML as `<row>` number `n`. */
export type RowWriter<B = readonly Row[]> = (batch: B, i: number, n: number) => void;

export const ROW_OPEN = ascii('<row r="');
export const ROW_OPENED = ascii('">');
export const ROW_CLOSE = ascii('</row>');

/** The inline test for the value a column's type leads to expect, and its writer in CellWriter. */
function expected(column: ResolvedColumn): { test: string; writer: keyof CellWriter } | undefined {
  switch (column.type) {
    case 'string':
      return { test: "typeof v === 'string'", writer: 'text' };
    case 'integer':
    case 'number':
      return { test: "typeof v === 'number'", writer: 'number' };
    case 'date':
    case 'datetime':
      return { test: 'v instanceof Date', writer: 'date' };
    case 'boolean':
      return { test: "typeof v === 'boolean'", writer: 'boolean' };
    default:
      return undefined;
  }
}

/**
 * Compiles the row writer of a column set: direct property reads (`r[3]`, `r["name"]`), the
 * column's expected type tested inline (each test with its own type feedback) and written by
 * its own writer, empty values skipped inline, anything else to the column's general writer;
 * as compile.ts does for the text formats. A cell carries its reference only when it is the
 * first of its row or follows an empty cell: Office places a cell without one right after the
 * previous cell (MS-OI29500 2.1.590), and the bytes saved (a tenth of the XML) are deflate time
 * saved. Keys enter the code only through JSON.stringify.
 */
export function compileRowWriter(
  columns: readonly ResolvedColumn[],
  rowShape: 'array' | 'object',
  cells: readonly CellWriter[],
  out: XmlBytes,
): RowWriter {
  const body = () => {
    const locals: string[] = [];
    const statements = columns.map((column, i) => {
      const read = readExpression(column, i, rowShape);
      const known = expected(column);
      locals.push(`a${i} = c[${i}].any`);
      if (known) locals.push(`k${i} = c[${i}].${known.writer}`);
      const fast = known ? `if (${known.test}) gap = !k${i}(v, n, gap);\nelse ` : '';
      return `v = ${read};\n${fast}if (v === null || v === undefined) gap = true;\nelse gap = !a${i}(v, n, gap);`;
    });
    return (
      (locals.length > 0 ? `const ${locals.join(', ')};\n` : '') +
      'return function row(b, i, n) {\nconst r = b[i];\no.intCell(open, n, opened);\nlet gap = true, v;\n' +
      `${statements.join('\n')}\no.bytes(close);\n};`
    );
  };
  const factory = compiledByShape<(...args: unknown[]) => RowWriter>(
    `xlsx ${columnsShape(columns, rowShape)}`,
    ['c', 'o', 'open', 'opened', 'close'],
    body,
  );
  return factory(cells, out, ROW_OPEN, ROW_OPENED, ROW_CLOSE);
}

/** Characters a value shows as, roughly, for the width estimate. */
function displayLength(v: unknown, column: ResolvedColumn, settings: XlsxSettings): number {
  switch (typeof v) {
    case 'string': {
      if (!v.includes('\n')) return v.length;
      let longest = 0;
      for (const line of v.split('\n')) longest = Math.max(longest, line.length);
      return longest;
    }
    case 'number':
    case 'bigint': {
      const text = String(v);
      return column.format
        ? Math.max(text.length + Math.floor(text.length / 3), column.format.length)
        : text.length;
    }
    case 'boolean':
      return 5;
    case 'object': {
      if (v === null) return 0;
      if (v instanceof Date) {
        const format =
          column.format ?? (column.type === 'date' ? settings.dateFormat : settings.datetimeFormat);
        return format.replace(/["\\]/g, '').length;
      }
      if (v instanceof Uint8Array) return Math.min(MAX_WIDTH, 4 * Math.ceil(v.byteLength / 3)); // base64
      return Math.min(MAX_WIDTH, jsonText(v).length); // bigints inside as text, as the cell writes them
    }
    default:
      return 0;
  }
}

/**
 * Column widths in characters: `Column.width`, else `widths[key]`, else estimated from the
 * header (bold, with room for the filter button) and the sampled rows, between 6 and 60.
 */
export function columnWidths(
  columns: readonly ResolvedColumn[],
  rowShape: 'array' | 'object',
  sample: readonly Row[],
  settings: XlsxSettings,
): number[] {
  return columns.map((column, i) => {
    const given = column.width ?? settings.widths[column.key];
    if (given !== undefined) return given;
    let longest = settings.header
      ? Math.ceil(column.header.length * 1.1) + (settings.autoFilter ? FILTER_BUTTON : 0)
      : 0;
    sample.forEach((row, index) => {
      let v: unknown;
      try {
        v = readCell(row, column, i, rowShape);
      } catch (cause) {
        throw unreadableRow(index + 1, cause); // a getter of the caller's threw
      }
      longest = Math.max(longest, displayLength(v, column, settings));
    });
    return Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, longest + 2));
  });
}

/** Everything before the first row: views (frozen header), column widths, `<sheetData>`. */
export function sheetHead(
  widths: readonly number[],
  options: { frozen: boolean; selected: boolean },
): string {
  const selected = options.selected ? ' tabSelected="1"' : '';
  const view = options.frozen
    ? `<sheetView workbookViewId="0"${selected}><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView>`
    : `<sheetView workbookViewId="0"${selected}/>`;
  const cols = widths
    .map(
      (w, i) => `<col min="${i + 1}" max="${i + 1}" width="${Math.round(w * 100) / 100}" customWidth="1"/>`,
    )
    .join('');
  return (
    `${XML_DECLARATION}<worksheet xmlns="${NS_MAIN}" xmlns:r="${NS_REL}">` +
    `<sheetViews>${view}</sheetViews><sheetFormatPr defaultRowHeight="15"/>` +
    (cols ? `<cols>${cols}</cols>` : '') +
    '<sheetData>'
  );
}

/** Everything after the last row; `filterRef` (e.g. `A1:J100`) adds the autofilter. */
export function sheetTail(filterRef: string | undefined): string {
  return (
    '</sheetData>' +
    (filterRef ? `<autoFilter ref="${filterRef}"/>` : '') +
    '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
  );
}
