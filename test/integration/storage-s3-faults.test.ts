/**
 * The S3 driver when S3 misbehaves, with the real AWS SDK against s3rver: a store that stops
 * answering with its connections open fails requests within their timeouts (it used to hold
 * them, and the job, for ever), and a Complete whose answer is lost keeps the file it made.
 */
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTakeoutError } from '../../src/errors.js';
import { s3Storage } from '../../src/storage/s3.js';
import { generatedBytes } from '../support/bytes.js';
import { type S3rverHandle, s3rverStorage, startS3rver } from '../support/s3rver.js';

const META = { contentType: 'application/octet-stream', filename: 'x.bin' };
const MiB = 1024 * 1024;

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  s3?.thaw();
  await s3?.stop();
});

async function sha256Of(body: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk);
  return hash.digest('hex');
}

describe('S3 that stops answering', () => {
  it('fails stat, list and put within their timeouts, and works again once S3 answers', async () => {
    // Short timeouts and two tries, so that the test takes seconds, not the minutes of the defaults.
    const previous = process.env.AWS_MAX_ATTEMPTS;
    process.env.AWS_MAX_ATTEMPTS = '2';
    const storage = await s3rverStorage(s3, `frozen-${process.pid}`, {
      timeouts: { connectMs: 1000, idleMs: 1000 },
    });
    try {
      const before = await storage.put('generated/before.bin', generatedBytes(MiB), META);
      s3.freeze();
      try {
        for (const [name, call] of [
          ['stat', () => storage.stat('generated/before.bin')],
          [
            'list',
            async () => {
              for await (const _ of storage.list('generated/')) break;
            },
          ],
          ['put', () => storage.put('generated/during.bin', generatedBytes(12 * MiB), META)],
        ] as const) {
          const started = Date.now();
          const error = await (call as () => Promise<unknown>)().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(isTakeoutError(error) && error.code, `${name}: ${String(error)}`).toBe('storage_error');
          expect(Date.now() - started, name).toBeLessThan(15_000);
        }
        // A listing given up on (a readiness probe's, after 2 s) ends at once, not at a timeout.
        const started = Date.now();
        const stopped = await (async () => {
          for await (const _ of storage.list('generated/', AbortSignal.timeout(300))) break;
        })().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(stopped).toBeDefined();
        expect(Date.now() - started).toBeLessThan(900);
      } finally {
        s3.thaw();
      }
      expect(await storage.stat('generated/before.bin')).toMatchObject({ size: before.size });
      const after = await storage.put('generated/after.bin', generatedBytes(12 * MiB), META);
      expect(after.size).toBe(12 * MiB);
    } finally {
      if (previous === undefined) delete process.env.AWS_MAX_ATTEMPTS;
      else process.env.AWS_MAX_ATTEMPTS = previous;
      await storage.close();
    }
  }, 60_000);
});

describe('a CompleteMultipartUpload whose answer is lost', () => {
  let proxy: Server;
  let completes = 0;

  beforeAll(async () => {
    const upstream = new URL(s3.endpoint);
    // Forwards everything; the first Complete reaches s3rver, but its answer never comes back.
    proxy = createServer((req, res) => {
      const complete = req.method === 'POST' && /[?&]uploadId=/.test(req.url ?? '');
      if (complete) completes++;
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          if (complete && completes === 1) {
            answer.resume();
            answer.once('end', () => req.socket.destroy());
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => req.socket.destroy());
      req.pipe(forward);
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
  });
  afterAll(async () => {
    proxy?.closeAllConnections();
    await new Promise((done) => proxy?.close(done));
  });

  it('keeps the file the Complete made, checked whole, instead of deleting it', async () => {
    const bucket = `lost-complete-${process.pid}`;
    await (await s3rverStorage(s3, bucket)).close(); // makes the bucket
    const storage = s3Storage({
      bucket,
      endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: s3.credentials,
    });
    try {
      const size = 12 * MiB; // two parts: a multipart upload
      const expected = await sha256Of(generatedBytes(size));
      const stored = await storage.put('generated/kept.bin', generatedBytes(size), META);
      expect(completes).toBeGreaterThanOrEqual(2); // the SDK tried again, and failed
      expect(stored).toMatchObject({ size, sha256: expected });
      expect(await sha256Of((await storage.read('generated/kept.bin'))!)).toBe(expected);
    } finally {
      await storage.close();
    }
  }, 60_000);
});
