import type { LifecycleRule } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  mergeLifecycleRules,
  minimumAbortIncompleteDays,
  minimumLifecycleDays,
  takeoutLifecycleRule,
} from '../../src/storage/lifecycle.js';
import type { S3Storage } from '../../src/storage/s3.js';
import { setupS3Bucket } from '../../src/storage/s3-setup.js';
import { incompleteAfterMsFor } from '../../src/storage/sweeper.js';

describe('the lifecycle rule', () => {
  it('expires the prefix after N days and aborts incomplete multipart uploads after 1 day', () => {
    expect(takeoutLifecycleRule({ prefix: 'generated/', days: 1 })).toEqual({
      ID: 'takeout:generated/',
      Status: 'Enabled',
      Filter: { Prefix: 'generated/' },
      Expiration: { Days: 1 },
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    });
    expect(takeoutLifecycleRule({ prefix: 'a/b/', days: 7 }).Expiration).toEqual({ Days: 7 });
  });

  it('refuses zero days, fractions and the whole bucket', () => {
    for (const days of [0, -1, 1.5]) {
      expect(() => takeoutLifecycleRule({ prefix: 'g/', days })).toThrow(
        expect.objectContaining({ code: 'config_error' }),
      );
    }
    expect(() => takeoutLifecycleRule({ prefix: '', days: 1 })).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
  });

  it('never expires files before their retention ends', () => {
    expect(minimumLifecycleDays(300)).toBe(1);
    expect(minimumLifecycleDays(86_400)).toBe(1);
    expect(minimumLifecycleDays(86_401)).toBe(2);
    expect(minimumLifecycleDays(7 * 86_400)).toBe(7);
    // The retention starts when the export ends, up to the job's time limit after its upload began.
    expect(minimumLifecycleDays(86_400, 3600)).toBe(2);
    expect(minimumLifecycleDays(7 * 86_400 - 3600, 3600)).toBe(7);
  });

  it('aborts incomplete uploads only after the longest export: the job time limit in days, plus one', () => {
    expect(minimumAbortIncompleteDays(3600)).toBe(2); // the default 1 h
    expect(minimumAbortIncompleteDays(86_400)).toBe(2);
    expect(minimumAbortIncompleteDays(86_401)).toBe(3);
    expect(minimumAbortIncompleteDays(48 * 3600)).toBe(3);
    expect(minimumAbortIncompleteDays(24 * 86_400)).toBe(25); // TAKEOUT_JOB_TIMEOUT's maximum
    const rule = takeoutLifecycleRule({ prefix: 'g/', days: 3, abortIncompleteDays: 25 });
    expect(rule.AbortIncompleteMultipartUpload).toEqual({ DaysAfterInitiation: 25 });
    expect(() => takeoutLifecycleRule({ prefix: 'g/', days: 3, abortIncompleteDays: 0 })).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
  });

  it('takes unfinished uploads for leftovers after a day, or the job time limit plus an hour', () => {
    expect(incompleteAfterMsFor(3_600_000)).toBe(86_400_000);
    expect(incompleteAfterMsFor(23 * 3_600_000)).toBe(86_400_000);
    expect(incompleteAfterMsFor(48 * 3_600_000)).toBe(49 * 3_600_000);
    expect(incompleteAfterMsFor(24 * 86_400_000)).toBe(24 * 86_400_000 + 3_600_000);
  });

  it('merges: adds, leaves an identical rule alone, updates a changed one, keeps other rules', () => {
    const other: LifecycleRule = {
      ID: 'logs',
      Status: 'Enabled',
      Filter: { Prefix: 'logs/' },
      Expiration: { Days: 30 },
    };
    const rule = takeoutLifecycleRule({ prefix: 'generated/', days: 1 });
    const added = mergeLifecycleRules([other], rule);
    expect(added).toEqual({ change: 'added', rules: [other, rule] });
    // As S3 returns it: same content, extra empty fields.
    const returned = { ...rule, Filter: { Prefix: 'generated/' }, Transitions: [] } as LifecycleRule;
    expect(mergeLifecycleRules([other, returned], rule).change).toBe('unchanged');
    const longer = takeoutLifecycleRule({ prefix: 'generated/', days: 3 });
    expect(mergeLifecycleRules([other, rule], longer)).toEqual({ change: 'updated', rules: [other, longer] });
  });
});

