import { afterEach, describe, expect, it } from 'vitest';
import { claimJob, requestCancel } from '../../src/jobs/lifecycle.js';
import type { ExportQueue } from '../../src/jobs/queue/types.js';
import { stagingKey, stagingPrefix } from '../../src/jobs/staging.js';
import { alice, numbersDataset, type TestService, testService, writeAttemptFile } from '../support/jobs.js';

const opened: TestService[] = [];
afterEach(async () => {
  for (const t of opened.splice(0).reverse()) await t.close();
});

async function open(env: NodeJS.ProcessEnv = {}, extra: { dir?: string; queue?: ExportQueue } = {}) {
  const t = await testService(env, {
    datasets: [numbersDataset('numbers', 500), numbersDataset('slow', 100_000, 30)],
    ...extra,
  });
  opened.push(t);
  return t;
}

/** A queue that only records what was enqueued (as if Redis had lost the entries). */
function recordingQueue(): ExportQueue & { ids: string[] } {
  const ids: string[] = [];
  return {
    kind: 'recording',
    ids,
    async enqueue(id) {
      ids.push(id);
    },
    async consume() {},
    async close() {},
  };
}

const later = (ms: number) => new Date(Date.now() + ms);

describe('the jobs sweeper', () => {
  it('expires finished files once, from two sweepers at once, then deletes old records', async () => {
    const a = await open();
    const b = await open({}, { dir: a.dir });
    await a.service.jobs.startWorker();
    const { job } = await a.service.jobs.create(a.request({ dataset: 'numbers', format: 'csv' }), alice);
    const done = await a.until(job.id, (j) => j.status === 'succeeded');
    expect(await a.service.jobs.sweep()).toMatchObject({ expired: 0, deleted: 0 });

    const afterExpiry = new Date(done.expiresAt!.getTime() + 1000);
    const [first, second] = await Promise.all([
      a.service.jobs.sweep(afterExpiry),
      b.service.jobs.sweep(afterExpiry),
    ]);
    expect(first.expired + second.expired).toBe(1);
    expect(first.failed + second.failed).toBe(0);
    expect((await a.service.jobs.get(job.id, alice)).status).toBe('expired');
    expect(await a.service.storage.stat(done.result!.key)).toBeUndefined();

    // Kept for TAKEOUT_RECORD_TTL (30 days by default) after it finished, then deleted.
    expect((await a.service.jobs.sweep(later(29 * 86_400_000))).deleted).toBe(0);
    expect((await a.service.jobs.sweep(later(31 * 86_400_000))).deleted).toBe(1);
    expect(await a.service.jobs.store.get(job.id)).toBeUndefined();
  });

  it('enqueues again what stayed queued, and running jobs whose worker vanished', async () => {
    const queue = recordingQueue();
    const t = await open({}, { queue });
    const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
    const abandoned = (await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'tsv' }), alice))
      .job;
    await claimJob(t.service.jobs.store, abandoned.id, { leaseOwner: 'dead', leaseMs: 1000 });
    expect(queue.ids).toEqual([job.id, abandoned.id]);
    expect((await t.service.jobs.sweep()).requeued).toBe(0);
    const result = await t.service.jobs.sweep(later(5 * 60_000));
    expect(result.requeued).toBe(2);
    expect(queue.ids.slice(2).sort()).toEqual([job.id, abandoned.id].sort());
  });

  it('enqueues again every stuck queued job in one pass, past a batch of 100', async () => {
    const queue = recordingQueue();
    const t = await open({ TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER: '1000' }, { queue });
    for (let i = 0; i < 230; i++)
      await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
    queue.ids.splice(0);
    const pass = await t.service.jobs.sweep(later(5 * 60_000));
    expect(pass.requeued).toBe(230);
    expect(new Set(queue.ids).size).toBe(230);
    // Each waits stuckAfter again before the next enqueue.
    expect((await t.service.jobs.sweep(later(5 * 60_000 + 1000))).requeued).toBe(0);
  });

  it('enqueues again every running job whose worker vanished in one pass, past a batch of 100', async () => {
    const queue = recordingQueue();
    const t = await open({ TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER: '1000' }, { queue });
    for (let i = 0; i < 230; i++) {
      const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
      await claimJob(t.service.jobs.store, job.id, { leaseOwner: 'dead', leaseMs: 1000 });
    }
    queue.ids.splice(0);
    const pass = await t.service.jobs.sweep(later(5 * 60_000));
    expect(pass.requeued).toBe(230);
    expect(new Set(queue.ids).size).toBe(230);
  });

  it('keeps a succeeded export and its file until the file expires, even past a shorter record TTL', async () => {
    const t = await open({ TAKEOUT_FILE_TTL: '7d', TAKEOUT_RECORD_TTL: '1d' });
    await t.service.jobs.startWorker();
    const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
    const done = await t.until(job.id, (j) => j.status === 'succeeded');
    expect(await t.service.jobs.sweep(later(2 * 86_400_000))).toMatchObject({ expired: 0, deleted: 0 });
    expect((await t.service.jobs.get(job.id, alice)).status).toBe('succeeded');
    expect(await t.service.storage.stat(done.result!.key)).toBeDefined();
    // Once the file's retention ends the record goes too: its record TTL has long passed.
    const afterExpiry = new Date(done.expiresAt!.getTime() + 1000);
    expect(await t.service.jobs.sweep(afterExpiry)).toMatchObject({ expired: 1, deleted: 1 });
    expect(await t.service.jobs.store.get(job.id)).toBeUndefined();
  });

  it('finishes a cancel whose worker died', async () => {
    const t = await open({}, { queue: recordingQueue() });
    const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
    await claimJob(t.service.jobs.store, job.id, { leaseOwner: 'dead', leaseMs: 1000 });
    expect((await requestCancel(t.service.jobs.store, job.id))?.status).toBe('canceling');
    expect((await t.service.jobs.sweep()).canceled).toBe(0);
    // What the dead attempt had written goes with the cancel.
    await writeAttemptFile(t.service.storage, job, 1, 'left.csv');
    expect((await t.service.jobs.sweep(later(2000))).canceled).toBe(1);
    expect((await t.service.jobs.get(job.id, alice)).status).toBe('canceled');
    expect(await t.objects()).toEqual([]);
  });

  it('removes staged rows whose job ended or never came to be, and keeps those still needed', async () => {
    const t = await open({}, { queue: recordingQueue() });
    const request = t.request({ format: 'csv' }, true);
    const waiting = (await t.service.jobs.create(request, alice, { rows: [{ a: 1 }] })).job;
    const canceled = (await t.service.jobs.create(request, alice, { rows: [{ a: 2 }] })).job;
    await t.service.jobs.cancel(canceled.id, alice);
    const orphan = stagingKey(t.service.storage, 'exp_neverCreatedXXXXXXXXX');
    await t.service.storage.put(orphan, (async function* () {})(), {
      contentType: 'application/gzip',
      filename: 'x',
    });

    const now = await t.service.jobs.sweep();
    expect(now.stagingRemoved).toBe(1); // the canceled job's; the orphan may be a create under way
    expect(await t.service.storage.stat(canceled.inputKey!)).toBeUndefined();
    expect(await t.service.storage.stat(orphan)).toBeDefined();
    expect((await t.service.jobs.sweep(later(2 * 3600_000))).stagingRemoved).toBe(1);
    expect(await t.service.storage.stat(orphan)).toBeUndefined();
    expect(await t.service.storage.stat(waiting.inputKey!)).toBeDefined();
  });

  it('asks storage to remove unfinished uploads of staged rows older than an hour', async () => {
    const t = await open({}, { queue: recordingQueue() });
    const storage = t.service.storage;
    const calls: { before: Date; prefix: string | undefined }[] = [];
    const original = storage.removeIncomplete.bind(storage);
    storage.removeIncomplete = async (before, options) => {
      calls.push({ before, prefix: options?.prefix });
      return original(before, options);
    };
    const now = new Date();
    await t.service.jobs.sweep(now);
    const staging = calls.find((c) => c.prefix === stagingPrefix(storage.prefix));
    expect(staging, JSON.stringify(calls)).toBeDefined();
    expect(now.getTime() - staging!.before.getTime()).toBe(3_600_000);
  });
});

