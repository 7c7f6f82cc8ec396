/**
 * The notifications contract: background exports announce their end to the owner's webhook,
 * the service-wide webhook and the owner's email, through the outbox and the dispatcher the
 * worker runs. Real receivers on loopback: a node:http server whose signature check is the
 * `standardwebhooks` package's, and an SMTP server (`smtp-server`). Every store and queue
 * pair runs it: `notifyContract(name, makeBackend)` with the worker contract's backends.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/jobs/types.js';
import { jobView } from '../../src/jobs/view.js';
import { ownerWebhookSecret } from '../../src/notify/signing.js';
import { eventuallyValue } from '../support/eventually.js';
import { alice, numbersDataset, type TestService, testService } from '../support/jobs.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import type { WorkerBackend } from './jobs-worker.js';

const PUBLIC_URL = 'https://takeout.example.com';
const secret = `whsec_${randomBytes(32).toString('base64')}`;
/** The service-wide webhook is signed with the service secret, alice's with her own. */
const secretOf = (path: string) => (path === '/service' ? secret : ownerWebhookSecret(secret, alice));

/** Fast retries, so that a test sees several attempts in well under a second. */
const QUICK = {
  TAKEOUT_WEBHOOK_SECRET: secret,
  TAKEOUT_PUBLIC_URL: PUBLIC_URL,
  TAKEOUT_NOTIFY_BACKOFF: '50ms',
  TAKEOUT_NOTIFY_BACKOFF_MAX: '100ms',
  TAKEOUT_NOTIFY_POLL: '50ms',
  TAKEOUT_NOTIFY_TIMEOUT: '2s',
  TAKEOUT_MAIL_FROM: 'Takeout <takeout@example.com>',
};

const eventually = <T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 15000) =>
  eventuallyValue(check, timeoutMs, 25);

