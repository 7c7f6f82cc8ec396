/**
 * The dispatcher's parts, with a fake outbox: the SMTP transport's options (STARTTLS required
 * before a password leaves for a server off loopback), the send slots and their per-host cap,
 * what an answer comes to, and that a success is never sent again because recording it failed.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { attemptOutcome, destinationHost, refusal, sendOnce } from '../../src/notify/attempt.js';
import { notifySettingsFromEnv } from '../../src/notify/config.js';
import { NotificationDispatcher } from '../../src/notify/dispatcher.js';
import { isLoopbackHost, type Mailer, messageId, smtpTransportOptions } from '../../src/notify/email.js';
import { SendSlots } from '../../src/notify/slots.js';
import type { AttemptOutcome, Delivery, DeliveryStore } from '../../src/notify/types.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

function delivery(overrides: Partial<Delivery> = {}): Delivery {
  const now = new Date();
  return {
    id: 'msg_test1',
    exportId: 'exp_test1',
    channel: 'service',
    event: 'export.succeeded',
    data: { id: 'exp_test1', status: 'succeeded', owner: { id: 'ada' }, filename: 'orders.csv' },
    status: 'pending',
    attempts: 0,
    createdAt: now,
    updatedAt: now,
    nextAttemptAt: now,
    ...overrides,
  };
}

/** An outbox that hands out `claims` in turn and answers records with `record`. */
function fakeStore(claims: Delivery[][], record: (outcome: AttemptOutcome, call: number) => boolean) {
  const recorded: AttemptOutcome[] = [];
  const store: DeliveryStore = {
    claimDeliveries: async () => claims.shift() ?? [],
    recordAttempt: async (_id, _owner, outcome) => {
      recorded.push(outcome);
      return record(outcome, recorded.length)
        ? delivery({ status: outcome.status === 'delivered' ? 'delivered' : 'pending' })
        : undefined;
    },
    deliveries: async () => [],
    deliveryAttempts: async () => [],
    purgeDeliveries: async () => 0,
  };
  return { store, recorded };
}

describe('SMTP transport options', () => {
  it('requires STARTTLS when credentials go to a plain smtp:// server off loopback', () => {
    expect(smtpTransportOptions('smtp://user:pass@smtp.example.com:587', 5000)).toMatchObject({
      requireTLS: true,
      connectionTimeout: 5000,
      greetingTimeout: 5000,
      socketTimeout: 5000,
    });
    expect(smtpTransportOptions('smtp://user@10.0.0.5:25', 5000).requireTLS).toBe(true);
    expect(smtpTransportOptions('SMTP://user:pass@[2001:db8::1]:587', 5000).requireTLS).toBe(true);
  });

  it('does not on loopback, without credentials, over smtps://, or when the URL opts out', () => {
    for (const url of [
      'smtp://user:pass@127.0.0.1:2525',
      'smtp://user:pass@localhost:2525',
      'smtp://user:pass@[::1]:2525',
      'smtp://smtp.example.com:25',
      'smtps://user:pass@smtp.example.com:465',
      'smtp://user:pass@relay.internal:25?requireTLS=false',
    ]) {
      expect(smtpTransportOptions(url, 5000).requireTLS, url).toBeUndefined();
    }
  });

  it('tells loopback hosts apart', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::ffff:127.0.0.1'].every(isLoopbackHost)).toBe(
      true,
    );
    expect(
      ['example.com', '10.0.0.1', '[2001:db8::1]', 'localhost.example.com', 'a.localhost'].some(
        isLoopbackHost,
      ),
    ).toBe(false);
  });

  it('makes Message-IDs in the public host', () => {
    expect(messageId('msg_abc', 'https://exports.example.com:8443/base')).toBe(
      '<msg_abc@exports.example.com>',
    );
    expect(messageId('msg_abc', undefined)).toBe('<msg_abc@takeout>');
  });
});

