import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { exportRows } from '../../src/pipeline.js';
import { rowsSource } from '../../src/sources/rows.js';
import type { Progress } from '../../src/types.js';
import { exportWorkbook, prepareWorkbook } from '../../src/workbook.js';
import { assertZipValid, collect, partText, readWithExcelJs, readWithSheetJs, saved } from './xlsx-read.js';

describe('several named sheets (exportWorkbook)', () => {
  it('writes each source to its own sheet with its own columns and names', async () => {
    const progress: Progress[] = [];
    const stream = exportWorkbook(
      [
        {
          name: 'Orders/2024',
          rows: [
            { id: 1, total: 9.5, placed: new Date('2024-05-01T10:00:00Z') },
            { id: 2, total: 20, placed: new Date('2024-05-02T11:30:00Z') },
          ],
        },
        {
          name: 'Customers',
          rows: [
            ['Ada', true],
            ['Linus', false],
            ['Grace', true],
          ],
          columns: ['name', { key: 'vip', header: 'VIP?', type: 'boolean' }],
        },
        { name: 'orders/2024', rows: [], columns: ['empty'] },
        {
          source: rowsSource([{ sku: 'A-1', qty: 3 }], {
            columns: [{ key: 'sku' }, { key: 'qty', type: 'integer' }],
          }),
        },
      ],
      { timezone: 'UTC', onProgress: (p) => progress.push(p) },
    );
    const bytes = await collect(stream);
    const path = saved(bytes);
    assertZipValid(path);

    const book = await readWithExcelJs(bytes);
    expect(book.worksheets.map((s) => s.name)).toEqual([
      'Orders_2024',
      'Customers',
      'orders_2024 (2)',
      'Sheet4',
    ]);
    const [orders, customers, empty, fourth] = book.worksheets;
    expect(orders!.getRow(1).values).toEqual([undefined, 'id', 'total', 'placed']);
    expect(orders!.getRow(3).values).toEqual([undefined, 2, 20, new Date('2024-05-02T11:30:00Z')]);
    expect(orders!.autoFilter).toBe('A1:C3');
    expect(customers!.getRow(1).values).toEqual([undefined, 'name', 'VIP?']);
    expect(customers!.getRow(4).values).toEqual([undefined, 'Grace', true]);
    expect(customers!.autoFilter).toBe('A1:B4');
    expect(customers!.getRow(1).getCell(2).font?.bold).toBe(true);
    expect(empty!.rowCount).toBe(1);
    expect(fourth!.getRow(2).values).toEqual([undefined, 'A-1', 3]);

    const sheetjs = readWithSheetJs(bytes);
    expect(sheetjs.SheetNames).toEqual(['Orders_2024', 'Customers', 'orders_2024 (2)', 'Sheet4']);
    expect(sheetjs.Sheets.Customers!.B2).toMatchObject({ t: 'b', v: true });

    const workbook = partText(path, 'xl/workbook.xml');
    for (const [i, ref] of ["'Orders_2024'!$A$1:$C$3", "'Customers'!$A$1:$B$4"].entries()) {
      expect(workbook).toContain(`localSheetId="${i}" hidden="1">${ref}</definedName>`);
    }
    expect(partText(path, 'xl/worksheets/sheet1.xml')).toContain('tabSelected="1"');
    expect(partText(path, 'xl/worksheets/sheet2.xml')).not.toContain('tabSelected');
    expect(progress.at(-1)).toMatchObject({ rows: 6, done: true });
  });

  it('prepares the first chunk before returning, and reports bad input as errors', async () => {
    const prepared = await prepareWorkbook([{ name: 'A', rows: [{ x: 1 }] }]);
    expect(prepared.format.name).toBe('xlsx');
    expect(prepared.columns.map((c) => c.key)).toEqual(['x']);
    assertZipValid(saved(await collect(prepared.stream)));
    await expect(prepareWorkbook([])).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(prepareWorkbook([{ name: 'no rows' }])).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      collect(exportWorkbook([{ rows: [{ a: 1 }] }], { compressionLevel: -1 })),
    ).rejects.toMatchObject({
      code: 'invalid_option',
    });
  });
});

describe('rollover', () => {
  it('continues on a new sheet with the header repeated when a sheet is full', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ n: i + 1, label: `row ${i + 1}` }));
    const bytes = await collect(exportRows(rows, { format: 'xlsx', sheetName: 'Data', maxRowsPerSheet: 4 }));
    assertZipValid(saved(bytes));
    const book = await readWithExcelJs(bytes);
    expect(book.worksheets.map((s) => s.name)).toEqual(['Data', 'Data (2)', 'Data (3)', 'Data (4)']);
    const seen: unknown[] = [];
    for (const sheet of book.worksheets) {
      expect(sheet.getRow(1).values).toEqual([undefined, 'n', 'label']);
      expect(sheet.getRow(1).getCell(1).font?.bold).toBe(true);
      expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
      expect(sheet.rowCount).toBeLessThanOrEqual(4);
      expect(sheet.autoFilter).toBe(`A1:B${sheet.rowCount}`);
      sheet.eachRow((row, n) => {
        if (n > 1) seen.push(row.getCell(1).value);
      });
    }
    expect(seen).toEqual(rows.map((r) => r.n)); // nothing lost, nothing repeated
  });
});

describe('streaming', () => {
  it('produces only as fast as the consumer reads, and closes the source when the reader stops', async () => {
    let produced = 0;
    let closed = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) {
          produced++;
          yield [i, `name ${i}`, i * 1.5];
        }
      } finally {
        closed = true;
      }
    }
    const stream = exportRows(endless(), { format: 'xlsx', columns: ['id', 'name', 'x'] });
    const reader = stream[Symbol.asyncIterator]();
    await reader.next();
    await reader.next();
    await sleep(300);
    const paused = produced;
    await sleep(300);
    expect(produced).toBe(paused); // nothing is produced while nobody reads
    expect(paused).toBeLessThan(50_000); // a few chunks of XML, not the whole (endless) source
    await reader.return?.();
    // Closing runs after the stream is destroyed: on a loaded machine it may take more than 50 ms.
    await expect.poll(() => closed, { timeout: 2000 }).toBe(true);
  });

  it('stops with an aborted error when the signal fires', async () => {
    let closed = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) yield { i };
      } finally {
        closed = true;
      }
    }
    const controller = new AbortController();
    const stream = exportRows(endless(), { format: 'xlsx', signal: controller.signal });
    const done = collect(stream);
    setTimeout(() => controller.abort(), 100);
    await expect(done).rejects.toMatchObject({ code: 'aborted' });
    await sleep(50);
    expect(closed).toBe(true);
  });
});
