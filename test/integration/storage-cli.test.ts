/**
 * `takeout storage setup|sweep` on local disk and against s3rver (which implements neither
 * lifecycle rules nor the public-access APIs: setup must say so in one line each).
 */
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskStorage } from '../../src/storage/disk.js';
import { type S3Storage, s3Storage } from '../../src/storage/s3.js';
import { generatedBytes } from '../support/bytes.js';
import { runCli } from '../support/cli.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';

const SECRET = 'test-secret-0123456789-abcdefghijklmnop';
let server: S3rverHandle;
let bucketCount = 0;

beforeAll(async () => {
  server = await startS3rver();
});
afterAll(async () => {
  await server?.stop();
});

async function newStorage(prefix?: string): Promise<S3Storage> {
  const bucket = `takeout-cli-${process.pid}-${bucketCount++}`;
  const storage = s3Storage({
    bucket,
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: server.credentials,
    ...(prefix ? { prefix } : {}),
  });
  await (await storage.client()).send(new CreateBucketCommand({ Bucket: bucket }));
  return storage;
}

/** `takeout storage ...` as the CLI runs it, errors said by run.ts as for every command. */
const run = (argv: string[], env: NodeJS.ProcessEnv) => runCli(['storage', ...argv], { env });

describe('takeout storage (CLI) on local disk', () => {
  it('setup has nothing to do on disk; sweep deletes expired files', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'takeout-cli-'));
    const env = { TAKEOUT_DATA_DIR: dataDir };
    const setup = await run(['setup'], env);
    expect(setup).toEqual({
      code: 0,
      out: `storage: local disk at ${join(dataDir, 'files')}\nlifecycle: nothing to set up on disk: the sweeper deletes expired files\n`,
      err: '',
    });
    const storage = diskStorage({ root: join(dataDir, 'files'), secret: SECRET });
    const body = async function* () {
      yield Buffer.from('x');
    };
    await storage.put('generated/2020/01/01/a/old.csv', body(), {
      contentType: 'text/csv',
      filename: 'old.csv',
      expiresAt: new Date(Date.now() - 1),
    });
    await storage.put('generated/2020/01/01/b/new.csv', body(), {
      contentType: 'text/csv',
      filename: 'new.csv',
      expiresAt: new Date(Date.now() + 60_000),
    });
    const sweep = await run(['sweep'], env);
    expect(sweep).toEqual({
      code: 0,
      out: 'sweep: 1 deleted, 1 kept, 0 without expiry, 0 incomplete removed, 0 failed\n',
      err: '',
    });
    expect(await storage.stat('generated/2020/01/01/a/old.csv')).toBeUndefined();
    // A sweep signs nothing: it leaves the service's secret file alone (run as root before the
    // service's first start, creating it would lock the service out).
    await expect(stat(join(dataDir, 'secret'))).rejects.toMatchObject({ code: 'ENOENT' });
    await rm(dataDir, { recursive: true, force: true });
  });

  it('sweep keeps the temp file of an export still within TAKEOUT_JOB_TIMEOUT (plus an hour)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'takeout-cli-'));
    const tmp = join(dataDir, 'files', '.tmp');
    await mkdir(tmp, { recursive: true });
    const aged = async (name: string, hours: number) => {
      const path = join(tmp, name);
      await writeFile(path, 'x');
      const then = new Date(Date.now() - hours * 3_600_000);
      await utimes(path, then, then);
    };
    await aged('running.part', 25); // an export 25 h into its 48 h limit is still writing it
    await aged('left.part', 50); // past the limit and the margin: a leftover
    const sweep = await run(['sweep'], { TAKEOUT_DATA_DIR: dataDir, TAKEOUT_JOB_TIMEOUT: '48h' });
    expect(sweep).toEqual({
      code: 0,
      out: 'sweep: 0 deleted, 0 kept, 0 without expiry, 1 incomplete removed, 0 failed\n',
      err: '',
    });
    expect((await stat(join(tmp, 'running.part'))).isFile()).toBe(true);
    await expect(stat(join(tmp, 'left.part'))).rejects.toMatchObject({ code: 'ENOENT' });
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers bad usage with exit code 2 as every command does', async () => {
    const alone = await run([], {});
    expect([alone.code, alone.err]).toEqual([2, expect.stringContaining('Usage: takeout storage <command>')]);
    expect(await run(['setup', '--days', 'x'], {})).toEqual({
      code: 2,
      out: '',
      err: 'takeout: --days must be an integer >= 1\nsee takeout storage setup --help\n',
    });
    expect((await run(['swep'], {})).err.split('\n')[0]).toBe(
      'takeout: unknown storage command "swep" (did you mean sweep?)',
    );
    // An unknown option: one line and where the options are, not the whole usage.
    expect(await run(['sweep', '--force'], {})).toEqual({
      code: 2,
      out: '',
      err: 'takeout: unknown option --force\nsee takeout storage sweep --help\n',
    });
    const bad = await run(['setup'], { STORAGE_URL: 'ftp://x' });
    expect(bad).toEqual({
      code: 1,
      out: '',
      err: 'takeout: config_error: STORAGE_URL must start with file: or s3://\n',
    });
  });

  it('says when the files directory to sweep does not exist (likely another TAKEOUT_DATA_DIR)', async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), 'takeout-cli-')), 'nodir');
    expect(await run(['sweep'], { TAKEOUT_DATA_DIR: dataDir })).toEqual({
      code: 0,
      out: 'sweep: 0 deleted, 0 kept, 0 without expiry, 0 incomplete removed, 0 failed\n',
      err: `sweep: no files directory at ${join(dataDir, 'files')}: is TAKEOUT_DATA_DIR (or STORAGE_URL) the one the service uses?\n`,
    });
  });
});