describe('send slots', () => {
  it('caps the sends to one host and frees slots one by one', () => {
    const slots = new SendSlots(4, 2);
    slots.take('slow');
    slots.take('slow');
    expect(slots.canTake('slow')).toBe(false);
    expect(slots.canTake('fast')).toBe(true);
    slots.take('fast');
    slots.take('other');
    expect(slots.free).toBe(0);
    expect(slots.canTake('third')).toBe(false);
    slots.release('fast');
    expect(slots.canTake('third')).toBe(true);
    expect(slots.canTake('slow')).toBe(false);
    slots.release('slow');
    expect(slots.canTake('slow')).toBe(true);
  });

  it('keys deliveries by host, emails by their SMTP server', () => {
    const settings = notifySettingsFromEnv({
      TAKEOUT_WEBHOOK_SECRET: secret,
      TAKEOUT_WEBHOOK_URL: 'https://ops.example.com/hook',
      SMTP_URL: 'smtp://mail.example.com:587',
      TAKEOUT_MAIL_FROM: 'x@example.com',
      TAKEOUT_PUBLIC_URL: 'https://exports.example.com',
    });
    expect(
      destinationHost({ channel: 'webhook', destination: 'https://Hooks.example.com/x' }, settings),
    ).toBe('hooks.example.com');
    expect(destinationHost({ channel: 'service' }, settings)).toBe('ops.example.com');
    expect(destinationHost({ channel: 'email', destination: 'a@example.com' }, settings)).toBe(
      'smtp:mail.example.com:587',
    );
  });
});

