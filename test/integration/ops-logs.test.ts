/**
 * A whole run's logs hold no secret: `takeout serve` and `takeout worker` processes (debug
 * level) on PostgreSQL (a password in DATABASE_URL), BullMQ and S3, through sync and
 * background exports, a download through a signed S3 link, and failures. Every line both
 * processes wrote is then searched for the tokens, the passwords, the signing secret and
 * any signed-link query value. Every worker line about a job carries its export id, and so
 * does every API line of a request about one job (its creation included).
 */
import { randomBytes } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { describe, expect, it, onTestFinished } from 'vitest';
import { eventually } from '../support/eventually.js';
import {
  ALICE_TOKEN,
  BOB_TOKEN,
  METRICS_TOKEN,
  useProcessDeployment,
} from '../support/process-deployment.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { PG_BASE_URL } from './postgres-helpers.js';

const deploy = useProcessDeployment();

const DB_PASSWORD = 'db-pass-Zq8v3kLm0';
const SIGNING_SECRET = 'signing-secret-4f9c2a7e1b6d8h3j5k0m2n4p';
const AWS_SECRET = 'aws-secret-Xk29fjQ0aLz8bN3c';
const WRONG_TOKEN = 'wrong-token-9s8d7f6g5h4j3k2l';
const WEBHOOK_KEY = randomBytes(32).toString('base64');
const WEBHOOK_SECRET = `whsec_${WEBHOOK_KEY}`;

/** PostgreSQL here trusts local connections: the password is carried, not checked. */
function withPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = DB_PASSWORD;
  return parsed.toString();
}

