/**
 * Exactly one `export.succeeded` per finished job even when the process that finished it is
 * killed with SIGKILL, a receiver on loopback checking signatures with the `standardwebhooks`
 * package: `takeout serve` on SQLite + the embedded queue (normal suite), and opt-in
 * (TAKEOUT_TEST_PROCESSES=1, about 45 s) `takeout worker` processes on PostgreSQL + BullMQ + S3.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExportRequest } from '../../src/exports/request.js';
import { ownerWebhookSecret } from '../../src/notify/signing.js';
import { eventuallyValue } from '../support/eventually.js';
import { testService } from '../support/jobs.js';
import { alice, type Deployment, useJobsDeployment } from '../support/jobs-deployment.js';
import { type ServeProcess, startServe } from '../support/serve-process.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
/** Per-export webhooks are signed with their owner's (alice's) secret, derived from the service's. */
const aliceSecret = ownerWebhookSecret(secret, alice);

const eventually = <T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 30000) =>
  eventuallyValue(check, timeoutMs, 20);

const notifyEnv = (r: WebhookReceiver) => ({
  TAKEOUT_WEBHOOK_SECRET: secret,
  TAKEOUT_WEBHOOK_ALLOW: r.host,
  TAKEOUT_NOTIFY_POLL: '100ms',
  TAKEOUT_NOTIFY_TIMEOUT: '1s',
  TAKEOUT_NOTIFY_BACKOFF: '100ms',
  TAKEOUT_NOTIFY_BACKOFF_MAX: '200ms',
});

