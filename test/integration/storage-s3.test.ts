/**
 * The S3 driver against s3rver on a random loopback port, with the real AWS SDK over HTTP.
 * s3rver does not verify SigV4 signatures (a tampered presigned URL would still work there;
 * the disk tests cover tampering for our own links), does not implement lifecycle rules or
 * checksums, and refuses expired presigned URLs. Its missing AbortMultipartUpload and
 * ListMultipartUploads are added by test/support/s3rver-server.mjs.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3Storage, type S3StorageOptions, s3Storage } from '../../src/storage/s3.js';
import { storageContract } from '../contracts/storage.js';
import { generatedBytes } from '../support/bytes.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';

let server: S3rverHandle;
let bucketCount = 0;

beforeAll(async () => {
  server = await startS3rver();
});
afterAll(async () => {
  await server?.stop();
});

async function newStorage(options: Partial<S3StorageOptions> = {}): Promise<S3Storage> {
  const bucket = `takeout-test-${process.pid}-${bucketCount++}`;
  const storage = s3Storage({
    bucket,
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: server.credentials,
    ...options,
  });
  await (await storage.client()).send(new CreateBucketCommand({ Bucket: bucket }));
  return storage;
}

/** Unfinished multipart uploads, read from s3rver's directory (its real state). */
async function uploadsOnDisk(bucket: string): Promise<number> {
  return (await readdir(join(server.directory, bucket, '._S3rver_uploads')).catch(() => [])).length;
}

storageContract('s3 (s3rver)', async () => {
  const storage = await newStorage();
  return { storage, incomplete: () => uploadsOnDisk(storage.bucket), close: () => storage.close() };
});

type Captured = { operation: string; headers: Record<string, string> };

/** Records every request the SDK sends; `alter` may change an operation's output. */
function instrument(client: S3Client, alter?: (operation: string, output: Record<string, unknown>) => void) {
  const captured: Captured[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers: Record<string, string> };
      captured.push({
        operation: String(context.commandName).replace(/Command$/, ''),
        headers: { ...request.headers },
      });
      const result = await next(args);
      alter?.(
        String(context.commandName).replace(/Command$/, ''),
        result.output as unknown as Record<string, unknown>,
      );
      return result;
    },
    { step: 'finalizeRequest', name: 'captureRequests' },
  );
  return captured;
}

