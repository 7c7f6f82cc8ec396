/**
 * The jobs contract: every job store and queue pair (SQLite + embedded, PostgreSQL +
 * embedded, PostgreSQL + BullMQ) must pass these tests. Call `jobsContract(name, makeHarness)`
 * from a test file; `makeHarness` runs before every test and must give a fresh store (new
 * file / schema) and fresh queue names.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { isExportId, newExportId } from '../../src/jobs/ids.js';
import {
  cancelHeldJob,
  claimJob,
  countedAttempts,
  failJob,
  releaseJob,
  renewLease,
  requestCancel,
  succeedJob,
} from '../../src/jobs/lifecycle.js';
import { embeddedQueue } from '../../src/jobs/queue/embedded.js';
import type { ExportQueue, QueueDelivery } from '../../src/jobs/queue/types.js';
import type { JobOwner, JobStatus, JobStore, NewJob } from '../../src/jobs/types.js';

export interface JobsHarness {
  store: JobStore;
  /**
   * A new queue on the same backend, as another process would open it, delivering each id at
   * most `maxAttempts` times (default 3) with retry delays of about 50-100 ms.
   */
  queue(options?: { maxAttempts?: number }): Promise<ExportQueue>;
  close(): Promise<void>;
}

/**
 * The harness of the embedded queue: each queue opens the store anew (`openStore`), as
 * another process would, and polls it often so that tests run fast.
 */
export function embeddedHarness(
  store: JobStore,
  openStore: () => Promise<JobStore>,
  cleanup: () => Promise<void>,
): JobsHarness {
  const opened: JobStore[] = [];
  return {
    store,
    async queue(options = {}) {
      const own = await openStore();
      opened.push(own);
      return embeddedQueue({
        store: own,
        pollIntervalMs: 100,
        maxAttempts: options.maxAttempts ?? 3,
        backoff: { baseMs: 50, maxMs: 100 },
      });
    },
    async close() {
      for (const other of opened) await other.close();
      await store.close();
      await cleanup();
    },
  };
}

const alice: JobOwner = { id: 'alice', tenant: 'acme' };
const mallory: JobOwner = { id: 'alice', tenant: 'evil' };
const bob: JobOwner = { id: 'bob', tenant: 'acme' };

function newJob(overrides: Partial<NewJob> = {}): NewJob {
  const request = overrides.request ?? { version: 1, dataset: 'orders', format: 'csv' };
  return {
    id: newExportId(),
    owner: alice,
    principal: { id: alice.id, tenant: alice.tenant },
    request,
    requestHash: createHash('sha256').update(JSON.stringify(request)).digest('hex'),
    ...overrides,
  };
}

async function rejection(work: Promise<unknown>): Promise<TakeoutError> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(TakeoutError);
    return error as TakeoutError;
  }
  throw new Error('expected a rejection');
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

const lease = (leaseOwner: string, now = new Date()) => ({ leaseOwner, leaseMs: 30_000, now });

