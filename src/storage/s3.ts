/**
 * S3 and S3-compatible storage (MinIO, Ceph, R2) through the AWS SDK v3, loaded on first
 * use. Uploads stream as multipart uploads (s3-multipart.ts); links are SigV4 presigned GETs
 * that set the download name and type; the expiry instant is kept in user metadata
 * (`x-amz-meta-takeout-expires-at`) for the sweeper.
 */
import type {
  HeadObjectCommandOutput,
  ListMultipartUploadsCommandOutput,
  S3Client,
} from '@aws-sdk/client-s3';
import { contentDisposition } from '../content-disposition.js';
import { TakeoutError } from '../errors.js';
import { assertValidKey, normalizePrefix } from './keys.js';
import { uploadStream } from './s3-multipart.js';
import {
  DEFAULT_PART_SIZE,
  MAX_PART_SIZE,
  MAX_PART_SIZE_TEXT,
  MIN_PART_SIZE,
  maxUploadSize,
} from './s3-parts.js';
import {
  createS3Client,
  httpStatusOf,
  loadPresigner,
  loadS3Sdk,
  missingBucket,
  type S3ClientOptions,
  type S3Sdk,
  s3ErrorCode,
  s3Failure,
} from './s3-sdk.js';
import type { ListedObject, ObjectInfo, Storage } from './types.js';
import { assertLinkOptions } from './validation.js';

export interface S3StorageOptions extends S3ClientOptions {
  bucket: string;
  /** Key prefix of the exports. Default `generated/`. */
  prefix?: string;
  /** Server-side encryption: `AES256` (SSE-S3) or `aws:kms` (SSE-KMS, with `kmsKeyId` or the bucket default). */
  sse?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  /** Size of the first parts (5 MiB to 5 GiB; 4 GiB on Node 20). Default 8 MiB. */
  partSize?: number;
  /** Keep every part the same size (Cloudflare R2 requires it). Default false: parts grow. */
  uniformParts?: boolean;
  /** Parts uploaded at once; memory is about (queueSize + 1) x part size. Default 4. */
  queueSize?: number;
  /** Send and verify SHA-256 checksums. Default true; turn off for stores that reject them. */
  checksums?: boolean;
  /** Endpoint put in presigned links when clients reach the store by another address. */
  publicEndpoint?: string;
  /** Use this client instead of creating one (it is not destroyed by `close`). */
  client?: S3Client;
}

export interface S3Storage extends Storage {
  readonly kind: 's3';
  readonly bucket: string;
  readonly prefix: string;
  /** The SDK client (created on first use). */
  client(): Promise<S3Client>;
}

const META_EXPIRES_AT = 'takeout-expires-at';
const META_FILENAME = 'takeout-filename';

