/**
 * What operators do with the outbox, on every job store: find deliveries by what they know
 * (status, channel, destination, export, age), page by page, and send chosen ones again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobStore } from '../../src/jobs/types.js';
import type { Delivery } from '../../src/notify/types.js';
import { at, claim, type OutboxHarness, outcome, succeededJob } from './jobs-outbox.js';

export function outboxAdminContract(name: string, open: () => Promise<OutboxHarness>): void {
  describe(`notification outbox, operators: ${name}`, () => {
    let harness: OutboxHarness;
    let store: JobStore;
    beforeEach(async () => {
      harness = await open();
      store = harness.store;
    });
    afterEach(async () => {
      await harness?.close();
    });

    /** Every due delivery claimed and given this outcome (each a failed attempt's facts). */
    async function settleAll(status: 'failed' | 'delivered' | 'disabled', now = new Date()) {
      const claimed = await claim(store, 'd1', now, 100);
      for (const d of claimed)
        await store.recordAttempt(
          d.id,
          'd1',
          outcome(status, { statusCode: 503, error: 'HTTP 503', at: now }),
        );
      return claimed;
    }

    it('finds deliveries by status, channel, destination, export and age, newest first, page by page', async () => {
      const first = await succeededJob(store);
      await settleAll('failed');
      await sleep(5); // a later millisecond: the order is by creation time
      const cutoff = new Date();
      const second = await succeededJob(store);
      const all = await store.findDeliveries!({ limit: 100 });
      expect(all).toHaveLength(6);
      // Newest first: the second export's three, then the first's.
      expect(all.slice(0, 3).every((d) => d.exportId === second.id)).toBe(true);
      expect(all.slice(3).every((d) => d.exportId === first.id)).toBe(true);

      const ids = (found: Delivery[]) => found.map((d) => d.id);
      const failed = await store.findDeliveries!({ status: ['failed'], limit: 100 });
      expect(ids(failed).sort()).toEqual(ids(all.slice(3)).sort());
      expect(await store.findDeliveries!({ status: ['failed', 'pending'], limit: 100 })).toHaveLength(6);
      expect(ids(await store.findDeliveries!({ since: cutoff, limit: 100 }))).toEqual(ids(all.slice(0, 3)));
      const hooks = await store.findDeliveries!({
        channel: 'webhook',
        destination: 'https://hooks.example.com/takeout',
        limit: 100,
      });
      expect(hooks.map((d) => [d.exportId, d.channel])).toEqual([
        [second.id, 'webhook'],
        [first.id, 'webhook'],
      ]);
      expect(
        await store.findDeliveries!({ destination: 'https://elsewhere.example.com/', limit: 100 }),
      ).toEqual([]);
      const ofFirst = await store.findDeliveries!({ exportId: first.id, status: ['pending'], limit: 100 });
      expect(ofFirst).toEqual([]);

      // Pages of two, each after the last one seen, meet every delivery once in the same order.
      const paged: Delivery[] = [];
      for (let page = 0; page < 5; page++) {
        const last = paged.at(-1);
        const next = await store.findDeliveries!({
          limit: 2,
          ...(last ? { after: { createdAt: last.createdAt, id: last.id } } : {}),
        });
        if (next.length === 0) break;
        paged.push(...next);
      }
      expect(ids(paged)).toEqual(ids(all));
    });

    it('sends failed, disabled and delivered ones again: pending now, a fresh retry period, the same id', async () => {
      const job = await succeededJob(store);
      const t0 = new Date();
      const [failed, disabled, delivered] = await claim(store, 'd1', t0, 3);
      await store.recordAttempt(
        failed!.id,
        'd1',
        outcome('failed', { statusCode: 503, error: 'HTTP 503', at: t0 }),
      );
      await store.recordAttempt(
        disabled!.id,
        'd1',
        outcome('disabled', { statusCode: 410, error: 'HTTP 410', at: t0 }),
      );
      await store.recordAttempt(delivered!.id, 'd1', outcome('delivered', { statusCode: 204, at: t0 }));

      const now = at(t0, 60_000);
      const again = await store.redeliver!([failed!.id, disabled!.id, delivered!.id, 'msg_unknown'], now);
      expect(again.map((d) => d.id).sort()).toEqual([failed!.id, disabled!.id, delivered!.id].sort());
      for (const d of again) {
        expect(d).toMatchObject({ status: 'pending', attempts: 1, exportId: job.id });
        expect(d.redeliveredAt?.getTime()).toBe(now.getTime());
        expect(d.nextAttemptAt.getTime()).toBe(now.getTime());
        expect(d.deliveredAt).toBeUndefined();
        expect(d.lease).toBeUndefined();
        // The event itself is as it was: its time and its facts.
        expect(d.createdAt.getTime()).toBeLessThan(now.getTime());
      }
      expect(again.find((d) => d.id === failed!.id)?.lastError).toBe('HTTP 503');

      // Due at once, to one claimer; the next attempt is number 2 and keeps the first.
      const claimed = await claim(store, 'd2', now, 10);
      expect(claimed.map((d) => d.id).sort()).toEqual(again.map((d) => d.id).sort());
      await store.recordAttempt(failed!.id, 'd2', outcome('delivered', { statusCode: 200, at: now }));
      expect((await store.deliveryAttempts(failed!.id)).map((a) => [a.attempt, a.statusCode])).toEqual([
        [1, 503],
        [2, 200],
      ]);

      // A pending one (waiting, or being sent) is on its way: left alone.
      expect(await store.redeliver!([disabled!.id], at(now, 1000))).toEqual([]);
      expect(await store.redeliver!([])).toEqual([]);
    });

    it("counts the backlog's longest wait from a redelivery, not from the old event", async () => {
      await succeededJob(store, [{ channel: 'service' }]);
      const [d] = await settleAll('failed');
      expect(await store.deliveryBacklog!()).toEqual({ pending: 0 });
      // Sent again a minute after the event: its wait starts then.
      const later = at(d!.createdAt, 60_000);
      await store.redeliver!([d!.id], later);
      const backlog = await store.deliveryBacklog!();
      expect(backlog.pending).toBe(1);
      expect(backlog.oldestCreatedAt?.getTime()).toBe(later.getTime());
    });
  });
}
