/**
 * Export jobs with real processes: PostgreSQL job store + BullMQ + S3 (s3rver), two
 * `takeout worker` processes, the test process as the API that creates jobs. A worker is
 * killed with SIGKILL or stopped with SIGTERM mid-export; Redis is restarted mid-flight (a
 * private redis-server); an export is canceled mid-run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { parseExportRequest } from '../../src/exports/request.js';
import { builtinFormats } from '../../src/formats/index.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { createService, type Service } from '../../src/service.js';
import { BullmqHarness, freshQueueOptions } from '../support/bullmq-harness.js';
import { usePrivateRedis } from '../support/redis-server.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { createSchema, PG_BASE_URL, type TestSchema } from './postgres-helpers.js';

const alice = { id: 'alice', tenant: 'acme' };
const formats = builtinFormats();

// 500,000 rows from PostgreSQL, pausing 0.3 s every 25,000 rows so a test can act mid-run.
const DATASETS = {
  datasets: [
    {
      name: 'series',
      connection: { postgres: { urlEnv: 'SOURCE_URL' } },
      sql: "SELECT g AS id, md5(g::text) AS hash, g * 0.25 AS amount FROM generate_series(1, :n) AS g WHERE g % 25000 <> 0 OR pg_sleep(0.3)::text = ''",
      params: { n: { type: 'integer', required: true } },
    },
  ],
};

let s3: S3rverHandle;
let configDir: string;
let bucketCount = 0;
beforeAll(async () => {
  s3 = await startS3rver();
  configDir = mkdtempSync(join(tmpdir(), 'takeout-crash-'));
  writeFileSync(join(configDir, 'takeout.config.json'), JSON.stringify(DATASETS));
});
afterAll(async () => {
  await s3?.stop();
  rmSync(configDir, { recursive: true, force: true });
});

interface Deployment {
  env: NodeJS.ProcessEnv;
  api: Service;
  bucket: string;
  workers: WorkerProcess[];
  startWorker(): Promise<WorkerProcess>;
  create(rows: number, format?: string): Promise<JobRecord>;
  until(id: string, check: (job: JobRecord) => boolean, timeoutMs?: number): Promise<JobRecord>;
  /** The worker whose log says it started `id`. */
  runnerOf(id: string): Promise<WorkerProcess>;
  objects(): Promise<string[]>;
  /** Unfinished multipart uploads in s3rver's own directory. */
  uploads(): Promise<number>;
}

let schema: TestSchema;
let deployment: Deployment | undefined;
const queues = new BullmqHarness();
beforeEach(async () => {
  schema = await createSchema('takeout_crash');
});
afterEach(async () => {
  for (const worker of deployment?.workers ?? []) {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
  await deployment?.api.close();
  deployment = undefined;
  await queues.cleanUp();
  await schema.drop();
});

async function deploy(
  redisUrl = 'redis://127.0.0.1:6379',
  extra: NodeJS.ProcessEnv = {},
): Promise<Deployment> {
  const bucket = `takeout-crash-${process.pid}-${bucketCount++}`;
  const client = new S3Client({
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: s3.credentials,
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  const queue = freshQueueOptions({ url: redisUrl });
  queues.probe(queue); // its keys are deleted after the test
  const env: NodeJS.ProcessEnv = {
    TAKEOUT_DATA_DIR: configDir,
    TAKEOUT_CONFIG: join(configDir, 'takeout.config.json'),
    TAKEOUT_DEMO: 'false',
    DATABASE_URL: PG_BASE_URL,
    TAKEOUT_DATABASE_SCHEMA: schema.name,
    SOURCE_URL: PG_BASE_URL,
    REDIS_URL: redisUrl,
    TAKEOUT_QUEUE_NAME: queue.name,
    TAKEOUT_QUEUE_PREFIX: queue.prefix,
    // Quick recovery from a killed worker (the defaults take 30 to 60 s).
    TAKEOUT_QUEUE_LOCK: '3',
    TAKEOUT_QUEUE_STALLED_INTERVAL: '2',
    TAKEOUT_JOB_LEASE: '3',
    TAKEOUT_WORKERS: '1',
    TAKEOUT_SHUTDOWN_GRACE: '2',
    STORAGE_URL: `s3://${bucket}/generated?endpoint=${encodeURIComponent(s3.endpoint)}&forcePathStyle=true&region=us-east-1`,
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    ...extra,
  };
  const api = await createService(loadConfig(env), { env });
  const workers: WorkerProcess[] = [];
  const d: Deployment = {
    env,
    api,
    bucket,
    workers,
    async startWorker() {
      const worker = await startWorkerProcess(env);
      workers.push(worker);
      return worker;
    },
    async create(rows, format = 'csv') {
      const request = parseExportRequest({ dataset: 'series', format, params: { n: rows } }, formats);
      return (await api.jobs.create(request, alice)).job;
    },
    async until(id, check, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await api.jobs.store.get(id);
        if (job && check(job)) return job;
        if (Date.now() > deadline) throw new Error(`export ${id} is ${job?.status ?? 'gone'}: not in time`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async runnerOf(id) {
      const started = (w: WorkerProcess) =>
        w.waitFor((line) => line.msg === 'export started' && line.exportId === id, 30_000).then(() => w);
      return Promise.any(workers.map(started));
    },
    async objects() {
      const keys: string[] = [];
      for await (const item of api.storage.list(api.storage.prefix)) keys.push(item.key);
      return keys;
    },
    async uploads() {
      return (await readdir(join(s3.directory, bucket, '._S3rver_uploads')).catch(() => [])).length;
    },
  };
  deployment = d;
  return d;
}

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

describe('export jobs on PostgreSQL + BullMQ + S3 with real worker processes', () => {
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
    expect(survivor.lines.filter((l) => l.msg === 'export succeeded' && l.exportId === job.id)).toHaveLength(
      1,
    );
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
      const d = await deploy(privateRedis().url);
      await Promise.all([d.startWorker(), d.startWorker()]);
      const jobs = [];
      for (let i = 0; i < 6; i++) jobs.push(await d.create(60_000));
      await d.until(jobs[0]!.id, (j) => j.status === 'running');
      await privateRedis().restart({ downMs: 1000 });
      for (let i = 0; i < 2; i++) jobs.push(await d.create(60_000));
      const done = await Promise.all(
        jobs.map((job) => d.until(job.id, (j) => j.status === 'succeeded' || j.status === 'failed', 90_000)),
      );
      expect(done.map((j) => j.status)).toEqual(jobs.map(() => 'succeeded'));
      for (const job of done) expect(job.result!.rowCount).toBe(60_000);
      expect((await d.objects()).sort()).toEqual(done.map((j) => j.result!.key).sort());
    });
  });
});
