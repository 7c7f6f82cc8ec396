/**
 * Health, readiness and Prometheus metrics of real processes: `takeout serve` (API) and
 * `takeout worker` (its metrics port) on PostgreSQL, BullMQ and S3 (s3rver). The metrics are
 * read with an independent parser and must move after a sync and a background export.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerTokens } from '../../src/auth.js';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import { s3Storage } from '../../src/storage/s3.js';
import { eventually } from '../support/eventually.js';
import { testService } from '../support/jobs.js';
import { METRICS_TOKEN, useProcessDeployment } from '../support/process-deployment.js';
import { parsePrometheus, type Sample, sampleValue } from '../support/prometheus-text.js';

const deploy = useProcessDeployment();

async function scrape(base: string): Promise<Sample[]> {
  const response = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return parsePrometheus(await response.text());
}

describe('probes and metrics of an API process and a worker process', () => {
  // One deployment (its processes take seconds to start) for every check.
  it('serves probes without authentication, /metrics only with its token, and metrics that move', async () => {
    const { api, workerMetrics, call } = await deploy();
    for (const base of [api.base, workerMetrics]) {
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      // Polled as a probe is: a fresh process's first S3 call loads the SDK, which on a loaded
      // machine can take longer than the check's 2 s.
      let ready: unknown;
      const answers: unknown[] = [];
      await eventually(
        async () => {
          const response = await fetch(`${base}/readyz`);
          ready = await response.json();
          answers.push(ready);
          return response.status === 200;
        },
        20_000,
        250,
      );
      expect(ready, JSON.stringify(answers)).toEqual({
        status: 'ready',
        checks: { store: 'ok', queue: 'ok', storage: 'ok' },
      });
      const anonymous = await fetch(`${base}/metrics`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('content-type')).toMatch(/problem\+json/);
      const wrong = await fetch(`${base}/metrics`, {
        headers: { authorization: 'Bearer not-the-token-at-all' },
      });
      expect(wrong.status).toBe(401);
    }
    // An API token is not the metrics token.
    expect((await call('/metrics')).status).toBe(401);

    // The metrics move after a sync and a background export.
    const apiBefore = await scrape(api.base);
    const workerBefore = await scrape(workerMetrics);
    // Default process metrics are there.
    expect(sampleValue(apiBefore, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(workerBefore, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    const syncRows = (s: Sample[]) =>
      sampleValue(s, 'takeout_rows_written_total', { path: 'sync', format: 'csv' }) ?? 0;
    const jobRows = (s: Sample[]) =>
      sampleValue(s, 'takeout_rows_written_total', { path: 'job', format: 'csv' }) ?? 0;
    const jobBytes = (s: Sample[]) =>
      sampleValue(s, 'takeout_bytes_written_total', { path: 'job', format: 'csv' }) ?? 0;
    const succeededAttempts = (s: Sample[]) =>
      sampleValue(s, 'takeout_job_duration_seconds_count', { format: 'csv', outcome: 'succeeded' }) ?? 0;
    const succeededJobs = (s: Sample[]) => sampleValue(s, 'takeout_jobs', { state: 'succeeded' }) ?? 0;

    const sync = await call('/v1/exports', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataset: 'series', format: 'csv', params: { n: 120 } }),
    });
    expect(sync.status).toBe(200);
    expect(parse(await sync.text(), { columns: true })).toHaveLength(120);

    const created = await call('/v1/exports', {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ dataset: 'series', format: 'csv', params: { n: 3000 } }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    let job: { status: string; result?: { size_bytes: number } } = { status: 'queued' };
    expect(
      await eventually(async () => {
        job = (await (await call(`/v1/exports/${id}`)).json()) as typeof job;
        return job.status === 'succeeded';
      }, 30_000),
    ).toBe(true);

    const apiAfter = await scrape(api.base);
    expect(syncRows(apiAfter) - syncRows(apiBefore)).toBe(120);
    expect(sampleValue(apiAfter, 'takeout_sync_exports_in_flight')).toBe(0);
    const build = apiAfter.find((sample) => sample.name === 'takeout_build_info');
    expect(build?.labels).toEqual({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      node: process.versions.node,
    });
    expect(build?.value).toBe(1);
    const workerAfter = await scrape(workerMetrics);
    expect(jobRows(workerAfter) - jobRows(workerBefore)).toBe(3000);
    expect(jobBytes(workerAfter) - jobBytes(workerBefore)).toBe(job.result!.size_bytes);
    expect(succeededAttempts(workerAfter) - succeededAttempts(workerBefore)).toBe(1);
    expect(
      sampleValue(workerAfter, 'takeout_job_duration_seconds_sum', { outcome: 'succeeded' }),
    ).toBeGreaterThan(0);
    // The queue is drained; the jobs gauge is read from the shared store (cached a few seconds).
    expect(sampleValue(workerAfter, 'takeout_queue_depth', { state: 'waiting' })).toBe(0);
    let counted = 0;
    expect(
      await eventually(async () => {
        counted = succeededJobs(await scrape(api.base));
        return counted === succeededJobs(apiBefore) + 1;
      }, 15_000),
    ).toBe(true);
  });
});

describe('/metrics on the API port without TAKEOUT_METRICS_TOKEN', () => {
  it('is served in the development mode only, and is a 404 problem once authentication is on', async () => {
    const jobs = await testService();
    const open = await buildServer(serviceServerOptions(jobs.service));
    const guarded = await buildServer({
      ...serviceServerOptions(jobs.service),
      authenticate: bearerTokens(new Map([['api-token-0123456789abcdef', { id: 'alice' }]])),
    });
    try {
      const dev = await open.inject({ url: '/metrics', headers: { host: 'localhost' } });
      expect(dev.statusCode).toBe(200);
      expect(sampleValue(parsePrometheus(dev.body), 'takeout_sync_exports_in_flight')).toBe(0);
      const hidden = await guarded.inject({
        url: '/metrics',
        headers: { authorization: 'Bearer api-token-0123456789abcdef' },
      });
      expect(hidden.statusCode).toBe(404);
      expect(hidden.json()).toMatchObject({ code: 'not_found' });
    } finally {
      await open.close();
      await guarded.close();
      await jobs.close();
    }
  });
});

describe('readiness when a dependency does not answer', () => {
  let blackHole: Server;
  const sockets: Socket[] = [];
  let endpoint: string;
  beforeAll(async () => {
    // Accepts connections and never answers: an S3 that hangs.
    blackHole = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const address = blackHole.address();
    endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
  });

  it('answers 503 not_ready naming the storage, within the timeout, while /healthz stays 200', async () => {
    const storage = s3Storage({
      bucket: 'never',
      endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    const jobs = await testService({}, { storage });
    const app = await buildServer(serviceServerOptions(jobs.service));
    try {
      const started = performance.now();
      const ready = await app.inject({ url: '/readyz', headers: { host: 'localhost' } });
      const took = performance.now() - started;
      expect(ready.statusCode).toBe(503);
      expect(ready.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(ready.json()).toMatchObject({
        code: 'not_ready',
        status: 503,
        failed: ['storage'],
        checks: { store: 'ok', storage: 'timeout' },
      });
      expect(took).toBeLessThan(5000);
      const health = await app.inject({ url: '/healthz', headers: { host: 'localhost' } });
      expect(health.statusCode).toBe(200);
    } finally {
      await app.close();
      await jobs.close();
    }
  });
});
