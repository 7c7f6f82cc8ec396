/**
 * A background export whose rows are counted before the file starts (a SQLite dataset) and are
 * already past a limit fails at once, writing nothing: past TAKEOUT_JOB_MAX_ROWS with
 * `export_too_large`, an XLSX needing more than 1,000 sheets with `too_many_sheets`. Before,
 * the worker wrote rows up to the limit first (millions, at the default of 50,000,000).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { demoOrdersDataset, ensureDemoDatabase } from '../../src/demo/orders.js';
import { memoryStorage } from '../../src/storage/memory.js';
import type { Storage } from '../../src/storage/types.js';
import { alice, type TestService, testService } from '../support/jobs.js';

describe('background exports past a limit their counted rows show', () => {
  const started: TestService[] = [];
  afterAll(async () => {
    for (const t of started) await t.close();
  });
  const database = ensureDemoDatabase(mkdtempSync(join(tmpdir(), 'takeout-counted-')), 3_000);

  /** A storage that counts the files started in it: none, when the export is refused first. */
  function countingStorage(): Storage & { puts: number } {
    const storage = Object.assign(memoryStorage(), { puts: 0 });
    const put = storage.put.bind(storage);
    storage.put = (...args) => {
      storage.puts++;
      return put(...args);
    };
    return storage;
  }

  it('fails past TAKEOUT_JOB_MAX_ROWS before writing, and exports what fits', async () => {
    const storage = countingStorage();
    const t = await testService(
      { TAKEOUT_JOB_MAX_ROWS: '2500' },
      { datasets: [demoOrdersDataset(database)], storage },
    );
    started.push(t);
    await t.service.jobs.startWorker();
    const { job } = await t.service.jobs.create(t.request({ dataset: 'orders', format: 'csv' }), alice);
    const failed = await t.until(job.id, (j) => j.status === 'failed');
    expect(failed.error).toMatchObject({ code: 'export_too_large', retryable: false });
    expect(failed.error?.message).toBe('The export has more than 2500 rows');
    expect(failed.progress.rowsWritten).toBe(0);
    expect(failed.attempt).toBe(1);
    expect(storage.puts).toBe(0);
    expect(await t.objects()).toEqual([]);
    const fits = await t.service.jobs.create(
      t.request({ dataset: 'orders', format: 'csv', columns: ['id'], params: { to: '2022-03-01' } }),
      alice,
    );
    const done = await t.until(fits.job.id, (j) => j.status === 'succeeded' || j.status === 'failed');
    expect(done.status).toBe('succeeded');
    const db = new Database(database, { readonly: true });
    const expected = db.prepare("SELECT count(*) FROM orders WHERE order_date <= '2022-03-01'").pluck().get();
    db.close();
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThanOrEqual(2500);
    expect(done.result?.rowCount).toBe(expected);
  });

  it('fails an XLSX that would need more than 1,000 sheets before writing', async () => {
    const storage = countingStorage();
    const t = await testService({}, { datasets: [demoOrdersDataset(database)], storage });
    started.push(t);
    await t.service.jobs.startWorker();
    const { job } = await t.service.jobs.create(
      t.request({ dataset: 'orders', format: 'xlsx', options: { maxRowsPerSheet: 2 } }),
      alice,
    );
    const failed = await t.until(job.id, (j) => j.status === 'failed');
    expect(failed.error).toMatchObject({ code: 'too_many_sheets', retryable: false });
    expect(failed.progress.rowsWritten).toBe(0);
    expect(storage.puts).toBe(0);
    expect(await t.objects()).toEqual([]);
  });
});
