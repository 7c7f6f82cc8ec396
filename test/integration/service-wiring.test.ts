import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { defineDataset } from '../../src/datasets/define.js';
import { parseExportRequest, planExport, runExport } from '../../src/exports/index.js';
import { createService } from '../../src/service.js';
import { rowsSource } from '../../src/sources/rows.js';
import { memoryStorage } from '../../src/storage/memory.js';
import type { FormatWriter } from '../../src/types.js';
import { SHARED_REDIS_URL } from '../support/bullmq-harness.js';
import { createSchema } from './postgres-helpers.js';

function env(extra: Record<string, string> = {}) {
  return {
    TAKEOUT_DATA_DIR: mkdtempSync(join(tmpdir(), 'takeout-wiring-')),
    TAKEOUT_DEMO: 'false',
    ...extra,
  };
}

const upper: FormatWriter = {
  name: 'upper',
  contentType: 'text/plain; charset=utf-8',
  extension: 'txt',
  options: {},
  async *write(batches) {
    for await (const batch of batches) yield Buffer.from(`${batch.length}\n`);
  },
};

describe('createService', () => {
  it('shares one pg.Pool per connection string across exports and datasets', async () => {
    const schema = await createSchema('takeout_wiring');
    try {
      await schema.admin.query('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 50) g');
      const vars = env({ WIRING_PG: schema.url });
      const config = join(vars.TAKEOUT_DATA_DIR, 'takeout.config.json');
      const dataset = (name: string) => ({
        name,
        connection: { postgres: { urlEnv: 'WIRING_PG' } },
        sql: 'SELECT id FROM t ORDER BY id',
      });
      writeFileSync(config, JSON.stringify({ datasets: [dataset('first'), dataset('second')] }));
      const service = await createService(loadConfig({ ...vars, TAKEOUT_CONFIG: config }), {
        env: vars,
        storage: memoryStorage(),
      });
      try {
        for (const name of ['first', 'second', 'first']) {
          const request = parseExportRequest({ dataset: name, format: 'csv' }, service.formats);
          const plan = await planExport(request, { id: 'u' }, service.exports);
          const chunks: Buffer[] = [];
          const result = await runExport(plan, async (body) => {
            for await (const chunk of body) chunks.push(Buffer.from(chunk));
          });
          expect(result.rows).toBe(50);
        }
        expect(service.pools.size).toBe(1);
        // Sequential exports borrowed and returned the same connection.
        expect((await service.pools.get(schema.url)).totalCount).toBe(1);
      } finally {
        await service.close();
        await service.close(); // idempotent
      }
    } finally {
      await schema.drop();
    }
  });

  it('keeps datasets and formats per service: two services in one process differ', async () => {
    const a = await createService(loadConfig(env()), {
      datasets: [defineDataset({ name: 'only_a', source: () => rowsSource([{ x: 1 }]) })],
      formats: [upper],
      storage: memoryStorage(),
    });
    const b = await createService(loadConfig(env()), { storage: memoryStorage() });
    try {
      expect(a.formats.names()).toContain('upper');
      expect(b.formats.names()).not.toContain('upper');
      expect(a.datasets.list({ id: 'u' }).map((d) => d.name)).toEqual(['only_a']);
      expect(b.datasets.list({ id: 'u' })).toEqual([]);
      expect(() => parseExportRequest({ rows: [], format: 'upper' }, b.formats)).toThrow(/Unknown format/);
      expect(a.storage).not.toBe(b.storage);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('builds the storage STORAGE_URL names, once parsed by loadConfig', async () => {
    const vars = env();
    const config = loadConfig({ ...vars, STORAGE_URL: `file:${join(vars.TAKEOUT_DATA_DIR, 'elsewhere')}` });
    expect(config.storage.location).toEqual({ kind: 'file', root: join(vars.TAKEOUT_DATA_DIR, 'elsewhere') });
    const service = await createService(config);
    try {
      expect(service.storage.kind).toBe('file');
      expect((service.storage as { root?: string }).root).toBe(join(vars.TAKEOUT_DATA_DIR, 'elsewhere'));
    } finally {
      await service.close();
    }
  });

  it('refuses a REDIS_URL database Redis does not have, for the queue and the rate limit alike', async () => {
    for (const limit of ['0', '600']) {
      const config = loadConfig(
        env({
          REDIS_URL: `${SHARED_REDIS_URL}/999`,
          TAKEOUT_RATE_LIMIT: limit,
          TAKEOUT_SECRET: 'x'.repeat(32),
        }),
      );
      await expect(createService(config, { storage: memoryStorage() })).rejects.toMatchObject({
        code: 'config_error',
        message: expect.stringMatching(/^REDIS_URL names database 999\b/),
      });
    }
  });
});

describe('a closed service', () => {
  const principal = { id: 'u' };
  const closed = {
    code: 'service_closed',
    retryable: false,
    message: expect.stringMatching(/service is closed/),
  };

  it.each([
    ['with its worker running', true],
    ['without a worker', false],
  ])('refuses every call of its jobs, for good (%s)', async (_, worker) => {
    const service = await createService(loadConfig(env()), { storage: memoryStorage() });
    if (worker) await service.jobs.startWorker();
    const request = parseExportRequest({ rows: [{ a: 1 }], format: 'csv' }, service.formats);
    const { job } = await service.jobs.create(request, principal);
    await service.close();
    const { jobs } = service;
    await expect(jobs.create(request, principal)).rejects.toMatchObject(closed);
    await expect(jobs.get(job.id, principal)).rejects.toMatchObject(closed);
    await expect(jobs.find(job.id, principal)).rejects.toMatchObject(closed);
    await expect(jobs.list(principal)).rejects.toMatchObject(closed);
    await expect(jobs.cancel(job.id, principal)).rejects.toMatchObject(closed);
    await expect(jobs.discard(job.id, principal)).rejects.toMatchObject(closed);
    await expect(jobs.remove(job.id, principal)).rejects.toMatchObject(closed);
    await expect(jobs.sweep()).rejects.toMatchObject(closed);
    // Not "already running", and no worker started on a closed queue and store.
    await expect(jobs.startWorker()).rejects.toMatchObject(closed);
    await service.close(); // still idempotent
  });
});

describe('a closing service', () => {
  it('refuses new work from the start of close, and answers reads until its grace is over', async () => {
    const principal = { id: 'u' };
    const service = await createService(loadConfig(env()), { storage: memoryStorage() });
    const { jobs } = service;
    const request = parseExportRequest({ rows: [{ a: 1 }], format: 'csv' }, service.formats);
    const { job } = await jobs.create(request, principal);
    // The queue's close waits as for running jobs in their grace, until the test lets it end.
    let endGrace: () => void = () => {};
    const grace = new Promise<void>((resolve) => {
      endGrace = resolve;
    });
    const queue = jobs.queue;
    const realClose = queue.close.bind(queue);
    queue.close = (graceMs?: number) => grace.then(() => realClose(graceMs));
    const closing = service.close();
    const refused = { code: 'service_closed', message: expect.stringMatching(/service is closing/) };
    await expect(jobs.create(request, principal)).rejects.toMatchObject(refused);
    await expect(jobs.startWorker()).rejects.toMatchObject(refused);
    await expect(jobs.sweep()).rejects.toMatchObject(refused);
    await expect(jobs.get(job.id, principal)).resolves.toMatchObject({ id: job.id, status: 'queued' });
    await expect(jobs.list(principal)).resolves.toMatchObject({
      jobs: [expect.objectContaining({ id: job.id })],
    });
    endGrace();
    await closing;
    await expect(jobs.get(job.id, principal)).rejects.toMatchObject({ code: 'service_closed' });
  });
});

describe('createService arguments', () => {
  it('refuses a missing or incomplete config, naming what is missing', async () => {
    const call = createService as (config?: unknown, options?: unknown) => Promise<unknown>;
    await expect(call()).rejects.toMatchObject({
      name: 'TakeoutError',
      code: 'config_error',
      message: expect.stringMatching(/^createService needs a config.*loadConfig/),
    });
    await expect(call({})).rejects.toMatchObject({
      name: 'TakeoutError',
      code: 'config_error',
      message: expect.stringMatching(/^createService: the config has no host\b.*loadConfig/),
      details: { option: 'host' },
    });
    const { storage: _storage, ...noStorage } = loadConfig(env());
    await expect(call(noStorage)).rejects.toMatchObject({
      code: 'config_error',
      message: expect.stringMatching(/^createService: the config has no storage\b/),
      details: { option: 'storage' },
    });
  });

  it('refuses an unknown option or config key (a typo), with the likely one', async () => {
    const call = createService as (config?: unknown, options?: unknown) => Promise<unknown>;
    await expect(call(loadConfig(env()), { storge: memoryStorage() })).rejects.toMatchObject({
      name: 'TakeoutError',
      code: 'config_error',
      message: expect.stringMatching(/^createService has no option "storge" \(did you mean storage\?\)/),
      details: { option: 'storge' },
    });
    await expect(
      call({ ...loadConfig(env()), syncMaxRow: 5 }, { storage: memoryStorage() }),
    ).rejects.toMatchObject({
      code: 'config_error',
      message: expect.stringMatching(
        /^The config of createService has no option "syncMaxRow" \(did you mean syncMaxRows\?\)/,
      ),
      details: { option: 'syncMaxRow' },
    });
    await expect(call(loadConfig(env()), null)).rejects.toMatchObject({ code: 'config_error' });
  });
});
