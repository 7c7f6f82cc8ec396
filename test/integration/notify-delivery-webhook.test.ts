/**
 * Webhook delivery against real receivers on loopback (node:http, signatures checked with the
 * `standardwebhooks` package), through the real job store and a real dispatcher: a host that
 * never answers holds only its share of the send slots, so the others' events go out at once,
 * not after its timeout; and a host the operator took off TAKEOUT_WEBHOOK_ALLOW after the
 * export was made is not called, its delivery failing at once with `webhook_not_allowed`.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ownerWebhookSecret } from '../../src/notify/signing.js';
import type { Delivery } from '../../src/notify/types.js';
import { eventuallyValue } from '../support/eventually.js';
import { alice, numbersDataset, type TestService, testService } from '../support/jobs.js';
import { testDispatcher } from '../support/notify-dispatcher.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

describe('webhook delivery (real receivers, SQLite job store)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function receivers(n: number): Promise<WebhookReceiver[]> {
    const started = await Promise.all(
      Array.from({ length: n }, () => startWebhookReceiver(ownerWebhookSecret(secret, alice))),
    );
    for (const r of started) cleanups.push(() => r.close());
    return started;
  }

  const env = (allow: WebhookReceiver[], extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    TAKEOUT_WEBHOOK_SECRET: secret,
    TAKEOUT_WEBHOOK_ALLOW: allow.map((r) => r.host).join(' '),
    TAKEOUT_NOTIFY_BACKOFF: '100ms',
    TAKEOUT_NOTIFY_BACKOFF_MAX: '100ms',
    TAKEOUT_NOTIFY_POLL: '50ms',
    ...extra,
  });

  /** A service whose own dispatcher looks once at its start, then not for an hour. */
  async function service(serviceEnv: NodeJS.ProcessEnv): Promise<TestService> {
    const t = await testService(
      { ...serviceEnv, TAKEOUT_NOTIFY_POLL: '1h' },
      { datasets: [numbersDataset('numbers', 10)] },
    );
    cleanups.push(() => t.close());
    await t.service.jobs.startWorker();
    return t;
  }

  /** Finished exports, one per URL in order, their deliveries waiting in the outbox. */
  async function exportsTo(t: TestService, urls: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const webhook of urls) {
      const request = t.request({ dataset: 'numbers', format: 'csv', notify: { webhook } });
      const { job } = await t.service.jobs.create(request, alice);
      await t.until(job.id, (j) => j.status === 'succeeded');
      ids.push(job.id);
      await sleep(2); // the outbox's order (next attempt, then id) is the order of the exports
    }
    return ids;
  }

  const dispatcher = (t: TestService, dispatcherEnv: NodeJS.ProcessEnv) =>
    testDispatcher(t, dispatcherEnv, cleanups);

  const until = <T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10000) =>
    eventuallyValue(check, timeoutMs, 10);

  const deliveryOf = async (t: TestService, exportId: string): Promise<Delivery> =>
    (await t.service.jobs.store.deliveries(exportId))[0]!;

  it('sends to fast hosts at once while two hosts that never answer hold their sends', async () => {
    const [slow, slow2, ...fast] = await receivers(5);
    slow!.answer = () => null; // held until the sender's timeout (4 s)
    slow2!.answer = () => null;
    const e = env([slow!, slow2!, ...fast], { TAKEOUT_NOTIFY_TIMEOUT: '4s' });
    const t = await service(e);
    // The slow hosts' events are first in the outbox: 8 each, two full batches of 8 slots.
    const slowIds = await exportsTo(
      t,
      [slow!, slow2!].flatMap((r) => Array.from({ length: 8 }, (_, i) => `${r.origin}/hook/${i}`)),
    );
    const fastIds = await exportsTo(
      t,
      fast.flatMap((r) => [`${r.origin}/a`, `${r.origin}/b`]),
    );
    const started = Date.now();
    dispatcher(t, e).start();
    for (const id of fastIds) {
      await until(async () => ((await deliveryOf(t, id)).status === 'delivered' ? true : undefined));
    }
    const elapsed = Date.now() - started;
    // Well before the slow hosts' timeout: their sends took only their share of the slots.
    expect(elapsed).toBeLessThan(2000);
    for (const r of fast) {
      expect(r.deliveries).toHaveLength(2);
      expect(r.deliveries.every((d) => d.verified && d.status === 204)).toBe(true);
    }
    // At most two slots (TAKEOUT_NOTIFY_PER_HOST) went to each slow host at once.
    for (const r of [slow!, slow2!]) {
      expect(r.held()).toBeLessThanOrEqual(2);
      expect(r.deliveries.length).toBeGreaterThan(0);
    }
    // The slow host's own events are still tried: their attempts time out and are retried.
    const timedOut = await until(async () => {
      const d = await deliveryOf(t, slowIds[0]!);
      return d.attempts > 0 ? d : undefined;
    });
    expect(timedOut).toMatchObject({ status: 'pending', lastError: 'No answer within 4000 ms' });
  }, 20_000);

  it("signs owners' webhooks with the service secret too only while TAKEOUT_WEBHOOK_LEGACY_SIGNATURE is on", async () => {
    // A receiver set up before owner secrets verifies with the service secret; one set up since
    // with the owner's (GET /v1/webhook-secret). Both verify with the reference package.
    const legacy = await startWebhookReceiver(secret);
    const current = await startWebhookReceiver(ownerWebhookSecret(secret, alice));
    cleanups.push(
      () => legacy.close(),
      () => current.close(),
    );
    for (const setting of ['false', 'true']) {
      const e = env([legacy, current], { TAKEOUT_WEBHOOK_LEGACY_SIGNATURE: setting });
      const t = await service(e);
      const [oldId, newId] = await exportsTo(t, [`${legacy.origin}/hook`, `${current.origin}/hook`]);
      dispatcher(t, e).start();
      await until(() => (legacy.of(oldId!).length > 0 && current.of(newId!).length > 0 ? true : undefined));
      expect(current.of(newId!)[0]!.verified, setting).toBe(true);
      expect(legacy.of(oldId!)[0]!.verified, setting).toBe(setting === 'true');
      // The signature header holds one signature per secret: the owner's, then the service's.
      const signatures = String(legacy.of(oldId!)[0]!.headers['webhook-signature']).split(' ');
      expect(signatures, setting).toHaveLength(setting === 'true' ? 2 : 1);
    }
  }, 20_000);

  it('does not call a host taken off TAKEOUT_WEBHOOK_ALLOW since the export was made', async () => {
    const [kept, removed, operator] = await receivers(3);
    const e = env([kept!, removed!], { TAKEOUT_WEBHOOK_URL: `${operator!.origin}/service` });
    const t = await service(e);
    const [keptId, removedId] = await exportsTo(t, [`${kept!.origin}/hook`, `${removed!.origin}/hook`]);
    // The operator takes `removed` off the list; this dispatcher runs with the new settings.
    dispatcher(t, env([kept!], { TAKEOUT_WEBHOOK_URL: `${operator!.origin}/service` })).start();
    const refused = await until(async () => {
      const own = (await t.service.jobs.store.deliveries(removedId!)).find((d) => d.channel === 'webhook');
      return own?.status === 'failed' ? own : undefined;
    });
    // Failed at once (one attempt, no retry), with the reason's code first.
    expect(refused.attempts).toBe(1);
    expect(refused.lastError).toMatch(/^webhook_not_allowed: /);
    expect(refused.lastError).toContain(removed!.host);
    expect(refused.lastStatus).toBeUndefined();
    const [attempt, ...more] = await t.service.jobs.store.deliveryAttempts(refused.id);
    expect(more).toEqual([]);
    expect(attempt!.error).toBe(refused.lastError);
    // The host still allowed, and the operator's own webhook (never checked), are called.
    await until(async () => {
      const all = await t.service.jobs.store.deliveries(keptId!);
      return all.length === 2 && all.every((d) => d.status === 'delivered') ? true : undefined;
    });
    await until(async () => (operator!.deliveries.length === 2 ? true : undefined));
    await sleep(300); // nothing comes late
    expect(removed!.deliveries).toEqual([]);
    expect(kept!.deliveries).toHaveLength(1);
    const view = (await t.service.jobs.get(removedId!, alice)).deliveries?.find(
      (d) => d.channel === 'webhook',
    );
    expect(view).toMatchObject({ status: 'failed' });
  });
});
