/**
 * Notifications over real HTTP: `notify` makes an export a background job, a webhook host
 * outside TAKEOUT_WEBHOOK_ALLOW (the service-wide webhook's included) and an email without
 * SMTP are coded 400s, an email address is kept with its domain canonical, and the job document
 * shows how the delivery went, as the OpenAPI document describes it.
 */
import { randomBytes } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import { ownerWebhookSecret } from '../../src/notify/signing.js';
import { numbersDataset, type TestService, testService } from '../support/jobs.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON documents the assertions walk into
type Json = any;

/** A service on a loopback port with `env`, its worker running, and the address to call it. */
async function notifyServer(
  env: NodeJS.ProcessEnv,
): Promise<{ jobs: TestService; app: FastifyInstance; base: string }> {
  const jobs = await testService(env, { datasets: [numbersDataset('numbers', 50)] });
  const app = await buildServer(serviceServerOptions(jobs.service));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  await jobs.service.jobs.startWorker({ concurrency: 1 });
  return { jobs, app, base };
}

describe('notifications over HTTP (SQLite + embedded queue)', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  let receiver: WebhookReceiver;
  let jobs: TestService;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    // Owners' webhooks are signed with the owner's own secret (here the anonymous principal's).
    receiver = await startWebhookReceiver(ownerWebhookSecret(secret, { id: 'anonymous' }));
    ({ jobs, app, base } = await notifyServer({
      TAKEOUT_WEBHOOK_SECRET: secret,
      TAKEOUT_WEBHOOK_ALLOW: receiver.host,
      TAKEOUT_NOTIFY_POLL: '50ms',
    }));
  });
  afterAll(async () => {
    await app?.close();
    await jobs?.close();
    await receiver?.close();
  });

  const post = async (body: unknown) => {
    const response = await fetch(`${base}/v1/exports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body: (await response.json()) as Json,
    };
  };

  it('refuses a webhook outside the allowed hosts with a coded 400, creating nothing', async () => {
    for (const webhook of [
      'http://10.0.0.1/hook',
      'http://localhost:6379/',
      `http://127.0.0.1.evil.net:${new URL(receiver.origin).port}/`,
    ]) {
      const answer = await post({ dataset: 'numbers', format: 'csv', notify: { webhook } });
      expect(answer.status).toBe(400);
      expect(answer.type).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ code: 'webhook_not_allowed', status: 400 });
    }
    const email = await post({ dataset: 'numbers', format: 'csv', notify: { email: 'a@example.com' } });
    expect(email.body).toMatchObject({ code: 'email_not_configured', status: 400 });
    const malformed = await post({
      dataset: 'numbers',
      format: 'csv',
      notify: { webhook: 'file:///etc/passwd' },
    });
    expect(malformed.body).toMatchObject({ code: 'invalid_request', status: 400 });
    expect((await jobs.service.jobs.list({ id: 'anonymous' })).jobs).toEqual([]);
  });

  it('makes a small export with notify a job and shows its delivered webhook', async () => {
    const created = await post({
      dataset: 'numbers',
      format: 'csv',
      notify: { webhook: `${receiver.origin}/hook` },
    });
    expect(created.status).toBe(202); // 50 rows would fit the response: notify asks for a job
    const id = created.body.id as string;
    let document: Json;
    const deadline = Date.now() + 15_000;
    do {
      await new Promise((r) => setTimeout(r, 50));
      document = await (await fetch(`${base}/v1/exports/${id}`)).json();
    } while (document.notifications?.[0]?.state !== 'delivered' && Date.now() < deadline);
    expect(document.notifications).toEqual([
      expect.objectContaining({
        channel: 'webhook',
        destination: `${receiver.origin}/hook`,
        event: 'export.succeeded',
        state: 'delivered',
        attempts: 1,
        last_status: 204,
      }),
    ]);
    const [delivery] = receiver.of(id);
    expect(delivery?.verified).toBe(true);
    // Without TAKEOUT_PUBLIC_URL the job's URL is the API path.
    expect(delivery?.event.data.url).toBe(`/v1/exports/${id}`);

    const validator = new Validator();
    await validator.validate(
      (await (await fetch(`${base}/v1/openapi.json`)).json()) as Record<string, unknown>,
    );
    const resolved = validator.resolveRefs() as Json;
    const check = new Ajv2020({ strict: false, validateFormats: false }).compile(
      resolved.components.schemas.JobDocument,
    );
    expect(check(document) ? [] : check.errors).toEqual([]);
    expect(check({ ...document, notifications: [{ channel: 'sms' }] })).toBe(false);
  });
});