describe('worker shutdown', () => {
  it('hands a running job back at the end of the grace period; the next process finishes it at attempt 2', async () => {
    const a = await open();
    const worker = await a.service.jobs.startWorker();
    const { job } = await a.service.jobs.create(a.request({ dataset: 'slow', format: 'csv' }), alice);
    await a.until(job.id, (j) => j.status === 'running' && j.progress.rowsWritten > 0);
    const t0 = Date.now();
    await worker.close(200);
    expect(Date.now() - t0).toBeLessThan(3000);
    const handedBack = await a.service.jobs.get(job.id, alice);
    expect(handedBack).toMatchObject({ status: 'queued', attempt: 1 });
    expect(handedBack.lease).toBeUndefined();
    expect(await a.objects()).toEqual([]);

    const b = await open({}, { dir: a.dir });
    await b.service.jobs.startWorker();
    const done = await b.until(job.id, (j) => j.status === 'succeeded', 30_000);
    expect(done).toMatchObject({ attempt: 2, result: { rowCount: 100_000 } });
    expect(await b.objects()).toEqual([done.result!.key]);
  });

  it('lets a job that finishes within the grace period finish', async () => {
    const t = await open();
    const worker = await t.service.jobs.startWorker();
    const { job } = await t.service.jobs.create(
      t.request({ dataset: 'slow', format: 'csv', params: { n: 20_000 } }),
      alice,
    );
    await t.until(job.id, (j) => j.status === 'running');
    await worker.close(20_000);
    expect(await t.service.jobs.get(job.id, alice)).toMatchObject({ status: 'succeeded', attempt: 1 });
  });
});
