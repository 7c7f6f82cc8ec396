/**
 * `takeout storage setup` for S3: the bucket must exist and not be public; the lifecycle rule
 * is applied (idempotently). Every step reports one line; a store that lacks an API (s3rver,
 * some S3-compatible stores) gets "not supported" rather than a stack trace.
 */
import type { LifecycleRule, TransitionDefaultMinimumObjectSize } from '@aws-sdk/client-s3';
import { describeRule, mergeLifecycleRules, takeoutLifecycleRule } from './lifecycle.js';
import type { S3Storage } from './s3.js';
import { httpStatusOf, loadS3Sdk, s3ErrorCode, s3Reason } from './s3-sdk.js';

export type StepStatus = 'ok' | 'changed' | 'unsupported' | 'failed';

export interface SetupStep {
  step: 'bucket' | 'public access' | 'lifecycle';
  status: StepStatus;
  message: string;
}

export interface SetupOptions {
  days: number;
  /** Days after which S3 aborts incomplete multipart uploads (`minimumAbortIncompleteDays`). Default 1. */
  abortIncompleteDays?: number;
  /** Report what would change without changing it. */
  dryRun?: boolean;
}

const NOT_SUPPORTED = new Set(['NotImplemented', 'MethodNotAllowed', 'XNotImplemented']);
const PUBLIC_GROUPS = [
  'http://acs.amazonaws.com/groups/global/AllUsers',
  'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
];

const unsupported = (error: unknown) =>
  NOT_SUPPORTED.has(s3ErrorCode(error) ?? '') || httpStatusOf(error) === 501;
const codeOf = (error: unknown) => s3ErrorCode(error) ?? 'unknown error';

export async function setupS3Bucket(storage: S3Storage, options: SetupOptions): Promise<SetupStep[]> {
  const sdk = await loadS3Sdk();
  const s3 = await storage.client();
  const Bucket = storage.bucket;
  const steps: SetupStep[] = [];

  try {
    await s3.send(new sdk.HeadBucketCommand({ Bucket }));
    steps.push({ step: 'bucket', status: 'ok', message: `bucket "${Bucket}" exists` });
  } catch (error) {
    const status = httpStatusOf(error);
    // HeadBucket answers without a body: the status is all there is to say why.
    const message =
      status === 404
        ? `bucket "${Bucket}" does not exist; create it (private) first`
        : status === 403
          ? `access to bucket "${Bucket}" is denied (HTTP 403): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that they may list the bucket`
          : `bucket "${Bucket}" cannot be reached (${s3Reason(s3ErrorCode(error), status) || codeOf(error)})`;
    steps.push({ step: 'bucket', status: 'failed', message });
    return steps;
  }

  steps.push(await checkNotPublic(sdk, s3, Bucket));

  const rule = takeoutLifecycleRule({
    prefix: storage.prefix,
    days: options.days,
    ...(options.abortIncompleteDays === undefined
      ? {}
      : { abortIncompleteDays: options.abortIncompleteDays }),
  });
  let existing: LifecycleRule[];
  // A PUT replaces the whole configuration: the bucket-wide setting is put back as it was.
  let transitionDefault: TransitionDefaultMinimumObjectSize | undefined;
  try {
    const current = await s3.send(new sdk.GetBucketLifecycleConfigurationCommand({ Bucket }));
    existing = current.Rules ?? [];
    transitionDefault = current.TransitionDefaultMinimumObjectSize;
  } catch (error) {
    if (s3ErrorCode(error) === 'NoSuchLifecycleConfiguration') existing = [];
    else if (unsupported(error)) {
      steps.push({
        step: 'lifecycle',
        status: 'unsupported',
        message:
          'not supported by this store: expired files are still deleted by the sweeper, ' +
          'but remove incomplete multipart uploads by other means',
      });
      return steps;
    } else {
      steps.push({
        step: 'lifecycle',
        status: 'failed',
        message: `cannot read the rules (${codeOf(error)})`,
      });
      return steps;
    }
  }
  const merged = mergeLifecycleRules(existing, rule);
  if (merged.change === 'unchanged') {
    steps.push({ step: 'lifecycle', status: 'ok', message: `already in place: ${describeRule(rule)}` });
    return steps;
  }
  if (options.dryRun) {
    steps.push({
      step: 'lifecycle',
      status: 'changed',
      message: `would be ${merged.change}: ${describeRule(rule)}`,
    });
    return steps;
  }
  try {
    await s3.send(
      new sdk.PutBucketLifecycleConfigurationCommand({
        Bucket,
        LifecycleConfiguration: { Rules: merged.rules },
        ...(transitionDefault ? { TransitionDefaultMinimumObjectSize: transitionDefault } : {}),
      }),
    );
    steps.push({
      step: 'lifecycle',
      status: 'changed',
      message: `rule ${merged.change}: ${describeRule(rule)}`,
    });
  } catch (error) {
    steps.push(
      unsupported(error)
        ? { step: 'lifecycle', status: 'unsupported', message: 'not supported by this store' }
        : { step: 'lifecycle', status: 'failed', message: `cannot apply the rule (${codeOf(error)})` },
    );
  }
  return steps;
}

async function checkNotPublic(
  sdk: Awaited<ReturnType<typeof loadS3Sdk>>,
  s3: Awaited<ReturnType<S3Storage['client']>>,
  Bucket: string,
): Promise<SetupStep> {
  let checked = 0;
  try {
    const block = (await s3.send(new sdk.GetPublicAccessBlockCommand({ Bucket })))
      .PublicAccessBlockConfiguration;
    if (
      block?.BlockPublicAcls &&
      block.IgnorePublicAcls &&
      block.BlockPublicPolicy &&
      block.RestrictPublicBuckets
    ) {
      return { step: 'public access', status: 'ok', message: 'private: Block Public Access is fully on' };
    }
    checked++;
  } catch (error) {
    if (s3ErrorCode(error) === 'NoSuchPublicAccessBlockConfiguration') checked++;
    else if (!unsupported(error)) return failedCheck(error);
  }
  try {
    const status = await s3.send(new sdk.GetBucketPolicyStatusCommand({ Bucket }));
    if (status.PolicyStatus?.IsPublic) {
      return {
        step: 'public access',
        status: 'failed',
        message: 'PUBLIC: the bucket policy grants public access',
      };
    }
    checked++;
  } catch (error) {
    if (s3ErrorCode(error) === 'NoSuchBucketPolicy') checked++;
    else if (!unsupported(error)) return failedCheck(error);
  }
  try {
    const acl = await s3.send(new sdk.GetBucketAclCommand({ Bucket }));
    if (acl.Grants?.some((grant) => PUBLIC_GROUPS.includes(grant.Grantee?.URI ?? ''))) {
      return {
        step: 'public access',
        status: 'failed',
        message: 'PUBLIC: the bucket ACL grants access to everyone',
      };
    }
    checked++;
  } catch (error) {
    if (!unsupported(error)) return failedCheck(error);
  }
  return checked === 0
    ? {
        step: 'public access',
        status: 'unsupported',
        message: 'cannot be checked: not supported by this store',
      }
    : { step: 'public access', status: 'ok', message: 'private: no public policy or ACL grant' };
}

function failedCheck(error: unknown): SetupStep {
  return { step: 'public access', status: 'failed', message: `cannot be checked (${codeOf(error)})` };
}
