import { afterAll, beforeAll } from 'vitest';
import { bullmqQueue } from '../../src/jobs/queue/bullmq.js';
import { apiContract } from '../contracts/api.js';
import { freshQueueOptions } from '../support/bullmq-harness.js';
import { type S3rverHandle, s3rverStorage, startS3rver } from '../support/s3rver.js';
import { createSchema, PG_BASE_URL } from './postgres-helpers.js';

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

apiContract('SQLite + embedded queue + disk', async () => ({
  env: {},
  checksSignatures: true,
  cleanup: async () => {},
}));

apiContract('PostgreSQL + BullMQ + S3 (s3rver)', async () => {
  const schema = await createSchema('takeout_api');
  const bucket = `takeout-api-${process.pid}-${Date.now().toString(36)}`;
  const storage = await s3rverStorage(s3, bucket);
  const queue = await bullmqQueue(freshQueueOptions());
  return {
    env: { DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: schema.name },
    checksSignatures: false, // s3rver checks no SigV4 signatures
    storage,
    queue,
    cleanup: () => schema.drop(),
  };
});
