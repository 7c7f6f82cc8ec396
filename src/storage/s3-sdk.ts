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
}

export async function createS3Client(options: S3ClientOptions): Promise<S3Client> {
  const { S3Client } = await loadS3Sdk();
  return new S3Client({
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.credentials ? { credentials: options.credentials } : {}),
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

/** Wraps an SDK failure: the S3 error code helps operators; no request details or credentials. */
export function s3Failure(operation: string, error: unknown): TakeoutError {
  if (error instanceof TakeoutError) return error;
  const code = s3ErrorCode(error);
  const suffix = code ? `: ${code}` : '';
  return new TakeoutError('storage_error', `S3 ${operation} failed${suffix}`, {
    cause: error,
    ...(code ? { details: { s3Code: code } } : {}),
  });
}
