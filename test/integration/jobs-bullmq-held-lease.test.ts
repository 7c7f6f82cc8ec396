/**
 * A BullMQ delivery of an export whose record another attempt's lease holds, on the real
 * Redis with a 1 s queue lock (TAKEOUT_QUEUE_LOCK=1s): the delivery is deferred to just after
 * that lease (BullMQ `delayed`, not an attempt), never completed while the record is active,
 * and the export runs once the lease ends, long before any sweeper would notice it (none runs
 * here). SQLite job store, disk storage.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { claimJob, renewLease, succeedJob } from '../../src/jobs/lifecycle.js';
import type { JobLogger } from '../../src/jobs/log.js';
import { queueAttempts } from '../../src/jobs/queue/index.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { BullmqHarness, freshQueueOptions, type recordingLogger } from '../support/bullmq-harness.js';
import { alice, numbersDataset, type TestService, testService } from '../support/jobs.js';

const LEASE_MS = 2000;
const harness = new BullmqHarness();
let current: TestService | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
  await harness.cleanUp();
});

interface Sample {
  entry: string;
  record: JobRecord['status'] | 'gone';
}

async function start() {
  const options = freshQueueOptions({
    attempts: queueAttempts(3),
    backoff: { baseMs: 50, maxMs: 100 },
    lockDurationMs: 1000,
    stalledIntervalMs: 500,
  });
  const lines: { message: string; details: Record<string, unknown> }[] = [];
  const record = (details: Record<string, unknown>, message: string) => lines.push({ message, details });
  const log: JobLogger = { info: record, warn: record, error: record };
  const t = await testService(
    { TAKEOUT_JOB_LEASE: String(LEASE_MS / 1000), TAKEOUT_WORKERS: '1' },
    { datasets: [numbersDataset('numbers', 5000)], queue: await harness.open(options), log },
  );
  current = t;
  const probe = harness.probe(options);
  const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
  const { store } = t.service.jobs;
  /** BullMQ's state of the entry, then the record's status, every 25 ms until `stop` holds. */
  const samples: Sample[] = [];
  const watch = async (stop: (record: JobRecord | undefined) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Entry first: a record still active after its entry was seen completed is the bug.
      const entry = await probe.getJobState(job.id);
      const found = await store.get(job.id);
      samples.push({ entry, record: found?.status ?? 'gone' });
      if (stop(found)) return found;
      if (Date.now() > deadline) throw new Error(`export ${job.id} is ${found?.status}: condition not met`);
      await sleep(25);
    }
  };
  const deferrals = () => lines.filter((line) => line.message.includes('delivery deferred')).length;
  return { t, job, store, probe, samples, watch, deferrals, options };
}

/** Samples where BullMQ was done with the entry while the record was still active. */
function forgotten(samples: Sample[]): Sample[] {
  return samples.filter(
    (s) =>
      (s.entry === 'completed' || s.entry === 'failed') &&
      ['queued', 'running', 'canceling'].includes(s.record),
  );
}

