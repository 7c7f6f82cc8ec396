/**
 * An export whose enqueue failed (Redis away for a moment) used to wait for the sweeper: a
 * minute at least, ten by default. It is enqueued again in the background and runs as soon
 * as the queue takes it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { bullmqQueue } from '../../src/jobs/queue/bullmq.js';
import type { ExportQueue } from '../../src/jobs/queue/types.js';
import { dropQueueKeys, freshQueueOptions, SHARED_REDIS_URL } from '../support/bullmq-harness.js';
import { alice, type TestService, testService } from '../support/jobs.js';

const options = freshQueueOptions();
let t: TestService | undefined;
let real: ExportQueue | undefined;
afterAll(async () => {
  // The service closes its queue; without one (it failed to start), the queue is closed here.
  if (t) await t.close();
  else await real?.close(0);
  await dropQueueKeys(SHARED_REDIS_URL, options.prefix!);
});

describe('an export whose enqueue failed', () => {
  it('is enqueued again in the background and succeeds, without the sweeper', async () => {
    real = await bullmqQueue(options);
    let failures = 1;
    // The real BullMQ queue, but its first enqueue fails as with Redis away.
    const queue = new Proxy<ExportQueue>(real, {
      get(target, property) {
        if (property === 'enqueue') {
          return (...args: Parameters<ExportQueue['enqueue']>) => {
            if (failures-- > 0) return Promise.reject(new TakeoutError('queue_error', 'Redis is away'));
            return target.enqueue(...args);
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    // No sweeper runs in this service: only the retry can enqueue it.
    t = await testService({}, { queue });
    await t.service.jobs.startWorker();
    const { job } = await t.service.jobs.create(t.request({ format: 'csv', rows: [{ a: 1 }] }), alice);
    expect(job.status).toBe('queued');
    const done = await t.until(job.id, (j) => j.status === 'succeeded' || j.status === 'failed', 15_000);
    expect(done.status).toBe('succeeded');
    expect(failures).toBeLessThan(0);
  });
});
