/**
 * The worker contract: background exports end to end (create, stage, run, store, record,
 * cancel, limits, retries) through the service's jobs API. Every store and queue pair runs
 * it: `workerContract(name, makeBackend)`, where `makeBackend` runs before each test and
 * gives fresh state (data directory, schema, queue name).
 */
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import * as XLSX from 'xlsx';
import { TakeoutError } from '../../src/errors.js';
import { claimJob, renewLease, requestCancel } from '../../src/jobs/lifecycle.js';
import type { ExportQueue } from '../../src/jobs/queue/types.js';
import { stagingKey } from '../../src/jobs/staging.js';
import type { JobRecord } from '../../src/jobs/types.js';
import {
  alice,
  bob,
  numberedRows,
  numbersDataset,
  type TestService,
  testService,
  writeAttemptFile,
} from '../support/jobs.js';

export interface WorkerBackend {
  /** Settings of the service, e.g. DATABASE_URL and TAKEOUT_DATABASE_SCHEMA; REDIS_URL is not read by tests. */
  env: NodeJS.ProcessEnv;
  /** The queue of the service (default: the embedded one). */
  queue?: () => Promise<ExportQueue>;
  cleanup(): Promise<void>;
}

async function readObject(t: TestService, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of (await t.service.storage.read(key))!) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export function workerContract(name: string, makeBackend: () => Promise<WorkerBackend>): void {
  describe(`export jobs: ${name}`, () => {
    let backend: WorkerBackend | undefined;
    let current: TestService | undefined;
    afterEach(async () => {
      await current?.close();
      await backend?.cleanup();
      current = undefined;
      backend = undefined;
    });

    /** A service on a fresh backend; one started before in the same test is closed first. */
    async function start(env: NodeJS.ProcessEnv = {}, failFirst = 0): Promise<TestService> {
      await current?.close();
      await backend?.cleanup();
      backend = await makeBackend();
      current = await testService(
        { ...backend.env, ...env },
        {
          datasets: [
            numbersDataset('numbers', 20_000),
            numbersDataset('slow', 200_000, 20),
            numbersDataset('flaky', 1000, 0, failFirst),
          ],
          ...(backend.queue ? { queue: await backend.queue() } : {}),
        },
      );
      return current;
    }

    it('runs a dataset export to storage and records the verified result', async () => {
      const t = await start();
      await t.service.jobs.startWorker();
      const { job, created } = await t.service.jobs.create(
        t.request({ dataset: 'numbers', format: 'csv' }),
        alice,
      );
      expect(created).toBe(true);
      expect(job).toMatchObject({ status: 'queued', attempt: 0, owner: alice });
      const done = await t.until(job.id, (j) => j.status === 'succeeded');
      expect(done).toMatchObject({
        attempt: 1,
        progress: { rowsWritten: 20_000 },
        result: { rowCount: 20_000 },
      });
      expect(done.result!.key).toMatch(
        new RegExp(`^generated/\\d{4}/\\d\\d/\\d\\d/${done.id}/a1/numbers-.*\\.csv$`),
      );
      expect(done.expiresAt!.getTime() - Date.now()).toBeGreaterThan(23 * 3600_000);
      const bytes = await readObject(t, done.result!.key);
      expect(bytes.length).toBe(done.result!.sizeBytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.result!.sha256);
      const rows = parse(bytes, { columns: true }) as { id: string; amount: string }[];
      expect(rows).toHaveLength(20_000);
      expect(rows[19_999]).toMatchObject({ id: '19999', amount: '4999.75' });
      expect(JSON.stringify(done)).not.toMatch(/sig=|X-Amz-Signature|https?:/);
      expect(await t.objects()).toEqual([done.result!.key]);
    });

    it('stages inline rows as gzip NDJSON, exports them as XLSX, and deletes the staged rows', async () => {
      const t = await start();
      const request = t.request(
        { format: 'xlsx', columns: ['id', 'name', 'amount'], filename: 'inline' },
        true,
      );
      const { job } = await t.service.jobs.create(request, alice, { rows: numberedRows(5000) });
      expect(job.inputKey).toBe(stagingKey(t.service.storage, job.id));
      expect(job.progress.rowsEstimated).toBe(5000);
      expect(job.request).not.toHaveProperty('rows');
      expect((await t.service.storage.stat(job.inputKey!))?.size).toBeGreaterThan(0);
      await t.service.jobs.startWorker();
      const done = await t.until(job.id, (j) => j.status === 'succeeded');
      expect(done.inputKey).toBeUndefined();
      expect(await t.gone(job.inputKey!)).toBe(true);
      const book = XLSX.read(await readObject(t, done.result!.key), { type: 'buffer' });
      const sheet = XLSX.utils.sheet_to_json<{ id: number; amount: number }>(
        book.Sheets[book.SheetNames[0]!]!,
      );
      expect(sheet).toHaveLength(5000);
      expect(sheet[4999]).toMatchObject({ id: 4999, amount: 1249.75 });
      expect(done.result).toMatchObject({ filename: 'inline.xlsx', rowCount: 5000 });
    });

    it('gives the same job for a retried create and refuses the key with other rows', async () => {
      const t = await start();
      const request = t.request({ format: 'csv' }, true);
      const rows = [{ a: 1 }, { a: 2 }];
      const first = await t.service.jobs.create(request, alice, { idempotencyKey: 'k', rows });
      const again = await t.service.jobs.create(request, alice, { idempotencyKey: 'k', rows });
      expect(again).toMatchObject({ created: false, job: { id: first.job.id } });
      await expect(
        t.service.jobs.create(request, alice, { idempotencyKey: 'k', rows: [{ a: 1 }, { a: 3 }] }),
      ).rejects.toMatchObject({ code: 'idempotency_conflict', status: 422 });
      // The refused and the repeated creates left no staged rows behind.
      const staged: string[] = [];
      for await (const item of t.service.storage.list('staging/')) staged.push(item.key);
      expect(staged).toEqual([first.job.inputKey]);
    });

    it('keeps the staged rows when the store failed after the record may have committed', async () => {
      const t = await start();
      const { store } = t.service.jobs;
      const create = store.create.bind(store);
      // The record is written, then the answer is lost (a connection cut during COMMIT).
      store.create = async (...args) => {
        await create(...args);
        throw new TakeoutError('job_store_error', 'The connection to the job store was lost');
      };
      const request = t.request({ format: 'csv', columns: ['id', 'name', 'amount'] }, true);
      await expect(t.service.jobs.create(request, alice, { rows: numberedRows(50) })).rejects.toMatchObject({
        code: 'job_store_error',
      });
      store.create = create;
      const [job] = (await store.list(null)).jobs;
      expect(job?.inputKey).toBeDefined();
      await t.service.jobs.startWorker();
      // The sweeper enqueues a record whose enqueue never came; here the worker is told directly.
      await t.service.jobs.queue.enqueue(job!.id);
      const done = await t.until(job!.id, (j) => j.status === 'succeeded', 30_000);
      expect(done.result?.rowCount).toBe(50);
    });

    it('shows an export only to its owner, lists it, and removes it with its file', async () => {
      const t = await start();
      await t.service.jobs.startWorker();
      const { job } = await t.service.jobs.create(
        t.request({ dataset: 'numbers', format: 'csv', params: { n: 10 } }),
        alice,
      );
      const done = await t.until(job.id, (j) => j.status === 'succeeded');
      await expect(t.service.jobs.get(job.id, bob)).rejects.toMatchObject({
        code: 'export_not_found',
        status: 404,
      });
      await expect(t.service.jobs.cancel(job.id, bob)).rejects.toMatchObject({ code: 'export_not_found' });
      await expect(t.service.jobs.remove(job.id, bob)).rejects.toMatchObject({ code: 'export_not_found' });
      expect((await t.service.jobs.get(job.id, alice)).id).toBe(job.id);
      expect((await t.service.jobs.list(alice)).jobs.map((j) => j.id)).toEqual([job.id]);
      expect((await t.service.jobs.list(bob)).jobs).toEqual([]);
      await t.service.jobs.remove(job.id, alice);
      expect(await t.service.storage.stat(done.result!.key)).toBeUndefined();
      await expect(t.service.jobs.get(job.id, alice)).rejects.toMatchObject({ code: 'export_not_found' });
      await expect(
        t.service.jobs.create(t.request({ dataset: 'nope', format: 'csv' }), alice),
      ).rejects.toMatchObject({
        code: 'unknown_dataset',
      });
    });

    it('writes progress about once a second and stops within about a second of a cancel, keeping no object', async () => {
      const t = await start();
      await t.service.jobs.startWorker();
      const { job } = await t.service.jobs.create(t.request({ dataset: 'slow', format: 'csv' }), alice);
      const first = await t.until(job.id, (j) => j.progress.rowsWritten > 0);
      const seen = new Set<number>([first.progress.rowsWritten]);
      const t0 = Date.now();
      while (Date.now() - t0 < 2500) {
        seen.add((await t.service.jobs.get(job.id, alice)).progress.rowsWritten);
        await new Promise((r) => setTimeout(r, 50));
      }
      // About one write a second: 2 to 4 distinct values in 2.5 s, never one per batch.
      expect(seen.size).toBeGreaterThanOrEqual(2);
      expect(seen.size).toBeLessThanOrEqual(5);
      const asked = Date.now();
      expect((await t.service.jobs.cancel(job.id, alice)).status).toBe('canceling');
      const canceled = await t.until(job.id, (j) => j.status === 'canceled');
      expect(Date.now() - asked).toBeLessThan(2500);
      expect(canceled.result).toBeUndefined();
      expect(canceled.progress.rowsWritten).toBeLessThan(200_000);
      expect(await t.objects()).toEqual([]);
    });

    it('fails with export_too_large past the row limit and with job_timeout past the run time, keeping nothing', async () => {
      // Each limit in a service of its own: on a busy machine 100,000 rows may take more than
      // the one second that the time limit's test needs.
      const rows = await start({ TAKEOUT_JOB_MAX_ROWS: '100000' });
      await rows.service.jobs.startWorker();
      const big = await rows.service.jobs.create(
        rows.request({ dataset: 'numbers', format: 'csv', params: { n: 150_000 } }),
        alice,
      );
      const tooLarge = await rows.until(big.job.id, (j) => j.status === 'failed');
      expect(tooLarge.error).toMatchObject({ code: 'export_too_large', retryable: false });
      expect(tooLarge.attempt).toBe(1);
      expect(await rows.objects()).toEqual([]);
      const t = await start({ TAKEOUT_JOB_TIMEOUT: '1' });
      await t.service.jobs.startWorker();
      const timed = await t.service.jobs.create(t.request({ dataset: 'slow', format: 'csv' }), alice);
      const timedOut = await t.until(timed.job.id, (j) => j.status === 'failed', 10_000);
      expect(timedOut.error).toMatchObject({ code: 'job_timeout', retryable: false });
      expect(await t.objects()).toEqual([]);
    });

    it('counts the retention from when the file is written; the object never expires before its job', async () => {
      const t = await start({ TAKEOUT_FILE_TTL: '1h', TAKEOUT_JOB_TIMEOUT: '2h' });
      await t.service.jobs.startWorker();
      const { job } = await t.service.jobs.create(
        t.request({ dataset: 'numbers', format: 'csv', params: { n: 10 } }),
        alice,
      );
      const done = await t.until(job.id, (j) => j.status === 'succeeded');
      const recordEnds = done.expiresAt!.getTime();
      expect(Math.abs(recordEnds - (done.finishedAt!.getTime() + 3_600_000))).toBeLessThan(5000);
      // The object's expiry is written before its first byte: the attempt's start plus its time
      // limit plus the retention, the latest the record's can be.
      const objectEnds = (await t.service.storage.stat(done.result!.key))!.expiresAt!.getTime();
      expect(Math.abs(objectEnds - (done.startedAt!.getTime() + 7_200_000 + 3_600_000))).toBeLessThan(5000);
      expect(objectEnds).toBeGreaterThan(recordEnds);
    });

    it('stops at the largest object the storage can hold, with export_too_large and no retry', async () => {
      const t = await start();
      // An S3 store holds 10,000 parts of its configured sizes; here a store of 20 KB.
      Object.defineProperty(t.service.storage, 'maxObjectBytes', { value: 20_000 });
      await t.service.jobs.startWorker();
      const { job } = await t.service.jobs.create(
        t.request({ dataset: 'numbers', format: 'csv', params: { n: 50_000 } }),
        alice,
      );
      const failed = await t.until(job.id, (j) => j.status === 'failed');
      expect(failed.error).toMatchObject({ code: 'export_too_large', retryable: false });
      expect(failed.attempt).toBe(1);
      expect(await t.objects()).toEqual([]);
    });

    it('retries a retryable failure and succeeds at attempt 2, the last error kept until then', async () => {
      const t = await start({}, 1);
      // The record between the attempts, as the store wrote it: queued for a few milliseconds
      // only (the test backoff), too short a time to be sure to see by polling.
      const { store } = t.service.jobs;
      const transition = store.transition.bind(store);
      const requeued: JobRecord[] = [];
      store.transition = async (id, when, patch, now) => {
        const record = await transition(id, when, patch, now);
        if (record?.status === 'queued') requeued.push(record);
        return record;
      };
      await t.service.jobs.startWorker();
      const { job } = await t.service.jobs.create(t.request({ dataset: 'flaky', format: 'ndjson' }), alice);
      const done = await t.until(job.id, (j) => j.status === 'succeeded', 30_000);
      expect(requeued).toHaveLength(1);
      expect(requeued[0]).toMatchObject({ attempt: 1, error: { code: 'source_error', retryable: true } });
      expect(done.attempt).toBe(2);
      expect(done.error).toBeUndefined();
      expect(done.result!.key).toContain('/a2/');
    });

    it('does not count a delivery that could not claim the job (its store failed) as an attempt', async () => {
      const t = await start({ TAKEOUT_JOB_ATTEMPTS: '3' }, 2);
      const { store } = t.service.jobs;
      const transition = store.transition.bind(store);
      let refused = 0;
      // The first claim meets a store that is down for a moment.
      store.transition = async (id, when, patch, now) => {
        if (patch.incrementAttempt && refused === 0) {
          refused++;
          throw new TakeoutError('job_store_error', 'The job store is busy');
        }
        return transition(id, when, patch, now);
      };
      const { job } = await t.service.jobs.create(t.request({ dataset: 'flaky', format: 'csv' }), alice);
      await t.service.jobs.startWorker();
      // Two failures of the source, then its third attempt succeeds: the refused claim took none.
      const done = await t.until(job.id, (j) => j.status !== 'queued' && j.status !== 'running', 60_000);
      expect(refused).toBe(1);
      expect(done).toMatchObject({ status: 'succeeded', attempt: 3 });
    }, 90_000);

    it('removes the whole file an earlier attempt left (killed after its upload) when the next succeeds', async () => {
      const t = await start({}, 1);
      const { job } = await t.service.jobs.create(t.request({ dataset: 'flaky', format: 'csv' }), alice);
      const { storage } = t.service;
      const leftover = await writeAttemptFile(storage, job, 1, 'leftover.csv');
      expect(await t.objects()).toEqual([leftover]);
      // A later attempt's file (one that took the job over from this one after a stall): an
      // earlier attempt never removes it.
      const later = await writeAttemptFile(storage, job, 5, 'later.csv');
      await t.service.jobs.startWorker();
      const done = await t.until(job.id, (j) => j.status === 'succeeded', 30_000);
      expect(done.attempt).toBe(2);
      expect((await t.objects()).sort()).toEqual([done.result!.key, later].sort());
    });

    it('lets a delivery of a job another live worker runs go at once, not after its lease', async () => {
      const t = await start({ TAKEOUT_JOB_LEASE: '10', TAKEOUT_WORKERS: '1' });
      const held = (await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice)).job;
      // Another worker holds it, its lease just renewed; BullMQ still delivers it here.
      await claimJob(t.service.jobs.store, held.id, { leaseOwner: 'alive', leaseMs: 10_000 });
      const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
      const t0 = Date.now();
      await t.service.jobs.startWorker();
      await t.until(job.id, (j) => j.status === 'succeeded', 30_000);
      // The one slot was not held for the 10 s lease of the other worker's job.
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await t.service.jobs.store.get(held.id)).toMatchObject({ status: 'running', attempt: 1 });
    });

    it('runs a job soon after the lease of its dead attempt ends, that lease renewed just before the delivery', async () => {
      const t = await start({ TAKEOUT_JOB_LEASE: '3', TAKEOUT_WORKERS: '1' });
      const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
      const { store } = t.service.jobs;
      // A worker claimed it, renewed its lease and died; the queue delivers the id again now.
      const dead = { leaseOwner: 'dead', leaseMs: 3000 };
      expect(await claimJob(store, job.id, dead)).toMatchObject({ kind: 'claimed' });
      const renewed = await renewLease(store, job.id, dead);
      await t.service.jobs.startWorker();
      const done = await t.until(job.id, (j) => j.status === 'succeeded', 15_000);
      // Soon after the lease, not left to the sweeper (none runs here).
      expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(renewed!.lease!.expiresAt.getTime());
      expect(done.finishedAt!.getTime() - renewed!.lease!.expiresAt.getTime()).toBeLessThan(5000);
      expect(done).toMatchObject({ attempt: 2, result: { rowCount: 20_000 } });
    });

    it('fails a job whose worker died on its last attempt, and removes what that attempt left', async () => {
      const t = await start({ TAKEOUT_JOB_ATTEMPTS: '1' });
      const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
      const { storage } = t.service;
      // The dead worker's attempt 1 had uploaded its file, unrecorded.
      expect(
        await claimJob(t.service.jobs.store, job.id, { leaseOwner: 'dead', leaseMs: 1000 }),
      ).toMatchObject({
        kind: 'claimed',
      });
      const left = await writeAttemptFile(storage, job, 1, 'left.csv');
      await t.service.jobs.startWorker();
      const failed = await t.until(job.id, (j) => j.status === 'failed', 30_000);
      expect(failed.error).toMatchObject({ retryable: false });
      expect(await t.gone(left)).toBe(true);
      expect(await t.objects()).toEqual([]);
    });

    it('finishes the cancel of a job whose worker died, and removes what that attempt left', async () => {
      const t = await start();
      const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
      const { store } = t.service.jobs;
      expect((await claimJob(store, job.id, { leaseOwner: 'dead', leaseMs: 1000 })).kind).toBe('claimed');
      const left = await writeAttemptFile(t.service.storage, job, 1, 'left.csv');
      expect(await requestCancel(store, job.id, alice)).toMatchObject({ status: 'canceling' });
      await t.service.jobs.startWorker();
      await t.until(job.id, (j) => j.status === 'canceled', 30_000);
      expect(await t.gone(left)).toBe(true);
      expect(await t.objects()).toEqual([]);
    });

    it('fails a job whose retryable failures used up its attempts', async () => {
      const t = await start({ TAKEOUT_JOB_ATTEMPTS: '1' }, 5);
      await t.service.jobs.startWorker();
      const { job } = await t.service.jobs.create(t.request({ dataset: 'flaky', format: 'csv' }), alice);
      const failed = await t.until(job.id, (j) => j.status === 'failed');
      expect(failed).toMatchObject({ attempt: 1, error: { code: 'source_error', retryable: true } });
    });

    it('removes a running export: the attempt stops, and neither record nor object stays', async () => {
      const t = await start();
      await t.service.jobs.startWorker();
      const { job } = await t.service.jobs.create(t.request({ dataset: 'slow', format: 'csv' }), alice);
      await t.until(job.id, (j) => j.status === 'running' && j.progress.rowsWritten > 0);
      await t.service.jobs.remove(job.id, alice);
      await expect(t.service.jobs.get(job.id, alice)).rejects.toMatchObject({ code: 'export_not_found' });
      // Within about a second the attempt sees its record gone and stops; nothing is kept.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(await t.objects()).toEqual([]);
      expect(await t.service.jobs.store.get(job.id)).toBeUndefined();
    });

    it("starts another owner's first export before the rest of one owner's backlog", async () => {
      const t = await start({ TAKEOUT_WORKERS: '1' });
      await t.service.jobs.startWorker();
      const create = async (dataset: string, owner: typeof alice) =>
        (await t.service.jobs.create(t.request({ dataset, format: 'csv' }), owner)).job.id;
      const busy = await create('slow', alice);
      await t.until(busy, (j) => j.status === 'running');
      const backlog = [await create('numbers', alice), await create('numbers', alice)];
      const other = await create('numbers', bob);
      await t.service.jobs.cancel(busy, alice);
      const started = async (id: string) =>
        (await t.until(id, (j) => j.status === 'succeeded')).startedAt!.getTime();
      const bobStarted = await started(other);
      const aliceStarted = [await started(backlog[0]!), await started(backlog[1]!)];
      expect(bobStarted).toBeLessThan(aliceStarted[0]!);
      expect(aliceStarted[0]).toBeLessThan(aliceStarted[1]!);
    });

    it('refuses more queued and running exports per owner than allowed', async () => {
      const t = await start({ TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER: '2' });
      const request = t.request({ dataset: 'numbers', format: 'csv' });
      await t.service.jobs.create(request, alice);
      await t.service.jobs.create(request, alice);
      const refused = await t.service.jobs.create(request, alice).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(TakeoutError);
      expect(refused).toMatchObject({ code: 'too_many_exports', status: 429 });
      expect((await t.service.jobs.create(request, bob)).created).toBe(true);
    });
  });
}
