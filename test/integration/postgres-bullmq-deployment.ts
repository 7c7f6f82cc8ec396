/**
 * PostgreSQL (a fresh schema) + BullMQ (the shared Redis, a fresh queue per test) as the
 * contract suites that run a worker against a deployment take it: the worker and notify
 * contracts share it.
 */
import { queueAttempts } from '../../src/jobs/queue/index.js';
import { BullmqHarness, freshQueueOptions } from '../support/bullmq-harness.js';
import { createSchema, PG_BASE_URL } from './postgres-helpers.js';

export async function postgresBullmqDeployment(schemaPrefix: string) {
  const schema = await createSchema(schemaPrefix);
  const queues = new BullmqHarness();
  return {
    env: { DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: schema.name },
    // As the service configures it for TAKEOUT_JOB_ATTEMPTS=3 (the default).
    queue: () =>
      queues.open(freshQueueOptions({ attempts: queueAttempts(3), backoff: { baseMs: 50, maxMs: 100 } })),
    async cleanup() {
      await queues.cleanUp();
      await schema.drop();
    },
  };
}
