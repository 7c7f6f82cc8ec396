/**
 * Streams a body of unknown length to S3 with bounded memory: at most `queueSize` parts in
 * flight plus the one being filled. Written instead of `@aws-sdk/lib-storage` to control the
 * known pitfalls (failed parts reported as success, aws-sdk-js-v3#2311; parts stranded when a
 * check fails after upload, #8299): every part must come back with an ETag (and our SHA-256
 * when the store echoes it), every numbered part must be present at completion, the stored
 * size (and composite SHA-256 where supported) is checked after completion, and any failure
 * or abort waits for in-flight parts and then aborts the multipart upload.
 */
import { createHash } from 'node:crypto';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { TakeoutError } from '../errors.js';
import { BufferPool, MAX_PARTS, partSizeFor } from './s3-parts.js';
import type { S3Sdk } from './s3-sdk.js';
import { isAbortError, s3ErrorCode, s3Failure } from './s3-sdk.js';
import { isStored, verifyStored } from './s3-verify.js';
import { abortable, abortError } from './streams.js';

export interface UploadTarget {
  sdk: S3Sdk;
  client: S3Client;
  bucket: string;
  key: string;
  /** Headers for the object: type, disposition, user metadata, encryption. */
  objectParams: {
    ContentType: string;
    ContentDisposition: string;
    Metadata: Record<string, string>;
    ServerSideEncryption?: 'AES256' | 'aws:kms';
    SSEKMSKeyId?: string;
  };
  partSize: number;
  uniformParts: boolean;
  queueSize: number;
  /** Send SHA-256 checksums per part / object (S3 verifies them on arrival). */
  checksums: boolean;
}

export interface UploadResult {
  size: number;
  sha256: string;
}