describe('logs of a whole run', () => {
  it('never show a token, password, signing secret or signed link, and tag job lines with the export id', async () => {
    const receiver = await startWebhookReceiver(WEBHOOK_SECRET);
    onTestFinished(() => receiver.close());
    const { api, worker, workerMetrics, call } = await deploy({
      LOG_LEVEL: 'debug',
      TAKEOUT_WEBHOOK_URL: `${receiver.origin}/hook`,
      TAKEOUT_WEBHOOK_SECRET: WEBHOOK_SECRET,
      DATABASE_URL: withPassword(PG_BASE_URL),
      SOURCE_URL: withPassword(PG_BASE_URL),
      TAKEOUT_SECRET: SIGNING_SECRET,
      AWS_SECRET_ACCESS_KEY: AWS_SECRET,
      TAKEOUT_JOB_MAX_ROWS: '5000',
    });
    const post = (body: unknown, headers: Record<string, string> = {}, token = ALICE_TOKEN) =>
      call('/v1/exports', {
        method: 'POST',
        token,
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const settled = async (id: string) => {
      let status = '';
      await eventually(
        async () => {
          status = ((await (await call(`/v1/exports/${id}`)).json()) as { status: string }).status;
          return ['succeeded', 'failed'].includes(status);
        },
        30_000,
        100,
      );
      return status;
    };

    // Sync export.
    const sync = await post({ dataset: 'series', format: 'csv', params: { n: 50 } });
    expect(sync.status).toBe(200);
    await sync.arrayBuffer();
    // Background export, downloaded through a signed S3 link.
    const made = await post(
      { dataset: 'series', format: 'csv', params: { n: 2000 } },
      { prefer: 'respond-async' },
    );
    expect(made.status).toBe(202);
    const { id } = (await made.json()) as { id: string };
    expect(await settled(id)).toBe('succeeded');
    const download = await call(`/v1/exports/${id}/download`);
    expect(download.status).toBe(303);
    const link = new URL(download.headers.get('location')!);
    const signature = link.searchParams.get('X-Amz-Signature');
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    const file = await fetch(link);
    expect(file.status).toBe(200);
    expect(parse(await file.text(), { columns: true })).toHaveLength(2000);
    // A background export that fails (past TAKEOUT_JOB_MAX_ROWS).
    const tooLarge = await post(
      { dataset: 'series', format: 'csv', params: { n: 6000 } },
      { prefer: 'respond-async' },
    );
    const failedId = ((await tooLarge.json()) as { id: string }).id;
    expect(await settled(failedId)).toBe('failed');
    // Refusals: a wrong token, someone else's export, bad JSON, no file to download.
    expect((await post({ dataset: 'series', format: 'csv' }, {}, WRONG_TOKEN)).status).toBe(401);
    expect((await call(`/v1/exports/${id}/download`, { token: BOB_TOKEN })).status).toBe(404);
    expect((await post('{"dataset":')).status).toBe(400);
    expect((await call(`/v1/exports/${failedId}/download`)).status).toBe(409);
    expect((await call(`/v1/exports/${id}?sig=${signature}&token=${ALICE_TOKEN}`)).status).toBe(200);
    // Probes and metrics on both processes, and a refused scrape.
    for (const base of [api.base, workerMetrics]) {
      await fetch(`${base}/readyz`);
      expect(
        (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status,
      ).toBe(200);
      expect(
        (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${WRONG_TOKEN}` } })).status,
      ).toBe(401);
    }
    const failedLine = await worker.waitFor(
      (line) => line.msg === 'export failed' && line.exportId === failedId,
    );
    // The worker's line says why, as the job record does.
    const failedJob = (await (await call(`/v1/exports/${failedId}`)).json()) as {
      error: { code: string; message: string };
    };
    expect(failedLine).toMatchObject({
      level: 40,
      code: failedJob.error.code,
      reason: failedJob.error.message,
    });
    // The service-wide webhook heard both outcomes, signed with the secret.
    await eventually(async () => receiver.of(id).length > 0 && receiver.of(failedId).length > 0, 30_000, 100);
    expect(receiver.deliveries.every((delivery) => delivery.verified)).toBe(true);
    await api.terminate();
    worker.child.kill('SIGTERM');
    await worker.exited;

    // Every line the worker wrote is a JSON log line (no plain-text notice of a library).
    expect(worker.lines.filter((line) => line.level === 0)).toEqual([]);
    const workerText = worker.lines.map((line) => JSON.stringify(line)).join('\n');
    const logs = `${api.stdout()}\n${api.stderr()}\n${workerText}`;
    // The run was logged: request lines of the API, job lines of the worker.
    expect(api.stdout()).toContain('"url":"/v1/exports"');
    expect(api.stdout()).toContain('"statusCode":401');
    expect(workerText).toContain('export succeeded');
    for (const secret of [
      ALICE_TOKEN,
      BOB_TOKEN,
      WRONG_TOKEN,
      METRICS_TOKEN,
      DB_PASSWORD,
      SIGNING_SECRET,
      AWS_SECRET,
      WEBHOOK_KEY,
      signature!,
    ]) {
      expect(logs.includes(secret), `a secret (${secret.slice(0, 6)}...) is in the logs`).toBe(false);
    }
    // Probes and scrapes that succeed are not logged; the refused scrape is, at warn, by both.
    const apiLines = api
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((text) => JSON.parse(text) as { level: number; code?: string });
    for (const lines of [apiLines, worker.lines]) {
      const probeLines = lines.filter((line) => /"\/(readyz|healthz|metrics)"/.test(JSON.stringify(line)));
      // A fresh process's first readiness check may time out: that failure is logged too.
      expect(probeLines.filter((line) => line.code !== 'not_ready')).toEqual([
        expect.objectContaining({ level: 40, code: 'unauthorized', url: '/metrics' }),
      ]);
      for (const line of probeLines) expect(line.level).toBe(40);
    }
    // The query-string token above was logged, scrubbed.
    expect(logs).toContain('token=[redacted]');
    expect(logs).not.toMatch(/X-Amz-Signature=(?!\[redacted\])/i);
    expect(logs).not.toMatch(/[?&]sig=(?!\[redacted\])/);
    // Every API line of a request about one export names it: its creation, reads, download,
    // Fastify's "incoming request" (written before any hook) included.
    const apiAbout = (exportId: string) =>
      apiLines.filter((line) => {
        const text = JSON.stringify(line);
        return (
          text.includes(`"/v1/exports/${exportId}`) || (line as { exportId?: string }).exportId === exportId
        );
      });
    for (const job of [id, failedId]) {
      const lines = apiAbout(job);
      expect(lines.length).toBeGreaterThanOrEqual(4);
      for (const line of lines)
        expect((line as { exportId?: string }).exportId, JSON.stringify(line)).toBe(job);
      // The POST that created it, whose URL does not name it.
      expect(lines.some((line) => JSON.stringify(line).includes('"statusCode":202'))).toBe(true);
      expect(lines.some((line) => (line as { msg?: string }).msg === 'incoming request')).toBe(true);
      // Named once per line: a binding added twice would write the key twice.
      for (const text of api
        .stdout()
        .split('\n')
        .filter((line) => line.includes(job)))
        expect(text.split('"exportId"').length - 1, text).toBeLessThanOrEqual(1);
    }
    // Every worker line about an export names it.
    const jobLines = worker.lines.filter((line) => /export/i.test(line.msg) && !/worker/.test(line.msg));
    expect(jobLines.length).toBeGreaterThanOrEqual(4);
    for (const line of jobLines) expect(line.exportId, JSON.stringify(line)).toMatch(/^exp_/);
    for (const job of [id, failedId]) {
      expect(worker.lines.filter((line) => line.exportId === job).map((line) => line.msg)).toContain(
        'export started',
      );
    }
  });
});
