// SheetJS (xlsx): builds the whole sheet in memory with aoa_to_sheet, then writes it
// (compressed). It cannot stream-write XLSX; it is capped at 200,000 rows, beyond which it
// needs more than a GiB and minutes.
import XLSX from 'xlsx';
import { COLUMNS, cpuMs, outPath, report, rowCount, rows } from '../case-support.js';

const n = rowCount(200_000);
const file = outPath(import.meta.url, 'xlsx');
const startedAt = performance.now();
const data = [COLUMNS];
for (const row of rows(n)) data.push(row);
const sheet = XLSX.utils.aoa_to_sheet(data, { cellDates: true, dateNF: 'yyyy-mm-dd hh:mm:ss' });
const workbook = XLSX.utils.book_new();
XLSX.utils.book_append_sheet(workbook, sheet, 'Sheet1');
XLSX.writeFile(workbook, file, { compression: true });
report({
  cpuMs: cpuMs(),
  caseUrl: import.meta.url,
  tool: 'sheetjs',
  format: 'xlsx',
  rows: n,
  startedAt,
  file,
});
