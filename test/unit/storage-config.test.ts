import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration, parseStorageUrl, storageSettingsFromEnv } from '../../src/storage/config.js';
import { storageFromUrl } from '../../src/storage/factory.js';

const context = { dataDir: '/srv/takeout/data', cwd: '/srv/takeout' };

describe('STORAGE_URL', () => {
  it('defaults to <data dir>/files on local disk', () => {
    expect(parseStorageUrl(undefined, context)).toEqual({ kind: 'file', root: '/srv/takeout/data/files' });
    expect(parseStorageUrl('  ', context)).toEqual({ kind: 'file', root: '/srv/takeout/data/files' });
    expect(parseStorageUrl(undefined, { dataDir: 'data', cwd: '/app' })).toEqual({
      kind: 'file',
      root: '/app/data/files',
    });
  });

  it('refuses an unknown parameter, naming the one it was likely meant to be', () => {
    expect(() => parseStorageUrl('s3://bucket?forcePathstyle=true', context)).toThrow(
      'STORAGE_URL has an unknown parameter "forcePathstyle" (did you mean forcePathStyle?)',
    );
  });

  it('reads relative and absolute file: URLs', () => {
    expect(parseStorageUrl('file:data/files', context)).toEqual({
      kind: 'file',
      root: '/srv/takeout/data/files',
    });
    expect(parseStorageUrl('file:///var/lib/takeout%20files', context)).toEqual({
      kind: 'file',
      root: '/var/lib/takeout files',
    });
    expect(parseStorageUrl('file:/abs/dir', context)).toEqual({ kind: 'file', root: '/abs/dir' });
    expect(() => parseStorageUrl('file://otherhost/x', context)).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
  });

  it('reads s3:// URLs with their options', () => {
    expect(
      parseStorageUrl(
        's3://my-bucket/tenant/exports?region=eu-west-1&endpoint=http://127.0.0.1:9000&forcePathStyle=true' +
          '&sse=aws:kms&kmsKeyId=arn:aws:kms:eu-west-1:1:key/abc&partSize=16MiB&uniformParts=1&queueSize=2' +
          '&checksums=false&publicEndpoint=https://files.example.com',
        context,
      ),
    ).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'tenant/exports',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      sse: 'aws:kms',
      kmsKeyId: 'arn:aws:kms:eu-west-1:1:key/abc',
      partSize: 16 * 1024 * 1024,
      uniformParts: true,
      queueSize: 2,
      checksums: false,
      publicEndpoint: 'https://files.example.com',
    });
    expect(parseStorageUrl('s3://bucket', context)).toEqual({ kind: 's3', bucket: 'bucket', prefix: '' });
  });

  it('refuses unknown schemes and parameters, bad values, and credentials — without echoing the URL', () => {
    const cases = [
      'http://bucket/x',
      's3://bucket/x?regoin=eu-west-1',
      's3://bucket/x?forcePathStyle=maybe',
      's3://bucket/x?sse=DES',
      's3://bucket/x?partSize=lots',
      's3://AKIAEXAMPLE:wJalrXUtnFEMIsecretKEY@bucket/x',
    ];
    for (const url of cases) {
      let error: unknown;
      try {
        parseStorageUrl(url, context);
      } catch (e) {
        error = e;
      }
      expect(error, url).toMatchObject({ code: 'config_error' });
      expect((error as Error).message).not.toContain('wJalrXUtnFEMIsecretKEY');
      expect((error as Error).message).not.toContain(url);
    }
  });
});

