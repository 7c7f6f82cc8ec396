import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { newExportId } from '../../src/jobs/ids.js';
import { claimJob, failJob } from '../../src/jobs/lifecycle.js';
import { postgresJobStore } from '../../src/jobs/store/postgres.js';
import { sqliteJobStore } from '../../src/jobs/store/sqlite.js';
import type { JobStore } from '../../src/jobs/types.js';
import type { NotifyTarget } from '../../src/notify/types.js';
import { runCli } from '../support/cli.js';
import { createSchema, PG_BASE_URL } from './postgres-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-jobs-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], env: NodeJS.ProcessEnv) => runCli(args, { env });

async function addJob(store: JobStore, owner: { id: string; tenant?: string }, notify?: NotifyTarget[]) {
  const request = { version: 1, dataset: 'orders', format: 'csv', n: Math.random() };
  const { job } = await store.create({
    id: newExportId(),
    owner,
    principal: owner,
    request,
    requestHash: createHash('sha256').update(JSON.stringify(request)).digest('hex'),
    ...(notify ? { notify } : {}),
  });
  return job;
}

describe('takeout jobs and takeout migrate', () => {
  it('lists, shows and cancels jobs in the SQLite store of TAKEOUT_DATA_DIR', async () => {
    const env = { TAKEOUT_DATA_DIR: dir };
    expect(await cli(['migrate'], env)).toMatchObject({
      code: 0,
      out: 'job store (sqlite): schema at version 3\n',
    });
    const store = sqliteJobStore({ path: join(dir, 'jobs.db') });
    const mine = await addJob(store, { id: 'ann', tenant: 't1' });
    // Newest first: a later millisecond, or the tie would be broken by the random ids.
    await sleep(5);
    const running = await addJob(store, { id: 'bob' });
    await claimJob(store, running.id, { leaseOwner: 'w', leaseMs: 60_000 });

    const all = await cli(['jobs', 'list'], env);
    expect(all.code).toBe(0);
    const lines = all.out.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([running.id, mine.id]);
    expect(lines[0]).toMatch(/running\s+a1\s+0\s+\S+\s+bob$/);
    expect(lines[1]).toMatch(/queued\s+a0\s+0\s+\S+\s+ann:t1$/);

    const ann = await cli(['jobs', 'list', '--owner', 'ann:t1', '--json'], env);
    expect(JSON.parse(ann.out).jobs.map((j: { id: string }) => j.id)).toEqual([mine.id]);
    const paged = await cli(['jobs', 'list', '--limit', '1'], env);
    expect(paged.out.trim().split('\n')).toHaveLength(1);
    expect(paged.err).toMatch(/^more: takeout jobs list --cursor \S+\n$/);

    const shown = await cli(['jobs', 'show', mine.id], env);
    expect(JSON.parse(shown.out)).toMatchObject({
      id: mine.id,
      status: 'queued',
      owner: { id: 'ann', tenant: 't1' },
    });

    expect((await cli(['jobs', 'cancel', running.id], env)).out).toContain('canceling');
    expect((await store.get(running.id))?.status).toBe('canceling');
    expect((await cli(['jobs', 'cancel', mine.id], env)).out).toContain('canceled');
    expect((await store.get(mine.id))?.status).toBe('canceled');

    const missing = await cli(['jobs', 'show', 'exp_nope'], env);
    expect(missing).toMatchObject({ code: 1, err: 'takeout: export_not_found: No export exp_nope\n' });
    expect((await cli(['jobs', 'list', '--status', 'done'], env)).code).toBe(2);
    expect((await cli(['jobs', 'frobnicate'], env)).code).toBe(2);
    await store.close();
  });

  it('migrates a PostgreSQL schema once, however often it is run', async () => {
    const schema = await createSchema('takeout_jobs_cli');
    try {
      const env = { DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: schema.name };
      const runs = await Promise.all([cli(['migrate'], env), cli(['migrate'], env)]);
      for (const run of runs)
        expect(run).toMatchObject({ code: 0, out: 'job store (postgres): schema at version 3\n' });
      const versions = await schema.admin.query(`SELECT version FROM ${schema.name}.takeout_migrations`);
      expect(versions.rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
      const store = await postgresJobStore({ connectionString: PG_BASE_URL, schema: schema.name });
      const job = await addJob(store, { id: 'ann' });
      expect((await cli(['jobs', 'show', job.id], env)).out).toContain(job.id);
      // An operator sees every delivery of a job's notifications.
      const told = await addJob(store, { id: 'ann' }, [{ channel: 'service' }]);
      await claimJob(store, told.id, { leaseOwner: 'w', leaseMs: 60_000 });
      await failJob(store, told.id, 'w', { code: 'source_error', message: 'down', retryable: false });
      const shown = JSON.parse((await cli(['jobs', 'show', told.id], env)).out);
      expect(shown.deliveries).toEqual([
        expect.objectContaining({
          channel: 'service',
          event: 'export.failed',
          status: 'pending',
          attempts: 0,
        }),
      ]);
      await store.close();
      expect((await cli(['migrate'], { DATABASE_URL: 'mysql://x' })).err).toContain('config_error');
    } finally {
      await schema.drop();
    }
  });
});
