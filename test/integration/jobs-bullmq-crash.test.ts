/**
 * Opt-in (TAKEOUT_TEST_PROCESSES=1, about 80 s, many processes): export jobs with real processes: PostgreSQL job store + BullMQ + S3 (s3rver), two
 * `takeout worker` processes, the test process as the API that creates jobs. A worker is
 * killed with SIGKILL or stopped with SIGTERM mid-export; Redis is restarted mid-flight (a
 * private redis-server); an export is canceled mid-run.
 */
import { parse } from 'csv-parse';
import { describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.js';
import { alice, useJobsDeployment } from '../support/jobs-deployment.js';
import { usePrivateRedis } from '../support/redis-server.js';

async function countCsvRows(api: Service, key: string): Promise<number> {
  let rows = 0;
  const parser = parse({ columns: true });
  const reading = (async () => {
    for await (const _row of parser) rows++;
  })();
  for await (const chunk of (await api.storage.read(key))!) parser.write(chunk);
  parser.end();
  await reading;
  return rows;
}

describe.skipIf(process.env.TAKEOUT_TEST_PROCESSES !== '1')(
  'export jobs on PostgreSQL + BullMQ + S3 with real worker processes (opt-in)',
  () => {
    const deploy = useJobsDeployment();

    it('completes on another worker after the one running it is killed with SIGKILL', async () => {
      const d = await deploy();
      await Promise.all([d.startWorker(), d.startWorker()]);
      const job = await d.create(500_000);
      const runner = await d.runnerOf(job.id);
      // Past the first 8 MiB part, so the dead attempt leaves a multipart upload behind.
      await d.until(job.id, (j) => j.progress.bytesWritten >= 10 * 1024 * 1024);
      runner.child.kill('SIGKILL');
      expect(await runner.exited).toBe('SIGKILL');
      expect(await d.uploads()).toBe(1); // the dead attempt's multipart upload

      const done = await d.until(job.id, (j) => j.status === 'succeeded' || j.status === 'failed', 90_000);
      expect(done).toMatchObject({ status: 'succeeded', attempt: 2, result: { rowCount: 500_000 } });
      expect(done.result!.key).toContain(`/${job.id}/a2/`);
      expect(await d.objects()).toEqual([done.result!.key]);
      expect(await d.uploads()).toBe(0);
      expect(await countCsvRows(d.api, done.result!.key)).toBe(500_000);
      const survivor = d.workers.find((w) => w !== runner)!;
      expect(
        survivor.lines.filter((l) => l.msg === 'export succeeded' && l.exportId === job.id),
      ).toHaveLength(1);
    });

    it('stops a worker on SIGTERM within its grace period and the export completes on the other', async () => {
      const d = await deploy();
      await Promise.all([d.startWorker(), d.startWorker()]);
      const job = await d.create(500_000);
      const runner = await d.runnerOf(job.id);
      await d.until(job.id, (j) => j.progress.rowsWritten >= 25_000);
      const stoppedAt = Date.now();
      runner.child.kill('SIGTERM');
      expect(await runner.exited).toBe(0);
      // TAKEOUT_SHUTDOWN_GRACE=2: the export could not finish in it, so it was handed back.
      expect(Date.now() - stoppedAt).toBeLessThan(2000 + 3000);
      expect(runner.lines.some((l) => l.msg === 'export handed back at shutdown')).toBe(true);

      const done = await d.until(job.id, (j) => j.status === 'succeeded' || j.status === 'failed', 60_000);
      expect(done).toMatchObject({ status: 'succeeded', attempt: 2, result: { rowCount: 500_000 } });
      expect(await d.objects()).toEqual([done.result!.key]);
      expect(await d.uploads()).toBe(0);
    });

    it('cancels a running export: canceled, no object, no upload left', async () => {
      const d = await deploy();
      await d.startWorker();
      const job = await d.create(500_000);
      await d.until(job.id, (j) => j.progress.rowsWritten >= 25_000);
      await d.api.jobs.cancel(job.id, alice);
      const done = await d.until(job.id, (j) => j.status !== 'running' && j.status !== 'canceling', 10_000);
      expect(done.status).toBe('canceled');
      expect(done.result).toBeUndefined();
      expect(await d.objects()).toEqual([]);
      expect(await d.uploads()).toBe(0);
    });

    describe('on a private Redis', () => {
      const privateRedis = usePrivateRedis();

      it('loses nothing when Redis restarts mid-flight', async () => {
        const d = await deploy({ redisUrl: privateRedis().url });
        await Promise.all([d.startWorker(), d.startWorker()]);
        const jobs = [];
        for (let i = 0; i < 6; i++) jobs.push(await d.create(60_000));
        await d.until(jobs[0]!.id, (j) => j.status === 'running');
        await privateRedis().restart({ downMs: 1000 });
        for (let i = 0; i < 2; i++) jobs.push(await d.create(60_000));
        const done = await Promise.all(
          jobs.map((job) =>
            d.until(job.id, (j) => j.status === 'succeeded' || j.status === 'failed', 90_000),
          ),
        );
        expect(done.map((j) => j.status)).toEqual(jobs.map(() => 'succeeded'));
        for (const job of done) expect(job.result!.rowCount).toBe(60_000);
        expect((await d.objects()).sort()).toEqual(done.map((j) => j.result!.key).sort());
      });
    });
  },
);
