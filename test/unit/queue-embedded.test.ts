import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { embeddedQueue } from '../../src/jobs/queue/embedded.js';
import type { ExportQueue } from '../../src/jobs/queue/types.js';
import type { FindQuery, JobRecord, JobStore } from '../../src/jobs/types.js';

/** A job table whose reads take a while and see the rows of the moment they started. */
function slowStore(records: Partial<JobRecord>[], readMs: number): JobStore {
  return {
    async find(query: FindQuery) {
      const seen = records.filter((r) => query.status.includes(r.status!));
      await sleep(readMs);
      return seen as JobRecord[];
    },
  } as unknown as JobStore;
}

describe('embedded queue', () => {
  let queue: ExportQueue | undefined;
  afterEach(async () => {
    await queue?.close(0);
  });

  it('delivers an export enqueued while it was reading the table at once, not a poll later', async () => {
    const records: Partial<JobRecord>[] = [];
    queue = embeddedQueue({ store: slowStore(records, 100), pollIntervalMs: 5000 });
    const delivered: number[] = [];
    const started = Date.now();
    await queue.consume(
      async ({ id }) => {
        delivered.push(Date.now() - started);
        const record = records.find((r) => r.id === id)!;
        record.status = 'succeeded';
      },
      { concurrency: 1 },
    );
    await sleep(30); // the first read of the table is under way
    records.push({ id: 'exp_during_read', status: 'queued', attempt: 0 });
    await queue.enqueue('exp_during_read');
    const deadline = Date.now() + 2000;
    while (delivered.length === 0 && Date.now() < deadline) await sleep(10);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toBeLessThan(1000); // was the whole poll interval (5 s here, 1 s by default)
  });
});

describe('embedded queue, retries and shutdown', () => {
  it('does not spin once a retry is under way, nor after a retried record went away', async () => {
    const records: Partial<JobRecord>[] = [{ id: 'exp_retried', status: 'queued', attempt: 0 }];
    let reads = 0;
    const store = slowStore(records, 0);
    const counting = {
      find: async (query: FindQuery) => {
        reads++;
        return store.find(query);
      },
    } as unknown as JobStore;
    let attempts = 0;
    const queue = embeddedQueue({ store: counting, pollIntervalMs: 200, backoff: { baseMs: 20, maxMs: 20 } });
    await queue.consume(
      async () => {
        attempts++;
        if (attempts === 1) throw new TakeoutError('storage_error', 'try again'); // retryable
        records[0]!.status = 'canceled'; // the second attempt runs while the record goes away
        await sleep(400);
      },
      { concurrency: 2 },
    );
    await sleep(150); // the retry is running: its backoff time has passed
    const during = reads;
    await sleep(400);
    const after = reads - during;
    await queue.close(0);
    expect(attempts).toBe(2);
    // Polling every 200 ms is 2 reads (queued + abandoned) per pass: a few passes, not hundreds.
    expect(after).toBeLessThan(20);
  });

  it('forgets a retry whose record went away during its backoff', async () => {
    const records: Partial<JobRecord>[] = [{ id: 'exp_gone', status: 'queued', attempt: 0 }];
    let reads = 0;
    let lastLimit = 0;
    const store = slowStore(records, 0);
    const counting = {
      find: async (query: FindQuery) => {
        reads++;
        lastLimit = query.limit;
        return store.find(query);
      },
    } as unknown as JobStore;
    const queue = embeddedQueue({
      store: counting,
      pollIntervalMs: 200,
      backoff: { baseMs: 100, maxMs: 100 },
    });
    let attempts = 0;
    await queue.consume(
      async () => {
        attempts++;
        records[0]!.status = 'canceled'; // canceled while it waits for its retry
        throw new TakeoutError('storage_error', 'try again');
      },
      { concurrency: 1 },
    );
    await sleep(400); // the backoff (~100 ms) is long over
    const before = reads;
    await sleep(400);
    const after = reads - before;
    await queue.close(0);
    expect(attempts).toBe(1);
    expect(after).toBeLessThan(20); // it woke at once for ever before
    // Nothing is kept for it any more: the reads ask for no more rows than one slot's.
    expect(lastLimit).toBe(1);
  });

  it('delivers again at once a record another process held, once that process hands it back', async () => {
    const records: Partial<JobRecord>[] = [{ id: 'exp_raced', status: 'queued', attempt: 0 }];
    // The other process's lease on the running record lasts the whole test.
    const leased = {
      find: async (query: FindQuery) =>
        records.filter((r) => r.status === 'queued' && query.status.includes('queued')),
    } as unknown as JobStore;
    const queue = embeddedQueue({ store: leased, pollIntervalMs: 50 });
    const deliveries: string[] = [];
    await queue.consume(
      async ({ defer }) => {
        if (deliveries.length === 0) {
          // Another process claimed the record between this one's read and its claim.
          deliveries.push('held');
          records[0]!.status = 'running';
          defer?.(new Date(Date.now() + 30_000));
          return;
        }
        deliveries.push('ran');
        records[0]!.status = 'succeeded';
      },
      { concurrency: 1 },
    );
    await sleep(200);
    expect(deliveries).toEqual(['held']);
    records[0]!.status = 'queued'; // that process shut down and handed it back
    await sleep(300);
    await queue.close(0);
    expect(deliveries).toEqual(['held', 'ran']); // it waited 10 minutes before
  });

  it('close(grace) lets the process exit as soon as the last delivery ends', () => {
    // In a process of its own: a timer left behind kept `takeout serve` alive for the grace period.
    const script = `
      import { embeddedQueue } from './src/jobs/queue/embedded.ts';
      const records = [{ id: 'exp_short', status: 'queued', attempt: 0 }];
      const store = { find: async (q) => records.filter((r) => q.status.includes(r.status)) };
      const queue = embeddedQueue({ store, pollIntervalMs: 50 });
      let started = false;
      await queue.consume(async () => { started = true; records[0].status = 'succeeded'; await new Promise((r) => setTimeout(r, 100)); }, { concurrency: 1 });
      while (!started) await new Promise((r) => setTimeout(r, 5));
      await queue.close(20_000);
    `;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: join(dirname(fileURLToPath(import.meta.url)), '../..'),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.status, child.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000); // not the 20 s grace
  });
});