/** A bucket that supports lifecycle, to check setup is idempotent (s3rver does not). */
function fakeS3(
  options: { lifecycle?: LifecycleRule[]; publicPolicy?: boolean; transitionDefault?: string } = {},
) {
  let rules = options.lifecycle;
  let transitionDefault = options.transitionDefault;
  const puts: LifecycleRule[][] = [];
  const putInputs: Record<string, unknown>[] = [];
  const error = (name: string, status = 404) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      switch (command.constructor.name) {
        case 'HeadBucketCommand':
          return {};
        case 'GetPublicAccessBlockCommand':
          throw error('NoSuchPublicAccessBlockConfiguration');
        case 'GetBucketPolicyStatusCommand':
          return { PolicyStatus: { IsPublic: options.publicPolicy ?? false } };
        case 'GetBucketAclCommand':
          return {
            Grants: [{ Grantee: { Type: 'CanonicalUser', ID: 'owner' }, Permission: 'FULL_CONTROL' }],
          };
        case 'GetBucketLifecycleConfigurationCommand':
          if (!rules) throw error('NoSuchLifecycleConfiguration');
          return {
            Rules: structuredClone(rules),
            ...(transitionDefault ? { TransitionDefaultMinimumObjectSize: transitionDefault } : {}),
          };
        case 'PutBucketLifecycleConfigurationCommand': {
          const config = command.input.LifecycleConfiguration as { Rules: LifecycleRule[] };
          rules = structuredClone(config.Rules);
          // As S3 does: a PUT without the setting resets it to the default.
          transitionDefault =
            (command.input.TransitionDefaultMinimumObjectSize as string | undefined) ??
            'all_storage_classes_128K';
          puts.push(rules);
          putInputs.push(command.input);
          return {};
        }
        default:
          throw new Error(`unexpected ${command.constructor.name}`);
      }
    },
  };
  const storage = {
    kind: 's3',
    bucket: 'bucket-a',
    prefix: 'generated/',
    client: async () => client,
  } as unknown as S3Storage;
  return { storage, puts, putInputs, rules: () => rules, transitionDefault: () => transitionDefault };
}

describe('storage setup', () => {
  it('applies the rule once and is idempotent afterwards, keeping other rules', async () => {
    const other: LifecycleRule = {
      ID: 'logs',
      Status: 'Enabled',
      Filter: { Prefix: 'logs/' },
      Expiration: { Days: 30 },
    };
    const fake = fakeS3({ lifecycle: [other] });
    const first = await setupS3Bucket(fake.storage, { days: 1 });
    expect(first.map((s) => `${s.step}: ${s.status}`)).toEqual([
      'bucket: ok',
      'public access: ok',
      'lifecycle: changed',
    ]);
    expect(first[2]?.message).toBe(
      'rule added: expire "generated/" after 1 day(s), abort incomplete multipart uploads after 1 day(s)',
    );
    expect(fake.rules()).toEqual([other, takeoutLifecycleRule({ prefix: 'generated/', days: 1 })]);

    const second = await setupS3Bucket(fake.storage, { days: 1 });
    expect(second[2]).toMatchObject({ status: 'ok', message: expect.stringMatching(/^already in place/) });
    expect(fake.puts).toHaveLength(1);

    const dry = await setupS3Bucket(fake.storage, { days: 2, dryRun: true });
    expect(dry[2]).toMatchObject({ status: 'changed', message: expect.stringMatching(/^would be updated/) });
    expect(fake.puts).toHaveLength(1);
  });

  it('works on a bucket without any lifecycle configuration', async () => {
    const fake = fakeS3();
    const steps = await setupS3Bucket(fake.storage, { days: 2 });
    expect(steps[2]?.status).toBe('changed');
    expect(fake.rules()).toEqual([takeoutLifecycleRule({ prefix: 'generated/', days: 2 })]);
  });

  it("keeps the bucket's TransitionDefaultMinimumObjectSize when it puts the rules back", async () => {
    const other: LifecycleRule = {
      ID: 'archive-logs',
      Status: 'Enabled',
      Filter: { Prefix: 'logs/' },
      Transitions: [{ Days: 30, StorageClass: 'GLACIER' }],
    };
    const fake = fakeS3({ lifecycle: [other], transitionDefault: 'varies_by_storage_class' });
    const steps = await setupS3Bucket(fake.storage, { days: 2 });
    expect(steps[2]?.status).toBe('changed');
    expect(fake.putInputs[0]).toMatchObject({
      TransitionDefaultMinimumObjectSize: 'varies_by_storage_class',
    });
    expect(fake.transitionDefault()).toBe('varies_by_storage_class');
    expect(fake.rules()).toEqual([other, takeoutLifecycleRule({ prefix: 'generated/', days: 2 })]);
  });

  it('sets the days after which S3 aborts incomplete uploads, and updates a rule with fewer', async () => {
    const fake = fakeS3({ lifecycle: [takeoutLifecycleRule({ prefix: 'generated/', days: 3 })] });
    const steps = await setupS3Bucket(fake.storage, { days: 3, abortIncompleteDays: 4 });
    expect(steps[2]).toMatchObject({
      status: 'changed',
      message:
        'rule updated: expire "generated/" after 3 day(s), abort incomplete multipart uploads after 4 day(s)',
    });
    expect(fake.rules()?.[0]?.AbortIncompleteMultipartUpload).toEqual({ DaysAfterInitiation: 4 });
  });

  it('fails on a public bucket', async () => {
    const steps = await setupS3Bucket(fakeS3({ publicPolicy: true }).storage, { days: 1 });
    expect(steps[1]).toEqual({
      step: 'public access',
      status: 'failed',
      message: 'PUBLIC: the bucket policy grants public access',
    });
  });
});
