/**
 * What an attempt's metrics and log lines say is what the job store recorded: attempts that
 * run out, a success whose answer was lost, a failure the store could not record, a
 * delivery the queue lost. A real SQLite store and storage; faults injected into the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { claimJob, releaseJob } from '../../src/jobs/lifecycle.js';
import { sqliteJobStore } from '../../src/jobs/store/sqlite.js';
import type { JobStore } from '../../src/jobs/types.js';
import { exportJobHandler } from '../../src/jobs/worker.js';
import { eventually } from '../support/eventually.js';
import { alice, numbersDataset, type TestService, testService } from '../support/jobs.js';

let t: TestService | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  t = dir = undefined;
});

/** A logger whose lines the test reads. */
function recordingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

/** Attempt counts by outcome, from the duration histogram. */
async function outcomes(service: TestService): Promise<Record<string, number>> {
  const { values } = await service.service.metrics.jobDuration.get();
  const counts: Record<string, number> = {};
  for (const value of values) {
    if (value.metricName?.endsWith('_count') && value.value > 0)
      counts[String(value.labels.outcome)] = value.value;
  }
  return counts;
}

/** A store whose updates to `statuses` throw while `broken.on`; with `afterCommit`, after committing. */
function faultyStore(
  store: JobStore,
  statuses: string[],
  broken: { on: boolean; afterCommit?: boolean },
): JobStore {
  return {
    ...store,
    kind: store.kind,
    async transition(id, when, patch, now) {
      const hit = broken.on && patch.status !== undefined && statuses.includes(patch.status);
      if (hit && !broken.afterCommit)
        throw new TakeoutError('job_store_error', 'The job database is not reachable');
      const result = await store.transition(id, when, patch, now);
      if (hit) {
        broken.on = false;
        throw new TakeoutError('job_store_error', 'The job database is not reachable');
      }
      return result;
    },
  };
}