describe('notifications over HTTP with a service-wide webhook and email', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  let owners: WebhookReceiver;
  let operator: WebhookReceiver;
  let smtp: TestSmtpServer;
  let jobs: TestService;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    owners = await startWebhookReceiver(ownerWebhookSecret(secret, { id: 'anonymous' }));
    operator = await startWebhookReceiver(secret);
    smtp = await startSmtpServer();
    ({ jobs, app, base } = await notifyServer({
      TAKEOUT_WEBHOOK_SECRET: secret,
      // The operator's receiver is the service-wide webhook, and not on the allow list.
      TAKEOUT_WEBHOOK_URL: `${operator.origin}/service`,
      TAKEOUT_WEBHOOK_ALLOW: owners.host,
      SMTP_URL: smtp.url,
      TAKEOUT_MAIL_FROM: 'Takeout <takeout@example.com>',
      TAKEOUT_MAIL_ALLOW: 'example.com',
      TAKEOUT_PUBLIC_URL: 'https://takeout.example.com',
      TAKEOUT_NOTIFY_POLL: '50ms',
    }));
  });
  afterAll(async () => {
    await app?.close();
    await jobs?.close();
    await owners?.close();
    await operator?.close();
    await smtp?.close();
  });

  const post = async (notify: unknown) => {
    const response = await fetch(`${base}/v1/exports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataset: 'numbers', format: 'csv', notify }),
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body: (await response.json()) as Json,
    };
  };

  const settled = async (id: string, check: (document: Json) => boolean) => {
    let document: Json;
    const deadline = Date.now() + 15_000;
    do {
      await new Promise((r) => setTimeout(r, 50));
      document = await (await fetch(`${base}/v1/exports/${id}`)).json();
    } while (!check(document) && Date.now() < deadline);
    return document;
  };

  it('refuses a per-export webhook naming the service-wide webhook as any host not allowed', async () => {
    for (const webhook of [`${operator.origin}/service`, `${operator.origin}/other`]) {
      const answer = await post({ webhook });
      expect(answer.status).toBe(400);
      expect(answer.type).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({
        code: 'webhook_not_allowed',
        status: 400,
        host: operator.host,
      });
    }
    expect((await jobs.service.jobs.list({ id: 'anonymous' })).jobs).toEqual([]);
    // The service-wide webhook itself still hears every export, an owner's allowed webhook too.
    const created = await post({ webhook: `${owners.origin}/hook` });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    await settled(id, (document) => document.notifications?.[0]?.state === 'delivered');
    const deadline = Date.now() + 15_000;
    while (operator.of(id, '/service').length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(operator.of(id, '/service').map((d) => d.verified)).toEqual([true]);
    expect(owners.of(id, '/hook').map((d) => d.verified)).toEqual([true]);
  });

  it('keeps an email address with its domain canonical, checks that domain, and refuses malformed ones', async () => {
    for (const email of ['a@example.com..', 'a@example..com', 'a@.example.com']) {
      const answer = await post({ email });
      expect(answer.status).toBe(400);
      expect(answer.type).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ code: 'invalid_request', member: 'notify.email' });
    }
    const refused = await post({ email: 'eve@Example.COM.evil.NET.' });
    expect(refused.body).toMatchObject({ code: 'email_not_allowed', domain: 'example.com.evil.net' });

    const created = await post({ email: 'Ada@EXAMPLE.com.' });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    const document = await settled(id, (d) => d.notifications?.[0]?.state === 'delivered');
    expect(document.notifications).toEqual([
      expect.objectContaining({
        channel: 'email',
        destination: 'Ada@example.com',
        event: 'export.succeeded',
        state: 'delivered',
      }),
    ]);
    expect(smtp.messages.map((m) => m.to)).toEqual([['Ada@example.com']]);
  });
});
