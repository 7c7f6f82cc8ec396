import type { FormatContext, FormatOptions, FormatWriter, Row } from '../../types.js';
import { MAX_SHEETS, XLSX_OPTION_SCHEMA, xlsxSettings } from './options.js';
import { splitSheets, type WorkbookPlan } from './plan.js';
import { tooManySheets, writeWorkbook } from './writer.js';

export {
  EXCEL_MAX_CELL_CHARS,
  EXCEL_MAX_ROWS,
  XLSX_OPTION_SCHEMA,
  type XlsxFormatOptions,
  type XlsxOptions,
} from './options.js';
export { type PlannedSheet, SHEET_BREAK, WorkbookPlan } from './plan.js';

const XLSX_BASE = {
  name: 'xlsx',
  contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  extension: 'xlsx',
  options: XLSX_OPTION_SCHEMA,
} as const;

/**
 * Refuses, before the first byte, a row count that needs more sheets than a workbook may have.
 * A lower bound: sheets may also roll over early (ZIP64) or start per group, never later.
 */
function checkRowCount(rows: number, options: FormatOptions): void {
  const settings = xlsxSettings(options);
  const perSheet = settings.maxRowsPerSheet - (settings.header ? 1 : 0);
  if (rows > perSheet * MAX_SHEETS) throw tooManySheets(settings.maxRowsPerSheet);
}

/**
 * The XLSX writer (docs/xlsx.md): typed cells, bold frozen header with autofilter, estimated
 * widths, rollover past Excel's row limit, streamed through a ZIP writer with constant memory.
 */
export const xlsxFormat: FormatWriter = {
  ...XLSX_BASE,
  xlsxSettings,
  checkRowCount,
  write(batches: AsyncIterable<readonly Row[]>, ctx: FormatContext): AsyncIterable<Uint8Array> {
    const settings = xlsxSettings(ctx.options);
    const sheet = { name: settings.sheetName, columns: ctx.columns, rowShape: ctx.rowShape, batches };
    return writeWorkbook([sheet], settings, ctx.signal);
  },
};

/**
 * An XLSX writer for one workbook of several sheets: the batches are each sheet's batches
 * in turn, closed by SHEET_BREAK, laid out as `plan` says. The plan travels in this writer
 * value, never in format options, so no request can forge one.
 */
export function workbookFormat(plan: WorkbookPlan): FormatWriter {
  return {
    ...XLSX_BASE,
    write(batches: AsyncIterable<readonly Row[]>, ctx: FormatContext): AsyncIterable<Uint8Array> {
      return writeWorkbook(splitSheets(batches, plan), xlsxSettings(ctx.options), ctx.signal);
    },
  };
}
