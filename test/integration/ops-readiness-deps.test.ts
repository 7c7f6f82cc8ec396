/**
 * `/readyz` of real processes (`takeout serve` and a `takeout worker`'s metrics port) when a
 * dependency goes away and comes back: the PostgreSQL job store behind a TCP proxy the test
 * cuts, and BullMQ on a private redis-server the test stops. Readiness answers the `503
 * not_ready` problem docs/operations.md promises, naming the failed check, then `200` again
 * once the dependency is back; `/healthz` answers `200` the whole time (liveness never asks a
 * dependency). The shared PostgreSQL and Redis are never touched.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { dropQueueKeys } from '../support/bullmq-harness.js';
import { eventually } from '../support/eventually.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { s3rverStorage, startS3rver } from '../support/s3rver.js';
import { type ServeProcess, startServe } from '../support/serve-process.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { createSchema, PG_BASE_URL } from './postgres-helpers.js';

/** A TCP proxy on loopback whose link the test cuts (listener closed, every connection reset) and restores on the same port. */
interface CuttableProxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function startProxy(targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    const next = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    server = next;
    port = (next.address() as AddressInfo).port;
  };
  const cut = async () => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (closing) await new Promise((resolve) => closing.close(resolve));
  };
  await listen();
  return {
    get port() {
      return port;
    },
    cut,
    async restore() {
      if (!server) await listen();
    },
    close: cut,
  };
}

interface Probe {
  status: number;
  contentType: string | null;
  cacheControl: string | null;
  body: Record<string, unknown>;
}

async function probe(url: string): Promise<Probe> {
  const response = await fetch(url);
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    cacheControl: response.headers.get('cache-control'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** Polls `url` until its answer has `status`; the last answer (with every status seen, for the failure message). */
async function probeUntil(url: string, status: number, timeoutMs: number): Promise<Probe> {
  let last: Probe | undefined;
  const seen: string[] = [];
  await eventually(
    async () => {
      last = await probe(url);
      seen.push(`${last.status} ${JSON.stringify(last.body)}`);
      return last.status === status;
    },
    timeoutMs,
    100,
  );
  expect(last?.status, `${url}: ${seen.slice(-3).join(' | ')}`).toBe(status);
  return last!;
}

const READY = { status: 'ready', checks: { store: 'ok', queue: 'ok', storage: 'ok' } };

/** The `503 not_ready` problem with only `name` failing (`failed` or `timeout`: either is a failed check). */
function expectNotReady(
  answer: Probe,
  name: 'store' | 'queue' | 'storage',
  outcomes: string[] = ['failed', 'timeout'],
): void {
  expect(answer.status).toBe(503);
  expect(answer.contentType).toMatch(/^application\/problem\+json/);
  expect(answer.cacheControl).toBe('no-store');
  const checks = answer.body.checks as Record<string, string>;
  expect(Object.keys(checks).sort()).toEqual(['queue', 'storage', 'store']);
  expect(outcomes).toContain(checks[name]);
  for (const other of ['store', 'queue', 'storage'].filter((n) => n !== name)) {
    expect(checks[other], `${other} should still be ok`).toBe('ok');
  }
  expect(answer.body).toMatchObject({
    type: expect.stringMatching(/not_ready$/),
    title: expect.any(String),
    status: 503,
    code: 'not_ready',
    failed: [name],
    detail: expect.stringContaining(`${name} ${checks[name]}`),
  });
}

/**
 * Polls `/healthz` of every base every 100 ms until stopped; what it saw. Liveness must answer
 * 200 whatever the dependencies do.
 */
function watchHealth(bases: string[]): () => Promise<{ answers: number; failures: string[] }> {
  let running = true;
  let answers = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      await Promise.all(
        bases.map(async (base) => {
          try {
            const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1500) });
            const body = (await response.json()) as { status?: string };
            answers++;
            if (response.status !== 200 || body.status !== 'ok') {
              failures.push(`${base}: ${response.status} ${JSON.stringify(body)}`);
            }
          } catch (error) {
            failures.push(`${base}: ${(error as Error).message}`);
          }
        }),
      );
      await sleep(100);
    }
  })();
  return async () => {
    running = false;
    await loop;
    return { answers, failures };
  };
}

