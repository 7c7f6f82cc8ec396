import { createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { EXCEL_MAX_ROWS } from '../../src/formats/xlsx/index.js';
import { exportRows } from '../../src/pipeline.js';
import { assertZipValid, partText, readWithSheetJs, saved, zipEntries } from './xlsx-read.js';

const EXTRA = 10;
const TOTAL = EXCEL_MAX_ROWS + EXTRA; // more rows than one sheet can hold, header aside

/** One narrow integer column, in batches, generated lazily. */
async function* narrowRows(): AsyncGenerator<number[][]> {
  for (let start = 1; start <= TOTAL; start += 10_000) {
    const batch: number[][] = [];
    for (let n = start; n < Math.min(start + 10_000, TOTAL + 1); n++) batch.push([n]);
    yield batch;
  }
}

describe('rollover at Excel’s row limit', () => {
  it(`writes ${TOTAL} rows as a full sheet and a second one with the header repeated`, async () => {
    const path = saved(Buffer.alloc(0), 'rollover');
    await pipeline(
      exportRows(narrowRows(), { format: 'xlsx', columns: [{ key: 'n', type: 'integer' }], batched: true }),
      createWriteStream(path),
    );
    assertZipValid(path);
    expect(
      zipEntries(path)
        .filter((e) => e.name.startsWith('xl/worksheets/'))
        .map((e) => e.name),
    ).toEqual(['xl/worksheets/sheet1.xml', 'xl/worksheets/sheet2.xml']);

    // The second sheet, read by SheetJS alone (the first is too big to parse quickly in a test).
    const bytes = readFileSync(path);
    const names = readWithSheetJs(bytes, { bookSheets: true }).SheetNames;
    expect(names).toEqual(['Sheet1', 'Sheet1 (2)']);
    const second = readWithSheetJs(bytes, { sheets: 'Sheet1 (2)' }).Sheets['Sheet1 (2)']!;
    // 1,048,575 data rows fit under the header of sheet 1; the rest follow the repeated header.
    const carried = TOTAL - (EXCEL_MAX_ROWS - 1);
    expect(second['!ref']).toBe(`A1:A${carried + 1}`);
    expect(second.A1).toMatchObject({ t: 's', v: 'n' });
    for (let i = 0; i < carried; i++)
      expect(second[`A${i + 2}`]).toMatchObject({ t: 'n', v: EXCEL_MAX_ROWS + i });

    // The end of the first sheet: its last row is Excel's last row, holding data row 1,048,575.
    const tail = partText(path, 'xl/worksheets/sheet1.xml').slice(-400);
    expect(tail).toContain(
      `<row r="${EXCEL_MAX_ROWS}"><c r="A${EXCEL_MAX_ROWS}"><v>${EXCEL_MAX_ROWS - 1}</v></c></row>`,
    );
    expect(tail).toContain(`<autoFilter ref="A1:A${EXCEL_MAX_ROWS}"/>`);
  }, 120_000);
});
