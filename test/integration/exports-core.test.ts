import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { defineDataset } from '../../src/datasets/define.js';
import { DatasetRegistry } from '../../src/datasets/registry.js';
import { TakeoutError } from '../../src/errors.js';
import {
  DEFAULT_EXPORT_LIMITS,
  type ExportContext,
  parseExportRequest,
  planExport,
  runExport,
} from '../../src/exports/index.js';
import { builtinFormats } from '../../src/formats/index.js';
import { buildServer } from '../../src/http/server.js';
import { rowsSource } from '../../src/sources/rows.js';

const formats = builtinFormats();
const alice = { id: 'alice' };

async function* wideRows(n: number) {
  for (let i = 0; i < n; i++) yield { a: i, b: i, c: i, d: i };
}

function context(overrides: Partial<ExportContext> = {}): ExportContext {
  return {
    datasets: new DatasetRegistry([
      // Neither the dataset nor the request declares columns; the source has no estimate.
      defineDataset({ name: 'wide', source: () => rowsSource(wideRows(1000)) }),
    ]),
    formats,
    limits: DEFAULT_EXPORT_LIMITS,
    ...overrides,
  };
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function failure(fn: () => unknown): TakeoutError {
  try {
    fn();
  } catch (error) {
    return error as TakeoutError;
  }
  throw new Error('expected a failure');
}

describe('parseExportRequest', () => {
  it.each(formats.names())('refuses an unknown option of %s, naming it', (format) => {
    const error = failure(() =>
      parseExportRequest({ rows: [], format, options: { delimeter: ';' } }, formats),
    );
    expect(error).toBeInstanceOf(TakeoutError);
    expect(error.code).toBe('invalid_option');
    expect(error.details).toMatchObject({ option: 'delimeter', format });
  });

  it('accepts every option a format declares, and checks its value', () => {
    for (const format of formats.all()) {
      for (const option of Object.keys(format.options)) {
        const error = failure(() =>
          parseExportRequest({ rows: [], format: format.name, options: { [option]: { bad: [] } } }, formats),
        );
        // An object of arrays is no valid value of any option: refused as that option.
        expect(error.details).toMatchObject({ option });
      }
    }
    expect(parseExportRequest({ dataset: 'x', format: 'CSV', options: { delimiter: ';' } }, formats)).toEqual(
      {
        version: 1,
        dataset: 'x',
        format: 'csv',
        options: { delimiter: ';' },
      },
    );
  });

  it('is closed and versioned', () => {
    expect(failure(() => parseExportRequest({ rows: [], format: 'csv', version: 2 }, formats)).code).toBe(
      'invalid_request',
    );
    expect(failure(() => parseExportRequest({ rows: [], format: 'csv', colums: [] }, formats)).code).toBe(
      'invalid_request',
    );
    // Rows given apart (a job's staged rows): the request has neither rows nor dataset.
    expect(parseExportRequest({ format: 'json' }, formats, { rowsApart: true })).toEqual({
      version: 1,
      format: 'json',
      options: {},
    });
  });
});

describe('planExport and runExport', () => {
  it('limits cells by the resolved columns while streaming, when nobody declares columns (issue 9 #4)', async () => {
    const limits = { ...DEFAULT_EXPORT_LIMITS, syncMaxCells: 100 };
    const plan = await planExport(
      parseExportRequest({ dataset: 'wide', format: 'csv' }, formats),
      alice,
      context({ limits }),
    );
    expect(plan.columns.map((c) => c.key)).toEqual(['a', 'b', 'c', 'd']);
    expect(plan.estimate.rows).toBeUndefined();
    expect(plan.sync).toEqual({ fits: true });
    expect(plan.syncCaps.maxRows).toBe(25);
    const run = runExport(plan, collect, { maxRows: plan.syncCaps.maxRows });
    await expect(run).rejects.toMatchObject({ code: 'sync_limit_exceeded' });
  });

  it('runs into a function sink with rows, bytes and SHA-256, and rows given apart', async () => {
    async function* staged() {
      yield { id: 1, name: 'a' };
      yield { id: 2, name: 'b' };
    }
    const plan = await planExport(
      parseExportRequest({ format: 'csv', filename: 'r\ud800' }, formats, { rowsApart: true }),
      alice,
      context(),
      { rows: staged(), rowCount: 2 },
    );
    expect(plan.estimate).toMatchObject({ rows: 2, cells: 4 });
    expect(plan.filename).toBe('r\ufffd.csv');
    expect(plan.contentType).toBe('text/csv; charset=utf-8');
    let file: Buffer = Buffer.alloc(0);
    const result = await runExport(plan, async (body) => {
      file = await collect(body);
    });
    expect(file.toString()).toBe('id,name\r\n1,a\r\n2,b\r\n');
    expect(result).toEqual({
      rows: 2,
      bytes: file.length,
      sha256: createHash('sha256').update(file).digest('hex'),
    });
    await expect(runExport(plan, collect)).rejects.toMatchObject({ code: 'internal' });
    await plan.close(); // a no-op once run
  });

  it('closes the source of a plan that is not run, once', async () => {
    let closed = 0;
    const datasets = new DatasetRegistry([
      defineDataset({
        name: 'tracked',
        source: () => ({ ...rowsSource([{ a: 1 }]), close: async () => void closed++ }),
      }),
    ]);
    const plan = await planExport(
      parseExportRequest({ dataset: 'tracked', format: 'json' }, formats),
      alice,
      {
        ...context(),
        datasets,
      },
    );
    await plan.close();
    await plan.close();
    expect(closed).toBe(1);
    expect(plan.open).toBe(false);
  });

  it('closes the source of a plan aborted mid-planning even when nobody watches the close (a worker)', async () => {
    let closed = 0;
    const controller = new AbortController();
    const datasets = new DatasetRegistry([
      defineDataset({
        name: 'stuck',
        source: () => ({
          ...rowsSource([{ a: 1 }]),
          // Describing the rows takes a while (a slow database): the job is canceled meanwhile.
          columns: () => new Promise((resolve) => setTimeout(() => resolve([]), 100)),
          close: async () => void closed++,
        }),
      }),
    ]);
    const planning = planExport(
      parseExportRequest({ dataset: 'stuck', format: 'csv' }, formats),
      alice,
      {
        ...context(),
        datasets,
      },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(new TakeoutError('aborted', 'canceled')), 20);
    await expect(planning).rejects.toMatchObject({ code: 'aborted' });
    expect(closed).toBe(0); // never under the step in flight...
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(closed).toBe(1); // ...but once it settled, though no caller watched for it
  });

  it('returns from an abort before the first chunk only once the source has closed', async () => {
    let closed = false;
    const controller = new AbortController();
    const datasets = new DatasetRegistry([
      defineDataset({
        name: 'silent',
        columns: ['a'],
        source: () => ({
          ...rowsSource([], { columns: ['a'] }),
          // The first rows do not come before the abort (a slow query, which the abort stops);
          // closing takes a while (a cancel on the server).
          batches: (signal?: AbortSignal) => ({
            [Symbol.asyncIterator]: () => ({
              next: () =>
                new Promise<IteratorResult<never>>((_, reject) =>
                  signal?.addEventListener('abort', () => reject(signal.reason), { once: true }),
                ),
            }),
          }),
          close: async () => {
            await new Promise((resolve) => setTimeout(resolve, 150));
            closed = true;
          },
        }),
      }),
    ]);
    const plan = await planExport(parseExportRequest({ dataset: 'silent', format: 'csv' }, formats), alice, {
      ...context(),
      datasets,
    });
    setTimeout(() => controller.abort(new TakeoutError('aborted', 'the client left')), 30);
    await expect(runExport(plan, async () => {}, { signal: controller.signal })).rejects.toMatchObject({
      code: 'aborted',
    });
    // A route releases its slot when runExport returns: the source must be closed by then.
    expect(closed).toBe(true);
  });

  it('decides rows, cells and bytes against the sync limits', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ a: i, b: i }));
    const decide = async (limits: Partial<typeof DEFAULT_EXPORT_LIMITS>) => {
      const plan = await planExport(parseExportRequest({ rows, format: 'csv' }, formats), alice, {
        ...context(),
        limits: { ...DEFAULT_EXPORT_LIMITS, ...limits },
      });
      await plan.close();
      return plan.sync;
    };
    expect(await decide({})).toEqual({ fits: true });
    expect(await decide({ syncMaxRows: 9 })).toEqual({ fits: false, reason: 'rows' });
    expect(await decide({ syncMaxCells: 19 })).toEqual({ fits: false, reason: 'cells' });
    expect(await decide({ syncMaxBytes: 100 })).toEqual({ fits: false, reason: 'bytes' });
  });
});

