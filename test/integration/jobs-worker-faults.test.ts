import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { sqliteJobStore } from '../../src/jobs/store/sqlite.js';
import type { JobStore } from '../../src/jobs/types.js';
import { alice, numbersDataset, type TestService, testService } from '../support/jobs.js';

let t: TestService | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  t = undefined;
});

/** A store whose first success update commits, then reports a lost connection. */
function brokenAfterCommit(store: JobStore): JobStore {
  let broken = false;
  return {
    ...store,
    kind: store.kind,
    async transition(id, when, patch, now) {
      const result = await store.transition(id, when, patch, now);
      if (patch.status === 'succeeded' && !broken) {
        broken = true;
        throw new TakeoutError('job_store_error', 'The job database is not reachable');
      }
      return result;
    },
  };
}

describe('the worker when the job store fails', () => {
  it('keeps the file when the success update may have committed (its answer was lost)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'takeout-faults-'));
    const store = brokenAfterCommit(sqliteJobStore({ path: join(dir, 'jobs.db') }));
    t = await testService({}, { dir, jobStore: store, datasets: [numbersDataset('numbers', 1000)] });
    await t.service.jobs.startWorker();
    const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
    const done = await t.until(job.id, (j) => j.status === 'succeeded');
    // The retried delivery finds the job finished; the file the record points at is there.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await t.service.jobs.get(job.id, alice)).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(await t.service.storage.stat(done.result!.key)).toMatchObject({ size: done.result!.sizeBytes });
    expect(await t.objects()).toEqual([done.result!.key]);
  });
});

describe('the worker when the source fails for a moment', () => {
  it('records the retry backoff in the job (runAfter), so every process sharing the store waits for it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'takeout-faults-'));
    t = await testService(
      { TAKEOUT_JOB_BACKOFF: '1s', TAKEOUT_JOB_BACKOFF_MAX: '1s' },
      { dir, datasets: [numbersDataset('flaky', 100, 0, 1)] },
    );
    await t.service.jobs.startWorker();
    const { job } = await t.service.jobs.create(t.request({ dataset: 'flaky', format: 'csv' }), alice);
    const back = await t.until(job.id, (j) => j.status === 'queued' && j.error !== undefined, 5000);
    expect(back.error).toMatchObject({ code: 'source_error', retryable: true });
    // The embedded queue's backoff (TAKEOUT_JOB_BACKOFF 1 s: at least half of it), in the record for all to see.
    expect(back.runAfter).toBeInstanceOf(Date);
    expect(back.runAfter!.getTime() - back.updatedAt.getTime()).toBeGreaterThanOrEqual(400);
    const done = await t.until(job.id, (j) => j.status === 'succeeded');
    expect(done.attempt).toBe(2);
    expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(back.runAfter!.getTime() - 5);
  });
});