describe('takeout storage (CLI) against s3rver', () => {
  const envFor = (bucket: string): NodeJS.ProcessEnv => ({
    STORAGE_URL: `s3://${bucket}/exports?endpoint=${encodeURIComponent(server.endpoint)}&forcePathStyle=true&region=us-east-1`,
    AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
  });

  it('setup checks the bucket and reports lifecycle as unsupported in one clear line', async () => {
    const storage = await newStorage();
    const result = await run(['setup'], envFor(storage.bucket));
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const lines = result.out.trim().split('\n');
    expect(lines[0]).toBe(`storage: s3://${storage.bucket}/exports/ at ${server.endpoint}`);
    expect(lines).toContain(`bucket: ok: bucket "${storage.bucket}" exists`);
    expect(lines).toContain('public access: unsupported: cannot be checked: not supported by this store');
    const lifecycle = lines.filter((line) => line.startsWith('lifecycle:'));
    expect(lifecycle).toEqual([
      'lifecycle: unsupported: not supported by this store: expired files are still deleted by the sweeper, but remove incomplete multipart uploads by other means',
    ]);
    expect(result.out).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.out).not.toContain(server.credentials.secretAccessKey.repeat(2));
    await storage.close();
  });

  it('setup fails clearly when the bucket does not exist, and refuses a lifecycle shorter than the retention', async () => {
    const missing = await run(['setup'], envFor('no-such-bucket-here'));
    expect(missing.code).toBe(1);
    // A failed step is an error: on stderr.
    expect(missing.err).toContain(
      'bucket: failed: bucket "no-such-bucket-here" does not exist; create it (private) first',
    );
    expect(missing.out).not.toContain('failed');
    // Keys the server does not know: said as such, not as an unknown failure.
    const storage = await newStorage();
    const denied = await run(['setup'], {
      ...envFor(storage.bucket),
      AWS_ACCESS_KEY_ID: 'minioadmin',
      AWS_SECRET_ACCESS_KEY: 'minioadmin',
    });
    expect([denied.code, denied.err]).toEqual([
      1,
      expect.stringContaining(
        `bucket: failed: access to bucket "${storage.bucket}" is denied (HTTP 403): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      ),
    ]);
    await storage.close();
    const short = await run(['setup', '--days', '1'], { ...envFor('x-bucket'), TAKEOUT_FILE_TTL: '36h' });
    expect(short.code).toBe(2);
    expect(short.err).toContain('--days 1 would delete files before TAKEOUT_FILE_TTL ends');
    expect(short.err).toContain('use --days 2 or more');
    // The retention counts from an export's end, up to TAKEOUT_JOB_TIMEOUT after its upload began.
    const withTimeout = await run(['setup', '--days', '1'], {
      ...envFor('x-bucket'),
      TAKEOUT_FILE_TTL: '24h',
      TAKEOUT_JOB_TIMEOUT: '1h',
    });
    expect([withTimeout.code, withTimeout.err]).toEqual([2, expect.stringContaining('use --days 2 or more')]);
    const bad = await run(['setup', '--nope'], envFor('x-bucket'));
    expect(bad.code).toBe(2);
  });

  it('sweep deletes expired files', async () => {
    const storage = await newStorage('exports/');
    const expiresAt = new Date(Date.now() - 1000);
    await storage.put('exports/2020/01/01/s1/a.csv', generatedBytes(10), {
      contentType: 'text/csv',
      filename: 'a',
      expiresAt,
    });
    const result = await run(['sweep'], envFor(storage.bucket));
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toBe('sweep: 1 deleted, 0 kept, 0 without expiry, 0 incomplete removed, 0 failed\n');
    expect(await storage.stat('exports/2020/01/01/s1/a.csv')).toBeUndefined();
    await storage.close();
  });
});
