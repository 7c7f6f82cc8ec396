/**
 * Per-owner webhook secrets over real HTTP: an owner gets their own secrets from
 * `GET /v1/webhook-secret`, and their per-export webhook, received by a real HTTP receiver,
 * verifies with those (checked by the `standardwebhooks` package, not our code) and with
 * neither the service secrets nor another owner's; the service-wide webhook verifies with the
 * service secrets. So an owner cannot forge the operator's events or another owner's.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import { eventuallyValue } from '../support/eventually.js';
import { numbersDataset, type TestService, testService } from '../support/jobs.js';
import {
  type ReceivedDelivery,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../support/webhook-receiver.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON documents the assertions walk into
type Json = any;

const whsec = () => `whsec_${randomBytes(32).toString('base64')}`;
const ADA = 'ada-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef';
const ADA_GLOBEX = 'ada-globex-token-0123456789';
const TOKENS = `${ADA}=ada:acme,${BOB}=bob:acme,${ADA_GLOBEX}=ada:globex`;

async function startServer(env: NodeJS.ProcessEnv) {
  const jobs = await testService(env, { datasets: [numbersDataset('numbers', 50)] });
  const app = await buildServer(serviceServerOptions(jobs.service));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { jobs, app, base };
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** Whether `standardwebhooks` accepts the delivery with `secret`. */
function verifies(secret: string, delivery: Pick<ReceivedDelivery, 'body' | 'headers'>): boolean {
  try {
    new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

describe('per-owner webhook secrets (SQLite + embedded queue, real HTTP)', () => {
  // Rotating: the new secret first, the old one still signing.
  const [current, old] = [whsec(), whsec()];
  let owners: WebhookReceiver;
  let operator: WebhookReceiver;
  let jobs: TestService;
  let app: FastifyInstance;
  let base: string;
  let adaSecrets: string[];

  const secretsOf = async (token: string) => {
    const response = await fetch(`${base}/v1/webhook-secret`, { headers: auth(token) });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as { secrets: string[] };
    expect(Object.keys(body)).toEqual(['secrets']);
    return body.secrets;
  };

  beforeAll(async () => {
    operator = await startWebhookReceiver(current);
    ({ jobs, app, base } = await startServer({
      TAKEOUT_API_TOKENS: TOKENS,
      TAKEOUT_WEBHOOK_SECRET: `${current} ${old}`,
      TAKEOUT_WEBHOOK_URL: `http://127.0.0.1:1/unused`,
      TAKEOUT_NOTIFY_POLL: '50ms',
    }));
    // The owner's receiver is set up with what the API gives its owner, as a real one would be.
    adaSecrets = await secretsOf(ADA);
    owners = await startWebhookReceiver(adaSecrets[0]!);
    await app.close();
    await jobs.close();
    ({ jobs, app, base } = await startServer({
      TAKEOUT_API_TOKENS: TOKENS,
      TAKEOUT_WEBHOOK_SECRET: `${current} ${old}`,
      TAKEOUT_WEBHOOK_URL: `${operator.origin}/service`,
      TAKEOUT_WEBHOOK_ALLOW: owners.host,
      TAKEOUT_NOTIFY_POLL: '50ms',
    }));
    await jobs.service.jobs.startWorker({ concurrency: 1 });
  });
  afterAll(async () => {
    await app?.close();
    await jobs?.close();
    await owners?.close();
    await operator?.close();
  });

  it("gives each caller their own secrets, one per service secret, never the service's, uncached", async () => {
    expect(adaSecrets).toHaveLength(2);
    for (const s of adaSecrets) expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    // The same every time and in every process (the server was restarted since).
    expect(await secretsOf(ADA)).toEqual(adaSecrets);
    const bob = await secretsOf(BOB);
    const adaGlobex = await secretsOf(ADA_GLOBEX);
    const all = [current, old, ...adaSecrets, ...bob, ...adaGlobex];
    expect(new Set(all).size).toBe(all.length);
    const anonymous = await fetch(`${base}/v1/webhook-secret`);
    expect(anonymous.status).toBe(401);
    expect(JSON.stringify(await anonymous.json())).not.toMatch(/whsec_/);
  });

  it("signs an owner's webhook with the owner's secrets only, and the service-wide one with the service's", async () => {
    const created = await fetch(`${base}/v1/exports`, {
      method: 'POST',
      headers: { ...auth(ADA), 'content-type': 'application/json' },
      body: JSON.stringify({
        dataset: 'numbers',
        format: 'csv',
        notify: { webhook: `${owners.origin}/hook` },
      }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as Json;
    const [owned] = await eventuallyValue(
      () => (owners.of(id, '/hook').length ? owners.of(id, '/hook') : undefined),
      15_000,
      25,
    );
    const [serviceWide] = await eventuallyValue(
      () => (operator.of(id, '/service').length ? operator.of(id, '/service') : undefined),
      15_000,
      25,
    );
    expect(owned).toMatchObject({ verified: true, status: 204, event: { type: 'export.succeeded' } });
    expect(serviceWide).toMatchObject({ verified: true, status: 204, event: { type: 'export.succeeded' } });

    // The owner's: one signature per derived secret (rotation), none by a service secret.
    expect(String(owned!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(adaSecrets[1]!, owned!)).toBe(true);
    const [bob, adaGlobex] = [await secretsOf(BOB), await secretsOf(ADA_GLOBEX)];
    for (const other of [current, old, ...bob, ...adaGlobex]) expect(verifies(other, owned!)).toBe(false);

    // The service-wide one: the service secrets (both while rotating), never an owner's.
    expect(verifies(old, serviceWide!)).toBe(true);
    for (const other of [...adaSecrets, ...bob]) expect(verifies(other, serviceWide!)).toBe(false);
  });

  it("does not let an owner forge the service-wide webhook's events or another owner's", () => {
    const forged = JSON.stringify({
      type: 'export.succeeded',
      timestamp: new Date().toISOString(),
      data: {
        id: 'exp_forged',
        status: 'succeeded',
        owner: { id: 'ada', tenant: 'acme' },
        url: 'https://evil.example/x',
      },
    });
    const at = new Date();
    const signature = new Webhook(adaSecrets[0]!).sign('msg_forged', at, forged);
    const request = {
      body: forged,
      headers: {
        'webhook-id': 'msg_forged',
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signature,
      },
    };
    expect(verifies(adaSecrets[0]!, request)).toBe(true);
    expect(verifies(current, request)).toBe(false);
    expect(verifies(old, request)).toBe(false);
  });
});

describe('GET /v1/webhook-secret without TAKEOUT_WEBHOOK_SECRET', () => {
  let jobs: TestService;
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    ({ jobs, app, base } = await startServer({ TAKEOUT_API_TOKENS: TOKENS }));
  });
  afterAll(async () => {
    await app?.close();
    await jobs?.close();
  });

  it('answers a 404 problem', async () => {
    const response = await fetch(`${base}/v1/webhook-secret`, { headers: auth(ADA) });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ status: 404, code: 'not_found' });
  });
});
