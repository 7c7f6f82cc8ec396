/**
 * Bad input from library callers fails with the codes the docs promise, not `internal`: rows
 * that are not iterable, rows whose cells throw when read, and locales Intl does not know.
 */
import { describe, expect, it } from 'vitest';
import { exportRows, exportSource } from '../../src/pipeline.js';
import { rowsSource } from '../../src/sources/rows.js';
import { collect, exportText, streamError } from './support/export.js';

/** A row whose `a` throws when read, as a getter or a Proxy of the caller's may. */
function throwingRow(): Record<string, unknown> {
  return Object.defineProperty({ id: 1 }, 'a', {
    enumerable: true,
    get() {
      throw new Error('boom');
    },
  });
}

const FORMATS = ['csv', 'tsv', 'json', 'ndjson', 'xlsx'] as const;

describe('rows that are not rows', () => {
  it.each([
    ['a number', 5, 'a number'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a string', 'abc', 'a string'],
    ['an object', { a: 1 }, 'an object that is not iterable'],
  ])('refuses %s with invalid_rows', async (_name, rows, shown) => {
    for (const format of FORMATS) {
      const error = await streamError(exportRows(rows as never, { format }));
      expect(error, format).toMatchObject({ name: 'TakeoutError', code: 'invalid_rows' });
      expect(error.message).toContain(`not ${shown}`);
    }
  });
});

describe('rows whose cells throw when read', () => {
  it('fails with invalid_rows naming the row, the thrown error as the cause', async () => {
    const rows = [{ id: 0, a: 'x' }, { id: 1, a: 'y' }, throwingRow()];
    for (const format of FORMATS) {
      const error = (await streamError(
        exportRows(rows, {
          format,
          columns: [
            { key: 'id', type: 'integer' },
            { key: 'a', type: 'string' },
          ],
        }),
      )) as Error & { details?: unknown };
      expect(error, format).toMatchObject({ code: 'invalid_rows', details: { row: 3 } });
      expect(error.message).toMatch(/^row 3 /);
      expect((error.cause as Error).message).toBe('boom');
    }
  });

  it('counts rows across batches', async () => {
    function* rows() {
      for (let i = 0; i < 1000; i++) yield i === 700 ? throwingRow() : { id: i, a: 'x' };
    }
    const columns = [
      { key: 'id', type: 'integer' as const },
      { key: 'a', type: 'string' as const },
    ];
    for (const format of ['ndjson', 'xlsx'] as const) {
      const error = await streamError(exportRows(rows(), { format, columns, batchSize: 64 }));
      expect(error, format).toMatchObject({ code: 'invalid_rows', details: { row: 701 } });
    }
  });

  it('fails so while columns are inferred from the first rows too', async () => {
    const error = await streamError(exportRows([{ id: 0, a: 1 }, throwingRow()], { format: 'csv' }));
    expect(error).toMatchObject({ code: 'invalid_rows', details: { row: 2 } });
    const keys = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys');
        },
      },
    );
    expect(await streamError(exportRows([{ a: 1 }, keys], { format: 'json' }))).toMatchObject({
      code: 'invalid_rows',
      details: { row: 2 },
    });
  });

  it('reads a class getter as before', async () => {
    class Line {
      constructor(readonly qty: number) {}
      get total(): number {
        return this.qty * 2;
      }
    }
    const rows = [new Line(2)] as unknown as Record<string, unknown>[];
    expect(await exportText(rows, { format: 'csv', columns: ['qty', 'total'] })).toBe('qty,total\r\n2,4\r\n');
  });
});

describe('locale', () => {
  const rows = [{ a: 1.5 }];
  const FORMATS_ALL = [...FORMATS, 'xlsx'] as const;

  it.each([
    ['an unknown locale', 'zz-ZZ'],
    ['a malformed tag', 'not a locale!!'],
    ['an underscore tag', 'de_DE'],
    ['an empty string', ''],
    ['an array', ['de-DE']],
    ['an object', {}],
    ['a number', 7],
  ])('refuses %s with invalid_option, in every format', async (_name, locale) => {
    for (const format of FORMATS_ALL) {
      const error = await streamError(exportRows(rows, { format, locale } as never));
      expect(error, format).toMatchObject({ code: 'invalid_option', details: { option: 'locale' } });
    }
  });

  it('takes a locale Intl knows, in every format', async () => {
    for (const format of FORMATS_ALL) {
      for (const locale of ['de-DE', 'en-US', 'fr', 'EN-us'])
        expect((await collect(exportRows(rows, { format, locale } as never))).length).toBeGreaterThan(0);
    }
    expect(await exportText(rows, { format: 'csv', locale: 'de-DE' })).toBe('a\r\n1,5\r\n');
  });
});

