/**
 * Checks a downloaded export with readers that are not Takeout's: csv-parse for CSV and
 * TSV, SheetJS for XLSX, JSON.parse for JSON and NDJSON. Returns the
 * number of data rows (headers not counted) and the bytes' SHA-256.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import * as XLSX from 'xlsx';
import type { Format } from './workload.js';

export interface FileCheck {
  rows: number;
  sha256: string;
  bytes: number;
}

async function delimitedRows(bytes: Buffer, delimiter: string): Promise<number> {
  let records = 0;
  const parser = Readable.from([bytes]).pipe(
    parse({ delimiter, bom: true, quote: delimiter === '\t' ? false : '"' }),
  );
  for await (const _record of parser) records++;
  return records - 1; // the header
}

function xlsxRows(bytes: Buffer): number {
  const book = XLSX.read(bytes, { type: 'buffer' });
  let rows = 0;
  for (const name of book.SheetNames) {
    const sheet = XLSX.utils.sheet_to_json(book.Sheets[name]!, { header: 1, blankrows: false });
    rows += sheet.length - 1; // each sheet repeats the header
  }
  return rows;
}

function ndjsonRows(bytes: Buffer): number {
  let rows = 0;
  for (const line of bytes.toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    JSON.parse(line); // throws on a broken line
    rows++;
  }
  return rows;
}

function jsonRows(bytes: Buffer): number {
  const parsed: unknown = JSON.parse(bytes.toString('utf8'));
  if (!Array.isArray(parsed)) throw new Error('a JSON export is not an array');
  return parsed.length;
}

export async function checkFile(format: Format, bytes: Buffer): Promise<FileCheck> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const rows =
    format === 'csv'
      ? await delimitedRows(bytes, ',')
      : format === 'tsv'
        ? await delimitedRows(bytes, '\t')
        : format === 'xlsx'
          ? xlsxRows(bytes)
          : format === 'json'
            ? jsonRows(bytes)
            : ndjsonRows(bytes);
  return { rows, sha256, bytes: bytes.byteLength };
}