export async function uploadStream(
  target: UploadTarget,
  body: AsyncIterable<Uint8Array>,
  signal?: AbortSignal,
): Promise<UploadResult> {
  const { sdk, client, bucket, key } = target;
  const internal = new AbortController(); // stops in-flight parts when anything fails
  const onAbort = () => internal.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const send = async <T>(
    operation: string,
    call: (options: { abortSignal: AbortSignal }) => Promise<T>,
  ): Promise<T> => {
    try {
      return await call({ abortSignal: internal.signal });
    } catch (error) {
      if (signal?.aborted && (isAbortError(error) || internal.signal.aborted)) throw abortError(signal);
      throw s3Failure(operation, error);
    }
  };

  const pool = new BufferPool(target.queueSize + 1);
  const fileHash = createHash('sha256');
  const partDigests: Buffer[] = [];
  const parts: CompletedPart[] = [];
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  let uploadId: string | undefined;
  /**
   * PutObject / CompleteMultipartUpload was sent: from then on the object may exist even when
   * the answer never arrives (the caller aborted while S3 committed, the connection dropped), so
   * any failure deletes the key. Deleting a key that was never written is harmless.
   */
  let committing = false;
  let partNumber = 1;
  let size = 0;
  let buffer = pool.acquire(partSizeFor(1, target.partSize, target.uniformParts));
  let filled = 0;

  const uploadPart = async (number: number, data: Buffer): Promise<void> => {
    const digest = target.checksums ? createHash('sha256').update(data).digest() : undefined;
    if (digest) partDigests[number - 1] = digest;
    const checksum = digest?.toString('base64');
    const out = await send('UploadPart', (options) =>
      client.send(
        new sdk.UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: number,
          Body: data,
          ContentLength: data.length,
          ...(checksum ? { ChecksumSHA256: checksum } : {}),
        }),
        options,
      ),
    );
    if (!out.ETag)
      throw new TakeoutError('storage_integrity_error', `S3 accepted part ${number} without an ETag`);
    if (checksum && out.ChecksumSHA256 && out.ChecksumSHA256 !== checksum) {
      throw new TakeoutError('storage_integrity_error', `S3 stored part ${number} with another checksum`);
    }
    parts.push({ PartNumber: number, ETag: out.ETag, ...(checksum ? { ChecksumSHA256: checksum } : {}) });
  };

  const dispatchPart = async (): Promise<void> => {
    if (partNumber > MAX_PARTS) {
      // Not retryable: the same file needs as many parts again.
      throw new TakeoutError(
        'export_too_large',
        `The file needs more than ${MAX_PARTS} parts; raise the part size`,
      );
    }
    uploadId ??= await createUpload();
    const number = partNumber++;
    const data = buffer;
    const length = filled;
    buffer = pool.acquire(partSizeFor(partNumber, target.partSize, target.uniformParts));
    filled = 0;
    const task: Promise<void> = uploadPart(number, data.subarray(0, length))
      .catch((error: unknown) => {
        failure ??= error;
        internal.abort();
      })
      .finally(() => {
        pool.release(data);
        inflight.delete(task);
      });
    inflight.add(task);
    while (inflight.size >= target.queueSize && failure === undefined) await Promise.race(inflight);
    if (failure !== undefined) throw failure;
  };

  const createUpload = async (): Promise<string> => {
    const out = await send('CreateMultipartUpload', (options) =>
      client.send(
        new sdk.CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          ...target.objectParams,
          ...(target.checksums ? { ChecksumAlgorithm: 'SHA256' as const } : {}),
        }),
        options,
      ),
    );
    if (!out.UploadId) throw new TakeoutError('storage_error', 'S3 returned no upload id');
    return out.UploadId;
  };

  try {
    for await (const chunk of abortable(body, signal)) {
      fileHash.update(chunk);
      size += chunk.byteLength;
      let offset = 0;
      while (offset < chunk.byteLength) {
        // A full buffer is sent only once more bytes arrive: a body of exactly one part
        // then goes up as a single PutObject.
        if (filled === buffer.length) await dispatchPart();
        const n = Math.min(buffer.length - filled, chunk.byteLength - offset);
        buffer.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
      }
    }
    const fileDigest = fileHash.digest();
    let expectedChecksum: string | undefined;
    if (uploadId === undefined) {
      expectedChecksum = fileDigest.toString('base64');
      committing = true;
      await send('PutObject', (options) =>
        client.send(
          new sdk.PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: buffer.subarray(0, filled),
            ContentLength: filled,
            ...target.objectParams,
            ...(target.checksums ? { ChecksumSHA256: expectedChecksum } : {}),
          }),
          options,
        ),
      );
    } else {
      if (filled > 0) await dispatchPart();
      while (inflight.size > 0) await Promise.race(inflight);
      if (failure !== undefined) throw failure;
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      if (parts.length !== partNumber - 1 || parts.some((part, i) => part.PartNumber !== i + 1)) {
        throw new TakeoutError('storage_integrity_error', 'A part of the upload is missing');
      }
      committing = true;
      if (target.checksums) {
        const composite = createHash('sha256').update(Buffer.concat(partDigests)).digest('base64');
        expectedChecksum = `${composite}-${parts.length}`;
      }
      try {
        await send('CompleteMultipartUpload', (options) =>
          client.send(
            new sdk.CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
            }),
            options,
          ),
        );
      } catch (error) {
        // The answer to a Complete that worked can be lost (a reset connection; the SDK's retry
        // then finds no such upload): the object, checked whole, is the answer.
        if (signal?.aborted || !(await isStored(target, size, expectedChecksum))) throw error;
      }
      uploadId = undefined; // completed: nothing to abort any more
    }
    await verifyStored(target, size, expectedChecksum, internal.signal);
    return { size, sha256: fileDigest.toString('hex') };
  } catch (error) {
    internal.abort();
    await Promise.allSettled(inflight);
    // An abort that finds no upload (NoSuchUpload) may mean that the Complete sent won the race.
    if (uploadId !== undefined) await abortUpload(target, uploadId);
    // Committed or maybe committed, but not verified (the commit's answer was lost, the check
    // failed, or the caller aborted meanwhile): nothing is left behind.
    if (committing) await deleteQuietly(target);
    if (signal?.aborted && !(error instanceof TakeoutError && error.code !== 'aborted'))
      throw abortError(signal);
    throw error; // S3 failures are TakeoutErrors already; anything else came from the body
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Deletes the object an upload made, best effort: the sweeper removes it later if this fails. */
async function deleteQuietly({ sdk, client, bucket, key }: UploadTarget): Promise<void> {
  await client
    .send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }), {
      abortSignal: AbortSignal.timeout(10_000),
    })
    .catch(() => {});
}

/** Aborts the multipart upload, retrying briefly; a later lifecycle rule is the last resort. */
async function abortUpload(target: UploadTarget, uploadId: string): Promise<void> {
  const { sdk, client, bucket, key } = target;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // Bounded: a store that does not answer must not hold the failed export (and its job) up.
      await client.send(
        new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
        { abortSignal: AbortSignal.timeout(10_000) },
      );
      return;
    } catch (error) {
      if (s3ErrorCode(error) === 'NoSuchUpload') return;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}
