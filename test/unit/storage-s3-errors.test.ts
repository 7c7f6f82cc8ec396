import { describe, expect, it } from 'vitest';
import { s3Failure } from '../../src/storage/s3-sdk.js';

/** An error shaped as the AWS SDK throws them: a name (the S3 code) and the HTTP status. */
function sdkError(name: string, status?: number): Error {
  return Object.assign(new Error('raw SDK message'), {
    name,
    ...(status ? { $metadata: { httpStatusCode: status } } : {}),
  });
}

describe('s3Failure', () => {
  it('says what an S3 failure most likely means, never the raw message', () => {
    const message = (error: unknown) => s3Failure('PutObject', error).message;
    expect(message(sdkError('NoSuchBucket', 404))).toBe(
      'S3 PutObject failed: NoSuchBucket: the configured bucket does not exist',
    );
    expect(message(sdkError('AccessDenied', 403))).toMatch(
      /AccessDenied \(HTTP 403\): the store refused these credentials/,
    );
    expect(message(sdkError('ExpiredToken', 400))).toMatch(
      /^S3 PutObject failed: ExpiredToken: the temporary credentials expired \(a fixed AWS_SESSION_TOKEN is never renewed/,
    );
    // What the SDK throws when it finds no credentials at all (the audit's missing secret).
    expect(message(sdkError('CredentialsProviderError'))).toBe(
      'S3 PutObject failed: CredentialsProviderError: no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give the process a role or profile',
    );
    expect(message(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(
      'S3 PutObject failed: ECONNREFUSED: the S3 endpoint cannot be reached',
    );
    expect(s3Failure('PutObject', sdkError('SlowDown', 503))).toMatchObject({
      code: 'storage_error',
      retryable: true,
      details: { s3Code: 'SlowDown' },
    });
  });
});
