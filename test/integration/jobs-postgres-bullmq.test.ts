/**
 * The jobs contract on PostgreSQL + BullMQ: a fresh schema and a fresh Redis key prefix (on
 * the shared Redis at 127.0.0.1:6379) per test.
 */
import { postgresJobStore } from '../../src/jobs/store/postgres.js';
import { jobsContract } from '../contracts/jobs.js';
import { BullmqHarness, freshQueueOptions } from '../support/bullmq-harness.js';
import { createSchema } from './postgres-helpers.js';

jobsContract('PostgreSQL + BullMQ', async () => {
  const schema = await createSchema('takeout_jobs');
  const store = await postgresJobStore({ connectionString: schema.url, schema: schema.name });
  const queues = new BullmqHarness();
  // Every queue of one test shares one queue name, as the processes of a deployment do.
  const shared = freshQueueOptions();
  return {
    store,
    queue: ({ maxAttempts = 3 } = {}) =>
      queues.open({ ...shared, attempts: maxAttempts, backoff: { baseMs: 50, maxMs: 100 } }),
    async close() {
      await queues.cleanUp();
      await store.close();
      await schema.drop();
    },
  };
});
