/**
 * `takeout notifications`: an operator finds the webhook deliveries that failed while a
 * receiver was down for longer than the retry period, and sends them again to a running
 * service, which delivers them with their first webhook-id.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ownerWebhookSecret } from '../../src/notify/signing.js';
import { runCli } from '../support/cli.js';
import { eventuallyValue } from '../support/eventually.js';
import { alice, numbersDataset, type TestService, testService } from '../support/jobs.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

describe('takeout notifications', () => {
  let t: TestService | undefined;
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await t?.close();
    await receiver?.close();
    t = receiver = undefined;
  });

  it('lists failed deliveries and sends them again, by filter or by id, with the same webhook-id', async () => {
    receiver = await startWebhookReceiver(ownerWebhookSecret(secret, alice));
    receiver.answer = () => 503; // down
    t = await testService(
      {
        TAKEOUT_WEBHOOK_SECRET: secret,
        TAKEOUT_WEBHOOK_ALLOW: receiver.host,
        TAKEOUT_PUBLIC_URL: 'https://takeout.example.com',
        TAKEOUT_NOTIFY_BACKOFF: '50ms',
        TAKEOUT_NOTIFY_BACKOFF_MAX: '100ms',
        TAKEOUT_NOTIFY_POLL: '50ms',
        TAKEOUT_NOTIFY_RETRY_FOR: '400ms',
      },
      { datasets: [numbersDataset('numbers', 10)] },
    );
    await t.service.jobs.startWorker();
    const hook = `${receiver.origin}/hook`;
    const { job } = await t.service.jobs.create(
      t.request({ dataset: 'numbers', format: 'csv', params: { n: 10 }, notify: { webhook: hook } }),
      alice,
    );
    const [failed] = await eventuallyValue(async () => {
      const deliveries = await t!.service.jobs.store.deliveries(job.id);
      return deliveries[0]?.status === 'failed' ? deliveries : undefined;
    }, 15_000);
    const tries = receiver.of(job.id).length;
    expect(tries).toBe(failed!.attempts);
    expect(tries).toBeGreaterThan(1);
    const env = { TAKEOUT_DATA_DIR: t.dir };
    const cli = (...args: string[]) => runCli(['notifications', ...args], { env });

    // What the operator sees: one line per delivery, under a header.
    const listed = await cli('list', '--status', 'failed', '--channel', 'webhook');
    expect(listed.code).toBe(0);
    const [head = '', ...lines] = listed.out.trim().split('\n');
    expect(head.split(/\s+/)).toEqual([
      'ID',
      'STATUS',
      'TRY',
      'CREATED',
      'EXPORT',
      'CHANNEL',
      'EVENT',
      'DESTINATION',
      'LAST',
    ]);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.split(/\s+/)).toEqual([
      failed!.id,
      'failed',
      String(tries),
      failed!.createdAt.toISOString(),
      job.id,
      'webhook',
      'export.succeeded',
      hook,
      'HTTP',
      '503',
    ]);
    const json = JSON.parse((await cli('list', '--export', job.id, '--json')).out);
    expect(json.deliveries.map((d: { id: string }) => d.id)).toEqual([failed!.id]);
    expect(await cli('list', '--status', 'delivered')).toMatchObject({
      code: 0,
      out: '',
      err: 'no deliveries match\n',
    });

    // The receiver is back: a dry run counts, then the failed ones go again.
    receiver.answer = () => 204;
    expect(await cli('redeliver', '--failed', '--since', '1h', '--dry-run')).toMatchObject({
      code: 0,
      out: '1 failed delivery would be sent again\n',
    });
    expect(receiver.of(job.id)).toHaveLength(tries);
    expect(await cli('redeliver', '--failed', '--channel', 'webhook', '--destination', hook)).toMatchObject({
      code: 0,
      out: '1 failed delivery sent again\n',
    });
    const delivered = await eventuallyValue(async () => {
      const [d] = await t!.service.jobs.store.deliveries(job.id);
      return d?.status === 'delivered' ? d : undefined;
    }, 15_000);
    const received = receiver.of(job.id);
    expect(received.map((d) => d.status)).toEqual([...Array(tries).fill(503), 204]);
    expect(received.every((d) => d.verified)).toBe(true);
    expect(new Set(received.map((d) => d.headers['webhook-id']))).toEqual(new Set([failed!.id]));
    expect(delivered.attempts).toBe(tries + 1);
    expect(await cli('redeliver', '--failed')).toMatchObject({
      code: 0,
      out: '0 failed deliveries sent again\n',
    });

    // By id: a delivered one goes once more (its receiver lost it); an unknown id is an error.
    const byId = await cli('redeliver', failed!.id, 'msg_nosuchdelivery');
    expect(byId.code).toBe(1);
    expect(byId.out).toBe(`${failed!.id}  pending  (was delivered)\n`);
    expect(byId.err).toBe(
      'takeout: msg_nosuchdelivery: no such delivery\ntakeout: delivery_not_found: 1 of the deliveries named does not exist\n',
    );
    await eventuallyValue(async () => (receiver!.of(job.id).length === tries + 2 ? true : undefined), 15_000);
  });

  it('says what is wrong with a command line before opening the store', async () => {
    const env = { TAKEOUT_DATA_DIR: '/nonexistent/takeout' };
    const cli = (...args: string[]) => runCli(['notifications', ...args], { env });
    const cases: [string[], string][] = [
      [['list', '--since', 'yesterday'], '--since is a time back from now (24h, 3d) or a date'],
      [['list', '--channel', 'webhok'], 'unknown channel "webhok" (did you mean webhook?)'],
      [['list', '--status', 'faild'], 'unknown status "faild" (did you mean failed?)'],
      [['list', '--limit', '0'], '--limit is 1 to 100'],
      [['list', '--cursor', 'abc'], '--cursor is not one this command printed'],
      [['redeliver'], 'redeliver takes delivery ids (msg_...) or --failed'],
      [['redeliver', 'msg_1', '--failed'], 'redeliver takes delivery ids or --failed with filters, not both'],
      [['resend'], 'unknown notifications command "resend"'],
      [['list', '--destination', '-'], 'the service-wide webhook has no destination; give --channel service'],
    ];
    for (const [args, message] of cases) {
      const { code, err } = await cli(...args);
      expect([args.join(' '), code, err.split('\n')[0]]).toEqual([
        args.join(' '),
        2,
        expect.stringContaining(message),
      ]);
    }
    expect(await cli('list', '--bogus')).toMatchObject({
      code: 2,
      err: 'takeout: unknown option --bogus\nsee takeout notifications list --help\n',
    });
  });
});