describe('a JavaScript caller without the arguments TypeScript would ask for', () => {
  it('gets a config_error naming what is missing, not a TypeError from inside', () => {
    const call = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return { code: (error as { code?: string }).code, message: (error as Error).message };
      }
      return undefined;
    };
    const exportAny = exportRows as unknown as (...args: unknown[]) => unknown;
    const sourceAny = exportSource as unknown as (...args: unknown[]) => unknown;
    expect(call(() => exportAny([{ a: 1 }]))).toEqual({
      code: 'config_error',
      message: "exportRows needs options with a format: { format: 'csv' }",
    });
    expect(call(() => sourceAny(null, { format: 'csv' }))).toMatchObject({
      code: 'config_error',
      message: expect.stringMatching(/^exportSource needs a source/),
    });
    expect(call(() => sourceAny(rowsSource([{ a: 1 }])))).toMatchObject({ code: 'config_error' });
  });

  it('gets invalid_option for an export option of the wrong kind, never a hang, a TypeError or a silent default', async () => {
    const rows = [{ a: 1 }, { a: 2 }];
    const refusal = (options: Record<string, unknown>) => {
      try {
        exportRows(rows, { format: 'csv', ...options } as never);
      } catch (error) {
        const { code, details } = error as { code?: string; details?: { option?: string } };
        return { code, option: details?.option };
      }
      return undefined;
    };
    for (const [option, value] of [
      ['maxRows', -1],
      ['maxRows', '10'],
      ['maxRows', 1.5],
      ['progressIntervalMs', 'soon'],
      ['progressIntervalMs', -5],
      ['onProgress', 5],
      ['signal', {}],
      // 0 looped forever filling memory; '100' wrote a file with no rows at all.
      ['batchSize', 0],
      ['batchSize', '100'],
      ['batched', 'yes'],
    ] as const) {
      expect(refusal({ [option]: value }), `${option}: ${String(value)}`).toEqual({
        code: 'invalid_option',
        option,
      });
    }
    expect(refusal({ columns: 'a' })).toEqual({ code: 'invalid_columns', option: undefined });
    // The limits still take what they always took: Infinity is no limit (a server's unbounded
    // sync limits pass it on), a batch may be large.
    expect(await exportText(rows, { format: 'csv', maxRows: 2, batchSize: 1, progressIntervalMs: 0 })).toBe(
      'a\r\n1\r\n2\r\n',
    );
    expect(
      await exportText(rows, {
        format: 'csv',
        maxRows: Number.POSITIVE_INFINITY,
        batchSize: 2_000_000,
        progressIntervalMs: Number.POSITIVE_INFINITY,
      }),
    ).toBe('a\r\n1\r\n2\r\n');
    expect((await streamError(exportRows(rows, { format: 'csv', maxRows: 0 }))).code).toBe(
      'sync_limit_exceeded',
    );
  });

  it("keeps the caller's abort reason as the cause of the aborted error", async () => {
    const controller = new AbortController();
    async function* slowRows() {
      for (let i = 0; ; i++) {
        yield { a: i };
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    const stream = exportRows(slowRows(), { format: 'csv', signal: controller.signal });
    const why = new Error('the user closed the tab');
    setTimeout(() => controller.abort(why), 30);
    const error = await streamError(stream);
    expect(error).toMatchObject({ code: 'aborted' });
    expect((error as Error).cause).toBe(why);
  });

  it('gets source_error with the thrown error as its cause when its rows throw, early or mid-file', async () => {
    const why = new Error('the app lost its database');
    function* failing(after: number) {
      for (let i = 0; i < after; i++) yield { a: i };
      throw why;
    }
    async function* failingLater(after: number) {
      yield* failing(after);
    }
    for (const after of [0, 3, 1000]) {
      for (const rows of [failing(after), failingLater(after)]) {
        const error = await streamError(exportRows(rows, { format: 'csv' }));
        expect(error, `after ${after} rows`).toMatchObject({ code: 'source_error', cause: why });
        // The app's words are for its logs: a dataset's rows reach HTTP clients.
        expect(error.message).not.toContain('database');
      }
    }
  });
});
