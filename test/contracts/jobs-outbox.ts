/**
 * The outbox contract: every job store writes a job's notifications in the same transaction
 * as its final status, hands due deliveries to one dispatcher at a time (a lease), and
 * records attempts. `outboxContract(name, open)`: `open` runs before every test and gives a
 * fresh store plus a way to open another connection to it, as another process would.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newExportId } from '../../src/jobs/ids.js';
import { claimJob, failJob, requestCancel, succeedJob } from '../../src/jobs/lifecycle.js';
import type { JobStore, NewJob } from '../../src/jobs/types.js';
import type { AttemptOutcome, Delivery, NotifyChannel, NotifyTarget } from '../../src/notify/types.js';

export interface OutboxHarness {
  store: JobStore;
  /** Another store on the same database (another process). */
  other(): Promise<JobStore>;
  close(): Promise<void>;
}

export const alice = { id: 'alice', tenant: 'acme' };
export const targets: NotifyTarget[] = [
  { channel: 'webhook', url: 'https://hooks.example.com/takeout' },
  { channel: 'email', to: 'alice@example.com' },
  { channel: 'service' },
];
export const result = {
  key: 'generated/x/a1/orders.csv',
  filename: 'orders.csv',
  contentType: 'text/csv',
  sizeBytes: 1234,
  rowCount: 56,
  sha256: 'f'.repeat(64),
};

export function newJob(notify?: NotifyTarget[]): NewJob {
  const request = { version: 1, dataset: 'orders', format: 'csv' };
  return {
    id: newExportId(),
    owner: alice,
    principal: alice,
    request,
    requestHash: createHash('sha256').update(JSON.stringify(request)).digest('hex'),
    ...(notify ? { notify } : {}),
  };
}

export const at = (base: Date, ms: number) => new Date(base.getTime() + ms);
export const claim = (store: JobStore, owner: string, now = new Date(), limit = 10) =>
  store.claimDeliveries({ leaseOwner: owner, leaseMs: 10_000, limit, now });
export const outcome = (
  status: AttemptOutcome['status'],
  extra: Partial<AttemptOutcome> = {},
): AttemptOutcome => ({
  status,
  at: new Date(),
  latencyMs: 12,
  ...extra,
});

/** A job with these targets (none: `[]`), claimed and succeeded. */
export async function succeededJob(store: JobStore, notify: NotifyTarget[] = targets) {
  const { job } = await store.create(newJob(notify.length ? notify : undefined));
  expect(job.notify).toEqual(notify.length ? notify : undefined);
  await claimJob(store, job.id, { leaseOwner: 'w', leaseMs: 30_000 });
  const expiresAt = new Date(Date.UTC(2030, 0, 2));
  const done = await succeedJob(store, job.id, 'w', { result, progress: {}, expiresAt });
  expect(done?.status).toBe('succeeded');
  return done!;
}