interface Processes {
  api: ServeProcess;
  worker: WorkerProcess;
  /** `/readyz` of the API and of the worker's metrics port. */
  readyz: string[];
  bases: string[];
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

/** An API process and a worker process on `env` (a fresh data directory, schema and queue are added). */
async function startProcesses(env: NodeJS.ProcessEnv): Promise<Processes> {
  const dir = mkdtempSync(join(tmpdir(), 'takeout-ready-'));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  const prefix = `takeout-ready:${process.pid}:${randomBytes(4).toString('hex')}`;
  const redisUrl = env.REDIS_URL!;
  // The queue's keys, on whichever Redis it used.
  cleanup.push(() => dropQueueKeys(redisUrl, prefix));
  const common: NodeJS.ProcessEnv = {
    TAKEOUT_DATA_DIR: dir,
    TAKEOUT_DEMO: 'false',
    TAKEOUT_SECRET: randomBytes(24).toString('hex'),
    TAKEOUT_QUEUE_PREFIX: prefix,
    TAKEOUT_SHUTDOWN_GRACE: '1',
    ...env,
  };
  const [api, worker] = await Promise.all([
    startServe({ ...common, TAKEOUT_WORKERS: '0' }),
    startWorkerProcess({ ...common, TAKEOUT_WORKERS: '1', TAKEOUT_METRICS_PORT: '0' }),
  ]);
  cleanup.push(async () => {
    for (const child of [api.child, worker.child]) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    }
  });
  const running = worker.lines.find((line) => line.msg === 'takeout worker is running');
  const workerMetrics = running?.metrics as string;
  expect(workerMetrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const bases = [api.base, workerMetrics];
  return { api, worker, bases, readyz: bases.map((base) => `${base}/readyz`) };
}

describe('/readyz while a dependency is away', () => {
  it('names the job store while PostgreSQL cannot be reached, and is ready again once it can', async () => {
    const schema = await createSchema('takeout_ready');
    cleanup.push(() => schema.drop());
    const proxy = await startProxy(Number(new URL(PG_BASE_URL).port || 5432));
    cleanup.push(() => proxy.close());
    const through = new URL(PG_BASE_URL);
    through.port = String(proxy.port);
    const { readyz, bases } = await startProcesses({
      DATABASE_URL: through.toString(),
      TAKEOUT_DATABASE_SCHEMA: schema.name,
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
    for (const url of readyz) expect((await probeUntil(url, 200, 10_000)).body).toEqual(READY);

    const health = watchHealth(bases);
    try {
      await proxy.cut();
      for (const url of readyz) expectNotReady(await probeUntil(url, 503, 10_000), 'store');
      // Still down a moment later: every probe asks again (nothing is cached).
      await sleep(300);
      for (const url of readyz) expectNotReady(await probe(url), 'store');

      await proxy.restore();
      for (const url of readyz) expect((await probeUntil(url, 200, 10_000)).body).toEqual(READY);
    } finally {
      const { answers, failures } = await health();
      expect(failures).toEqual([]);
      expect(answers).toBeGreaterThan(4);
    }
  });

  it('names the storage while its bucket is missing, logs why, and is ready once the bucket exists', async () => {
    const schema = await createSchema('takeout_ready');
    cleanup.push(() => schema.drop());
    const s3 = await startS3rver();
    cleanup.push(() => s3.stop());
    const bucket = `takeout-ready-${randomBytes(4).toString('hex')}`;
    const { api, worker, readyz } = await startProcesses({
      DATABASE_URL: PG_BASE_URL,
      TAKEOUT_DATABASE_SCHEMA: schema.name,
      REDIS_URL: 'redis://127.0.0.1:6379',
      STORAGE_URL: `s3://${bucket}/generated?endpoint=${encodeURIComponent(s3.endpoint)}&forcePathStyle=true&region=us-east-1`,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    });
    for (const url of readyz) {
      const answer = await probeUntil(url, 503, 10_000);
      expectNotReady(answer, 'storage');
      // Why is for the operator's log, not for anyone who can reach the public probe.
      expect(JSON.stringify(answer.body)).not.toMatch(/NoSuchBucket|ListObjects/);
    }
    const why = 'storage: S3 ListObjectsV2 failed: NoSuchBucket: the configured bucket does not exist';
    const apiLines = api
      .stdout()
      .split('\n')
      .filter((line) => line.includes('"not_ready"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(apiLines[0]).toMatchObject({ level: 40, code: 'not_ready', reason: why });
    expect(worker.lines.find((line) => line.code === 'not_ready')).toMatchObject({ level: 40, reason: why });

    // An export that needs the store meanwhile: a 502 the operator sees at warn, with why.
    const staged = await fetch(`${api.base}/v1/exports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ format: 'csv', rows: [{ a: 1 }] }),
    });
    expect(staged.status).toBe(502);
    expect(await staged.json()).toMatchObject({ code: 'storage_error' });
    await eventually(async () => api.stdout().includes('"code":"storage_error"'), 5000, 50);
    const failedLine = api
      .stdout()
      .split('\n')
      .find((line) => line.includes('"code":"storage_error"'));
    expect(JSON.parse(failedLine!)).toMatchObject({
      level: 40,
      msg: expect.stringMatching(/NoSuchBucket: the configured bucket does not exist$/),
    });

    // The bucket made: the same processes are ready, with nothing restarted.
    await (await s3rverStorage(s3, bucket)).close();
    for (const url of readyz) expect((await probeUntil(url, 200, 10_000)).body).toEqual(READY);
  });

  it('names the queue while Redis is down, and is ready again once it is back', async () => {
    const schema = await createSchema('takeout_ready');
    cleanup.push(() => schema.drop());
    const redis: RedisServerHandle = await startRedisServer();
    cleanup.push(() => redis.stop());
    const { readyz, bases } = await startProcesses({
      DATABASE_URL: PG_BASE_URL,
      TAKEOUT_DATABASE_SCHEMA: schema.name,
      REDIS_URL: redis.url,
    });
    for (const url of readyz) expect((await probeUntil(url, 200, 10_000)).body).toEqual(READY);

    const health = watchHealth(bases);
    try {
      await redis.down();
      // Refused connections: `failed` at once, not a 2 s wait for a reconnect that ends in `timeout`.
      for (const url of readyz) expectNotReady(await probeUntil(url, 503, 10_000), 'queue', ['failed']);

      await redis.up();
      // ioredis reconnects on its own (at most 5 s apart): no process restart.
      for (const url of readyz) expect((await probeUntil(url, 200, 15_000)).body).toEqual(READY);
    } finally {
      const { answers, failures } = await health();
      expect(failures).toEqual([]);
      expect(answers).toBeGreaterThan(4);
    }
  });
});
