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

/** A Python that can import openpyxl (Debian's python3-openpyxl), if this machine has one. */
function openpyxlPython(): string | undefined {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import openpyxl'], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export const OPENPYXL = openpyxlPython();

/** The first sheet's values as openpyxl (pandas' reader) reads them, row by row. */
export function readWithOpenpyxl(path: string): unknown[][] {
  if (!OPENPYXL) throw new Error('openpyxl is not installed');
  const script =
    'import sys, json, openpyxl\n' +
    'ws = openpyxl.load_workbook(sys.argv[1], read_only=True).worksheets[0]\n' +
    'print(json.dumps([list(r) for r in ws.iter_rows(values_only=True)], default=str))';
  return JSON.parse(execFileSync(OPENPYXL, ['-c', script, path], { encoding: 'utf8', maxBuffer: 1 << 28 }));
}

/**
 * The inline-string texts of a sheet part, row by row, as a plain XML parser gives them
 * (Python's zipfile + xml.etree): what any reader that does not know Excel's escapes sees.
 */
export function inlineTextsWithEtree(path: string, part = 'xl/worksheets/sheet1.xml'): string[][] {
  const script =
    'import sys, json, zipfile, xml.etree.ElementTree as ET\n' +
    'ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"\n' +
    'root = ET.fromstring(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))\n' +
    'print(json.dumps([[t.text or "" for t in row.iter(ns + "t")] for row in root.iter(ns + "row")]))';
  return JSON.parse(
    execFileSync('python3', ['-c', script, path, part], { encoding: 'utf8', maxBuffer: 1 << 28 }),
  );
}
