/**
 * A Redis that stops answering with its connections still open (here: SIGSTOP) must not hang
 * the API: the rate limit lets requests through (after a command timeout, then at once once its
 * watch has seen Redis silent), job creation records the job and leaves its delivery to the
 * sweeper, and nothing is lost once Redis answers again.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerTokens } from '../../src/auth.js';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import { REDIS_COMMAND_TIMEOUT_MS } from '../../src/jobs/queue/redis.js';
import { REDIS_WATCH_EVERY_MS } from '../../src/jobs/queue/redis-watch.js';
import { numbersDataset, type TestService, testService } from '../support/jobs.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';

const TOKEN = 'token-alice-aaaaaaaaaaaa';

describe('API with a Redis that stops answering', () => {
  let redis: RedisServerHandle;
  let jobs: TestService;
  let app: FastifyInstance;
  let base: string;

  async function timed(path: string, init: RequestInit = {}) {
    const started = performance.now();
    const response = await fetch(base + path, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, ...init.headers },
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await response.json()) as Record<string, unknown>;
    return { status: response.status, body, ms: performance.now() - started };
  }

  beforeAll(async () => {
    redis = await startRedisServer();
    jobs = await testService(
      { REDIS_URL: redis.url, TAKEOUT_RATE_LIMIT: '3', TAKEOUT_QUEUE_PREFIX: `frozen${process.pid}` },
      { datasets: [numbersDataset('numbers', 20)] },
    );
    app = await buildServer({
      ...serviceServerOptions(jobs.service),
      authenticate: bearerTokens(new Map([[TOKEN, { id: 'alice', tenant: 'acme' }]])),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    redis?.thaw();
    await app?.close();
    await jobs?.close();
    await redis?.stop();
  });

  it('answers requests and records jobs while Redis is frozen, and delivers them once it is back', async () => {
    // The limit holds while Redis answers: the fourth request in the window is refused.
    for (let i = 0; i < 3; i++) expect((await timed('/v1/datasets')).status).toBe(200);
    expect((await timed('/v1/datasets')).status).toBe(429);

    redis.freeze();
    try {
      // The rate limit gives up after its command timeout and lets the request through.
      const listed = await timed('/v1/datasets');
      expect(listed.status).toBe(200);
      expect(listed.ms).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS.limiter! + 1500);

      // Job creation records the job and answers; the queue's add gave up after its timeout.
      const created = await timed('/v1/exports', {
        method: 'POST',
        headers: { 'content-type': 'application/json', prefer: 'respond-async' },
        body: JSON.stringify({ dataset: 'numbers', format: 'csv' }),
      });
      expect(created.status).toBe(202);
      expect(created.ms).toBeLessThan(
        REDIS_COMMAND_TIMEOUT_MS.limiter! + REDIS_COMMAND_TIMEOUT_MS.producer! + 1500,
      );
      const id = created.body.id as string;
      expect((await jobs.service.jobs.store.get(id))?.status).toBe('queued');

      // Once the limiter's watch has seen Redis silent (a PING a second), requests no longer
      // wait on it at all, nor pile commands up for it.
      await new Promise((resolve) =>
        setTimeout(resolve, REDIS_WATCH_EVERY_MS + REDIS_COMMAND_TIMEOUT_MS.limiter! + 500),
      );
      const skipped = await timed('/v1/datasets');
      expect(skipped.status).toBe(200);
      expect(skipped.ms).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS.limiter! / 2);

      redis.thaw();
      // Answering again: the limit holds again (this window's three requests are long used).
      await expect.poll(async () => (await timed('/v1/datasets')).status, { timeout: 5000 }).toBe(429);
      // The queue is reachable again: the job, still queued, is enqueued again by the API's
      // background retries (1, 5, 15 s...; no sweeper runs here), delivered and run.
      await jobs.service.jobs.startWorker({ concurrency: 1 });
      const done = await jobs.until(id, (job) => job.status === 'succeeded', 40_000);
      expect(done.progress.rowsWritten).toBe(20);
    } finally {
      redis.thaw();
    }
  });
});
