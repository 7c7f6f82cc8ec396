/**
 * Loads the AWS SDK on first use only, so the embedded default (disk) never pays for it.
 * Everything else in the storage layer imports SDK *types* only.
 */
import type * as ClientS3 from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { TakeoutError } from '../errors.js';

export type S3Sdk = typeof ClientS3;

let sdk: Promise<S3Sdk> | undefined;

export function loadS3Sdk(): Promise<S3Sdk> {
  sdk ??= import('@aws-sdk/client-s3');
  return sdk;
}

export async function loadPresigner(): Promise<typeof import('@aws-sdk/s3-request-presigner')> {
  return import('@aws-sdk/s3-request-presigner');
}

export interface S3ClientOptions {
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Static credentials; default: the SDK's chain (env, profile, SSO, container, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Request timeouts, ms (S3_TIMEOUTS by default; tests shorten them). */
  timeouts?: Partial<typeof S3_TIMEOUTS>;
}

/**
 * How long a request to S3 may wait before it fails (and the SDK tries it again): a connection
 * within 5 s, and no request idle (no byte either way) for 30 s. The SDK sets neither: a store
 * that stops answering with its connection open held every request for ever, and with them a
 * job (its lease renewed all along), the readiness probe's sockets and the sweeper.
 */
export const S3_TIMEOUTS = { connectMs: 5000, idleMs: 30_000 };

/**
 * Tries per request, the first included, unless `AWS_MAX_ATTEMPTS` says otherwise (the SDK's
 * own default, 3, gives up on a part after two `503 SlowDown`s, and the export with it).
 */
export const S3_MAX_ATTEMPTS = 5;

export async function createS3Client(options: S3ClientOptions): Promise<S3Client> {
  const { S3Client } = await loadS3Sdk();
  const timeouts = { ...S3_TIMEOUTS, ...options.timeouts };
  return new S3Client({
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    requestHandler: { connectionTimeout: timeouts.connectMs, socketTimeout: timeouts.idleMs },
    // An explicit maxAttempts would override AWS_MAX_ATTEMPTS, which the SDK reads itself.
    ...(process.env.AWS_MAX_ATTEMPTS ? {} : { maxAttempts: S3_MAX_ATTEMPTS }),
    // We send our own SHA-256 checksums; the SDK's default CRC32 ones (and its aws-chunked
    // trailers) break several S3-compatible stores and would only duplicate the work.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The S3 error code of an SDK error (`NoSuchKey`, `NotImplemented` ...) or a network one (`ECONNREFUSED`). */
export function s3ErrorCode(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const e = error as { name?: string; Code?: string; code?: unknown };
  if (e.Code) return e.Code;
  if (typeof e.code === 'string') return e.code;
  return e.name && e.name !== 'Error' ? e.name : undefined;
}

export function httpStatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** Network failures of the SDK's HTTP client: the endpoint did not answer at all. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);
const REFUSED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden']);

/**
 * What an S3 failure most likely means, said in its message: an operator reading a worker's log
 * or a failed job should not have to know that `NoSuchBucket` or a bare 403 means a setting.
 */
export function s3Reason(code: string | undefined, status: number | undefined): string {
  const shown = code && code !== 'Unknown' ? code : status ? `HTTP ${status}` : code;
  if (code === 'NoSuchBucket') return `${shown}: the configured bucket does not exist`;
  // The SDK found no credentials at all (no variables, profile or role): nothing was sent.
  if (code === 'CredentialsProviderError') {
    return `${shown}: no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give the process a role or profile`;
  }
  if (code === 'ExpiredToken' || code === 'TokenRefreshRequired') {
    return `${shown}: the temporary credentials expired (a fixed AWS_SESSION_TOKEN is never renewed: give the process a role or profile the SDK refreshes)`;
  }
  if (status === 403 || (code && REFUSED.has(code))) {
    return `${shown === 'HTTP 403' ? shown : `${shown} (HTTP 403)`}: the store refused these credentials or their permissions on the bucket`;
  }
  if (code && UNREACHABLE.has(code)) return `${code}: the S3 endpoint cannot be reached`;
  return shown ?? '';
}

/** Wraps an SDK failure: the S3 error code and what it means; no request details or credentials. */
export function s3Failure(operation: string, error: unknown): TakeoutError {
  if (error instanceof TakeoutError) return error;
  const code = s3ErrorCode(error);
  const reason = s3Reason(code, httpStatusOf(error));
  return new TakeoutError('storage_error', `S3 ${operation} failed${reason ? `: ${reason}` : ''}`, {
    cause: error,
    ...(code ? { details: { s3Code: code } } : {}),
  });
}

/** The error for an object operation that found no bucket (a 404 that is not about the key). */
export function missingBucket(operation: string): TakeoutError {
  return new TakeoutError('storage_error', `S3 ${operation} failed: ${s3Reason('NoSuchBucket', 404)}`, {
    details: { s3Code: 'NoSuchBucket' },
  });
}
