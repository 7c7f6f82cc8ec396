/**
 * Reads an exported file back with readers that are not Takeout's own (csv-parse, JSON.parse,
 * exceljs), for tests that check a file downloaded over HTTP or written by the CLI.
 */
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';

export type ExportedRow = Record<string, unknown>;

/** The file's data rows as records keyed by header (the first row of CSV, TSV and XLSX). */
export async function readExport(format: string, bytes: Buffer): Promise<ExportedRow[]> {
  switch (format) {
    case 'csv':
      return parse(bytes, { columns: true, bom: true }) as ExportedRow[];
    case 'tsv':
      return parse(bytes, { columns: true, bom: true, delimiter: '\t', quote: false }) as ExportedRow[];
    case 'json':
      return JSON.parse(bytes.toString('utf8')) as ExportedRow[];
    case 'ndjson':
      return bytes
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as ExportedRow);
    case 'xlsx': {
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
      const sheet = workbook.worksheets[0];
      if (!sheet) throw new Error('the workbook has no sheet');
      const header = (sheet.getRow(1).values as unknown[]).slice(1).map(String);
      const rows: ExportedRow[] = [];
      sheet.eachRow((row, index) => {
        if (index === 1) return;
        const values = (row.values as unknown[]).slice(1);
        rows.push(Object.fromEntries(header.map((key, i) => [key, values[i]])));
      });
      return rows;
    }
    default:
      throw new Error(`no independent reader for ${format}`);
  }
}

/** How many data rows an independent reader finds in the file. */
export async function independentRowCount(format: string, bytes: Buffer): Promise<number> {
  return (await readExport(format, bytes)).length;
}