export function s3Storage(options: S3StorageOptions): S3Storage {
  const bucket = options.bucket;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new TakeoutError(
      'config_error',
      'The S3 bucket name (bucket) is not valid: 3-63 lowercase letters, digits, dots and hyphens',
    );
  }
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw new TakeoutError(
      'config_error',
      `The S3 option partSize must be from 5 MiB to ${MAX_PART_SIZE_TEXT}`,
    );
  }
  const queueSize = options.queueSize ?? 4;
  if (!Number.isInteger(queueSize) || queueSize < 1 || queueSize > 64) {
    throw new TakeoutError('config_error', 'The S3 option queueSize must be from 1 to 64');
  }
  if (options.sse !== undefined && options.sse !== 'AES256' && options.sse !== 'aws:kms') {
    throw new TakeoutError('config_error', 'S3 server-side encryption must be AES256 or aws:kms');
  }
  if (options.kmsKeyId && options.sse !== 'aws:kms') {
    throw new TakeoutError('config_error', 'The S3 option kmsKeyId needs sse aws:kms');
  }
  const prefix = normalizePrefix(options.prefix);
  const ownsClient = !options.client;
  let clientPromise: Promise<S3Client> | undefined = options.client
    ? Promise.resolve(options.client)
    : undefined;
  let presignClientPromise: Promise<S3Client> | undefined;
  const client = (): Promise<S3Client> => {
    clientPromise ??= createS3Client(options);
    return clientPromise;
  };
  const presignClient = (): Promise<S3Client> => {
    if (!options.publicEndpoint) return client();
    presignClientPromise ??= createS3Client({ ...options, endpoint: options.publicEndpoint });
    return presignClientPromise;
  };
  const call = async <T>(operation: string, run: (sdk: S3Sdk, s3: S3Client) => Promise<T>): Promise<T> => {
    const [sdk, s3] = await Promise.all([loadS3Sdk(), client()]);
    try {
      return await run(sdk, s3);
    } catch (error) {
      throw s3Failure(operation, error);
    }
  };

  /** Whether the bucket is gone (HeadBucket: 404); any other answer leaves the key's 404 standing. */
  async function bucketMissing(sdk: S3Sdk, s3: S3Client): Promise<boolean> {
    try {
      await s3.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
      return false;
    } catch (error) {
      return httpStatusOf(error) === 404;
    }
  }

  async function* list(listPrefix = prefix, signal?: AbortSignal): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      const page = await call('ListObjectsV2', (sdk, s3) =>
        s3.send(
          new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: listPrefix, ContinuationToken: token }),
          signal ? { abortSignal: signal } : {},
        ),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue;
        yield { key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  return {
    kind: 's3',
    bucket,
    prefix,
    maxObjectBytes: maxUploadSize(partSize, options.uniformParts ?? false),
    client,
    async put(key, body, meta, signal) {
      assertValidKey(key);
      const [sdk, s3] = await Promise.all([loadS3Sdk(), client()]);
      const metadata: Record<string, string> = {
        // Header values must be ASCII: the name is percent-encoded.
        [META_FILENAME]: encodeURIComponent(meta.filename),
        ...(meta.expiresAt ? { [META_EXPIRES_AT]: meta.expiresAt.toISOString() } : {}),
      };
      const result = await uploadStream(
        {
          sdk,
          client: s3,
          bucket,
          key,
          objectParams: {
            ContentType: meta.contentType,
            ContentDisposition: contentDisposition(meta.filename),
            Metadata: metadata,
            ...(options.sse ? { ServerSideEncryption: options.sse } : {}),
            ...(options.kmsKeyId ? { SSEKMSKeyId: options.kmsKeyId } : {}),
          },
          partSize,
          uniformParts: options.uniformParts ?? false,
          queueSize,
          checksums: options.checksums ?? true,
        },
        body,
        signal,
      );
      return { key, size: result.size, sha256: result.sha256 };
    },
    async signedUrl(key, opts) {
      assertValidKey(key);
      assertLinkOptions(opts);
      const [sdk, { getSignedUrl }, s3] = await Promise.all([loadS3Sdk(), loadPresigner(), presignClient()]);
      const command = new sdk.GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ResponseContentDisposition: contentDisposition(opts.filename),
        ResponseContentType: opts.contentType,
        // As the disk route answers: a private export is kept by no cache on the way.
        ResponseCacheControl: 'private, no-store',
      });
      // SigV4 counts from its signing time, a whole second at or before now: capped here,
      // the link ends by `notAfter`.
      const left = opts.notAfter ? Math.floor((opts.notAfter.getTime() - Date.now()) / 1000) : opts.expiresIn;
      try {
        return await getSignedUrl(s3, command, { expiresIn: Math.max(1, Math.min(opts.expiresIn, left)) });
      } catch (error) {
        throw s3Failure('presign', error);
      }
    },
    async delete(key) {
      assertValidKey(key);
      await call('DeleteObject', (sdk, s3) =>
        s3.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key })),
      );
    },
    async stat(key): Promise<ObjectInfo | undefined> {
      assertValidKey(key);
      const [sdk, s3] = await Promise.all([loadS3Sdk(), client()]);
      let head: HeadObjectCommandOutput;
      try {
        head = await s3.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
      } catch (error) {
        if (httpStatusOf(error) !== 404 && s3ErrorCode(error) !== 'NotFound')
          throw s3Failure('HeadObject', error);
        // A HEAD answers a missing bucket as it answers a missing key: a bare 404. Telling a
        // user their file expired when the bucket is misconfigured would look like data loss.
        if (await bucketMissing(sdk, s3)) throw missingBucket('HeadObject');
        return undefined;
      }
      const metadata = head.Metadata ?? {};
      const expiresAt = metadata[META_EXPIRES_AT] ? new Date(metadata[META_EXPIRES_AT]) : undefined;
      let filename = key.slice(key.lastIndexOf('/') + 1);
      try {
        if (metadata[META_FILENAME]) filename = decodeURIComponent(metadata[META_FILENAME]);
      } catch {} // foreign metadata: keep the key's name
      return {
        key,
        size: head.ContentLength ?? 0,
        lastModified: head.LastModified ?? new Date(0),
        contentType: head.ContentType ?? 'application/octet-stream',
        filename,
        ...(expiresAt && !Number.isNaN(expiresAt.getTime()) ? { expiresAt } : {}),
      };
    },
    list,
    async read(key, signal) {
      assertValidKey(key);
      const [sdk, s3] = await Promise.all([loadS3Sdk(), client()]);
      try {
        const object = await s3.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), {
          abortSignal: signal,
        });
        return object.Body as AsyncIterable<Uint8Array> | undefined;
      } catch (error) {
        const code = s3ErrorCode(error);
        if (code === 'NoSuchBucket') throw s3Failure('GetObject', error);
        if (httpStatusOf(error) === 404 || code === 'NoSuchKey') return undefined;
        throw s3Failure('GetObject', error);
      }
    },
    async removeIncomplete(before, options = {}) {
      const [sdk, s3] = await Promise.all([loadS3Sdk(), client()]);
      let removed = 0;
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        let page: ListMultipartUploadsCommandOutput;
        try {
          page = await s3.send(
            new sdk.ListMultipartUploadsCommand({
              Bucket: bucket,
              Prefix: options.prefix ?? prefix,
              KeyMarker: keyMarker,
              UploadIdMarker: uploadIdMarker,
            }),
          );
        } catch (error) {
          if (s3ErrorCode(error) === 'NotImplemented') return removed; // the lifecycle rule's job there
          throw s3Failure('ListMultipartUploads', error);
        }
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated >= before) continue;
          try {
            await s3.send(
              new sdk.AbortMultipartUploadCommand({
                Bucket: bucket,
                Key: upload.Key,
                UploadId: upload.UploadId,
              }),
            );
            removed++;
          } catch (error) {
            if (s3ErrorCode(error) !== 'NoSuchUpload') throw s3Failure('AbortMultipartUpload', error);
          }
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
      return removed;
    },
    async close() {
      if (ownsClient && clientPromise) (await clientPromise).destroy();
      if (presignClientPromise) (await presignClientPromise).destroy();
    },
  };
}
