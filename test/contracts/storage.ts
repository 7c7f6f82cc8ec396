/**
 * The storage contract: every driver (disk, S3) must pass these tests. Call
 * `storageContract(name, makeHarness)` from an integration test file.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sanitizeFilename } from '../../src/content-disposition.js';
import { exportKey } from '../../src/storage/keys.js';
import { sweepExpired } from '../../src/storage/sweeper.js';
import type { Storage } from '../../src/storage/types.js';
import { download, generatedBytes, sha256Of } from '../support/bytes.js';
import { eventually } from '../support/eventually.js';

const require = createRequire(import.meta.url);
const { parse: parseDisposition } = require('content-disposition') as {
  parse(header: string): { type: string; parameters: Record<string, string> };
};

export interface StorageHarness {
  storage: Storage;
  /** Unfinished writes the store holds now: temp files (disk), multipart uploads (S3). */
  incomplete(): Promise<number>;
  /**
   * The store keeps files in this process's memory (the memory driver): the large upload is
   * smaller and its memory bound does not apply, by definition.
   */
  holdsFilesInMemory?: boolean;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

export function storageContract(name: string, makeHarness: () => Promise<StorageHarness>): void {
  describe(`storage contract: ${name}`, () => {
    let harness: StorageHarness;
    let storage: Storage;
    let counter = 0;
    const newKey = (filename = 'export.csv', createdAt = new Date()) =>
      exportKey({ exportId: `t${Date.now().toString(36)}x${counter++}`, filename, createdAt });

    beforeAll(async () => {
      harness = await makeHarness();
      storage = harness.storage;
    });
    afterAll(async () => {
      await harness?.close();
    });

    // First in the file, so earlier tests do not raise the process's memory high-water mark.
    it('streams a 200 MB upload with peak RSS growth under 64 MB and downloads it exactly', async () => {
      const inMemory = harness.holdsFilesInMemory === true;
      const total = (inMemory ? 16 : 200) * MiB;
      const expected = await sha256Of(generatedBytes(total));
      const key = newKey('big.bin');
      const baseline = process.memoryUsage.rss();
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage.rss());
      }, 10);
      const started = performance.now();
      let stored: Awaited<ReturnType<Storage['put']>>;
      try {
        // With a signal, as a worker always passes one (it once made every chunk stay in memory).
        const signal = new AbortController().signal;
        stored = await storage.put(
          key,
          generatedBytes(total),
          { contentType: 'application/octet-stream', filename: 'big.bin' },
          signal,
        );
      } finally {
        clearInterval(sampler);
      }
      const seconds = (performance.now() - started) / 1000;
      peak = Math.max(peak, process.memoryUsage.rss());
      const growthMB = (peak - baseline) / MiB;
      console.log(
        `[${name}] ${total / MiB} MiB put: ${seconds.toFixed(2)} s, ${(total / MiB / seconds).toFixed(0)} MiB/s, ` +
          `peak RSS growth ${growthMB.toFixed(1)} MiB`,
      );
      expect(stored).toEqual({ key, size: total, sha256: expected.sha256 });
      if (!inMemory) expect(growthMB).toBeLessThan(64);

      const url = await storage.signedUrl(key, {
        expiresIn: 60,
        filename: 'big.bin',
        contentType: 'application/octet-stream',
      });
      const got = await download(url);
      expect(got.response.status).toBe(200);
      expect(got.size).toBe(total);
      expect(got.sha256).toBe(expected.sha256);
      await storage.delete(key);
    });

    it('serves the exact bytes through a signed link with type and a unicode filename', async () => {
      const filename = 'Überweisungen März 2024 – naïve "q" 😀.csv';
      const key = newKey(filename);
      const content = 'id,name\n1,Zoë\n2,"a, b"\n';
      const stored = await storage.put(key, chunks('id,name\n', '1,Zoë\n', '2,"a, b"\n'), {
        contentType: 'text/csv; charset=utf-8',
        filename,
      });
      expect(stored.size).toBe(Buffer.byteLength(content));
      expect(stored.sha256).toBe(createHash('sha256').update(content).digest('hex'));

      const url = await storage.signedUrl(key, {
        expiresIn: 60,
        filename,
        contentType: 'text/csv; charset=utf-8',
      });
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(content));
      const disposition = parseDisposition(response.headers.get('content-disposition') ?? '');
      expect(disposition.type).toBe('attachment');
      expect(disposition.parameters.filename).toBe(sanitizeFilename(filename));
      expect(disposition.parameters.filename).toBe('Überweisungen März 2024 – naïve _q_ 😀.csv');
      expect(Buffer.from(await response.arrayBuffer()).toString('utf8')).toBe(content);
    });

    it('stops serving a link after it expires', async () => {
      // s3rver does not verify SigV4 signatures, but it does refuse a presigned URL whose
      // X-Amz-Date + X-Amz-Expires has passed, so this runs against both drivers.
      const key = newKey('short.csv');
      await storage.put(key, chunks('a\n'), { contentType: 'text/csv', filename: 'short.csv' });
      // SigV4 dates have whole seconds: sign at the start of a second, so "1 s" is 1 s.
      await sleep(1000 - (Date.now() % 1000));
      const url = await storage.signedUrl(key, {
        expiresIn: 1,
        filename: 'short.csv',
        contentType: 'text/csv',
      });
      const fresh = await fetch(url);
      expect(fresh.status).toBe(200);
      expect(await fresh.text()).toBe('a\n');
      await sleep(2100);
      const expired = await fetch(url);
      expect(expired.status).toBe(403);
      await expired.arrayBuffer();
    });

    it("ends a link by notAfter (a file's retention), whatever expiresIn says", async () => {
      const key = newKey('capped.csv');
      await storage.put(key, chunks('a\n'), { contentType: 'text/csv', filename: 'capped.csv' });
      await sleep(1000 - (Date.now() % 1000)); // signed at the start of a second, as above
      const url = await storage.signedUrl(key, {
        expiresIn: 3600,
        notAfter: new Date(Date.now() + 1500),
        filename: 'capped.csv',
        contentType: 'text/csv',
      });
      const fresh = await fetch(url);
      expect(fresh.status).toBe(200);
      await fresh.arrayBuffer();
      await sleep(2600);
      const after = await fetch(url);
      expect(after.status).toBe(403);
      await after.arrayBuffer();
    });

    it('leaves no object and no parts when an upload is aborted half way', async () => {
      const key = newKey('aborted.bin');
      const controller = new AbortController();
      let producedAtAbort = 0;
      const body = generatedBytes(64 * MiB, async (produced) => {
        if (produced < 24 * MiB || controller.signal.aborted) return;
        // Wait until the store really holds unfinished data, then cancel and stall the
        // producer: the upload must end anyway.
        expect(await eventually(async () => (await harness.incomplete()) > 0)).toBe(true);
        producedAtAbort = produced;
        controller.abort(new Error('user canceled'));
        await new Promise(() => {});
      });
      await expect(
        storage.put(
          key,
          body,
          { contentType: 'application/octet-stream', filename: 'a.bin' },
          controller.signal,
        ),
      ).rejects.toMatchObject({ code: 'aborted' });
      expect(producedAtAbort).toBeGreaterThanOrEqual(24 * MiB);
      expect(await storage.stat(key)).toBeUndefined();
      expect(await eventually(async () => (await harness.incomplete()) === 0)).toBe(true);
    });

    it('leaves nothing behind and passes the error on when the body fails half way', async () => {
      const key = newKey('failed.bin');
      const failure = new Error('the source failed');
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield* generatedBytes(20 * MiB);
        throw failure;
      }
      await expect(
        storage.put(key, failing(), { contentType: 'application/octet-stream', filename: 'f.bin' }),
      ).rejects.toBe(failure);
      expect(await storage.stat(key)).toBeUndefined();
      expect(await eventually(async () => (await harness.incomplete()) === 0)).toBe(true);
    });

    it('stores an empty file', async () => {
      const key = newKey('empty.csv');
      const stored = await storage.put(key, chunks(), { contentType: 'text/csv', filename: 'empty.csv' });
      expect(stored).toEqual({ key, size: 0, sha256: createHash('sha256').digest('hex') });
      expect((await storage.stat(key))?.size).toBe(0);
    });

    it('reads back what was put, also outside the exports prefix; nothing for a missing key', async () => {
      const key = `staging/t${Date.now().toString(36)}x${counter++}/rows.ndjson.gz`;
      const body = Buffer.from('{"a":1}\n'.repeat(50_000));
      await storage.put(key, chunks(body.toString()), {
        contentType: 'application/gzip',
        filename: 'rows.gz',
      });
      const read: Buffer[] = [];
      for await (const chunk of (await storage.read(key))!) read.push(Buffer.from(chunk));
      expect(Buffer.concat(read).equals(body)).toBe(true);
      const listed: string[] = [];
      for await (const item of storage.list(storage.prefix)) listed.push(item.key);
      expect(listed).not.toContain(key);
      await storage.delete(key);
      expect(await storage.read(key)).toBeUndefined();
    });

    it('keeps metadata, lists and deletes (idempotently)', async () => {
      const expiresAt = new Date(Date.now() + 3_600_000);
      const key = newKey('report.csv', new Date(Date.UTC(2024, 1, 29)));
      expect(key).toMatch(/^generated\/2024\/02\/29\/t[a-z0-9]+x\d+\/report\.csv$/);
      await storage.put(key, chunks('x,y\n'), { contentType: 'text/csv', filename: 'Réport.csv', expiresAt });
      const info = await storage.stat(key);
      expect(info).toMatchObject({
        key,
        size: 4,
        contentType: 'text/csv',
        filename: 'Réport.csv',
        expiresAt,
      });
      const listed: string[] = [];
      for await (const item of storage.list('generated/2024/02/')) listed.push(item.key);
      expect(listed).toEqual([key]);

      await storage.delete(key);
      expect(await storage.stat(key)).toBeUndefined();
      await storage.delete(key); // again: not an error
      const after: string[] = [];
      for await (const item of storage.list('generated/2024/02/')) after.push(item.key);
      expect(after).toEqual([]);
    });

    it('refuses keys that could escape and link lifetimes over 7 days', async () => {
      for (const bad of [
        '../x',
        'a/../../x',
        '/etc/passwd',
        'a//b',
        'a/./b',
        '.meta/x',
        'a\\b',
        'a/\u202Eb',
      ]) {
        await expect(
          storage.put(bad, chunks('x'), { contentType: 'text/plain', filename: 'x' }),
        ).rejects.toMatchObject({
          code: 'invalid_request',
        });
        await expect(storage.delete(bad)).rejects.toMatchObject({ code: 'invalid_request' });
      }
      const key = newKey();
      for (const expiresIn of [0, -5, 1.5, 604_801]) {
        await expect(
          storage.signedUrl(key, { expiresIn, filename: 'a', contentType: 'text/csv' }),
        ).rejects.toMatchObject({
          code: 'invalid_request',
        });
      }
      await expect(
        storage.signedUrl(key, { expiresIn: 60, filename: 'a', contentType: 'text/csv\r\nX-Evil: 1' }),
      ).rejects.toMatchObject({ code: 'invalid_request' });
      expect(
        await storage.signedUrl(key, { expiresIn: 604_800, filename: 'a', contentType: 'text/csv' }),
      ).toBeTruthy();
    });

    it('sweeps expired files precisely, idempotently, from many sweepers at once', async () => {
      const now = new Date(Date.UTC(2030, 0, 1, 12, 0, 0));
      const day = new Date(Date.UTC(2023, 5, 1));
      const make = async (label: string, expiresAt: Date | undefined) => {
        const key = exportKey({ exportId: `sweep${counter++}`, filename: `${label}.csv`, createdAt: day });
        await storage.put(key, chunks(label), {
          contentType: 'text/csv',
          filename: `${label}.csv`,
          ...(expiresAt ? { expiresAt } : {}),
        });
        return key;
      };
      const expired = await Promise.all([
        ...Array.from({ length: 8 }, (_, i) => make(`old${i}`, new Date(now.getTime() - (i + 1) * 60_000))),
        make('exactly-now', now),
      ]);
      const kept = await Promise.all([
        make('one-ms-left', new Date(now.getTime() + 1)),
        ...Array.from({ length: 4 }, (_, i) =>
          make(`new${i}`, new Date(now.getTime() + (i + 1) * 3_600_000)),
        ),
      ]);
      const unknown = await make('no-expiry', undefined);

      const prefix = 'generated/2023/06/01/';
      const results = await Promise.all(
        Array.from({ length: 5 }, () => sweepExpired(storage, { now, prefix, concurrency: 3 })),
      );
      for (const result of results) {
        expect(result.failed).toBe(0);
        expect(result.kept + result.withoutExpiry).toBeLessThanOrEqual(6);
      }
      // Every expired file deleted by at least one sweeper, none of the others touched.
      expect(results.reduce((sum, r) => sum + r.deleted, 0)).toBeGreaterThanOrEqual(expired.length);
      const remaining: string[] = [];
      for await (const item of storage.list(prefix)) remaining.push(item.key);
      expect(remaining.sort()).toEqual([...kept, unknown].sort());

      const again = await sweepExpired(storage, { now, prefix });
      expect(again).toMatchObject({ deleted: 0, kept: kept.length, withoutExpiry: 1, failed: 0 });
      const later = await sweepExpired(storage, { now: new Date(now.getTime() + 86_400_000), prefix });
      expect(later).toMatchObject({ deleted: kept.length, withoutExpiry: 1, failed: 0 });
      await storage.delete(unknown);
    });
  });
}