export function outboxContract(name: string, open: () => Promise<OutboxHarness>): void {
  describe(`notification outbox: ${name}`, () => {
    let harness: OutboxHarness;
    let store: JobStore;
    beforeEach(async () => {
      harness = await open();
      store = harness.store;
    });
    afterEach(async () => {
      await harness?.close();
    });

    const succeeded = (notify: NotifyTarget[] = targets) => succeededJob(store, notify);

    it('writes one delivery per target with the final status, frozen, never a file URL', async () => {
      const job = await succeeded();
      const deliveries = await store.deliveries(job.id);
      expect(deliveries.map((d) => [d.channel, d.destination, d.event, d.status, d.attempts])).toEqual(
        expect.arrayContaining([
          ['webhook', 'https://hooks.example.com/takeout', 'export.succeeded', 'pending', 0],
          ['email', 'alice@example.com', 'export.succeeded', 'pending', 0],
          ['service', undefined, 'export.succeeded', 'pending', 0],
        ]),
      );
      expect(deliveries).toHaveLength(3);
      expect(new Set(deliveries.map((d) => d.id)).size).toBe(3);
      for (const delivery of deliveries) {
        expect(delivery.id).toMatch(/^msg_[A-Za-z0-9_-]{22}$/);
        expect(delivery.data).toEqual({
          id: job.id,
          status: 'succeeded',
          owner: alice,
          dataset: 'orders',
          row_count: 56,
          size_bytes: 1234,
          filename: 'orders.csv',
          expires_at: '2030-01-02T00:00:00.000Z',
        });
        expect(JSON.stringify(delivery.data)).not.toContain(result.key);
      }
    });

    it('writes nothing for a job without targets, for a change that does not happen, or one not final', async () => {
      const plain = await succeeded([]);
      expect(await store.deliveries(plain.id)).toEqual([]);
      // The condition fails (already succeeded): no second event.
      expect(
        await succeedJob(store, plain.id, 'w', { result, progress: {}, expiresAt: new Date() }),
      ).toBeUndefined();
      const { job } = await store.create(newJob(targets));
      await claimJob(store, job.id, { leaseOwner: 'w', leaseMs: 30_000 });
      expect(await store.deliveries(job.id)).toEqual([]);
      expect(
        await succeedJob(store, job.id, 'other', { result, progress: {}, expiresAt: new Date() }),
      ).toBeUndefined();
      expect(await store.deliveries(job.id)).toEqual([]);
    });

    it('announces failed and canceled too; email only for succeeded and failed', async () => {
      const { job: failing } = await store.create(newJob(targets));
      await claimJob(store, failing.id, { leaseOwner: 'w', leaseMs: 30_000 });
      await failJob(store, failing.id, 'w', {
        code: 'source_error',
        message: 'The data source failed',
        retryable: false,
      });
      const failed = await store.deliveries(failing.id);
      expect(failed.map((d) => d.channel).sort()).toEqual(['email', 'service', 'webhook']);
      expect(failed[0]!.data).toMatchObject({
        status: 'failed',
        error: { code: 'source_error', message: 'The data source failed' },
      });
      const { job: canceling } = await store.create(newJob(targets));
      await requestCancel(store, canceling.id, alice);
      const canceled = await store.deliveries(canceling.id);
      expect(canceled.map((d) => [d.channel, d.event]).sort()).toEqual([
        ['service', 'export.canceled'],
        ['webhook', 'export.canceled'],
      ]);
    });

    it('leaves the channels and webhook hosts a claimer skips, and hands them out later', async () => {
      await succeeded([
        { channel: 'webhook', url: 'https://busy.example.com/a' },
        { channel: 'webhook', url: 'http://busy.example.com:8080/b' },
        { channel: 'webhook', url: 'https://busy_example.com/c' },
        { channel: 'webhook', url: 'https://quiet.example.com/d' },
        { channel: 'email', to: 'ada@example.com' },
        { channel: 'service' },
      ]);
      const t0 = new Date();
      const skip = {
        channels: ['email', 'service'] as NotifyChannel[],
        hosts: ['busy.example.com', 'busy.example.com:8080'],
      };
      const first = await store.claimDeliveries({
        leaseOwner: 'd1',
        leaseMs: 10_000,
        limit: 10,
        now: t0,
        skip,
      });
      // `_` is no wildcard: busy_example.com is another host.
      expect(first.map((d) => d.destination).sort()).toEqual([
        'https://busy_example.com/c',
        'https://quiet.example.com/d',
      ]);
      const rest = await claim(store, 'd2', at(t0, 1000));
      expect(rest.map((d) => d.destination ?? d.channel).sort()).toEqual([
        'ada@example.com',
        'http://busy.example.com:8080/b',
        'https://busy.example.com/a',
        'service',
      ]);
    });

    it('hands a due delivery to one claimer at a time, again when the lease ends', async () => {
      const job = await succeeded();
      const t0 = new Date();
      const first = await claim(store, 'd1', t0);
      expect(first).toHaveLength(3);
      expect(first[0]!.lease?.owner).toBe('d1');
      expect(await claim(store, 'd2', at(t0, 5000))).toEqual([]);
      // The first dispatcher died: after its lease the deliveries go to another, same ids.
      const second = await claim(store, 'd2', at(t0, 10_001));
      expect(second.map((d) => d.id).sort()).toEqual(first.map((d) => d.id).sort());
      // The first claimer's late failure does not land: the delivery is the second's now.
      const failed = outcome('pending', {
        statusCode: 500,
        error: 'HTTP 500',
        nextAttemptAt: at(t0, 60_000),
      });
      expect(await store.recordAttempt(first[0]!.id, 'd1', failed)).toBeUndefined();
      expect((await store.deliveries(job.id)).every((d) => d.status === 'pending')).toBe(true);
      // Its late success does (its send outlived its claim): the event must not go out again.
      expect(await store.recordAttempt(first[0]!.id, 'd1', outcome('delivered'))).toMatchObject({
        status: 'delivered',
        attempts: 1,
      });
      expect(await store.recordAttempt(first[0]!.id, 'd2', outcome('delivered'))).toBeUndefined();
      expect((await store.deliveries(job.id)).filter((d) => d.status === 'delivered')).toHaveLength(1);
    });

    it('records attempts; a retry waits for its time; delivered and failed ones are not claimed again', async () => {
      const job = await succeeded([{ channel: 'webhook', url: 'https://hooks.example.com/x' }]);
      const t0 = new Date();
      const [delivery] = await claim(store, 'd1', t0);
      const retryAt = at(t0, 60_000);
      const retried = await store.recordAttempt(
        delivery!.id,
        'd1',
        outcome('pending', { statusCode: 500, error: 'HTTP 500', nextAttemptAt: retryAt, at: t0 }),
      );
      expect(retried).toMatchObject({
        status: 'pending',
        attempts: 1,
        lastStatus: 500,
        lastError: 'HTTP 500',
      });
      expect(retried?.lease).toBeUndefined();
      expect(retried?.nextAttemptAt.getTime()).toBe(retryAt.getTime());
      expect(await claim(store, 'd2', at(t0, 59_000))).toEqual([]);
      const [again] = await claim(store, 'd2', at(t0, 60_000));
      expect(again?.id).toBe(delivery!.id);
      const done = await store.recordAttempt(
        delivery!.id,
        'd2',
        outcome('delivered', { statusCode: 204, latencyMs: 33 }),
      );
      expect(done).toMatchObject({ status: 'delivered', attempts: 2, lastStatus: 204 });
      expect(done?.deliveredAt).toBeInstanceOf(Date);
      expect(await claim(store, 'd3', at(t0, 3_600_000))).toEqual([]);
      const attempts = await store.deliveryAttempts(delivery!.id);
      expect(attempts.map((a) => [a.attempt, a.statusCode, a.error, a.latencyMs])).toEqual([
        [1, 500, 'HTTP 500', 12],
        [2, 204, undefined, 33],
      ]);
      expect((await store.deliveries(job.id))[0]?.status).toBe('delivered');
    });

    it('leaves out the owner webhook after it answered 410 Gone', async () => {
      const job = await succeeded();
      const claimed = await claim(store, 'd1');
      const webhook = claimed.find((d) => d.channel === 'webhook')!;
      await store.recordAttempt(
        webhook.id,
        'd1',
        outcome('disabled', { statusCode: 410, error: 'HTTP 410' }),
      );
      await store.transition(job.id, { status: ['succeeded'] }, { status: 'expired' });
      const expired = (await store.deliveries(job.id)).filter((d) => d.event === 'export.expired');
      expect(expired.map((d) => d.channel)).toEqual(['service']);
    });

    it("after a 410 Gone, also stops the owner webhook's events of that export still waiting", async () => {
      const job = await succeeded();
      const t0 = new Date();
      const claimed = await claim(store, 'd1', t0);
      const first = claimed.find((d) => d.channel === 'webhook')!;
      // export.succeeded: refused once, waiting for its retry.
      await store.recordAttempt(
        first.id,
        'd1',
        outcome('pending', { statusCode: 500, error: 'HTTP 500', nextAttemptAt: at(t0, 60_000), at: t0 }),
      );
      for (const d of claimed.filter((d) => d.id !== first.id))
        await store.recordAttempt(d.id, 'd1', outcome('delivered', { statusCode: 200 }));
      await store.transition(job.id, { status: ['succeeded'] }, { status: 'expired' });
      const [expired] = (await claim(store, 'd2')).filter((d) => d.channel === 'webhook');
      expect(expired?.event).toBe('export.expired');
      await store.recordAttempt(
        expired!.id,
        'd2',
        outcome('disabled', { statusCode: 410, error: 'HTTP 410' }),
      );
      const after = await store.deliveries(job.id);
      expect(after.find((d) => d.id === first.id)).toMatchObject({ status: 'disabled', attempts: 1 });
      // Nothing of the owner's webhook is left to send, even when its retry is due; other channels are untouched.
      expect((await claim(store, 'd3', at(t0, 120_000))).filter((d) => d.channel === 'webhook')).toEqual([]);
      expect(
        after.filter((d) => d.channel !== 'webhook' && d.event === 'export.succeeded').map((d) => d.status),
      ).toEqual(claimed.filter((d) => d.channel !== 'webhook').map(() => 'delivered'));
    });

    it('gives each due delivery to exactly one of many concurrent claimers', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 8; i++)
        for (const d of await store.deliveries((await succeeded()).id)) ids.add(d.id);
      expect(ids.size).toBe(24);
      const others = [store, await harness.other(), await harness.other(), await harness.other()];
      const claimed: Delivery[] = [];
      await Promise.all(
        others.map(async (s, i) => {
          for (let round = 0; round < 6; round++) claimed.push(...(await claim(s, `c${i}`, new Date(), 3)));
        }),
      );
      expect(claimed).toHaveLength(24);
      expect(new Set(claimed.map((d) => d.id))).toEqual(ids);
    });

    it('purges finished deliveries older than a date, keeping pending ones', async () => {
      const job = await succeeded();
      const [first] = await claim(store, 'd1', new Date(), 1);
      await store.recordAttempt(first!.id, 'd1', outcome('delivered', { statusCode: 200 }));
      expect(await store.purgeDeliveries(new Date(Date.now() - 60_000))).toBe(0);
      expect(await store.purgeDeliveries(new Date(Date.now() + 60_000))).toBe(1);
      expect((await store.deliveries(job.id)).map((d) => d.status)).toEqual(['pending', 'pending']);
      expect(await store.deliveryAttempts(first!.id)).toEqual([]);
    });
  });
}
