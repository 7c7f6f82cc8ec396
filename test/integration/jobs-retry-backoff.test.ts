/**
 * How long the embedded queue waits before retrying a retryable failure: by default as long
 * as BullMQ (5-10 s, then 10-20 s), so that a retry outlasts a database or storage blip.
 * (TAKEOUT_JOB_BACKOFF set: jobs-worker-faults.test.ts.) (Before, the embedded queue retried after 0.5-1 s and 1-2 s:
 * an outage of 3 s failed the export for good.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { alice, numbersDataset, type TestService, testService } from '../support/jobs.js';

let t: TestService | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The wait the queue chose before the first retry: the record's runAfter after its failure. */
async function firstRetryWaitMs(env: NodeJS.ProcessEnv): Promise<{ wait: number }> {
  t = await testService(env, { datasets: [numbersDataset('flaky', 10, 0, 1)] });
  await t.service.jobs.startWorker();
  const { job } = await t.service.jobs.create(t.request({ dataset: 'flaky', format: 'csv' }), alice);
  const queued = await t.until(job.id, (j) => j.status === 'queued' && j.error !== undefined);
  expect(queued.error).toMatchObject({ code: 'source_error', retryable: true });
  return { wait: queued.runAfter!.getTime() - queued.updatedAt.getTime() };
}

describe('the embedded queue’s retry backoff', () => {
  it('waits 5 to 10 s before the first retry by default', async () => {
    const { wait } = await firstRetryWaitMs({ TAKEOUT_JOB_BACKOFF: '', TAKEOUT_JOB_BACKOFF_MAX: '' });
    expect(wait).toBeGreaterThanOrEqual(4900);
    expect(wait).toBeLessThanOrEqual(10_100);
  });
});