describe('lifetimes', () => {
  it('parses durations in seconds or with a unit', () => {
    expect(parseDuration('300', 'X')).toBe(300);
    expect(parseDuration('90m', 'X')).toBe(5400);
    expect(parseDuration('24h', 'X')).toBe(86_400);
    expect(parseDuration('7d', 'X')).toBe(604_800);
    expect(parseDuration('1.5h', 'X')).toBe(5400);
    expect(parseDuration('2000ms', 'X')).toBe(2);
    for (const bad of ['1.5s', '1500ms', '1w', '-1', 'h'])
      expect(() => parseDuration(bad, 'X')).toThrow(expect.objectContaining({ code: 'config_error' }));
  });

  it('defaults to 300 s links and 24 h files, and caps links at 7 days', () => {
    expect(storageSettingsFromEnv({}, context)).toMatchObject({
      linkTtlSeconds: 300,
      fileTtlSeconds: 86_400,
    });
    expect(storageSettingsFromEnv({ TAKEOUT_LINK_TTL: '60', TAKEOUT_FILE_TTL: '2d' }, context)).toMatchObject(
      {
        linkTtlSeconds: 60,
        fileTtlSeconds: 172_800,
      },
    );
    expect(() => storageSettingsFromEnv({ TAKEOUT_LINK_TTL: '8d' }, context)).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
    expect(() => storageSettingsFromEnv({ TAKEOUT_LINK_TTL: '0' }, context)).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
  });
});

describe('storageFromUrl', () => {
  it('builds the disk driver (which needs a secret) and the S3 driver', async () => {
    const disk = await storageFromUrl('file:/tmp/takeout-unit-files', { ...context, secret: 's'.repeat(32) });
    expect(disk).toMatchObject({
      kind: 'file',
      prefix: 'generated/',
      root: resolve('/tmp/takeout-unit-files'),
    });
    await expect(storageFromUrl(undefined, context)).rejects.toMatchObject({ code: 'config_error' });
    // A malformed URL rejects too (a promise's .catch() sees it), it never throws.
    let thrown: unknown;
    const pending = (() => {
      try {
        return storageFromUrl('ftp://x', { ...context, secret: 's'.repeat(32) });
      } catch (error) {
        thrown = error;
        return undefined;
      }
    })();
    expect(thrown).toBeUndefined();
    await expect(pending).rejects.toMatchObject({ code: 'config_error' });
    const s3 = await storageFromUrl('s3://bucket-a/out?region=eu-central-1', context);
    expect(s3).toMatchObject({ kind: 's3', bucket: 'bucket-a', prefix: 'out/' });
    await s3.close();
  });

  it('refuses missing or misspelt options with a config_error, not a TypeError', async () => {
    const call = storageFromUrl as (url: unknown, options?: unknown) => Promise<unknown>;
    await expect(call('s3://bucket-a')).rejects.toMatchObject({
      code: 'config_error',
      message: expect.stringContaining('storageFromUrl needs an options object'),
    });
    await expect(call('s3://bucket-a', null)).rejects.toMatchObject({ code: 'config_error' });
    await expect(call(undefined, { secret: 's'.repeat(32) })).rejects.toMatchObject({
      code: 'config_error',
      details: { option: 'dataDir' },
    });
    await expect(call('s3://bucket-a', { ...context, regoin: 'eu-west-1' })).rejects.toMatchObject({
      code: 'config_error',
      message: expect.stringContaining('did you mean region'),
      details: { option: 'regoin' },
    });
  });

  it('imports the AWS SDK only in s3-sdk.ts, and only lazily', () => {
    // Everything else may import SDK types (erased at build time) but no values, so the
    // embedded default (disk) never loads the SDK.
    const dir = join(import.meta.dirname, '../../src/storage');
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      const valueImports = [...source.matchAll(/^import (?!type )[^;]*from '(@aws-sdk\/[^']+)'/gm)];
      expect(valueImports, file).toEqual([]);
      if (file !== 's3-sdk.ts') expect(source, file).not.toMatch(/import\('@aws-sdk/);
    }
    const cli = readFileSync(join(dir, '../cli/storage.ts'), 'utf8');
    expect(cli).not.toMatch(/^import (?!type )[^;]*from '@aws-sdk/m);
  });
});
