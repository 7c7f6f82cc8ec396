/**
 * Independent readers for the XLSX tests: exceljs and SheetJS for the workbook, Python's
 * zipfile and Info-ZIP's `unzip -t` for the container. Never Takeout's own code.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import * as XLSX from 'xlsx';

export async function collect(stream: Readable | AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

const dir = mkdtempSync(join(tmpdir(), 'takeout-xlsx-'));
let counter = 0;

/** Writes the bytes to a temporary file and returns its path. */
export function saved(bytes: Buffer, name = 'book'): string {
  const path = join(dir, `${name}-${++counter}.xlsx`);
  writeFileSync(path, bytes);
  return path;
}

/** Python's zipfile reads every entry and checks its CRC; `unzip -t` does the same independently. */
export function assertZipValid(path: string): void {
  const bad = execFileSync(
    'python3',
    ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.testzip())', path],
    { encoding: 'utf8' },
  ).trim();
  if (bad !== 'None') throw new Error(`zipfile.testzip found a bad entry: ${bad}`);
  execFileSync('unzip', ['-tqq', path], { encoding: 'utf8' });
}

/** Entry names with their ZIP metadata, as Python's zipfile sees them. */
export function zipEntries(path: string): {
  name: string;
  size: number;
  compressed: number;
  extract_version: number;
  flag_bits: number;
}[] {
  const script =
    'import sys, json, zipfile\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    'print(json.dumps([{"name": i.filename, "size": i.file_size, "compressed": i.compress_size,' +
    ' "extract_version": i.extract_version, "flag_bits": i.flag_bits} for i in z.infolist()]))';
  return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
}

/** One part's XML, via `unzip -p`. */
export function partText(path: string, part: string): string {
  return execFileSync('unzip', ['-p', path, part], { encoding: 'utf8', maxBuffer: 1 << 30 });
}

export async function readWithExcelJs(bytes: Buffer): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  return workbook;
}

/** SheetJS with raw values: dates stay serial numbers, so tests convert them with their own formula. */
export function readWithSheetJs(bytes: Buffer, options: XLSX.ParsingOptions = {}): XLSX.WorkBook {
  return XLSX.read(bytes, { type: 'buffer', cellDates: false, cellStyles: true, ...options });
}

/** Instant of an Excel 1900-system serial read as wall-clock time (UTC parts). */
export function serialToMs(serial: number): number {
  return Math.round((serial - 25569) * 86_400_000);
}
