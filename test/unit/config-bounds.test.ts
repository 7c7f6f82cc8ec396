/** Settings that started and then failed later: now refused at start, naming the setting. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { jobSettingsFromEnv } from '../../src/jobs/config.js';
import { resolveBullmqSettings } from '../../src/jobs/queue/bullmq-options.js';
import { parseStorageUrl, storageSettingsFromEnv } from '../../src/storage/config.js';

const context = { dataDir: '/srv/takeout/data', cwd: '/srv/takeout' };

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toMatchObject({ code: 'config_error' });
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('timer and retention bounds', () => {
  it('caps the queue lock and stalled interval at 24 days', () => {
    for (const name of ['TAKEOUT_QUEUE_LOCK', 'TAKEOUT_QUEUE_STALLED_INTERVAL']) {
      expect(refusal(() => jobSettingsFromEnv({ [name]: '30d' }))).toMatch(new RegExp(`${name}.*24 days`));
      expect(refusal(() => jobSettingsFromEnv({ [name]: '2147484s' }))).toContain(name);
    }
    expect(
      jobSettingsFromEnv({ TAKEOUT_QUEUE_LOCK: '24d', TAKEOUT_QUEUE_STALLED_INTERVAL: '1h' }).bullmq,
    ).toEqual({
      lockDurationMs: 24 * 86_400_000,
      stalledIntervalMs: 3_600_000,
    });
    expect(refusal(() => resolveBullmqSettings({ url: 'redis://h', stalledIntervalMs: 2 ** 31 }))).toContain(
      'stalledIntervalMs',
    );
  });

  it('says the range of a duration too long for a timer, not only its least', () => {
    const message = refusal(() => loadConfig({ TAKEOUT_SYNC_IDLE_TIMEOUT: '30d' }));
    expect(message).toMatch(/^TAKEOUT_SYNC_IDLE_TIMEOUT must be a duration from \d+ ms to 24 days/);
    expect(loadConfig({ TAKEOUT_SYNC_IDLE_TIMEOUT: '24d' }).syncIdleTimeoutMs).toBe(24 * 86_400_000);
  });

  it('caps file and record retention at 100 years, so expiries stay valid dates', () => {
    expect(refusal(() => storageSettingsFromEnv({ TAKEOUT_FILE_TTL: '100000000d' }, context))).toMatch(
      /TAKEOUT_FILE_TTL.*100 years/,
    );
    expect(refusal(() => jobSettingsFromEnv({ TAKEOUT_RECORD_TTL: '100000000d' }))).toMatch(
      /TAKEOUT_RECORD_TTL.*100 years/,
    );
    expect(storageSettingsFromEnv({ TAKEOUT_FILE_TTL: '36500d' }, context).fileTtlSeconds).toBe(
      36_500 * 86_400,
    );
    expect(jobSettingsFromEnv({ TAKEOUT_RECORD_TTL: '36500d' }).recordTtlSeconds).toBe(36_500 * 86_400);
  });
});

describe('job store and queue connections', () => {
  it('names TAKEOUT_DATABASE_SCHEMA', () => {
    for (const schema of ['Takeout', '1x', 'a-b', 'x'.repeat(64)]) {
      expect(refusal(() => jobSettingsFromEnv({ TAKEOUT_DATABASE_SCHEMA: schema }))).toMatch(
        /^TAKEOUT_DATABASE_SCHEMA .*lowercase/,
      );
    }
    expect(jobSettingsFromEnv({ TAKEOUT_DATABASE_SCHEMA: 'takeout_jobs' }).databaseSchema).toBe(
      'takeout_jobs',
    );
  });

  it('refuses a REDIS_URL database that is not a whole number', () => {
    for (const url of [
      'redis://127.0.0.1:6379/abc',
      'redis://127.0.0.1/5x',
      'redis://h/-1',
      'redis://h?db=two',
    ]) {
      expect(
        refusal(() => jobSettingsFromEnv({ REDIS_URL: url })),
        url,
      ).toMatch(/^REDIS_URL .*whole number/);
    }
    expect(refusal(() => jobSettingsFromEnv({ REDIS_URL: 'http://h' }))).toContain('REDIS_URL');
    expect(jobSettingsFromEnv({ REDIS_URL: 'redis://:pw@h:6379/3' }).redisUrl).toBe('redis://:pw@h:6379/3');
  });
});

describe('STORAGE_URL for S3', () => {
  it('refuses endpoints that are not http(s) URLs and regions that are not region names', () => {
    for (const [url, name] of [
      ['s3://bucket?endpoint=not-a-url', 'endpoint'],
      ['s3://bucket?endpoint=ftp://files.example.com', 'endpoint'],
      ['s3://bucket?endpoint=http://AKIA:Sup3rS3cret@minio:9000', 'endpoint'],
      ['s3://bucket?publicEndpoint=garbage', 'publicEndpoint'],
      ['s3://bucket?region=not%20a%20region!', 'region'],
      ['s3://bucket?region=eu_west_1', 'region'],
    ] as const) {
      const message = refusal(() => parseStorageUrl(url, context));
      expect(message, url).toContain('STORAGE_URL');
      expect(message, url).toContain(name);
      expect(message).not.toContain('Sup3rS3cret');
    }
    expect(
      parseStorageUrl('s3://bucket?region=auto&endpoint=https://x.r2.example.com', context),
    ).toMatchObject({
      region: 'auto',
      endpoint: 'https://x.r2.example.com',
    });
  });

  it('names STORAGE_URL for the part size, queue size, KMS key, bucket and prefix', () => {
    for (const [url, name] of [
      ['s3://bucket?partSize=1', 'partSize'],
      ['s3://bucket?partSize=6GiB', 'partSize'],
      ['s3://bucket?queueSize=0', 'queueSize'],
      ['s3://bucket?queueSize=65', 'queueSize'],
      ['s3://bucket?kmsKeyId=alias/x', 'kmsKeyId'],
      ['s3://bucket?sse=AES256&kmsKeyId=alias/x', 'kmsKeyId'],
      ['s3://Bad_Bucket/x', 'bucket'],
      ['s3://ab/x', 'bucket'],
      ['s3://bucket/%E0%A4%A', 'prefix'],
    ] as const) {
      expect(
        refusal(() => parseStorageUrl(url, context)),
        url,
      ).toMatch(new RegExp(`STORAGE_URL.*${name}`));
    }
  });

  it('checks AWS_REGION when the storage is S3 only', () => {
    const env = { TAKEOUT_DATA_DIR: '/tmp/takeout-config-bounds', TAKEOUT_DEMO: 'false' };
    expect(
      refusal(() => loadConfig({ ...env, STORAGE_URL: 's3://bucket', AWS_REGION: 'not a region!' })),
    ).toContain('AWS_REGION');
    expect(loadConfig({ ...env, AWS_REGION: 'not a region!' }).storage.location.kind).toBe('file');
  });
});

describe('TAKEOUT_API_TOKENS', () => {
  it('refuses an entry whose principal is not user or user:tenant, rather than cutting it', () => {
    const token = 'tok-0123456789abcdef';
    for (const principal of ['alice:acme:globex', 'bob:', ':acme', '']) {
      expect(
        refusal(() => loadConfig({ TAKEOUT_API_TOKENS: `${token}=${principal}` })),
        principal,
      ).toMatch(/^TAKEOUT_API_TOKENS entries are token=user\[:tenant\]/);
    }
    expect(loadConfig({ TAKEOUT_API_TOKENS: `${token}=alice:acme,${token}x=bob` }).apiTokens).toEqual(
      new Map([
        [token, { id: 'alice', tenant: 'acme' }],
        [`${token}x`, { id: 'bob' }],
      ]),
    );
  });
});
