import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
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
