import type { FormatContext, FormatWriter, Row } from '../../types.js';
import { xlsxSettings } from './options.js';
import { splitSheets, WORKBOOK_PLAN_OPTION, WorkbookPlan } from './plan.js';
import { type SheetInput, writeWorkbook } from './writer.js';

export { EXCEL_MAX_CELL_CHARS, EXCEL_MAX_ROWS, type XlsxOptions } from './options.js';

/**
 * The XLSX writer (docs/xlsx.md): typed cells, bold frozen header with autofilter, estimated
 * widths, rollover past Excel's row limit, streamed through a ZIP writer with constant memory.
 */
export const xlsxFormat: FormatWriter = {
  name: 'xlsx',
  contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  extension: 'xlsx',
  write(batches: AsyncIterable<readonly Row[]>, ctx: FormatContext): AsyncIterable<Uint8Array> {
    const settings = xlsxSettings(ctx.options);
    const plan = ctx.options[WORKBOOK_PLAN_OPTION];
    const sheets: AsyncIterable<SheetInput> | SheetInput[] =
      plan instanceof WorkbookPlan
        ? splitSheets(batches, plan)
        : [{ name: settings.sheetName, columns: ctx.columns, rowShape: ctx.rowShape, batches }];
    return writeWorkbook(sheets, settings, ctx.signal);
  },
};
