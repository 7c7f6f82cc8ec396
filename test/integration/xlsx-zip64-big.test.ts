/**
 * Sheets past 4 GiB of XML. Slow (minutes, several GB of temporary disk), so only with
 * TAKEOUT_TEST_ZIP64_BIG=1; `npm test` skips it. The ZIP64 layout itself is unit-tested on
 * header bytes in test/unit/xlsx-zip.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { EXCEL_MAX_ROWS } from '../../src/formats/xlsx/index.js';
import { exportRows } from '../../src/pipeline.js';
import { assertZipValid, saved, zipEntries } from './xlsx-read.js';

const FOUR_GIB = 2 ** 32;

/** First and last bytes of an entry, streamed by Python (the entry is too big to hold). */
function entryEnds(path: string, name: string): { head: string; tail: string } {
  const script =
    'import sys, json, zipfile\n' +
    'f = zipfile.ZipFile(sys.argv[1]).open(sys.argv[2])\n' +
    'head = f.read(4000)\n' +
    'tail = head\n' +
    'while True:\n' +
    '    b = f.read(1 << 24)\n' +
    '    if not b: break\n' +
    '    tail = (tail + b)[-20000:]\n' +
    'print(json.dumps({"head": head.decode(), "tail": tail.decode()}))';
  return JSON.parse(
    execFileSync('python3', ['-c', script, path, name], { encoding: 'utf8', maxBuffer: 1 << 20 }),
  );
}

async function* rowsOf(total: number, text: (n: number) => string): AsyncGenerator<string[][]> {
  for (let start = 1; start <= total; start += 1000) {
    const batch: string[][] = [];
    for (let n = start; n < Math.min(start + 1000, total + 1); n++) batch.push([text(n)]);
    yield batch;
  }
}

describe.skipIf(process.env.TAKEOUT_TEST_ZIP64_BIG !== '1')('sheets past 4 GiB (opt-in)', () => {
  it('writes a sheet whose rows look big from the start as one ZIP64 entry', async () => {
    const wide = 'w'.repeat(4200);
    const path = saved(Buffer.alloc(0), 'zip64-big');
    const total = EXCEL_MAX_ROWS - 1;
    await pipeline(
      exportRows(
        rowsOf(total, (n) => `${n} ${wide}`),
        { format: 'xlsx', columns: ['text'], batched: true },
      ),
      createWriteStream(path),
    );
    try {
      assertZipValid(path);
      const sheet = zipEntries(path).find((e) => e.name === 'xl/worksheets/sheet1.xml')!;
      expect(sheet.size).toBeGreaterThan(FOUR_GIB);
      expect(sheet.extract_version).toBe(45);
      for (const e of zipEntries(path)) if (e.name !== sheet.name) expect(e.extract_version).toBe(20);
      const { tail } = entryEnds(path, sheet.name);
      expect(tail).toContain(
        `<row r="${EXCEL_MAX_ROWS}"><c r="A${EXCEL_MAX_ROWS}" t="inlineStr"><is><t>${total} w`,
      );
    } finally {
      rmSync(path, { force: true });
    }
  }, 1_800_000);

  it('rolls a sheet that grows past 4 GiB without ZIP64 over to a new sheet', async () => {
    const wide = 'v'.repeat(8000);
    const path = saved(Buffer.alloc(0), 'zip-rollover-bytes');
    const total = 600_000;
    // Narrow first rows: the size estimate says no ZIP64, so only the byte limit can save the file.
    await pipeline(
      exportRows(
        rowsOf(total, (n) => (n <= 1000 ? `${n}` : `${n} ${wide}`)),
        { format: 'xlsx', columns: ['text'], batched: true },
      ),
      createWriteStream(path),
    );
    try {
      assertZipValid(path);
      const sheets = zipEntries(path).filter((e) => e.name.startsWith('xl/worksheets/'));
      expect(sheets.length).toBe(2);
      expect(sheets[0]!.extract_version).toBe(20);
      expect(sheets[0]!.size).toBeLessThan(FOUR_GIB);
      expect(sheets[0]!.size).toBeGreaterThan(FOUR_GIB - 256 * 2 ** 20);
      const first = entryEnds(path, sheets[0]!.name);
      const second = entryEnds(path, sheets[1]!.name);
      const lastOfFirst = Number(/<t>(\d+) v+<\/t><\/is><\/c><\/row><\/sheetData>/.exec(first.tail)?.[1]);
      expect(second.head).toContain(
        '<row r="1"><c r="A1" s="1" t="inlineStr"><is><t>text</t></is></c></row>',
      );
      expect(second.head).toContain(`<row r="2"><c r="A2" t="inlineStr"><is><t>${lastOfFirst + 1} v`);
      expect(second.tail).toContain(`<t>${total} v`);
    } finally {
      rmSync(path, { force: true });
    }
  }, 1_800_000);
});
