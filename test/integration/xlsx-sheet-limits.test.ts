import { describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { SheetNames } from '../../src/formats/xlsx/names.js';
import { MAX_SHEETS } from '../../src/formats/xlsx/options.js';
import { exportRows } from '../../src/pipeline.js';
import { collect, readWithSheetJs } from './xlsx-read.js';

/** `n` one-column rows: with `maxRowsPerSheet: 2` each holds a sheet of its own under the header. */
function rows(n: number): { id: number }[] {
  return Array.from({ length: n }, (_, i) => ({ id: i + 1 }));
}

describe('sheet naming and the number of sheets (issue 9, defect 5)', () => {
  it('names thousands of rollover sheets in linear time', () => {
    // Counting up from 2 on every call made this quadratic: 20,000 names were about 2e8 probes.
    const names = new SheetNames();
    const started = performance.now();
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(names.unique('Orders').toLowerCase());
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(seen.size).toBe(20_000);
    expect(seen.has('orders (20000)')).toBe(true);
  });

  it('keeps numbering past a name the caller took', () => {
    const names = new SheetNames();
    expect(names.unique('Data')).toBe('Data');
    expect(names.unique('Data (3)')).toBe('Data (3)');
    expect(names.unique('Data')).toBe('Data (2)');
    expect(names.unique('data')).toBe('data (4)'); // (3) is taken: skipped once, not probed again
    expect(names.unique('Data')).toBe('Data (5)');
  });

  it(`writes ${MAX_SHEETS} sheets, every one read back by SheetJS`, async () => {
    const started = performance.now();
    const bytes = await collect(exportRows(rows(MAX_SHEETS), { format: 'xlsx', maxRowsPerSheet: 2 }));
    expect(performance.now() - started).toBeLessThan(10_000);
    const book = readWithSheetJs(bytes);
    expect(book.SheetNames).toHaveLength(MAX_SHEETS);
    expect(book.SheetNames[1]).toBe('Sheet1 (2)');
    expect(book.SheetNames[MAX_SHEETS - 1]).toBe(`Sheet1 (${MAX_SHEETS})`);
    const last = book.Sheets[`Sheet1 (${MAX_SHEETS})`]!;
    expect(last.A1).toMatchObject({ v: 'id' });
    expect(last.A2).toMatchObject({ t: 'n', v: MAX_SHEETS });
  });

  it('fails with too_many_sheets, quickly, when one more sheet would be needed', async () => {
    // 16,000 rows at two per sheet took 23 s to name before; now they stop at the bound.
    const started = performance.now();
    const failure = await collect(exportRows(rows(16_000), { format: 'xlsx', maxRowsPerSheet: 2 })).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TakeoutError);
    expect(failure).toMatchObject({
      code: 'too_many_sheets',
      status: 422,
      details: { limit: MAX_SHEETS, maxRowsPerSheet: 2 },
    });
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
