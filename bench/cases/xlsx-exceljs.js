// exceljs's streaming WorkbookWriter (shared strings off: strings inline, as Takeout writes
// them) over the reference table, with a date format on created_at and a bold header so both
// files carry the same information.

import ExcelJS from 'exceljs';
import { COLUMNS, cpuMs, outPath, report, rowCount, rows } from '../case-support.js';

const n = rowCount();
const file = outPath(import.meta.url, 'xlsx');
const startedAt = performance.now();
const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
  filename: file,
  useSharedStrings: false,
  useStyles: true,
});
const sheet = workbook.addWorksheet('Sheet1');
sheet.columns = COLUMNS.map((key) =>
  key === 'created_at'
    ? { header: key, key, style: { numFmt: 'yyyy-mm-dd hh:mm:ss' } }
    : { header: key, key },
);
sheet.getRow(1).font = { bold: true };
for (const row of rows(n)) sheet.addRow(row).commit();
sheet.commit();
await workbook.commit();
report({
  cpuMs: cpuMs(),
  caseUrl: import.meta.url,
  tool: 'exceljs',
  format: 'xlsx',
  rows: n,
  startedAt,
  file,
});
