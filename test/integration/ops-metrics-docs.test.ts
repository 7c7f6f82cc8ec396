/**
 * The metrics docs/operations.md lists, as real processes expose them: `takeout serve` (API,
 * `/metrics` on PORT with the metrics token) and `takeout worker` (`/metrics` on
 * TAKEOUT_METRICS_PORT). Every documented metric is on each scrape with its documented type
 * and labels, and no undocumented `takeout_*` metric is. Then a retryable failure (the
 * worker's dataset database refuses connections: `source_error`) must move
 * `takeout_job_retries_total`, and webhooks answered with 500 (the export's own and the
 * service-wide one) must move `takeout_notification_failures_total` by channel. Values are read
 * from the exposition text.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JOB_STATUSES } from '../../src/jobs/types.js';
import { dropQueueKeys } from '../support/bullmq-harness.js';
import { eventually } from '../support/eventually.js';
import { DEPLOYMENT_DATASETS } from '../support/jobs-deployment.js';
import { parsePrometheus, type Sample, sampleValue } from '../support/prometheus-text.js';
import { startServe } from '../support/serve-process.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { startWorkerProcess } from '../support/worker-process.js';
import { createSchema, PG_BASE_URL } from './postgres-helpers.js';

const API_TOKEN = 'metrics-docs-api-token-0123456789';
const METRICS_TOKEN = 'metrics-docs-scrape-token-0123456789';

interface DocumentedMetric {
  name: string;
  type: string;
  /** Label names, each with the values the docs list for it (empty: any value). */
  labels: Map<string, string[]>;
}

