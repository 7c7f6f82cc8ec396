import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { bullmqQueue } from '../../src/jobs/queue/bullmq.js';
import { s3Storage } from '../../src/storage/s3.js';
import { apiContract } from '../contracts/api.js';
import { freshQueueOptions } from '../support/bullmq-harness.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';
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
  const storage = s3Storage({
    bucket,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: s3.credentials,
  });
  await (await storage.client()).send(new CreateBucketCommand({ Bucket: bucket }));
  const queue = await bullmqQueue(freshQueueOptions());
  return {
    env: { DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: schema.name },
    checksSignatures: false, // s3rver checks no SigV4 signatures
    storage,
    queue,
    cleanup: () => schema.drop(),
  };
});
