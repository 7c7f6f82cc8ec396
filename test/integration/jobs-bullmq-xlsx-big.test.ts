/**
 * Opt-in (TAKEOUT_TEST_BIG_JOBS=1, about a minute): a 1,000,000-row XLSX export as a job on
 * PostgreSQL + BullMQ + S3 with BullMQ's default lock settings (30 s lock, renewed every
 * 15 s; stalled checks every 30 s) and two worker processes. The XLSX writer is CPU-heavy:
 * if it starved the event loop past the lock, the other worker's stalled check would report a
 * `stalled` event and run the export a second time.
 */
import { createHash } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { useJobsDeployment } from '../support/jobs-deployment.js';

describe.skipIf(process.env.TAKEOUT_TEST_BIG_JOBS !== '1')(
  'a 1,000,000-row XLSX job on BullMQ (opt-in)',
  () => {
    const deploy = useJobsDeployment();

    it('runs once with default lock settings: no stalled event, attempt 1', async () => {
      const d = await deploy({ quickRecovery: false });
      const connection = new Redis(d.queue.url, { maxRetriesPerRequest: null });
      const events = new QueueEvents(d.queue.name, { connection, prefix: d.queue.prefix });
      const stalled: string[] = [];
      events.on('stalled', ({ jobId }) => stalled.push(jobId));
      await events.waitUntilReady();
      try {
        await Promise.all([d.startWorker(), d.startWorker()]);
        const startedAt = Date.now();
        const job = await d.create(1_000_000, { format: 'xlsx', dataset: 'wide' });
        const done = await d.until(job.id, (j) => j.status === 'succeeded' || j.status === 'failed', 600_000);
        const seconds = (Date.now() - startedAt) / 1000;
        expect(done).toMatchObject({ status: 'succeeded', attempt: 1, result: { rowCount: 1_000_000 } });
        // Longer than the 30 s lock: a starved lock renewal would have let it expire.
        expect(seconds).toBeGreaterThan(30);
        expect(stalled).toEqual([]);
        for (const worker of d.workers) {
          expect(worker.lines.filter((line) => /stalled|lost this delivery/i.test(line.msg))).toEqual([]);
        }
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of (await d.api.storage.read(done.result!.key))!) {
          hash.update(chunk);
          size += chunk.byteLength;
        }
        expect(size).toBe(done.result!.sizeBytes);
        expect(hash.digest('hex')).toBe(done.result!.sha256);
        console.log(
          `1,000,000-row XLSX job: ${seconds.toFixed(1)} s, ${(size / 1024 / 1024).toFixed(1)} MiB, no stalled event`,
        );
      } finally {
        await events.close();
        connection.disconnect();
      }
    }, 600_000);
  },
);