describe('POST /v1/exports through the core', () => {
  it('takes inline rows as rows, never batches (issue 9 #6)', async () => {
    const app = await buildServer({ datasets: new DatasetRegistry() });
    const rows = [[{ a: 1 }, { a: 2 }], [{ a: 3 }]];
    const withColumns = await app.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { rows, columns: ['x', 'y'], format: 'csv' },
    });
    expect(withColumns.statusCode).toBe(200);
    expect(parse(withColumns.body, { columns: true })).toEqual([
      { x: '{"a":1}', y: '{"a":2}' },
      { x: '{"a":3}', y: '' },
    ]);
    const withoutColumns = await app.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { rows, format: 'csv' },
    });
    expect(withoutColumns.statusCode).toBe(400);
    expect(withoutColumns.json()).toMatchObject({ code: 'invalid_columns' });
    // The row count checked against the limits is the number of rows: 2 fits, 3 would not.
    const limited = await buildServer({ datasets: new DatasetRegistry(), syncMaxRows: 2 });
    const fits = await limited.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { rows, columns: ['x', 'y'], format: 'csv' },
    });
    expect(fits.statusCode).toBe(200);
    await Promise.all([app.close(), limited.close()]);
  });

  it('refuses a misspelt option with invalid_option naming it', async () => {
    const app = await buildServer({ datasets: new DatasetRegistry() });
    const response = await app.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { rows: [{ a: 1 }], format: 'csv', options: { delimeter: ';' } },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'invalid_option',
      option: 'delimeter',
      detail: 'The csv format has no option "delimeter"',
    });
    await app.close();
  });

  it('cuts a stream at the cells limit of the resolved columns (issue 9 #4)', async () => {
    const app = await buildServer({ datasets: context().datasets, syncMaxCells: 100 });
    const response = await app.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { dataset: 'wide', format: 'csv' },
    });
    // The response had started; it ends before the 26th row.
    expect(response.body.trim().split('\r\n').length).toBeLessThanOrEqual(26);
    await app.close();
  });
});