describe('notifications when takeout serve is killed (SQLite + embedded queue, real processes)', () => {
  const servers: ServeProcess[] = [];
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        const exited = new Promise((resolve) => server.child.once('exit', resolve));
        server.child.kill('SIGKILL');
        await exited;
      }
    }
    await receiver?.close();
  });

  it('sends one export.succeeded when the server dies right after the status update', async () => {
    receiver = await startWebhookReceiver(aliceSecret);
    const dir = mkdtempSync(join(tmpdir(), 'takeout-notify-crash-'));
    const env = {
      TAKEOUT_DATA_DIR: dir,
      TAKEOUT_DEMO: 'false',
      TAKEOUT_WORKERS: '1',
      ...notifyEnv(receiver),
    };
    // The library in this process creates the job in the shared SQLite file; it runs no worker.
    const client = await testService(env, { dir });
    try {
      // This server's dispatcher looks once, at its start, then not for an hour: it finishes
      // the job and dies before it could send anything, as if killed the instant the status landed.
      const first = await startServe({ ...env, TAKEOUT_NOTIFY_POLL: '1h' });
      servers.push(first);
      const request = client.request({ format: 'csv', notify: { webhook: `${receiver.origin}/hook` } }, true);
      const rows = Array.from({ length: 500 }, (_, i) => ({ id: i }));
      const { job } = await client.service.jobs.create(request, alice, { rows });
      await client.until(job.id, (j) => j.status === 'succeeded');
      first.child.kill('SIGKILL');
      await new Promise((resolve) => first.child.once('exit', resolve));
      expect(receiver.deliveries).toEqual([]);
      const [pending] = await client.service.jobs.store.deliveries(job.id);
      expect(pending).toMatchObject({ status: 'pending', attempts: 0 });

      servers.push(await startServe(env));
      await eventually(async () =>
        (await client.service.jobs.store.deliveries(job.id))[0]?.status === 'delivered' ? true : undefined,
      );
      await sleep(500); // nothing more comes
      expect(receiver.deliveries).toHaveLength(1);
      expect(receiver.deliveries[0]).toMatchObject({ verified: true, event: { type: 'export.succeeded' } });
      expect(receiver.deliveries[0]!.headers['webhook-id']).toBe(pending!.id);
      expect(receiver.deliveries[0]!.event.data).toMatchObject({ id: job.id, row_count: 500 });
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(process.env.TAKEOUT_TEST_PROCESSES !== '1')(
  'notifications when the worker is killed (PostgreSQL + BullMQ + S3, real processes; opt-in)',
  () => {
    const deploy = useJobsDeployment();
    let receiver: WebhookReceiver | undefined;
    afterEach(async () => {
      await receiver?.close();
      receiver = undefined;
    });

    /** A 2,000-row export that tells the receiver's `/hook` when it is done. */
    async function create(d: Deployment, r: WebhookReceiver) {
      const body = {
        dataset: 'series',
        format: 'csv',
        params: { n: 2000 },
        notify: { webhook: `${r.origin}/hook` },
      };
      return (await d.api.jobs.create(parseExportRequest(body, d.api.formats), alice)).job;
    }

    it('sends one export.succeeded when the worker dies right after the status update', async () => {
      receiver = await startWebhookReceiver(aliceSecret);
      const d = await deploy({ env: notifyEnv(receiver) });
      // This worker's dispatcher looks once, at its start, then not for an hour: it finishes the
      // job and dies before it could send anything, as if killed the instant the status landed.
      const first = await d.startWorker({ TAKEOUT_NOTIFY_POLL: '1h' });
      const job = await create(d, receiver);
      const done = await d.until(job.id, (j) => j.status === 'succeeded');
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      expect(receiver.deliveries).toEqual([]);
      const [pending, ...others] = await d.api.jobs.store.deliveries(job.id);
      expect(others).toEqual([]);
      expect(pending).toMatchObject({ status: 'pending', attempts: 0, event: 'export.succeeded' });

      await d.startWorker();
      const [delivery] = await eventually(() =>
        receiver!.of(job.id).length > 0 ? receiver!.of(job.id) : undefined,
      );
      await eventually(async () =>
        (await d.api.jobs.store.deliveries(job.id))[0]?.status === 'delivered' ? true : undefined,
      );
      await sleep(500); // nothing more comes
      expect(receiver.deliveries).toHaveLength(1);
      expect(delivery).toMatchObject({ verified: true, status: 204, event: { type: 'export.succeeded' } });
      expect(delivery!.headers['webhook-id']).toBe(pending!.id);
      expect(delivery!.event.data).toMatchObject({
        id: job.id,
        row_count: 2000,
        size_bytes: done.result!.sizeBytes,
      });
    });

    it('sends it again under the same event id when the worker dies mid-send', async () => {
      receiver = await startWebhookReceiver(aliceSecret);
      // The first request is held unanswered: its sender dies waiting.
      receiver.answer = (_delivery, index) => (index === 0 ? null : 200);
      const d = await deploy({ env: notifyEnv(receiver) });
      const first = await d.startWorker();
      const job = await create(d, receiver);
      await eventually(() => (receiver!.deliveries.length > 0 ? true : undefined));
      first.child.kill('SIGKILL');
      await first.exited;

      await d.startWorker();
      // The dead dispatcher's claim ends (3 × 1 s + 5 s), then the other worker sends again.
      await eventually(async () =>
        (await d.api.jobs.store.deliveries(job.id))[0]?.status === 'delivered' ? true : undefined,
      );
      const received = receiver.of(job.id);
      expect(received.map((r) => r.status)).toEqual([0, 200]);
      expect(received.every((r) => r.verified)).toBe(true);
      // Receivers deduplicate on webhook-id: one event, whatever the number of requests.
      expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(1);
      expect(received.filter((r) => r.status >= 200 && r.status < 300)).toHaveLength(1);
      const [delivery] = await d.api.jobs.store.deliveries(job.id);
      // The dead attempt never came back to record itself; the one that got the 200 did.
      expect(await d.api.jobs.store.deliveryAttempts(delivery!.id)).toEqual([
        expect.objectContaining({ attempt: 1, statusCode: 200 }),
      ]);
    });
  },
);
