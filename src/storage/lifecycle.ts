/**
 * The bucket's lifecycle rule for Takeout's prefix: expire exports after N days (a backstop
 * behind the precise sweeper) and abort incomplete multipart uploads once no export can still
 * be writing them (`minimumAbortIncompleteDays`). Rules of others in the same bucket are kept
 * as they are.
 */
import type { LifecycleRule } from '@aws-sdk/client-s3';
import { TakeoutError } from '../errors.js';

export interface TakeoutRuleOptions {
  prefix: string;
  /** Days after creation when S3 deletes exports (S3 acts at the next midnight UTC or later). */
  days: number;
  /**
   * Days after initiation when S3 aborts an incomplete multipart upload: longer than an export
   * may run (`minimumAbortIncompleteDays`). Default 1.
   */
  abortIncompleteDays?: number;
}

export function ruleId(prefix: string): string {
  return `takeout:${prefix}`;
}

export function takeoutLifecycleRule({
  prefix,
  days,
  abortIncompleteDays = 1,
}: TakeoutRuleOptions): LifecycleRule {
  if (!Number.isInteger(days) || days < 1)
    throw new TakeoutError('config_error', 'Lifecycle days must be an integer >= 1');
  if (!Number.isInteger(abortIncompleteDays) || abortIncompleteDays < 1)
    throw new TakeoutError('config_error', 'Days to abort incomplete uploads must be an integer >= 1');
  if (prefix === '') throw new TakeoutError('config_error', 'Refusing a lifecycle rule for the whole bucket');
  return {
    ID: ruleId(prefix),
    Status: 'Enabled',
    Filter: { Prefix: prefix },
    Expiration: { Days: days },
    // In a versioned bucket an expired export stays as a noncurrent version: remove it too.
    NoncurrentVersionExpiration: { NoncurrentDays: 1 },
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: abortIncompleteDays },
  };
}

/** The parts of a rule that matter, in a stable shape (S3 returns rules with extra fields). */
function essence(rule: LifecycleRule): string {
  return JSON.stringify([
    rule.ID,
    rule.Status,
    rule.Filter?.Prefix ?? rule.Prefix ?? null,
    rule.Expiration?.Days ?? null,
    rule.NoncurrentVersionExpiration?.NoncurrentDays ?? null,
    rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation ?? null,
  ]);
}

export type MergeResult =
  | { change: 'unchanged'; rules: LifecycleRule[] }
  | { change: 'added' | 'updated'; rules: LifecycleRule[] };

/** Puts `rule` among `existing`, replacing an older version of it (same ID). */
export function mergeLifecycleRules(existing: readonly LifecycleRule[], rule: LifecycleRule): MergeResult {
  const index = existing.findIndex((candidate) => candidate.ID === rule.ID);
  if (index === -1) return { change: 'added', rules: [...existing, rule] };
  const current = existing[index]!;
  if (essence(current) === essence(rule)) return { change: 'unchanged', rules: [...existing] };
  const rules = [...existing];
  rules[index] = rule;
  return { change: 'updated', rules };
}

/**
 * Smallest number of days that never cuts a file's retention short. The retention counts from
 * when the export succeeds; S3 may date an object from the start of its upload, up to the job's
 * time limit earlier: that is counted in.
 */
export function minimumLifecycleDays(fileTtlSeconds: number, jobTimeoutSeconds = 0): number {
  return Math.max(1, Math.ceil((fileTtlSeconds + jobTimeoutSeconds) / 86_400));
}

/**
 * Days after which S3 may abort an incomplete multipart upload without cutting short an export
 * still within its time limit (TAKEOUT_JOB_TIMEOUT, up to 24 days): the limit in whole days,
 * plus one day's margin.
 */
export function minimumAbortIncompleteDays(jobTimeoutSeconds: number): number {
  return Math.ceil(Math.max(0, jobTimeoutSeconds) / 86_400) + 1;
}

export function describeRule(rule: LifecycleRule): string {
  return (
    `expire "${rule.Filter?.Prefix}" after ${rule.Expiration?.Days} day(s), ` +
    `abort incomplete multipart uploads after ${rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation} day(s)`
  );
}