describe('attempt outcomes in metrics and logs', () => {
  it('counts a job that ran out of attempts after a crash as failed', async () => {
    const { log, lines } = recordingLog();
    t = await testService({ TAKEOUT_JOB_ATTEMPTS: '1' }, { datasets: [numbersDataset('numbers', 10)], log });
    const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
    // A worker claims attempt 1 and dies: its lease ends at once.
    await claimJob(t.service.jobs.store, job.id, { leaseOwner: 'dead', leaseMs: 1 });
    await sleep(20);
    await t.service.jobs.startWorker();
    await t.service.jobs.queue.enqueue(job.id);
    const failed = await t.until(job.id, (j) => j.status === 'failed');
    // Interrupted only: nothing says the same request would do better later.
    expect(failed.error).toMatchObject({ code: 'internal', retryable: false });
    // Counted once what the dead attempt left is removed, just after the record changed.
    expect(await eventually(async () => (await outcomes(t!)).failed === 1)).toBe(true);
    expect(await outcomes(t)).toEqual({ failed: 1 });
    expect(lines).toContainEqual(
      expect.objectContaining({ exportId: job.id, msg: 'export failed: out of attempts' }),
    );
  });

  it('keeps the last error retryable when a job runs out of attempts after it (a storage outage, then a crash)', async () => {
    t = await testService({ TAKEOUT_JOB_ATTEMPTS: '2' }, { datasets: [numbersDataset('numbers', 10)] });
    const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
    const { store } = t.service.jobs;
    // Attempt 1 failed on a storage outage; attempt 2 was claimed by a worker that died.
    await claimJob(store, job.id, { leaseOwner: 'first', leaseMs: 60_000 });
    const outage = { code: 'storage_error', message: 'S3 is down', retryable: true };
    await store.transition(job.id, { status: ['running'] }, { status: 'queued', lease: null, error: outage });
    await claimJob(store, job.id, { leaseOwner: 'dead', leaseMs: 1 });
    await sleep(20);
    await t.service.jobs.startWorker();
    await t.service.jobs.queue.enqueue(job.id);
    const failed = await t.until(job.id, (j) => j.status === 'failed');
    expect(failed.attempt).toBe(2); // the claim that found no attempt left changed nothing else
    expect(failed.error).toEqual(outage);
  });

  it('counts a success whose update committed but whose answer was lost as succeeded, not retried', async () => {
    dir = mkdtempSync(join(tmpdir(), 'takeout-outcomes-'));
    const { log, lines } = recordingLog();
    const store = faultyStore(sqliteJobStore({ path: join(dir, 'jobs.db') }), ['succeeded'], {
      on: true,
      afterCommit: true,
    });
    t = await testService({}, { dir, jobStore: store, datasets: [numbersDataset('numbers', 1000)], log });
    await t.service.jobs.startWorker();
    const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
    await t.until(job.id, (j) => j.status === 'succeeded');
    expect(await eventually(async () => (await outcomes(t!)).succeeded === 1)).toBe(true);
    expect(await outcomes(t)).toEqual({ succeeded: 1 });
    expect((await t.service.metrics.jobRetries.get()).values.filter((v) => v.value > 0)).toEqual([]);
    const rows = (await t.service.metrics.rowsWritten.get()).values.find((v) => v.labels.path === 'job');
    expect(rows?.value).toBe(1000);
    const messages = lines.filter((line) => line.exportId === job.id).map((line) => line.msg);
    expect(messages).toContain('export succeeded');
    expect(messages).not.toContain('export failed; will retry');
  });

  it('says so when the store cannot record a failure, instead of dropping the attempt', async () => {
    dir = mkdtempSync(join(tmpdir(), 'takeout-outcomes-'));
    const { log, lines } = recordingLog();
    const broken = { on: true };
    const store = faultyStore(sqliteJobStore({ path: join(dir, 'jobs.db') }), ['queued', 'failed'], broken);
    t = await testService({}, { dir, jobStore: store, datasets: [numbersDataset('flaky', 10, 0, 1)], log });
    await t.service.jobs.startWorker();
    const { job } = await t.service.jobs.create(t.request({ dataset: 'flaky', format: 'csv' }), alice);
    expect(await eventually(async () => (await outcomes(t!)).unrecorded === 1, 5000)).toBe(true);
    broken.on = false;
    expect(lines).toContainEqual(
      expect.objectContaining({
        exportId: job.id,
        code: 'job_store_error',
        msg: 'could not record how the export ended; it runs again once its lease ends',
      }),
    );
  });

  /** A slow export running in a handler of the test's own, whose delivery the test ends. */
  async function runningSlowJob() {
    const { log, lines } = recordingLog();
    t = await testService({}, { datasets: [numbersDataset('slow', 100_000, 50)], log });
    const { job } = await t.service.jobs.create(t.request({ dataset: 'slow', format: 'csv' }), alice);
    const { service } = t;
    const handler = exportJobHandler({
      store: service.jobs.store,
      storage: service.storage,
      exports: service.exports,
      log,
      metrics: service.metrics,
      limits: {
        maxRows: 1e9,
        maxBytes: 1e12,
        timeoutMs: 60_000,
        attempts: 3,
        leaseMs: 30_000,
        fileTtlSeconds: 3600,
      },
    });
    const delivery = new AbortController();
    const running = handler({ id: job.id, attempt: 1, signal: delivery.signal });
    await t.until(job.id, (j) => j.status === 'running');
    return { lines, service, job, delivery, running, current: t, handler };
  }

  it('stops renewing the lease of an attempt that does not end once stopped, so another worker can take the job', async () => {
    const { log, lines } = recordingLog();
    t = await testService({}, { datasets: [numbersDataset('numbers', 10)], log });
    const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
    const { service } = t;
    // A storage whose write never ends and ignores its signal: the attempt cannot end.
    const stuck = { ...service.storage, put: () => new Promise<never>(() => {}) };
    const handler = exportJobHandler({
      store: service.jobs.store,
      storage: stuck,
      exports: service.exports,
      log,
      limits: {
        maxRows: 1e9,
        maxBytes: 1e12,
        timeoutMs: 300,
        attempts: 3,
        leaseMs: 1000,
        fileTtlSeconds: 3600,
      },
      heartbeatMs: 50,
      stoppedRenewalMs: 500,
    });
    void handler({ id: job.id, attempt: 1, signal: new AbortController().signal });
    // The time limit stops it at 0.3 s; renewals go on for 0.5 s more, then stop.
    const lease = async () => (await service.jobs.store.get(job.id))?.lease?.expiresAt.getTime() ?? 0;
    await eventually(
      async () =>
        lines.some(
          (line) => line.msg === 'export still running after it was stopped; its lease is left to run out',
        ),
      5000,
    );
    const last = await lease();
    await sleep(300);
    expect(await lease()).toBe(last); // no longer renewed
    expect(lines).toContainEqual(expect.objectContaining({ exportId: job.id, reason: 'timeout', level: 50 }));
    // Once the lease has run out, another worker's claim takes the job.
    await sleep(Math.max(0, last - Date.now()) + 50);
    expect((await claimJob(service.jobs.store, job.id, { leaseOwner: 'other', leaseMs: 30_000 })).kind).toBe(
      'claimed',
    );
  });

  const atShutdown = () =>
    new TakeoutError('aborted', 'The worker is shutting down', { details: { reason: 'shutdown' } });

  it('does not count claims handed back at shutdown against the attempts; a lost delivery counts', async () => {
    const { lines, service, job, delivery, running, handler } = await runningSlowJob();
    const { store } = service.jobs;
    delivery.abort(atShutdown());
    await running;
    expect(await store.get(job.id)).toMatchObject({ status: 'queued', attempt: 1, handedBack: 1 });
    // Two more deploys while it ran: three claims so far, all handed back (attempts: 3).
    for (const leaseOwner of ['deploy-2', 'deploy-3']) {
      expect((await claimJob(store, job.id, { leaseOwner, leaseMs: 30_000 })).kind).toBe('claimed');
      expect(await releaseJob(store, job.id, leaseOwner, { atShutdown: true })).toBeDefined();
    }
    expect(await store.get(job.id)).toMatchObject({ attempt: 3, handedBack: 3 });
    // The fourth claim runs the export: it is the first that counts.
    const next = new AbortController();
    const fourth = handler({ id: job.id, attempt: 4, signal: next.signal });
    await t!.until(job.id, (j) => j.status === 'running' && j.attempt === 4);
    expect(lines.map((line) => line.msg)).not.toContain('export failed: out of attempts');
    // A delivery the queue lost is handed back too, but counted.
    next.abort(
      new TakeoutError('aborted', 'The queue lost this delivery (lock expired)', {
        details: { reason: 'lost' },
      }),
    );
    await fourth;
    expect(await store.get(job.id)).toMatchObject({ status: 'queued', attempt: 4, handedBack: 3 });
  });

  it('tells a delivery the queue lost from a shutdown', async () => {
    const { lines, service, job, delivery, running, current } = await runningSlowJob();
    // What the BullMQ queue does when it cannot renew a delivery's lock.
    delivery.abort(
      new TakeoutError('aborted', 'The queue lost this delivery (lock expired)', {
        details: { reason: 'lost' },
      }),
    );
    await running;
    expect((await service.jobs.store.get(job.id))?.status).toBe('queued');
    expect(await outcomes(current)).toEqual({ handed_back: 1 });
    const messages = lines.filter((line) => line.exportId === job.id).map((line) => line.msg);
    expect(messages).toContain('export handed back: the queue lost its delivery (lock expired)');
    expect(messages).not.toContain('export handed back at shutdown');
  });

  it('says nothing was handed back when another attempt holds the job by the time it stops', async () => {
    const { lines, service, job, delivery, running, current } = await runningSlowJob();
    // This process was frozen past its lease: another attempt claimed the job meanwhile.
    const other = { owner: 'another-attempt', expiresAt: new Date(Date.now() + 60_000) };
    expect(
      await service.jobs.store.transition(job.id, { status: ['running'] }, { lease: other }),
    ).toBeDefined();
    delivery.abort(new TakeoutError('aborted', 'The worker is shutting down'));
    await running;
    const record = await service.jobs.store.get(job.id);
    expect(record).toMatchObject({ status: 'running', lease: { owner: 'another-attempt' } });
    expect(await outcomes(current)).toEqual({ lost: 1 });
    const messages = lines.filter((line) => line.exportId === job.id).map((line) => line.msg);
    expect(messages).toContain('export stopped: the job is no longer this attempt’s');
    expect(messages.filter((msg) => String(msg).startsWith('export handed back'))).toEqual([]);
  });
});
