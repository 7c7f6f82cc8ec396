/** The worker contract on PostgreSQL + BullMQ (the shared Redis, a fresh queue per test) + disk. */
import { workerContract } from '../contracts/jobs-worker.js';
import { BullmqHarness, freshQueueOptions } from '../support/bullmq-harness.js';
import { createSchema, PG_BASE_URL } from './postgres-helpers.js';

workerContract('PostgreSQL + BullMQ + disk', async () => {
  const schema = await createSchema('takeout_worker');
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