/** The rows of the metrics table in docs/operations.md#metrics. */
function documentedMetrics(): DocumentedMetric[] {
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('\n## Metrics\n'), doc.indexOf('\n## Logs\n'));
  const metrics: DocumentedMetric[] = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const name = /^`(takeout_[a-z_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!name) continue;
    const labels = new Map<string, string[]>();
    // "`format`, `outcome` (`succeeded`, `failed`, ...)": names, each with its values in parentheses.
    for (const [, label, values] of (cells[3] ?? '').matchAll(/`([a-z_]+)`(?:\s*\(([^)]*)\))?/g)) {
      labels.set(
        label!,
        [...(values ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!),
      );
    }
    metrics.push({ name, type: cells[2]!, labels });
  }
  return metrics;
}

/** `# TYPE` lines of an exposition: metric family → type. */
function familyTypes(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The family a sample belongs to (a histogram's `_bucket`, `_sum` and `_count` are its own). */
function familyOf(sample: Sample, types: Map<string, string>): string {
  if (types.has(sample.name)) return sample.name;
  return sample.name.replace(/_(bucket|sum|count)$/, '');
}

interface Scrape {
  text: string;
  samples: Sample[];
  types: Map<string, string>;
}

async function scrape(base: string): Promise<Scrape> {
  const response = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status, `${base}/metrics`).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await response.text();
  return { text, samples: parsePrometheus(text), types: familyTypes(text) };
}

/** Every documented metric is there with its type; its samples carry only documented labels and values. */
function expectDocumented(where: string, got: Scrape, documented: DocumentedMetric[]): void {
  for (const metric of documented) {
    expect(got.types.get(metric.name), `${where}: ${metric.name} (${metric.type})`).toBe(metric.type);
  }
  const takeout = [...got.types.keys()].filter((name) => name.startsWith('takeout_')).sort();
  expect(takeout, `${where}: takeout_* metrics exposed vs documented`).toEqual(
    documented.map((m) => m.name).sort(),
  );
  for (const sample of got.samples) {
    const metric = documented.find((m) => m.name === familyOf(sample, got.types));
    if (!metric) continue;
    for (const [label, value] of Object.entries(sample.labels)) {
      if (label === 'le' && metric.type === 'histogram') continue;
      expect(metric.labels.has(label), `${where}: ${sample.name} label ${label} is documented`).toBe(true);
      const values = metric.labels.get(label)!;
      if (values.length > 0) {
        expect(values, `${where}: ${sample.name}{${label}="${value}"} is a documented value`).toContain(
          value,
        );
      }
    }
  }
  // prom-client's default process metrics.
  expect(
    got.samples.some((s) => s.name.startsWith('process_')),
    `${where}: process_*`,
  ).toBe(true);
  expect(
    got.samples.some((s) => s.name.startsWith('nodejs_')),
    `${where}: nodejs_*`,
  ).toBe(true);
}

/** The label values of `name`'s samples, sorted. */
function labelValues(samples: Sample[], name: string, label: string): string[] {
  return samples
    .filter((s) => s.name === name)
    .map((s) => s.labels[label]!)
    .sort();
}

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

describe('the documented metrics on an API process and a worker process', () => {
  it('are all exposed as documented, and retries and webhook failures move their counters', async () => {
    const documented = documentedMetrics();
    // The table as the code registers it (src/metrics.ts): a docs edit that drops a row fails here.
    expect(documented.map((m) => `${m.name} ${m.type}`).sort()).toEqual([
      'takeout_build_info gauge',
      'takeout_bytes_written_total counter',
      'takeout_job_duration_seconds histogram',
      'takeout_job_retries_total counter',
      'takeout_jobs gauge',
      'takeout_notification_failures_total counter',
      'takeout_notifications_oldest_pending_seconds gauge',
      'takeout_notifications_pending gauge',
      'takeout_queue_depth gauge',
      'takeout_rows_written_total counter',
      'takeout_sync_exports_in_flight gauge',
    ]);

    const schema = await createSchema('takeout_metrics_docs');
    cleanup.push(() => schema.drop());
    const dir = mkdtempSync(join(tmpdir(), 'takeout-metrics-docs-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'takeout.config.json'), JSON.stringify(DEPLOYMENT_DATASETS));
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const receiver = await startWebhookReceiver(secret);
    cleanup.push(() => receiver.close());
    receiver.answer = () => 500;
    const prefix = `takeout-metrics-docs:${process.pid}:${randomBytes(4).toString('hex')}`;
    cleanup.push(() => dropQueueKeys('redis://127.0.0.1:6379', prefix));

    const env: NodeJS.ProcessEnv = {
      TAKEOUT_DATA_DIR: dir,
      TAKEOUT_CONFIG: join(dir, 'takeout.config.json'),
      TAKEOUT_DEMO: 'false',
      TAKEOUT_SECRET: randomBytes(24).toString('hex'),
      DATABASE_URL: PG_BASE_URL,
      TAKEOUT_DATABASE_SCHEMA: schema.name,
      SOURCE_URL: PG_BASE_URL,
      REDIS_URL: 'redis://127.0.0.1:6379',
      TAKEOUT_QUEUE_PREFIX: prefix,
      TAKEOUT_API_TOKENS: `${API_TOKEN}=alice:acme`,
      TAKEOUT_METRICS_TOKEN: METRICS_TOKEN,
      TAKEOUT_WEBHOOK_URL: `${receiver.origin}/hook`,
      TAKEOUT_WEBHOOK_SECRET: secret,
      TAKEOUT_WEBHOOK_ALLOW: receiver.host,
      // One try within the test: the next one would come a minute later.
      TAKEOUT_NOTIFY_BACKOFF: '1m',
      TAKEOUT_SHUTDOWN_GRACE: '1',
    };
    const sourceDown = new URL(PG_BASE_URL);
    sourceDown.port = String(await deadPort());
    const [api, worker] = await Promise.all([
      startServe({ ...env, TAKEOUT_WORKERS: '0' }),
      // The worker's dataset database refuses connections: its attempts fail with source_error.
      startWorkerProcess({
        ...env,
        SOURCE_URL: sourceDown.toString(),
        TAKEOUT_WORKERS: '1',
        TAKEOUT_METRICS_PORT: '0',
      }),
    ]);
    cleanup.push(async () => {
      for (const child of [api.child, worker.child]) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    });
    const workerMetrics = worker.lines.find((line) => line.msg === 'takeout worker is running')
      ?.metrics as string;
    expect(workerMetrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const call = (path: string, init: RequestInit = {}) =>
      fetch(api.base + path, {
        ...init,
        headers: { authorization: `Bearer ${API_TOKEN}`, ...(init.headers as Record<string, string>) },
      });

    // Each process, as a scraper first sees it.
    const apiBefore = await scrape(api.base);
    const workerBefore = await scrape(workerMetrics);
    for (const [where, got] of [
      ['API', apiBefore],
      ['worker', workerBefore],
    ] as const) {
      expectDocumented(where, got, documented);
      // Shared state, read when scraped: every job state, and BullMQ's three depths.
      expect(labelValues(got.samples, 'takeout_jobs', 'state'), where).toEqual([...JOB_STATUSES].sort());
      expect(labelValues(got.samples, 'takeout_queue_depth', 'state'), where).toEqual([
        'active',
        'delayed',
        'waiting',
      ]);
      expect(sampleValue(got.samples, 'takeout_sync_exports_in_flight'), where).toBe(0);
    }

    // A retryable failure on the worker.
    const retries = (s: Scrape) =>
      sampleValue(s.samples, 'takeout_job_retries_total', { code: 'source_error' }) ?? 0;
    const retriedAttempts = (s: Scrape) =>
      sampleValue(s.samples, 'takeout_job_duration_seconds_count', { format: 'csv', outcome: 'retried' }) ??
      0;
    const created = await call('/v1/exports', {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({
        dataset: 'series',
        format: 'csv',
        params: { n: 50 },
        notify: { webhook: `${receiver.origin}/own` },
      }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    // Logged after the attempt's metrics are recorded.
    await worker.waitFor((line) => line.msg === 'export failed; will retry' && line.exportId === id, 15_000);
    const afterRetry = await scrape(workerMetrics);
    expect(retries(afterRetry) - retries(workerBefore)).toBe(1);
    expect(retriedAttempts(afterRetry) - retriedAttempts(workerBefore)).toBe(1);
    expect(await (await call(`/v1/exports/${id}`)).json()).toMatchObject({ status: 'queued' });

    // Failed webhook deliveries: canceling the job sends `export.canceled` to its own webhook
    // (channel `webhook`) and to the service-wide one (channel `service`); both answer 500.
    const failures = (s: Scrape, channel: string) =>
      sampleValue(s.samples, 'takeout_notification_failures_total', { channel }) ?? 0;
    const canceled = await call(`/v1/exports/${id}/cancel`, { method: 'POST' });
    expect(canceled.status).toBe(200);
    let afterWebhooks = afterRetry;
    const moved = await eventually(
      async () => {
        afterWebhooks = await scrape(workerMetrics);
        return ['webhook', 'service'].every(
          (channel) => failures(afterWebhooks, channel) > failures(workerBefore, channel),
        );
      },
      15_000,
      200,
    );
    const answered = receiver.of(id).map((d) => `${d.path} ${d.status} ${d.event.type}`);
    expect(moved, `takeout_notification_failures_total should move; receiver saw ${answered}`).toBe(true);
    for (const [channel, path] of [
      ['webhook', '/own'],
      ['service', '/hook'],
    ] as const) {
      const answered500 = receiver.of(id, path).filter((d) => d.status === 500);
      expect(
        answered500.map((d) => d.event.type),
        path,
      ).toEqual(['export.canceled']);
      expect(failures(afterWebhooks, channel) - failures(workerBefore, channel), channel).toBe(
        answered500.length,
      );
    }

    // The labels the failures brought are documented ones too.
    expectDocumented('worker', afterWebhooks, documented);
    expectDocumented('API', await scrape(api.base), documented);
  });
});