describe('a BullMQ delivery of an export another attempt holds (1 s queue lock)', () => {
  it("defers past a dead attempt's freshly renewed lease, then runs the export once that lease ends", async () => {
    const { t, job, store, probe, samples, watch, deferrals } = await start();
    // The dead worker's attempt: claimed, renewed just now, never finished.
    const dead = { leaseOwner: 'dead', leaseMs: LEASE_MS };
    expect(await claimJob(store, job.id, dead)).toMatchObject({ kind: 'claimed' });
    const leaseEnds = (await renewLease(store, job.id, dead))!.lease!.expiresAt.getTime();
    await t.service.jobs.startWorker();

    const done = await watch((j) => j?.status === 'succeeded', 10_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, result: { rowCount: 5000 } });
    expect(done!.startedAt!.getTime()).toBeGreaterThanOrEqual(leaseEnds);
    expect(done!.finishedAt!.getTime() - leaseEnds).toBeLessThan(3000);
    expect(forgotten(samples)).toEqual([]);
    expect(samples.some((s) => s.entry === 'delayed' && s.record === 'running')).toBe(true);
    expect(deferrals()).toBeGreaterThanOrEqual(1);
    // The deferral was no attempt: one delivery ran the export, and BullMQ counted that one.
    await eventuallyState(probe, job.id, 'completed');
    expect((await probe.getJob(job.id))?.attemptsMade).toBe(1);
  });

  it('recovers from a worker killed mid-export: the stalled redelivery waits for the dead lease, off its slot', async () => {
    const { t, job, store, probe, samples, watch, options } = await start();
    // The worker that dies: it takes the delivery, claims the record and renews its lease,
    // then stops renewing both its BullMQ lock and the lease (force close, as on kill -9).
    const connection = new Redis(options.url, { maxRetriesPerRequest: null });
    const dead = { leaseOwner: 'dead', leaseMs: LEASE_MS };
    let claimed = false;
    const doomed = new Worker(
      options.name!,
      async () => {
        claimed = (await claimJob(store, job.id, dead)).kind === 'claimed';
        await new Promise(() => {});
      },
      { connection, prefix: options.prefix!, lockDuration: 1000, stalledInterval: 500 },
    );
    try {
      await watch(() => claimed, 5000);
      const leaseEnds = (await renewLease(store, job.id, dead))!.lease!.expiresAt.getTime();
      await doomed.close(true);
      // The queue lock (1 s) ends before the lease (2 s): the stalled check redelivers first.
      await t.service.jobs.startWorker();
      const done = await watch((j) => j?.status === 'succeeded', 10_000);
      expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
      expect(done!.startedAt!.getTime()).toBeGreaterThanOrEqual(leaseEnds);
      expect(done!.finishedAt!.getTime() - leaseEnds).toBeLessThan(3000);
      expect(forgotten(samples)).toEqual([]);
      expect(samples.some((s) => s.entry === 'delayed' && s.record === 'running')).toBe(true);
      await eventuallyState(probe, job.id, 'completed');
      // It came back through BullMQ's stalled check, not as a first delivery.
      const queueLog = (options.logger as ReturnType<typeof recordingLogger>).entries;
      expect(queueLog.some((entry) => entry.message.includes('stalled'))).toBe(true);
    } finally {
      await doomed.close(true).catch(() => {});
      connection.disconnect();
    }
  });

  it('defers again at each lease end while a live holder renews, and runs the export after it died', async () => {
    const { t, job, store, samples, watch, deferrals } = await start();
    const live = { leaseOwner: 'live', leaseMs: LEASE_MS };
    expect(await claimJob(store, job.id, live)).toMatchObject({ kind: 'claimed' });
    await t.service.jobs.startWorker();
    // The holder renews every 500 ms for 2.5 leases, then dies.
    let lastLease = 0;
    const holder = (async () => {
      for (const stopAt = Date.now() + 2.5 * LEASE_MS; Date.now() < stopAt; await sleep(500)) {
        lastLease = (await renewLease(store, job.id, live))!.lease!.expiresAt.getTime();
      }
    })();
    const watching = watch((j) => j?.status === 'succeeded', 15_000);
    watching.catch(() => {}); // awaited below
    await holder;
    // While it lived, nothing else claimed the job.
    expect(samples.filter((s) => s.record !== 'running')).toEqual([]);
    expect((await store.get(job.id))?.attempt).toBe(1);
    const done = await watching;
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(done!.startedAt!.getTime()).toBeGreaterThanOrEqual(lastLease);
    expect(done!.finishedAt!.getTime() - lastLease).toBeLessThan(3000);
    expect(forgotten(samples)).toEqual([]);
    // Deferred at the first delivery and at the end of each lease the holder renewed.
    expect(deferrals()).toBeGreaterThanOrEqual(2);
  });

  it("ends a cancel whose attempt died once that attempt's lease ends, and a holder's own success is kept", async () => {
    const { t, job, store, probe, samples, watch } = await start();
    const dead = { leaseOwner: 'dead', leaseMs: LEASE_MS };
    expect(await claimJob(store, job.id, dead)).toMatchObject({ kind: 'claimed' });
    await t.service.jobs.startWorker();
    await watch(() => samples.some((s) => s.entry === 'delayed'), 5000);
    // The owner cancels while the delivery waits; the dead attempt never acknowledges it.
    expect(await t.service.jobs.cancel(job.id, alice)).toMatchObject({ status: 'canceling' });
    const ended = await watch((j) => j?.status === 'canceled', 3 * LEASE_MS);
    expect(ended).toMatchObject({ status: 'canceled', attempt: 1 });
    await eventuallyState(probe, job.id, 'completed');
    expect(forgotten(samples)).toEqual([]);

    // A live holder that succeeds while the delivery waits: nothing runs the job again.
    const live = { leaseOwner: 'live', leaseMs: LEASE_MS };
    const second = (await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice)).job;
    expect(await claimJob(store, second.id, live)).toMatchObject({ kind: 'claimed' });
    const result = {
      key: 'k',
      filename: 'f.csv',
      contentType: 'text/csv',
      sizeBytes: 1,
      rowCount: 1,
      sha256: 'x',
    };
    await eventuallyState(probe, second.id, 'delayed');
    await succeedJob(store, second.id, 'live', {
      result,
      progress: {},
      expiresAt: new Date(Date.now() + 3600_000),
    });
    await eventuallyState(probe, second.id, 'completed', 3 * LEASE_MS);
    expect(await store.get(second.id)).toMatchObject({
      status: 'succeeded',
      attempt: 1,
      result: { key: 'k' },
    });
  });
});

async function eventuallyState(
  probe: ReturnType<BullmqHarness['probe']>,
  id: string,
  state: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await probe.getJobState(id)) !== state) {
    if (Date.now() > deadline) throw new Error(`entry ${id} never became ${state}`);
    await sleep(25);
  }
}