export function jobsContract(name: string, makeHarness: () => Promise<JobsHarness>): void {
  describe(`jobs contract: ${name}`, () => {
    let harness: JobsHarness;
    let store: JobStore;
    const queues: ExportQueue[] = [];
    const openQueue = async (options?: { maxAttempts?: number }) => {
      const queue = await harness.queue(options);
      queues.push(queue);
      return queue;
    };

    beforeEach(async () => {
      harness = await makeHarness();
      store = harness.store;
    });
    afterEach(async () => {
      for (const queue of queues.splice(0)) await queue.close(0);
      await harness?.close();
    });

    describe('store', () => {
      it('creates a queued record that round-trips every member', async () => {
        const input = newJob({
          idempotencyKey: 'k1',
          inputKey: 'staging/x.ndjson.gz',
          progress: { rowsEstimated: 7 },
        });
        const { job, created } = await store.create(input);
        expect(created).toBe(true);
        expect(isExportId(job.id)).toBe(true);
        const read = await store.get(job.id);
        expect(read).toEqual(job);
        expect(read).toMatchObject({
          owner: alice,
          principal: input.principal,
          request: input.request,
          requestHash: input.requestHash,
          idempotencyKey: 'k1',
          inputKey: 'staging/x.ndjson.gz',
          status: 'queued',
          attempt: 0,
          progress: { rowsWritten: 0, rowsEstimated: 7, bytesWritten: 0 },
        });
        expect(read!.createdAt).toBeInstanceOf(Date);
        expect(Math.abs(read!.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
        expect(read!.result).toBeUndefined();
        expect(read!.lease).toBeUndefined();
      });

      it('counts records by state for the metrics', async () => {
        expect(await store.countByStatus?.()).toEqual({});
        const made = [];
        for (let i = 0; i < 3; i++) made.push((await store.create(newJob())).job);
        await store.transition(made[0]!.id, { status: ['queued'] }, { status: 'canceled' });
        expect(await store.countByStatus?.()).toEqual({ queued: 2, canceled: 1 });
      });

      it('shows a record only to its owner (same id, other tenant: nothing)', async () => {
        const { job } = await store.create(newJob());
        expect((await store.get(job.id, alice))?.id).toBe(job.id);
        expect(await store.get(job.id, mallory)).toBeUndefined();
        expect(await store.get(job.id, { id: 'bob', tenant: 'acme' })).toBeUndefined();
        expect(await store.delete(job.id, mallory)).toBe(false);
        expect(await store.get(newExportId())).toBeUndefined();
      });

      it('returns the same job for the same key and request, and refuses another request', async () => {
        const first = await store.create(newJob({ idempotencyKey: 'same' }));
        const again = await store.create(newJob({ idempotencyKey: 'same' }));
        expect(again).toMatchObject({ created: false, job: { id: first.job.id } });
        const other = newJob({
          idempotencyKey: 'same',
          request: { version: 1, dataset: 'orders', format: 'xlsx' },
        });
        const conflict = await rejection(store.create(other));
        expect(conflict.code).toBe('idempotency_conflict');
        expect(conflict.status).toBe(422);
        // The key is the owner's: another tenant's same key is another job.
        const theirs = await store.create(newJob({ idempotencyKey: 'same', owner: mallory }));
        expect(theirs.created).toBe(true);
        expect(theirs.job.id).not.toBe(first.job.id);
      });

      it('makes one job from 12 concurrent creates with one key', async () => {
        const results = await Promise.all(
          Array.from({ length: 12 }, () => store.create(newJob({ idempotencyKey: 'race' }))),
        );
        expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect((await store.list(alice)).jobs).toHaveLength(1);
      });

      it('holds the active-jobs limit per owner under concurrent creates', async () => {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, () => store.create(newJob(), { maxActivePerOwner: 3 })),
        );
        const refused = outcomes.filter((o) => o.status === 'rejected');
        expect(outcomes.length - refused.length).toBe(3);
        for (const o of refused)
          expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'too_many_exports' });
        // Another owner is not affected; a finished job frees a place.
        expect((await store.create(newJob({ owner: mallory }), { maxActivePerOwner: 3 })).created).toBe(true);
        const [oldest] = (await store.list(alice)).jobs.slice(-1);
        await requestCancel(store, oldest!.id);
        expect((await store.create(newJob(), { maxActivePerOwner: 3 })).created).toBe(true);
      });

      it('lists mine newest first, paged by cursor, filtered by status', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          ids.push((await store.create(newJob(), { now: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) })).job.id);
        }
        // Two in the same millisecond: the id breaks the tie, nothing is skipped or repeated.
        const sameInstant = new Date(Date.UTC(2026, 0, 1, 0, 0, 9));
        ids.push((await store.create(newJob(), { now: sameInstant })).job.id);
        ids.push((await store.create(newJob(), { now: sameInstant })).job.id);
        await store.create(newJob({ owner: mallory }));
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.list(alice, { limit: 2, ...(cursor ? { cursor } : {}) });
          expect(page.jobs.length).toBeLessThanOrEqual(2);
          seen.push(...page.jobs.map((job) => job.id));
          cursor = page.nextCursor;
        } while (cursor);
        expect(seen).toHaveLength(7);
        expect(new Set(seen)).toEqual(new Set(ids));
        expect(seen.slice(2)).toEqual(ids.slice(0, 5).reverse());
        await requestCancel(store, ids[1]!);
        expect((await store.list(alice, { status: ['canceled'] })).jobs.map((j) => j.id)).toEqual([ids[1]]);
        expect((await rejection(store.list(alice, { cursor: 'bm9wZQ' }))).code).toBe('invalid_request');
        expect((await rejection(store.list(alice, { limit: 1000 }))).code).toBe('invalid_request');
      });

      it('filters the list by the status the owner sees: a file past its retention is expired', async () => {
        const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second));
        const make = async (second: number, patch: Parameters<JobStore['transition']>[2]) => {
          const { job } = await store.create(newJob(), { now: at(second) });
          if (Object.keys(patch).length) await store.transition(job.id, {}, patch);
          return job.id;
        };
        const hour = 3_600_000;
        const kept = await make(1, { status: 'succeeded', expiresAt: new Date(Date.now() + hour) });
        const lapsed = await make(2, { status: 'succeeded', expiresAt: new Date(Date.now() - hour) });
        const swept = await make(3, { status: 'expired' });
        const queued = await make(4, {});
        const lapsedToo = await make(5, { status: 'succeeded', expiresAt: new Date(Date.now() - 1000) });
        const ids = async (status: JobStatus[], limit = 20) => {
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await store.list(alice, { status, limit, ...(cursor ? { cursor } : {}) });
            seen.push(...page.jobs.map((job) => job.id));
            cursor = page.nextCursor;
          } while (cursor);
          return seen;
        };
        expect(await ids(['succeeded'])).toEqual([kept]);
        expect(await ids(['expired'])).toEqual([lapsedToo, swept, lapsed]);
        // Paged one by one, nothing skipped or repeated.
        expect(await ids(['expired'], 1)).toEqual([lapsedToo, swept, lapsed]);
        expect(await ids(['succeeded', 'queued'], 1)).toEqual([queued, kept]);
        expect(await ids(['succeeded', 'expired'])).toEqual([lapsedToo, swept, lapsed, kept]);
      });

      it('claims with a lease: one holder at a time, taken back only after the lease ends', async () => {
        const { job } = await store.create(newJob());
        const t0 = new Date();
        const first = await claimJob(store, job.id, lease('a1', t0));
        expect(first).toMatchObject({ kind: 'claimed', job: { status: 'running', attempt: 1 } });
        expect(first.job?.lease?.owner).toBe('a1');
        expect(first.job?.startedAt).toBeInstanceOf(Date);
        expect((await claimJob(store, job.id, lease('a2', t0))).kind).toBe('held');
        // The holder renews and reports progress; an impostor cannot.
        const renewed = await renewLease(store, job.id, {
          ...lease('a1', new Date(t0.getTime() + 1000)),
          progress: { rowsWritten: 10, bytesWritten: 100 },
        });
        expect(renewed?.progress).toMatchObject({ rowsWritten: 10, bytesWritten: 100 });
        expect(await renewLease(store, job.id, lease('a2'))).toBeUndefined();
        // 31 s after the renewal the lease has ended: a second attempt takes over.
        const later = new Date(t0.getTime() + 32_000);
        const second = await claimJob(store, job.id, lease('a2', later));
        expect(second).toMatchObject({ kind: 'claimed', job: { attempt: 2, progress: { rowsWritten: 0 } } });
        // The first attempt lost: none of its writes land.
        expect(await renewLease(store, job.id, lease('a1', later))).toBeUndefined();
        const result = {
          key: 'generated/a1.csv',
          filename: 'a.csv',
          contentType: 'text/csv',
          sizeBytes: 1,
          rowCount: 1,
          sha256: 'x',
        };
        expect(
          await succeedJob(store, job.id, 'a1', { result, progress: {}, expiresAt: later }),
        ).toBeUndefined();
        const won = await succeedJob(store, job.id, 'a2', {
          result: { ...result, key: 'generated/a2.csv' },
          progress: { rowsWritten: 1, bytesWritten: 1 },
          expiresAt: new Date(later.getTime() + 86_400_000),
        });
        expect(won).toMatchObject({ status: 'succeeded', attempt: 2, result: { key: 'generated/a2.csv' } });
        expect(won?.lease).toBeUndefined();
        expect(won?.finishedAt).toBeInstanceOf(Date);
        expect(won?.expiresAt?.getTime()).toBe(later.getTime() + 86_400_000);
        expect(await claimJob(store, job.id, lease('a3', new Date(later.getTime() + 99_000)))).toMatchObject({
          kind: 'finished',
        });
      });

      it('gives exactly one winner when two attempts race to claim', async () => {
        const { job } = await store.create(newJob());
        const claims = await Promise.all(
          Array.from({ length: 6 }, (_, i) => claimJob(store, job.id, lease(`racer${i}`))),
        );
        expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(1);
        expect(claims.filter((c) => c.kind === 'held')).toHaveLength(5);
      });

      it('cancels: a queued job at once, a running one through canceling', async () => {
        const queued = (await store.create(newJob())).job;
        expect(await requestCancel(store, queued.id, alice)).toMatchObject({ status: 'canceled' });
        expect((await claimJob(store, queued.id, lease('w'))).kind).toBe('finished');

        const running = (await store.create(newJob())).job;
        await claimJob(store, running.id, lease('w1'));
        expect(await requestCancel(store, running.id, mallory)).toBeUndefined();
        expect(await requestCancel(store, running.id, alice)).toMatchObject({ status: 'canceling' });
        // The worker sees it at its next renewal, and acknowledges.
        expect(await renewLease(store, running.id, lease('w1'))).toMatchObject({ status: 'canceling' });
        expect(
          await succeedJob(store, running.id, 'w1', {
            result: { key: 'k', filename: 'f', contentType: 'c', sizeBytes: 0, rowCount: 0, sha256: '' },
            progress: {},
            expiresAt: new Date(),
          }),
        ).toBeUndefined();
        expect(await cancelHeldJob(store, running.id, 'w1')).toMatchObject({ status: 'canceled' });
        // Canceling a finished job changes nothing.
        expect(await requestCancel(store, running.id, alice)).toMatchObject({ status: 'canceled' });

        // A worker that died while canceling: the next claim finishes the cancel.
        const orphan = (await store.create(newJob())).job;
        await claimJob(store, orphan.id, lease('dead'));
        await requestCancel(store, orphan.id);
        const late = new Date(Date.now() + 60_000);
        expect(await claimJob(store, orphan.id, lease('w2', late))).toMatchObject({
          kind: 'ended',
          job: { status: 'canceled' },
        });
      });

      it('fails a job out of attempts at its claim, leaving its record as its last attempt left it', async () => {
        const { job } = await store.create(newJob());
        const started = new Date(Date.now() - 5000);
        const claimed = await claimJob(store, job.id, { ...lease('dead'), now: started, maxAttempts: 1 });
        expect(claimed.kind).toBe('claimed');
        await renewLease(store, job.id, { ...lease('dead'), now: started, progress: { rowsWritten: 1500 } });
        // Its lease ended with its worker: the next claim finds no attempt left.
        const late = new Date(Date.now() + 60_000);
        const ended = await claimJob(store, job.id, { ...lease('w2', late), maxAttempts: 1 });
        expect(ended).toMatchObject({
          kind: 'ended',
          job: {
            status: 'failed',
            attempt: 1,
            progress: { rowsWritten: 1500 },
            error: { code: 'internal', retryable: false },
          },
        });
        expect(ended.job?.startedAt?.getTime()).toBe(started.getTime());
        expect(ended.job?.lease).toBeUndefined();
        // A live attempt's job is held, not failed, whatever its count.
        const live = (await store.create(newJob())).job;
        await claimJob(store, live.id, { ...lease('w1'), maxAttempts: 1 });
        expect(await claimJob(store, live.id, { ...lease('w3'), maxAttempts: 1 })).toMatchObject({
          kind: 'held',
          job: { status: 'running', attempt: 1 },
        });
      });

      it('does not lose a cancel when the running job is handed back for a retry in between', async () => {
        const { job } = await store.create(newJob());
        await claimJob(store, job.id, lease('w1'));
        // The worker hands the job back just as the cancel tries running -> canceling.
        let raced = false;
        const racing: JobStore = Object.create(store);
        racing.transition = async (id, when, patch, now) => {
          if (!raced && patch.status === 'canceling') {
            raced = true;
            await releaseJob(store, job.id, 'w1', {
              error: { code: 'source_error', message: 'x', retryable: true },
            });
          }
          return store.transition(id, when, patch, now);
        };
        expect(await requestCancel(racing, job.id, alice)).toMatchObject({ status: 'canceled' });
        expect(raced).toBe(true);
        expect(await store.get(job.id)).toMatchObject({ status: 'canceled' });
      });

      it('counts the claims handed back at shutdown apart from the other claims', async () => {
        const { job } = await store.create(newJob());
        expect(job.handedBack ?? 0).toBe(0);
        await claimJob(store, job.id, lease('w1'));
        const back = await releaseJob(store, job.id, 'w1', { atShutdown: true });
        expect(back).toMatchObject({ status: 'queued', attempt: 1, handedBack: 1 });
        await claimJob(store, job.id, lease('w2'));
        // A retry's hand-back is an attempt like any other.
        expect(await releaseJob(store, job.id, 'w2')).toMatchObject({ attempt: 2, handedBack: 1 });
        const claimed = await claimJob(store, job.id, lease('w3'));
        expect(claimed.kind === 'claimed' && countedAttempts(claimed.job)).toBe(2);
      });

      it('fails, and hands back for a retry with the last error kept', async () => {
        const { job } = await store.create(newJob({ inputKey: 'staging/in.gz' }));
        await claimJob(store, job.id, lease('w1'));
        const error = { code: 'source_error', message: 'The data source failed', retryable: true };
        const runAfter = new Date(Date.now() + 5000);
        const back = await releaseJob(store, job.id, 'w1', { error, runAfter });
        expect(back).toMatchObject({ status: 'queued', attempt: 1, error, inputKey: 'staging/in.gz' });
        expect(back?.lease).toBeUndefined();
        expect(back?.runAfter?.getTime()).toBe(runAfter.getTime());
        expect(await releaseJob(store, job.id, 'w1')).toBeUndefined();
        await claimJob(store, job.id, lease('w2'));
        const failed = await failJob(store, job.id, 'w2', {
          ...error,
          code: 'job_timeout',
          retryable: false,
        });
        expect(failed).toMatchObject({ status: 'failed', attempt: 2, error: { code: 'job_timeout' } });
        expect(failed?.inputKey).toBeUndefined();
        expect(failed?.finishedAt).toBeInstanceOf(Date);
      });

      it("ranks an export by its owner's active exports and finds queued ones lowest rank first", async () => {
        const now = new Date();
        const at = (ms: number) => ({ now: new Date(now.getTime() - ms) });
        const a1 = (await store.create(newJob(), at(5000))).job;
        const a2 = (await store.create(newJob(), at(4000))).job;
        const a3 = (await store.create(newJob(), at(3000))).job;
        const b1 = (await store.create(newJob({ owner: bob }), at(2000))).job;
        expect([a1, a2, a3, b1].map((job) => job.queueRank ?? 0)).toEqual([0, 1, 2, 0]);
        expect((await store.get(a3.id))?.queueRank).toBe(2);
        // Only queued and running exports count: a finished one makes room.
        await store.transition(a1.id, { status: ['queued'] }, { status: 'canceled' });
        const a4 = (await store.create(newJob(), at(1000))).job;
        expect(a4.queueRank).toBe(2);
        const query = { status: ['queued'] as const, field: 'runAfter' as const, before: now, orUnset: true };
        const fair = await store.find({ ...query, limit: 10, order: 'queueRank' });
        expect(fair.map((job) => job.id)).toEqual([b1.id, a2.id, a3.id, a4.id]);
        expect((await store.find({ ...query, limit: 2, order: 'queueRank' })).map((job) => job.id)).toEqual([
          b1.id,
          a2.id,
        ]);
        const byCreation = await store.find({ ...query, limit: 10 });
        expect(byCreation.map((job) => job.id)).toEqual([a2.id, a3.id, b1.id, a4.id]);
      });

      it('finds records for housekeeping by status and instant, oldest first', async () => {
        const now = new Date();
        const a = (await store.create(newJob(), { now: new Date(now.getTime() - 3000) })).job;
        const b = (await store.create(newJob(), { now: new Date(now.getTime() - 2000) })).job;
        const c = (await store.create(newJob())).job;
        await releaseJobForTest(store, c.id, new Date(now.getTime() + 60_000));
        const due = await store.find({
          status: ['queued'],
          field: 'runAfter',
          before: now,
          orUnset: true,
          limit: 10,
        });
        expect(due.map((j) => j.id)).toEqual([a.id, b.id]);
        const old = await store.find({
          status: ['queued'],
          field: 'createdAt',
          before: new Date(now.getTime() - 2500),
          limit: 10,
        });
        expect(old.map((j) => j.id)).toEqual([a.id]);
        expect(
          await store.find({ status: ['queued'], field: 'createdAt', before: now, limit: 1 }),
        ).toHaveLength(1);
        expect(
          await store.find({ status: ['succeeded'], field: 'expiresAt', before: now, limit: 10 }),
        ).toEqual([]);
        // Paged: the next page starts after the last record of the one before.
        const page = {
          status: ['queued'] as const,
          field: 'createdAt' as const,
          before: new Date(Date.now() + 1000),
          limit: 1,
        };
        const first = await store.find({ ...page });
        const second = await store.find({ ...page, after: first[0]! });
        const third = await store.find({ ...page, after: second[0]! });
        expect([first, second, third].map((p) => p.map((j) => j.id))).toEqual([[a.id], [b.id], [c.id]]);
        expect(await store.find({ ...page, after: c })).toEqual([]);
        // Records created in the same millisecond are ordered by id.
        const at = new Date(now.getTime() - 1000);
        const twins = [
          (await store.create(newJob(), { now: at })).job,
          (await store.create(newJob(), { now: at })).job,
        ];
        const [low, high] = twins.sort((x, y) => (x.id < y.id ? -1 : 1));
        expect((await store.find({ ...page, after: low! })).map((j) => j.id)).toEqual([high!.id]);
        expect(await store.delete(a.id, alice)).toBe(true);
        expect(await store.delete(a.id)).toBe(false);
        expect(await store.get(a.id)).toBeUndefined();
      });
    });

    describe('queue', () => {
      const record = async () => (await store.create(newJob())).job.id;

      it("starts lower ranks first: one owner's backlog waits behind another owner's first export", async () => {
        const queue = await openQueue();
        const order: string[] = [];
        let release!: () => void;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        await queue.consume(
          async ({ id }) => {
            order.push(id);
            if (order.length === 1) await gate;
          },
          { concurrency: 1 },
        );
        const add = async (owner: JobOwner) => {
          const { job } = await store.create(newJob({ owner }));
          await queue.enqueue(job.id, { rank: job.queueRank ?? 0 });
          return job.id;
        };
        const a1 = await add(alice);
        await until(() => order.length === 1);
        const a2 = await add(alice);
        const a3 = await add(alice);
        const b1 = await add(bob);
        release();
        await until(() => order.length === 4);
        expect(order).toEqual([a1, b1, a2, a3]);
      });

      it('delivers an enqueued id once, with attempt 1', async () => {
        const queue = await openQueue();
        const deliveries: QueueDelivery[] = [];
        await queue.consume(
          async (delivery) => {
            deliveries.push(delivery);
          },
          { concurrency: 2 },
        );
        const id = await record();
        await queue.enqueue(id);
        await queue.enqueue(id);
        await until(() => deliveries.length === 1);
        await sleep(1500);
        expect(deliveries.map((d) => [d.id, d.attempt])).toEqual([[id, 1]]);
        expect(deliveries[0]!.signal.aborted).toBe(false);
      });

      it('keeps ids enqueued before anyone consumes, for a consumer in another process', async () => {
        const producer = await openQueue();
        const ids = [await record(), await record(), await record()];
        for (const id of ids) await producer.enqueue(id);
        await producer.close(0);
        const consumer = await openQueue();
        const seen = new Set<string>();
        await consumer.consume(
          async ({ id }) => {
            seen.add(id);
          },
          { concurrency: 1 },
        );
        await until(() => seen.size === 3);
        expect(seen).toEqual(new Set(ids));
      });

      it('retries a retryable failure with backoff, up to the attempt limit', async () => {
        const queue = await openQueue({ maxAttempts: 3 });
        const times: number[] = [];
        const attempts: number[] = [];
        await queue.consume(
          async ({ attempt }) => {
            times.push(Date.now());
            attempts.push(attempt);
            throw new TakeoutError('source_error');
          },
          { concurrency: 1 },
        );
        await queue.enqueue(await record());
        await until(() => attempts.length === 3);
        await sleep(1500);
        expect(attempts).toEqual([1, 2, 3]);
        expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(20);
      });

      it('does not retry a failure that is not retryable', async () => {
        const queue = await openQueue({ maxAttempts: 3 });
        let calls = 0;
        await queue.consume(
          async () => {
            calls++;
            throw new TakeoutError('invalid_params');
          },
          { concurrency: 1 },
        );
        await queue.enqueue(await record());
        await until(() => calls === 1);
        await sleep(1500);
        expect(calls).toBe(1);
      });

      it('runs at most `concurrency` deliveries at once', async () => {
        const queue = await openQueue();
        let now = 0;
        let peak = 0;
        let done = 0;
        await queue.consume(
          async () => {
            now++;
            peak = Math.max(peak, now);
            await sleep(150);
            now--;
            done++;
          },
          { concurrency: 2 },
        );
        for (let i = 0; i < 6; i++) await queue.enqueue(await record());
        await until(() => done === 6, 10_000);
        expect(peak).toBe(2);
      });

      /** A queue running one delivery that ends only when its signal is aborted. */
      async function deliveryUntilAborted() {
        const queue = await openQueue();
        const state = { started: 0, sawAbort: false };
        await queue.consume(
          async ({ signal }) => {
            state.started++;
            await new Promise<void>((resolve) =>
              signal.addEventListener('abort', () => resolve(), { once: true }),
            );
            state.sawAbort = true;
          },
          { concurrency: 1 },
        );
        await queue.enqueue(await record());
        await until(() => state.started === 1);
        return { queue, state };
      }

      it('waits for running deliveries up to the grace period, then aborts them', async () => {
        const { queue, state } = await deliveryUntilAborted();
        const t0 = Date.now();
        await queue.close(300);
        expect(state.sawAbort).toBe(true);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
        expect(Date.now() - t0).toBeLessThan(5000);
      });

      it('ends the grace of a close at once when close(0) is called during it', async () => {
        const { queue, state } = await deliveryUntilAborted();
        const t0 = Date.now();
        const closing = queue.close(60_000);
        await sleep(200);
        expect(state.sawAbort).toBe(false);
        // A second signal: the same close ends now, not a minute later.
        const hurried = queue.close(0);
        await Promise.all([closing, hurried]);
        expect(state.sawAbort).toBe(true);
        expect(Date.now() - t0).toBeLessThan(10_000);
      });

      it('lets a finished delivery end close() without waiting for the grace period', async () => {
        const queue = await openQueue();
        let finished = false;
        await queue.consume(
          async () => {
            await sleep(100);
            finished = true;
          },
          { concurrency: 1 },
        );
        await queue.enqueue(await record());
        await until(() => finished);
        const t0 = Date.now();
        await queue.close(10_000);
        expect(Date.now() - t0).toBeLessThan(3000);
      });
    });
  });
}

/** Puts a fresh record back to queued with a future `runAfter` (claim, then release). */
async function releaseJobForTest(store: JobStore, id: string, runAfter: Date): Promise<void> {
  await claimJob(store, id, lease('setup'));
  await releaseJob(store, id, 'setup', { runAfter });
}
