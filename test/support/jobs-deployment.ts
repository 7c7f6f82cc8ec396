/**
 * A small deployment for tests with real processes: PostgreSQL job store (a fresh schema),
 * BullMQ (a fresh queue), S3 (s3rver, a fresh bucket), the test process as the API that
 * creates jobs, and `takeout worker` processes. `useJobsDeployment()` registers the hooks that
 * start s3rver once and tear every deployment down after its test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { parseExportRequest } from '../../src/exports/request.js';
import { builtinFormats } from '../../src/formats/index.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { createService, type Service } from '../../src/service.js';
import { createSchema, PG_BASE_URL } from '../integration/postgres-helpers.js';
import { BullmqHarness, freshQueueOptions } from './bullmq-harness.js';
import { type S3rverHandle, startS3rver } from './s3rver.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

export const alice = { id: 'alice', tenant: 'acme' };
const formats = builtinFormats();

// `series`: n rows from PostgreSQL, pausing 0.3 s every 25,000 rows so a test can act mid-run.
// `wide`: nine columns, no pauses (CPU-heavy as XLSX).
const SERIES = 'SELECT g AS id, md5(g::text) AS hash, g * 0.25 AS amount FROM generate_series(1, :n) AS g';
export const DEPLOYMENT_DATASETS = {
  datasets: [
    {
      name: 'series',
      connection: { postgres: { urlEnv: 'SOURCE_URL' } },
      sql: `${SERIES} WHERE g % 25000 <> 0 OR pg_sleep(0.3)::text = ''`,
      params: { n: { type: 'integer', required: true } },
    },
    {
      name: 'wide',
      connection: { postgres: { urlEnv: 'SOURCE_URL' } },
      sql: "SELECT g AS id, md5(g::text) AS a, md5((g + 1)::text) AS b, md5((g + 2)::text) AS c, g * 0.25 AS amount, g % 97 AS bucket, DATE '2020-01-01' + g % 3650 AS day, g % 2 = 0 AS even, 'note ' || g AS note FROM generate_series(1, :n) AS g",
      params: { n: { type: 'integer', required: true } },
    },
  ],
};

export interface DeployOptions {
  redisUrl?: string;
  /** Short locks and leases so a killed worker's job moves on in seconds (default true). */
  quickRecovery?: boolean;
  /** More settings for the API and every worker. */
  env?: NodeJS.ProcessEnv;
}

export interface Deployment {
  env: NodeJS.ProcessEnv;
  api: Service;
  bucket: string;
  queue: { name: string; prefix: string; url: string };
  workers: WorkerProcess[];
  /** A `takeout worker` process; `env` adds to the deployment's settings for this one. */
  startWorker(env?: NodeJS.ProcessEnv): Promise<WorkerProcess>;
  create(rows: number, options?: { format?: string; dataset?: string }): Promise<JobRecord>;
  until(id: string, check: (job: JobRecord) => boolean, timeoutMs?: number): Promise<JobRecord>;
  /** The worker whose log says it started `id`. */
  runnerOf(id: string): Promise<WorkerProcess>;
  objects(): Promise<string[]>;
  /** Unfinished multipart uploads in s3rver's own directory. */
  uploads(): Promise<number>;
}

export function useJobsDeployment(): (options?: DeployOptions) => Promise<Deployment> {
  let s3: S3rverHandle;
  let configDir: string;
  let bucketCount = 0;
  const teardown: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    s3 = await startS3rver();
    configDir = mkdtempSync(join(tmpdir(), 'takeout-deploy-'));
    writeFileSync(join(configDir, 'takeout.config.json'), JSON.stringify(DEPLOYMENT_DATASETS));
  });
  afterEach(async () => {
    for (const step of teardown.splice(0).reverse()) await step();
  });
  afterAll(async () => {
    await s3?.stop();
    rmSync(configDir, { recursive: true, force: true });
  });

  return async ({ redisUrl = 'redis://127.0.0.1:6379', quickRecovery = true, env: extra = {} } = {}) => {
    const schema = await createSchema('takeout_deploy');
    teardown.push(() => schema.drop());
    const bucket = `takeout-deploy-${process.pid}-${bucketCount++}`;
    const client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: s3.credentials,
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
    const queues = new BullmqHarness();
    const queue = freshQueueOptions({ url: redisUrl });
    queues.probe(queue); // its keys are deleted after the test
    teardown.push(() => queues.cleanUp());
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
      ...(quickRecovery
        ? { TAKEOUT_QUEUE_LOCK: '3', TAKEOUT_QUEUE_STALLED_INTERVAL: '2', TAKEOUT_JOB_LEASE: '3' }
        : {}),
      TAKEOUT_WORKERS: '1',
      TAKEOUT_SHUTDOWN_GRACE: '2',
      STORAGE_URL: `s3://${bucket}/generated?endpoint=${encodeURIComponent(s3.endpoint)}&forcePathStyle=true&region=us-east-1`,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      ...extra,
    };
    const api = await createService(loadConfig(env), { env });
    teardown.push(() => api.close());
    const workers: WorkerProcess[] = [];
    teardown.push(async () => {
      for (const worker of workers) {
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
    });
    return {
      env,
      api,
      bucket,
      queue: { name: queue.name!, prefix: queue.prefix!, url: redisUrl },
      workers,
      async startWorker(more = {}) {
        const worker = await startWorkerProcess({ ...env, ...more });
        workers.push(worker);
        return worker;
      },
      async create(rows, { format = 'csv', dataset = 'series' } = {}) {
        const request = parseExportRequest({ dataset, format, params: { n: rows } }, formats);
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
  };
}