export function notifyContract(name: string, makeBackend: () => Promise<WorkerBackend>): void {
  describe(`notifications: ${name}`, () => {
    let backend: WorkerBackend | undefined;
    let current: TestService | undefined;
    let receiver: WebhookReceiver | undefined;
    let smtp: TestSmtpServer | undefined;
    afterEach(async () => {
      await current?.close();
      await backend?.cleanup();
      await receiver?.close();
      await smtp?.close();
      current = backend = receiver = smtp = undefined;
    });

    async function start(env: NodeJS.ProcessEnv = {}): Promise<TestService> {
      // A test that starts several services in turn: the one before goes (its schema, its queue).
      await current?.close();
      await backend?.cleanup();
      backend = await makeBackend();
      current = await testService(
        { ...backend.env, ...QUICK, ...env },
        {
          datasets: [numbersDataset('numbers', 1000)],
          ...(backend.queue ? { queue: await backend.queue() } : {}),
        },
      );
      await current.service.jobs.startWorker();
      return current;
    }

    async function webhookService(env: NodeJS.ProcessEnv = {}) {
      receiver = await startWebhookReceiver(secretOf);
      return start({
        TAKEOUT_WEBHOOK_ALLOW: receiver.host,
        TAKEOUT_WEBHOOK_URL: `${receiver.origin}/service`,
        ...env,
      });
    }

    const create = (t: TestService, notify: Record<string, string>, n = 1000) =>
      t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv', params: { n }, notify }), alice);

    /** The export as its owner sees it, once `check` holds for its notifications. */
    const viewWhen = (t: TestService, id: string, check: (job: JobRecord) => boolean) =>
      eventually(async () => {
        const job = await t.service.jobs.get(id, alice);
        return check(job) ? jobView(job) : undefined;
      });

    it('signs and sends one export.succeeded to the owner webhook and the service webhook', async () => {
      const t = await webhookService();
      const jobs = await Promise.all([1, 2, 3].map(() => create(t, { webhook: `${receiver!.origin}/hook` })));
      const done = await Promise.all(jobs.map(({ job }) => t.until(job.id, (j) => j.status === 'succeeded')));
      await eventually(async () => (receiver!.deliveries.length >= 6 ? true : undefined));
      await sleep(300); // nothing more comes
      expect(receiver!.deliveries).toHaveLength(6);
      expect(receiver!.deliveries.every((d) => d.verified)).toBe(true);
      for (const job of done) {
        for (const path of ['/hook', '/service']) {
          const [delivery, ...more] = receiver!.of(job.id, path);
          expect(more).toEqual([]);
          expect(delivery!.headers['webhook-id']).toMatch(/^msg_/);
          expect(delivery!.event).toMatchObject({
            type: 'export.succeeded',
            data: {
              id: job.id,
              status: 'succeeded',
              owner: alice,
              dataset: 'numbers',
              row_count: 1000,
              size_bytes: job.result!.sizeBytes,
              filename: job.result!.filename,
              url: `${PUBLIC_URL}/v1/exports/${job.id}`,
            },
          });
          // A thin payload: the job's API URL only, never the file or a signed link.
          expect(delivery!.body).not.toContain(job.result!.key);
          expect(delivery!.body).not.toMatch(/sig=|X-Amz-Signature|\/files\//);
        }
        const view = await viewWhen(t, job.id, (j) => j.deliveries?.[0]?.status === 'delivered');
        // The owner sees their own webhook, not the operator's.
        expect(view.notifications).toEqual([
          expect.objectContaining({
            channel: 'webhook',
            destination: `${receiver!.origin}/hook`,
            event: 'export.succeeded',
            state: 'delivered',
            attempts: 1,
            last_status: 204,
          }),
        ]);
        expect(JSON.stringify(view)).not.toContain(secret.slice(6));
        expect(JSON.stringify(view)).not.toContain('/service');
      }
    });

    it('retries after two 500s with the same event id, recording every attempt', async () => {
      const t = await webhookService({ TAKEOUT_WEBHOOK_URL: '' });
      receiver!.answer = (_delivery, index) => (index < 2 ? 500 : 200);
      const { job } = await create(t, { webhook: `${receiver!.origin}/hook` });
      const view = await viewWhen(t, job.id, (j) => j.deliveries?.[0]?.status === 'delivered');
      const received = receiver!.of(job.id);
      expect(received.map((d) => d.status)).toEqual([500, 500, 200]);
      expect(received.every((d) => d.verified)).toBe(true);
      expect(new Set(received.map((d) => d.headers['webhook-id'])).size).toBe(1);
      expect(view.notifications).toEqual([
        expect.objectContaining({ state: 'delivered', attempts: 3, last_status: 200 }),
      ]);
      const [delivery] = await t.service.jobs.store.deliveries(job.id);
      const attempts = await t.service.jobs.store.deliveryAttempts(delivery!.id);
      expect(attempts.map((a) => [a.attempt, a.statusCode, a.error])).toEqual([
        [1, 500, 'HTTP 500'],
        [2, 500, 'HTTP 500'],
        [3, 200, undefined],
      ]);
      for (const attempt of attempts) expect(attempt.latencyMs).toBeGreaterThanOrEqual(0);
      // Backoff: the retries came later, not at once.
      expect(attempts[2]!.at.getTime() - attempts[0]!.at.getTime()).toBeGreaterThanOrEqual(50);
      // Each failed try counts in the metrics.
      const failures = await t.service.metrics.notificationFailures.get();
      expect(failures.values.find((v) => v.labels.channel === 'webhook')?.value).toBe(2);
    });

    it('stops at 410 Gone (disabled) and gives up after the retry period (failed)', async () => {
      const t = await webhookService({ TAKEOUT_WEBHOOK_URL: '', TAKEOUT_NOTIFY_RETRY_FOR: '600ms' });
      receiver!.answer = (delivery) => (delivery.path === '/gone' ? 410 : 503);
      const gone = (await create(t, { webhook: `${receiver!.origin}/gone` })).job;
      const down = (await create(t, { webhook: `${receiver!.origin}/down` })).job;
      const goneView = await viewWhen(t, gone.id, (j) => j.deliveries?.[0]?.status === 'disabled');
      expect(goneView.notifications).toEqual([
        expect.objectContaining({ state: 'disabled', attempts: 1, last_status: 410 }),
      ]);
      const downView = await viewWhen(t, down.id, (j) => j.deliveries?.[0]?.status === 'failed');
      const failed = downView.notifications![0]!;
      expect(failed).toMatchObject({ state: 'failed', last_status: 503, last_error: 'HTTP 503' });
      expect(failed.attempts).toBeGreaterThan(1);
      expect(receiver!.of(down.id)).toHaveLength(failed.attempts);
      expect(receiver!.of(gone.id)).toHaveLength(1);
    });

    it('follows no redirect and gives up on a receiver that does not answer in time', async () => {
      const t = await webhookService({ TAKEOUT_WEBHOOK_URL: '', TAKEOUT_NOTIFY_TIMEOUT: '300ms' });
      // A redirect to anywhere (here: another path of the receiver) is an unanswered attempt.
      receiver!.answer = (delivery, index) =>
        delivery.path === '/moved' ? 302 : delivery.path === '/slow' && index < 3 ? null : 200;
      const moved = (await create(t, { webhook: `${receiver!.origin}/moved` })).job;
      const slow = (await create(t, { webhook: `${receiver!.origin}/slow` })).job;
      await viewWhen(t, moved.id, (j) => (j.deliveries?.[0]?.attempts ?? 0) >= 2);
      expect(receiver!.deliveries.filter((d) => d.path === '/elsewhere')).toEqual([]);
      const [redirected] = await t.service.jobs.store.deliveries(moved.id);
      const redirectAttempts = await t.service.jobs.store.deliveryAttempts(redirected!.id);
      expect(redirectAttempts[0]).toMatchObject({
        statusCode: 302,
        error: 'HTTP 302: redirects are not followed',
      });
      const view = await viewWhen(t, slow.id, (j) => j.deliveries?.[0]?.status === 'delivered');
      const [delivery] = await t.service.jobs.store.deliveries(slow.id);
      const attempts = await t.service.jobs.store.deliveryAttempts(delivery!.id);
      expect(attempts[0]).toMatchObject({ error: 'No answer within 300 ms' });
      expect(attempts[0]!.statusCode).toBeUndefined();
      expect(attempts[0]!.latencyMs).toBeGreaterThanOrEqual(250);
      expect(view.notifications![0]).toMatchObject({ state: 'delivered', last_status: 200 });
    });

    it('closes within the shutdown grace while a receiver holds a send, and claims nothing more', async () => {
      const t = await webhookService({
        TAKEOUT_WEBHOOK_URL: '',
        TAKEOUT_NOTIFY_TIMEOUT: '20s',
        TAKEOUT_SHUTDOWN_GRACE: '1',
      });
      receiver!.answer = () => null; // never answers: the send lasts its whole timeout
      const { job } = await create(t, { webhook: `${receiver!.origin}/held` });
      await eventually(async () => (receiver!.deliveries.length === 1 ? true : undefined));
      expect(receiver!.held()).toBe(1);
      const t0 = Date.now();
      await t.close();
      current = undefined;
      // The grace, not the 20 s timeout of the send under way, which was cut: nothing holds
      // the process (an open request would, until its timeout).
      expect(Date.now() - t0).toBeLessThan(5000);
      await eventually(async () => (receiver!.held() === 0 ? true : undefined), 2000);
      expect(receiver!.deliveries.map((d) => d.event.data.id)).toEqual([job.id]);
    });

    /** A service allowing the receiver under the name `localhost`, looked up at send time. */
    async function localhostService(env: NodeJS.ProcessEnv = {}) {
      receiver = await startWebhookReceiver(secretOf);
      const origin = `http://localhost:${new URL(receiver.origin).port}`;
      const t = await start({
        TAKEOUT_WEBHOOK_ALLOW: new URL(origin).host,
        TAKEOUT_WEBHOOK_URL: `${origin}/service`,
        TAKEOUT_NOTIFY_RETRY_FOR: '300ms',
        ...env,
      });
      return { t, origin };
    }

    it('calls no per-export webhook whose allowed host name resolves to a private address', async () => {
      const { t, origin } = await localhostService();
      const { job } = await create(t, { webhook: `${origin}/hook` });
      // The owner's delivery, whichever order the store lists it and the service's in.
      const ownDelivery = (j: JobRecord) => j.deliveries?.find((d) => d.channel === 'webhook');
      const view = await viewWhen(t, job.id, (j) => ownDelivery(j)?.status === 'failed');
      expect(view.notifications![0]!.last_error).toMatch(
        /^localhost does not resolve to a public address: not called/,
      );
      expect(view.notifications![0]!.last_status).toBeUndefined();
      expect(receiver!.of(job.id, '/hook')).toEqual([]);
      // The operator's own webhook is theirs to point anywhere.
      await eventually(async () => (receiver!.of(job.id, '/service').length === 1 ? true : undefined));
    });

    it('calls it when TAKEOUT_WEBHOOK_ALLOW_PRIVATE is on', async () => {
      const { t, origin } = await localhostService({ TAKEOUT_WEBHOOK_ALLOW_PRIVATE: 'true' });
      const { job } = await create(t, { webhook: `${origin}/hook` });
      const view = await viewWhen(
        t,
        job.id,
        (j) => j.deliveries?.find((d) => d.channel === 'webhook')?.status === 'delivered',
      );
      expect(view.notifications![0]).toMatchObject({ state: 'delivered', last_status: 204 });
      expect(receiver!.of(job.id, '/hook')).toHaveLength(1);
      expect(receiver!.of(job.id, '/hook')[0]!.verified).toBe(true);
    });

    it('refuses a webhook outside the allowed hosts, and email without SMTP', async () => {
      const t = await webhookService();
      await expect(create(t, { webhook: 'http://169.254.169.254/latest/meta-data' })).rejects.toMatchObject({
        code: 'webhook_not_allowed',
        status: 400,
      });
      // The allowed host on another port is another host.
      await expect(create(t, { webhook: 'http://127.0.0.1:1/hook' })).rejects.toMatchObject({
        code: 'webhook_not_allowed',
      });
      await expect(create(t, { email: 'alice@example.com' })).rejects.toMatchObject({
        code: 'email_not_configured',
        status: 400,
      });
      expect((await t.service.jobs.list(alice)).jobs).toEqual([]);
    });

    it('refuses email to a domain the service does not allow (the default: none)', async () => {
      smtp = await startSmtpServer();
      const closed = await start({ SMTP_URL: smtp.url });
      await expect(create(closed, { email: 'alice@example.com' })).rejects.toMatchObject({
        code: 'email_not_allowed',
        status: 400,
        details: { domain: 'example.com' },
      });
      expect((await closed.service.jobs.list(alice)).jobs).toEqual([]);
      const some = await start({ SMTP_URL: smtp.url, TAKEOUT_MAIL_ALLOW: '*.example.org, example.com' });
      await expect(create(some, { email: 'eve@attacker.test' })).rejects.toMatchObject({
        code: 'email_not_allowed',
      });
      await expect(create(some, { email: 'eve@example.org' })).rejects.toMatchObject({
        code: 'email_not_allowed',
      });
      await expect(create(some, { email: 'bob@mail.example.org' })).resolves.toMatchObject({ created: true });
      const any = await start({ SMTP_URL: smtp.url, TAKEOUT_MAIL_ALLOW: '*' });
      await expect(create(any, { email: 'eve@attacker.test' })).resolves.toMatchObject({ created: true });
    });

    it('emails the owner a link to the export page, never a file link', async () => {
      smtp = await startSmtpServer();
      const t = await start({ SMTP_URL: smtp.url, TAKEOUT_MAIL_ALLOW: 'example.com' });
      const { job } = await create(t, { email: 'alice@example.com' }, 1234);
      const view = await viewWhen(t, job.id, (j) => j.deliveries?.[0]?.status === 'delivered');
      expect(view.notifications).toEqual([
        expect.objectContaining({
          channel: 'email',
          destination: 'alice@example.com',
          state: 'delivered',
          attempts: 1,
        }),
      ]);
      expect(smtp.messages).toHaveLength(1);
      const mail = smtp.messages[0]!;
      expect(mail.to).toEqual(['alice@example.com']);
      expect(mail.from).toBe('takeout@example.com');
      const text = mail.raw.replace(/=\r?\n/g, ''); // quoted-printable soft line breaks
      expect(text).toContain(`Subject: Your export ${view.result!.filename} is ready`);
      expect(text).toContain(`${PUBLIC_URL}/#/exports/${job.id}`);
      expect(text).toContain('Rows: 1,234');
      expect(text).toMatch(/Size: \d+(\.\d)? KiB/);
      expect(text).toContain('Available until');
      expect(text).toContain('Content-Type: text/html');
      expect(text).not.toMatch(/sig=|X-Amz-Signature|\/files\/|generated\//);
    });

    it('retries when the SMTP server refuses, recording each refusal', async () => {
      smtp = await startSmtpServer({ refuseFirst: 2 });
      const t = await start({ SMTP_URL: smtp.url, TAKEOUT_MAIL_ALLOW: 'example.com' });
      const { job } = await create(t, { email: 'alice@example.com' });
      const view = await viewWhen(t, job.id, (j) => j.deliveries?.[0]?.status === 'delivered');
      expect(view.notifications).toEqual([expect.objectContaining({ state: 'delivered', attempts: 3 })]);
      expect(smtp.refused).toBe(2);
      expect(smtp.messages).toHaveLength(1);
      const [delivery] = await t.service.jobs.store.deliveries(job.id);
      const attempts = await t.service.jobs.store.deliveryAttempts(delivery!.id);
      expect(attempts.map((a) => [a.statusCode, a.error])).toEqual([
        [451, 'SMTP 451'],
        [451, 'SMTP 451'],
        [undefined, undefined],
      ]);
    });
  });
}