describe('attempt outcomes', () => {
  const settings = { backoff: { baseMs: 1000, maxMs: 1000 }, retryForMs: 3_600_000 };
  const at = new Date();

  it("waits what a 429's or 503's Retry-After asks, up to the longest backoff", () => {
    const d = delivery({ channel: 'webhook', destination: 'https://hooks.example.com/x' });
    const wide = { backoff: { baseMs: 1000, maxMs: 60_000 }, retryForMs: 3_600_000 };
    const wait = (retryAfterMs?: number) => {
      const outcome = attemptOutcome(
        d,
        { statusCode: 429, error: 'HTTP 429', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
        5,
        at,
        wide,
      );
      return outcome.status === 'pending' ? outcome.nextAttemptAt!.getTime() - at.getTime() : undefined;
    };
    expect(wait()).toBeLessThanOrEqual(1000); // the backoff's first step
    expect(wait(30_000)).toBe(30_000);
    expect(wait(3_600_000)).toBe(60_000); // no longer than TAKEOUT_NOTIFY_BACKOFF_MAX
  });

  it('reads Retry-After from a 429 or 503, not from other answers', async () => {
    const { createServer } = await import('node:http');
    const { sendWebhook } = await import('../../src/notify/webhook.js');
    const answers = [
      [429, '120'],
      [503, new Date(Date.now() + 60_000).toUTCString()],
      [500, '120'],
    ] as const;
    let next = 0;
    const server = createServer((req, res) => {
      const [status, retryAfter] = answers[next++]!;
      req.resume();
      res.writeHead(status, { 'retry-after': retryAfter }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const send = () =>
        sendWebhook({
          url: `http://127.0.0.1:${port}/hook`,
          id: 'msg_1',
          body: '{}',
          secrets: [secret],
          timeoutMs: 2000,
        });
      expect(await send()).toMatchObject({ statusCode: 429, retryAfterMs: 120_000 });
      const unavailable = await send();
      expect(unavailable.retryAfterMs).toBeGreaterThan(55_000);
      expect(unavailable.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect(await send()).toEqual({ statusCode: 500, error: 'HTTP 500' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('gives up once the retry period ends, counted from the event or from a redelivery', () => {
    const dayAgo = new Date(at.getTime() - 86_400_000);
    const old = delivery({ createdAt: dayAgo, attempts: 30 });
    expect(attemptOutcome(old, { statusCode: 503, error: 'HTTP 503' }, 5, at, settings).status).toBe(
      'failed',
    );
    // Sent again by an operator a minute ago: a fresh hour of retries.
    const again = { ...old, redeliveredAt: new Date(at.getTime() - 60_000) };
    expect(attemptOutcome(again, { statusCode: 503, error: 'HTTP 503' }, 5, at, settings)).toMatchObject({
      status: 'pending',
      nextAttemptAt: expect.any(Date),
    });
  });

  it('makes the last attempt at the end of the retry period, not a backoff before it', () => {
    const wide = { backoff: { baseMs: 30_000, maxMs: 60_000 }, retryForMs: 3_600_000 };
    const created = new Date(at.getTime() - 3_600_000 + 10_000); // 10 s of the hour left
    const late = delivery({ createdAt: created, attempts: 12 });
    const end = created.getTime() + 3_600_000;
    expect(attemptOutcome(late, { statusCode: 503, error: 'HTTP 503' }, 5, at, wide)).toMatchObject({
      status: 'pending',
      nextAttemptAt: new Date(end),
    });
    expect(attemptOutcome(late, { statusCode: 503, error: 'HTTP 503' }, 5, new Date(end), wide).status).toBe(
      'failed',
    );
  });

  it('does not mail "ready" for a file whose retention has ended, and fails it for good', async () => {
    const settings = notifySettingsFromEnv({
      SMTP_URL: 'smtp://127.0.0.1:2525',
      TAKEOUT_MAIL_FROM: 'exports@example.com',
      TAKEOUT_MAIL_ALLOW: 'example.com',
      TAKEOUT_PUBLIC_URL: 'https://exports.example.com',
    });
    const sent: string[] = [];
    const send = async (to: string) => {
      sent.push(to);
      return {};
    };
    const mailer = { send } as unknown as Mailer;
    const context = { settings, mailer, signal: new AbortController().signal };
    const mail = (expiresAt: Date) =>
      delivery({
        channel: 'email',
        destination: 'ada@example.com',
        data: {
          id: 'exp_test1',
          status: 'succeeded',
          owner: { id: 'ada' },
          filename: 'orders.csv',
          expires_at: expiresAt.toISOString(),
        },
      });
    expect(await sendOnce(mail(new Date(Date.now() - 1000)), context)).toEqual({
      error: 'The file expired before this email could be sent; not sent',
      permanent: true,
    });
    expect(sent).toEqual([]);
    expect(await sendOnce(mail(new Date(Date.now() + 60_000)), context)).toEqual({});
    expect(sent).toEqual(['ada@example.com']);
  });

  it('fails at once on a permanent refusal, retries the rest', () => {
    const d = delivery({ channel: 'email', destination: 'a@example.com' });
    expect(
      attemptOutcome(d, { statusCode: 550, error: 'SMTP 550', permanent: true }, 5, at, settings),
    ).toMatchObject({
      status: 'failed',
      statusCode: 550,
      error: 'SMTP 550',
    });
    expect(attemptOutcome(d, { statusCode: 451, error: 'SMTP 451' }, 5, at, settings)).toMatchObject({
      status: 'pending',
    });
    expect(attemptOutcome(d, {}, 5, at, settings)).toMatchObject({ status: 'delivered' });
  });

  it('refuses a destination no longer allowed, never the service-wide webhook', () => {
    const settings = notifySettingsFromEnv({
      TAKEOUT_WEBHOOK_SECRET: secret,
      TAKEOUT_WEBHOOK_ALLOW: 'hooks.example.com',
      TAKEOUT_WEBHOOK_URL: 'https://ops.example.com/hook',
    });
    expect(
      refusal({ channel: 'webhook', destination: 'https://hooks.example.com/x' }, settings),
    ).toBeUndefined();
    expect(refusal({ channel: 'webhook', destination: 'https://gone.example.com/x' }, settings)).toEqual({
      error: expect.stringMatching(/^webhook_not_allowed: .*gone\.example\.com.*; not retried$/),
      permanent: true,
    });
    expect(refusal({ channel: 'service' }, settings)).toBeUndefined();
  });

  it("leaves owners' deliveries to another process when this one has no allow list", () => {
    // A worker given only part of the API's settings: no list means not set up, not "none".
    const bare = notifySettingsFromEnv({
      TAKEOUT_WEBHOOK_SECRET: secret,
      SMTP_URL: 'smtp://127.0.0.1:2525',
      TAKEOUT_PUBLIC_URL: 'https://takeout.example.com',
      TAKEOUT_MAIL_FROM: 'Takeout <takeout@example.com>',
    });
    expect(refusal({ channel: 'webhook', destination: 'https://hooks.example.com/x' }, bare)).toEqual({
      error: 'This process has no TAKEOUT_WEBHOOK_ALLOW',
    });
    expect(refusal({ channel: 'email', destination: 'ada@example.com' }, bare)).toEqual({
      error: 'This process has no TAKEOUT_MAIL_ALLOW',
    });
    const mailAny = notifySettingsFromEnv({
      TAKEOUT_WEBHOOK_SECRET: secret,
      SMTP_URL: 'smtp://127.0.0.1:2525',
      TAKEOUT_PUBLIC_URL: 'https://takeout.example.com',
      TAKEOUT_MAIL_FROM: 'Takeout <takeout@example.com>',
      TAKEOUT_MAIL_ALLOW: '*',
    });
    expect(refusal({ channel: 'email', destination: 'ada@example.com' }, mailAny)).toBeUndefined();
    // Retried later (pending), not failed.
    const d = delivery({ channel: 'webhook', destination: 'https://hooks.example.com/x' });
    const outcome = attemptOutcome(d, refusal(d, bare)!, 1, new Date(), bare);
    expect(outcome.status).toBe('pending');
  });
});

describe('recording a success', () => {
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  const settingsFor = (r: WebhookReceiver) =>
    notifySettingsFromEnv({ TAKEOUT_WEBHOOK_SECRET: secret, TAKEOUT_WEBHOOK_URL: `${r.origin}/service` });

  it('does not send again a success it could not record when it claims it again', async () => {
    receiver = await startWebhookReceiver(secret);
    // The store fails at every try the first time (3), then the delivery is claimed again.
    let calls = 0;
    const { store, recorded } = fakeStore([[delivery()], [delivery({ attempts: 0 })]], () => true);
    const record = store.recordAttempt.bind(store);
    store.recordAttempt = async (...args) => {
      if (++calls <= 3) throw new Error('connection lost');
      return record(...args);
    };
    const dispatcher = new NotificationDispatcher({ store, settings: settingsFor(receiver) });
    await dispatcher.runOnce();
    await dispatcher.runOnce();
    await dispatcher.close();
    expect(receiver.deliveries).toHaveLength(1);
    expect(calls).toBe(4);
    expect(recorded.map((o) => o.status)).toEqual(['delivered']);
    expect(recorded[0]!.statusCode).toBe(204);
  });

  it('tries again to record a success when the store fails', async () => {
    receiver = await startWebhookReceiver(secret);
    let calls = 0;
    const { store, recorded } = fakeStore([[delivery()]], () => true);
    const record = store.recordAttempt.bind(store);
    store.recordAttempt = async (...args) => {
      if (++calls === 1) throw new Error('connection lost');
      return record(...args);
    };
    const dispatcher = new NotificationDispatcher({ store, settings: settingsFor(receiver) });
    await dispatcher.runOnce();
    await dispatcher.close();
    expect(receiver.deliveries).toHaveLength(1);
    expect(calls).toBe(2);
    expect(recorded.map((o) => o.status)).toEqual(['delivered']);
  });
});

describe('claiming', () => {
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('leases no more deliveries than it can start or park while their host is at its cap', async () => {
    receiver = await startWebhookReceiver(secret);
    receiver.answer = () => null; // every send hangs: the host stays at its cap
    // 200 due deliveries, all to the service-wide webhook (one host).
    let due = 200;
    let claims = 0;
    let leased = 0;
    const store: DeliveryStore = {
      claimDeliveries: async ({ limit, skip }) => {
        claims++;
        if (skip?.channels?.includes('service')) return []; // as the SQL stores leave them
        const n = Math.min(limit, due);
        due -= n;
        leased += n;
        return Array.from({ length: n }, (_, i) => delivery({ id: `msg_${leased - n + i}` }));
      },
      recordAttempt: async () => undefined,
      deliveries: async () => [],
      deliveryAttempts: async () => [],
      purgeDeliveries: async () => 0,
    };
    const dispatcher = new NotificationDispatcher({
      store,
      settings: notifySettingsFromEnv({
        TAKEOUT_WEBHOOK_SECRET: secret,
        TAKEOUT_WEBHOOK_URL: `${receiver.origin}/service`,
        TAKEOUT_NOTIFY_POLL: '50ms',
      }),
    });
    dispatcher.start();
    await new Promise((resolve) => setTimeout(resolve, 600));
    await dispatcher.close(0);
    // 2 sending (the per-host cap, TAKEOUT_NOTIFY_PER_HOST) and the rest of the first claim
    // parked for their host; the others stay due for other dispatchers, and this one looks
    // again only at its poll.
    expect(receiver.deliveries.length).toBe(2);
    expect(leased).toBe(8);
    expect(claims).toBeLessThan(20);
  });
});
