/**
 * Two deployments in one bucket under other prefixes (`s3://shared` and `s3://shared/tenant-b`)
 * on an S3 server over HTTP: each stages inline rows in a folder of its own, so one's sweeper
 * never removes the other's staged rows (it once did, an hour after they were written).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportQueue } from '../../src/jobs/queue/types.js';
import { stageRows, stagingKey } from '../../src/jobs/staging.js';
import { sweepJobs } from '../../src/jobs/sweeper.js';
import type { JobStore } from '../../src/jobs/types.js';
import { s3Storage } from '../../src/storage/s3.js';
import { type S3rverHandle, s3rverStorage, startS3rver } from '../support/s3rver.js';

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(() => s3?.stop());

/** A job store that has never heard of any export: every staged row is an orphan to it. */
const emptyStore = { find: async () => [], get: async () => undefined } as unknown as JobStore;

describe('two deployments sharing a bucket', () => {
  it("keeps the other deployment's staged rows, and removes its own orphans", async () => {
    const a = await s3rverStorage(s3, 'shared');
    const b = s3Storage({
      bucket: 'shared',
      prefix: 'tenant-b/',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: s3.credentials,
    });
    try {
      const options = { maxBytes: 1 << 20, expiresAt: new Date(Date.now() + 86_400_000) };
      // B's export waits in its queue; A's is an orphan (its create never finished).
      const bStaged = await stageRows(b, stagingKey(b, 'exp_B000000000000000000001'), [{ a: 1 }], options);
      const aOrphan = await stageRows(a, stagingKey(a, 'exp_A000000000000000000001'), [{ a: 2 }], options);
      expect(bStaged.key).not.toBe(aOrphan.key);

      const result = await sweepJobs({
        store: emptyStore,
        storage: a,
        queue: {} as ExportQueue,
        recordTtlSeconds: 86_400,
        now: new Date(Date.now() + 61 * 60_000),
      });
      expect(result).toMatchObject({ stagingRemoved: 1, failed: 0 });
      expect(await a.stat(aOrphan.key)).toBeUndefined();
      expect(await b.stat(bStaged.key)).toBeDefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