describe('s3 driver', () => {
  it('uploads multipart with SHA-256 part checksums, metadata and server-side encryption', async () => {
    const storage = await newStorage({ sse: 'aws:kms', kmsKeyId: 'alias/takeout' });
    const captured = instrument(await storage.client());
    const expiresAt = new Date('2031-02-03T04:05:06.789Z');
    const key = 'generated/2031/02/03/mp1/big.bin';
    const stored = await storage.put(key, generatedBytes(20 * 1024 * 1024), {
      contentType: 'application/octet-stream',
      filename: 'Grosse Datei ü.bin',
      expiresAt,
    });
    expect(stored.size).toBe(20 * 1024 * 1024);
    const operations = captured.map((c) => c.operation);
    expect(operations.filter((op) => op === 'UploadPart')).toHaveLength(3); // 8 + 8 + 4 MiB
    expect(operations).toContain('CompleteMultipartUpload');
    const create = captured.find((c) => c.operation === 'CreateMultipartUpload')!;
    expect(create.headers).toMatchObject({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'alias/takeout',
      'x-amz-checksum-algorithm': 'SHA256',
      'x-amz-meta-takeout-expires-at': expiresAt.toISOString(),
      'x-amz-meta-takeout-filename': encodeURIComponent('Grosse Datei ü.bin'),
      'content-type': 'application/octet-stream',
    });
    for (const part of captured.filter((c) => c.operation === 'UploadPart')) {
      expect(part.headers['x-amz-checksum-sha256']).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    }
    const info = await storage.stat(key);
    expect(info).toMatchObject({ size: stored.size, filename: 'Grosse Datei ü.bin', expiresAt });
    await storage.close();
  });

  it('sends a small file as one PutObject', async () => {
    const storage = await newStorage({ sse: 'AES256' });
    const captured = instrument(await storage.client());
    await storage.put('generated/a/one.csv', generatedBytes(1000), {
      contentType: 'text/csv',
      filename: 'one.csv',
    });
    const put = captured.find((c) => c.operation === 'PutObject');
    expect(put?.headers).toMatchObject({ 'x-amz-server-side-encryption': 'AES256' });
    expect(put?.headers['x-amz-checksum-sha256']).toBeTruthy();
    expect(captured.map((c) => c.operation)).not.toContain('CreateMultipartUpload');
    await storage.close();
  });

  it('presigns a GET with the download name, type and expiry, for the public endpoint', async () => {
    const storage = await newStorage({ publicEndpoint: 'https://files.example.com' });
    const url = new URL(
      await storage.signedUrl('generated/x/r.csv', {
        expiresIn: 900,
        filename: 'Résumé.csv',
        contentType: 'text/csv',
      }),
    );
    expect(url.origin).toBe('https://files.example.com');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('X-Amz-Date')).toMatch(/^\d{8}T\d{6}Z$/);
    expect(url.searchParams.get('response-content-type')).toBe('text/csv');
    expect(url.searchParams.get('response-cache-control')).toBe('private, no-store');
    expect(url.searchParams.get('response-content-disposition')).toBe(
      `attachment; filename="Resume.csv"; filename*=UTF-8''R%C3%A9sum%C3%A9.csv`,
    );
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^S3RVER\//); // the key id, never the secret
    // notAfter (a file's retention) caps the lifetime: signed at a whole second at or before now.
    const capped = new URL(
      await storage.signedUrl('generated/x/r.csv', {
        expiresIn: 900,
        notAfter: new Date(Date.now() + 10_500),
        filename: 'r.csv',
        contentType: 'text/csv',
      }),
    );
    expect(Number(capped.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(10);
    expect(url.href).not.toContain(server.credentials.secretAccessKey.repeat(2));
    await storage.close();
  });

  it('aborts the upload when a part fails, leaving no parts and no object', async () => {
    const storage = await newStorage();
    let parts = 0;
    const client = await storage.client();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand' && ++parts === 2) throw new Error('connection reset');
        return next(args);
      },
      { step: 'finalizeRequest', name: 'failSecondPart' },
    );
    const key = 'generated/f/fail.bin';
    const error = await storage
      .put(key, generatedBytes(30 * 1024 * 1024), { contentType: 'application/octet-stream', filename: 'f' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'storage_error' });
    expect((error as Error).message).toBe('S3 UploadPart failed');
    expect(await storage.stat(key)).toBeUndefined();
    expect(await uploadsOnDisk(storage.bucket)).toBe(0);
    await storage.close();
  });

  it('reports a missing bucket as a storage error that says so, never as a missing file', async () => {
    const storage = s3Storage({
      bucket: `takeout-test-${process.pid}-never-created`,
      endpoint: server.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: server.credentials,
    });
    const because = /NoSuchBucket: the configured bucket does not exist$/;
    // HeadObject answers a missing bucket with a bare 404, as it answers a missing key.
    const stat = await storage.stat('generated/f/a.csv').catch((e: unknown) => e);
    expect(stat).toMatchObject({ code: 'storage_error', message: expect.stringMatching(because) });
    const read = await storage.read('generated/f/a.csv').catch((e: unknown) => e);
    expect(read).toMatchObject({ code: 'storage_error', message: expect.stringMatching(because) });
    const put = await storage
      .put('generated/f/a.csv', generatedBytes(10), { contentType: 'text/csv', filename: 'a.csv' })
      .catch((e: unknown) => e);
    expect(put).toMatchObject({ code: 'storage_error', message: expect.stringMatching(because) });
    await storage.close();
    // The bucket there, the key not: still "no such file".
    const present = await newStorage();
    expect(await present.stat('generated/f/a.csv')).toBeUndefined();
    expect(await present.read('generated/f/a.csv')).toBeUndefined();
    await present.close();
  });

  it('says a refused request is about the credentials, with its HTTP status', async () => {
    const storage = await newStorage();
    (await storage.client()).middlewareStack.add(
      () => async () => {
        // What s3rver and some stores send for bad keys: a 403 without a body (code Unknown).
        throw Object.assign(new Error('UnknownError'), {
          name: 'Unknown',
          $metadata: { httpStatusCode: 403 },
        });
      },
      { step: 'finalizeRequest', name: 'refuse' },
    );
    await expect(storage.stat('generated/f/a.csv')).rejects.toMatchObject({
      code: 'storage_error',
      message:
        'S3 HeadObject failed: HTTP 403: the store refused these credentials or their permissions on the bucket',
    });
    await storage.close();
  });

  it('treats a part acknowledged without an ETag as a failure (aws-sdk-js-v3#2311)', async () => {
    const storage = await newStorage();
    instrument(await storage.client(), (operation, output) => {
      if (operation === 'UploadPart') delete output.ETag;
    });
    const key = 'generated/f/noetag.bin';
    await expect(
      storage.put(key, generatedBytes(12 * 1024 * 1024), {
        contentType: 'application/octet-stream',
        filename: 'f',
      }),
    ).rejects.toMatchObject({ code: 'storage_integrity_error' });
    expect(await storage.stat(key)).toBeUndefined();
    expect(await uploadsOnDisk(storage.bucket)).toBe(0);
    await storage.close();
  });

  it('deletes the object when the stored size differs from what was written', async () => {
    const storage = await newStorage();
    instrument(await storage.client(), (operation, output) => {
      if (operation === 'HeadObject') output.ContentLength = Number(output.ContentLength) - 1;
    });
    const key = 'generated/f/short.bin';
    await expect(
      storage.put(key, generatedBytes(9 * 1024 * 1024), {
        contentType: 'application/octet-stream',
        filename: 'f',
      }),
    ).rejects.toMatchObject({ code: 'storage_integrity_error' });
    const raw = await (await storage.client())
      .send(new HeadObjectCommand({ Bucket: storage.bucket, Key: key }))
      .catch((e: { name: string }) => e.name);
    expect(raw).toBe('NotFound');
    await storage.close();
  });

  it('deletes the object when its check fails after the upload completed (nothing left behind)', async () => {
    for (const [size, name] of [
      [12 * 1024 * 1024, 'multipart'],
      [1024, 'single'],
    ] as const) {
      const storage = await newStorage();
      const client = await storage.client();
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'HeadObjectCommand') throw new Error('connection reset');
          return next(args);
        },
        { step: 'finalizeRequest', name: 'failHead' },
      );
      const key = `generated/f/unchecked-${name}.bin`;
      await expect(
        storage.put(key, generatedBytes(size), { contentType: 'application/octet-stream', filename: 'f' }),
      ).rejects.toMatchObject({ code: 'storage_error' });
      client.middlewareStack.remove('failHead');
      expect(await storage.stat(key), name).toBeUndefined();
      expect(await uploadsOnDisk(storage.bucket)).toBe(0);
      await storage.close();
    }
  });

  it('deletes the object when the caller aborts while S3 commits it (answer lost, object stored)', async () => {
    for (const [size, name, commit] of [
      [12 * 1024 * 1024, 'multipart', 'CompleteMultipartUploadCommand'],
      [1024, 'single', 'PutObjectCommand'],
    ] as const) {
      const storage = await newStorage();
      const client = await storage.client();
      const controller = new AbortController();
      // S3 commits the object, but the cancel arrives before its answer: the SDK reports an abort.
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          if (context.commandName !== commit) return result;
          controller.abort(new Error('job canceled'));
          throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
        },
        { step: 'finalizeRequest', name: 'abortAtCommit' },
      );
      const key = `generated/f/aborted-at-commit-${name}.bin`;
      await expect(
        storage.put(
          key,
          generatedBytes(size),
          { contentType: 'application/octet-stream', filename: 'f' },
          controller.signal,
        ),
      ).rejects.toMatchObject({ code: 'aborted' });
      client.middlewareStack.remove('abortAtCommit');
      expect(await storage.stat(key), name).toBeUndefined();
      expect(await uploadsOnDisk(storage.bucket)).toBe(0);
      await storage.close();
    }
  });

  it('removes incomplete multipart uploads left by a crashed process', async () => {
    const storage = await newStorage();
    const client = await storage.client();
    await client.send(
      new CreateMultipartUploadCommand({ Bucket: storage.bucket, Key: 'generated/c/crashed.bin' }),
    );
    expect(await uploadsOnDisk(storage.bucket)).toBe(1);
    expect(await storage.removeIncomplete(new Date(Date.now() - 3_600_000))).toBe(0); // too young
    expect(await storage.removeIncomplete(new Date(Date.now() + 1000))).toBe(1);
    expect(await uploadsOnDisk(storage.bucket)).toBe(0);
    await storage.close();
  });

  it('removes only the incomplete uploads under a key prefix when given one', async () => {
    const storage = await newStorage();
    const client = await storage.client();
    for (const Key of ['generated/x/exp_a/a1/f.csv', 'generated/x/exp_b/a1/f.csv']) {
      await client.send(new CreateMultipartUploadCommand({ Bucket: storage.bucket, Key }));
    }
    const later = new Date(Date.now() + 1000);
    expect(await storage.removeIncomplete(later, { prefix: 'generated/x/exp_a/' })).toBe(1);
    expect(await uploadsOnDisk(storage.bucket)).toBe(1);
    expect(await storage.removeIncomplete(later, { prefix: 'generated/x/exp_a/' })).toBe(0);
    await storage.close();
  });
});
