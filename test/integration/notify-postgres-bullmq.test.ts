/** Notifications on PostgreSQL + BullMQ (the shared Redis, a fresh queue per test) + disk. */
import { notifyContract } from '../contracts/notify.js';
import { BullmqHarness, freshQueueOptions } from '../support/bullmq-harness.js';
import { createSchema, PG_BASE_URL } from './postgres-helpers.js';

notifyContract('PostgreSQL + BullMQ', async () => {
  const schema = await createSchema('takeout_notify');
  const queues = new BullmqHarness();
  return {
    env: { DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: schema.name },
    queue: () => queues.open(freshQueueOptions({ attempts: 3, backoff: { baseMs: 50, maxMs: 100 } })),
    async cleanup() {
      await queues.cleanUp();
      await schema.drop();
    },
  };
});
