/**
 * The scale harness's deployment, every part a real process: 2 `takeout serve` (API only),
 * 3 `takeout worker`, a private redis-server (never the shared one: the harness stops it),
 * s3rver (stopped and started again on the same port and directory), and the job store in a
 * fresh schema of the real PostgreSQL. Owners are API tokens, one per owner.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createSchema, PG_BASE_URL, type TestSchema } from '../integration/postgres-helpers.js';
import { DEPLOYMENT_DATASETS } from '../support/jobs-deployment.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';
import { type ServeProcess, startServe } from '../support/serve-process.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/** A worker started under heavy load (tsx compiling on a shared 2-core machine) can be slow. */
const START_TIMEOUT_MS = 180_000;
/** Starts of a killed worker's replacement before the run gives up. */
const RESTART_TRIES = 5;

export interface Owner {
  id: string;
  token: string;
}

export interface ScaleOptions {
  apis: number;
  workers: number;
  owners: number;
  /** Exports one worker process runs at once. */
  concurrency: number;
}

export interface ScaleDeployment {
  apis: ServeProcess[];
  workers: WorkerProcess[];
  /** Workers killed during the run (their logs, for a failed run's post-mortem). */
  killed: WorkerProcess[];
  owners: Owner[];
  redis: RedisServerHandle;
  s3: S3rverHandle;
  s3Client: S3Client;
  bucket: string;
  schema: TestSchema;
  /**
   * SIGKILLs worker `index` and, once it has exited, starts a new one in its place: returned
   * as `restarted`, so that the run goes on (the next fault too) while it starts.
   */
  killWorker(index: number): Promise<{ restarted: Promise<void> }>;
  stop(): Promise<void>;
}

export async function startScaleDeployment(options: ScaleOptions): Promise<ScaleDeployment> {
  const cleanup: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    const configDir = mkdtempSync(join(tmpdir(), 'takeout-scale-'));
    cleanup.push(async () => rmSync(configDir, { recursive: true, force: true }));
    writeFileSync(join(configDir, 'takeout.config.json'), JSON.stringify(DEPLOYMENT_DATASETS));

    const schema = await createSchema('takeout_scale');
    cleanup.push(() => schema.drop());
    const redis = await startRedisServer();
    cleanup.push(() => redis.stop());
    const s3 = await startS3rver();
    cleanup.push(() => s3.stop());
    const bucket = `takeout-scale-${randomBytes(4).toString('hex')}`;
    const s3Client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: s3.credentials,
    });
    cleanup.push(async () => s3Client.destroy());
    await s3Client.send(new CreateBucketCommand({ Bucket: bucket }));

    const owners: Owner[] = Array.from({ length: options.owners }, (_, i) => ({
      id: `owner${String(i).padStart(2, '0')}`,
      token: `scale-${randomBytes(12).toString('hex')}`,
    }));
    const env: NodeJS.ProcessEnv = {
      TAKEOUT_DATA_DIR: configDir,
      TAKEOUT_CONFIG: join(configDir, 'takeout.config.json'),
      TAKEOUT_DEMO: 'false',
      DATABASE_URL: PG_BASE_URL,
      TAKEOUT_DATABASE_SCHEMA: schema.name,
      SOURCE_URL: PG_BASE_URL,
      // Five processes share a PostgreSQL that other test runs use too.
      TAKEOUT_PG_POOL_MAX: '4',
      REDIS_URL: redis.url,
      // A killed worker's export moves on within about 15 s, yet a loaded machine's event-loop
      // stalls of a few seconds do not cost locks.
      TAKEOUT_QUEUE_LOCK: '10',
      TAKEOUT_QUEUE_STALLED_INTERVAL: '5',
      TAKEOUT_JOB_LEASE: '10',
      TAKEOUT_SHUTDOWN_GRACE: '2',
      // 15 exports per owner at once.
      TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER: '100',
      TAKEOUT_API_TOKENS: owners.map((o) => `${o.token}=${o.id}:scale`).join(','),
      STORAGE_URL: `s3://${bucket}/generated?endpoint=${encodeURIComponent(s3.endpoint)}&forcePathStyle=true&region=us-east-1`,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    };

    const apis: ServeProcess[] = [];
    cleanup.push(async () => {
      await Promise.all(apis.map((api) => api.terminate()));
    });
    for (let i = 0; i < options.apis; i++) {
      // API only; its sweeper enqueues again what a Redis outage kept off the queue.
      apis.push(await startServe({ ...env, TAKEOUT_WORKERS: '0', TAKEOUT_SWEEP_INTERVAL: '5s' }));
    }
    const workerEnv = { ...env, TAKEOUT_WORKERS: String(options.concurrency) };
    const workers: WorkerProcess[] = [];
    cleanup.push(async () => {
      for (const worker of workers) {
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
    });
    workers.push(
      ...(await Promise.all(
        Array.from({ length: options.workers }, () => startWorkerProcess(workerEnv, START_TIMEOUT_MS)),
      )),
    );

    const killed: WorkerProcess[] = [];
    return {
      apis,
      workers,
      killed,
      owners,
      redis,
      s3,
      s3Client,
      bucket,
      schema,
      async killWorker(index) {
        const victim = workers[index]!;
        killed.push(victim);
        victim.child.kill('SIGKILL');
        await victim.exited;
        // As a supervisor would (Compose's `restart: unless-stopped`): a worker that starts while
        // Redis is down exits with queue_error after its connect timeout, and is started again.
        const restarted = (async () => {
          for (let tries = 1; ; tries++) {
            try {
              workers[index] = await startWorkerProcess(workerEnv, START_TIMEOUT_MS);
              return;
            } catch (error) {
              if (tries >= RESTART_TRIES) throw error;
              await sleep(1000);
            }
          }
        })();
        return { restarted };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
