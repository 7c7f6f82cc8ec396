/**
 * Checks of an uploaded object against what was written: its size, and its SHA-256 (whole, or
 * composite for a multipart upload) where the store reports one.
 */
import { TakeoutError } from '../errors.js';
import type { UploadTarget } from './s3-multipart.js';
import { s3Failure } from './s3-sdk.js';

/** Whether the object is stored whole, asked within 10 s; any failure to tell is a no. */
export async function isStored(
  target: UploadTarget,
  size: number,
  expectedChecksum: string | undefined,
): Promise<boolean> {
  return verifyStored(target, size, expectedChecksum, AbortSignal.timeout(10_000)).then(
    () => true,
    () => false,
  );
}

/** Size must match; the SHA-256 (full or composite) too when the store reports one. */
export async function verifyStored(
  target: UploadTarget,
  size: number,
  expectedChecksum: string | undefined,
  signal: AbortSignal,
): Promise<void> {
  const { sdk, client, bucket, key } = target;
  let head: { ContentLength?: number; ChecksumSHA256?: string };
  try {
    head = await client.send(
      new sdk.HeadObjectCommand({
        Bucket: bucket,
        Key: key,
        ...(target.checksums ? { ChecksumMode: 'ENABLED' } : {}),
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    throw s3Failure('HeadObject', error);
  }
  const stripParts = (value: string) => value.replace(/-\d+$/, '');
  const sizeOk = head.ContentLength === size;
  const checksumOk =
    !expectedChecksum ||
    !head.ChecksumSHA256 ||
    stripParts(head.ChecksumSHA256) === stripParts(expectedChecksum);
  if (sizeOk && checksumOk) return;
  throw new TakeoutError(
    'storage_integrity_error',
    sizeOk
      ? 'The stored SHA-256 differs from the bytes written'
      : `Wrote ${size} bytes but S3 stored ${head.ContentLength}`,
  );
}
