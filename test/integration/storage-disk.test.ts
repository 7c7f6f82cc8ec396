import { createHash } from 'node:crypto';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemErrorHandler } from '../../src/http/problem.js';
import { filesRoutes } from '../../src/http/routes/files.js';
import { type DiskStorage, diskStorage } from '../../src/storage/disk.js';
import { linkSigner, loadOrCreateSecret } from '../../src/storage/signing.js';
import { sweepExpired } from '../../src/storage/sweeper.js';
import { storageContract } from '../contracts/storage.js';

const SECRET = 'test-secret-0123456789-abcdefghijklmnop';

async function startDisk(): Promise<{
  storage: DiskStorage;
  app: FastifyInstance;
  root: string;
  base: string;
}> {
  const root = await mkdtemp(join(tmpdir(), 'takeout-disk-'));
  const app = Fastify();
  app.setErrorHandler(problemErrorHandler);
  // The storage needs the server's address for its links, so register with a placeholder
  // storage whose links are built later from the same root and secret.
  let storage: DiskStorage = diskStorage({ root, secret: SECRET });
  await app.register(filesRoutes, { storage });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  storage = diskStorage({ root, secret: SECRET, baseUrl: address });
  return { storage, app, root, base: address };
}

storageContract('disk', async () => {
  const { storage, app, root } = await startDisk();
  return {
    storage,
    incomplete: async () => (await readdir(join(root, '.tmp')).catch(() => [])).length,
    close: async () => {
      await app.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

describe('disk storage: links, ranges, traversal', () => {
  let storage: DiskStorage;
  let app: FastifyInstance;
  let root: string;
  const key = 'generated/2024/05/06/abc123/data.csv';
  const content = '0123456789abcdefghij'; // 20 bytes

  beforeAll(async () => {
    ({ storage, app, root } = await startDisk());
    await storage.put(
      key,
      (async function* () {
        yield Buffer.from(content);
      })(),
      { contentType: 'text/csv', filename: 'data.csv' },
    );
  });
  afterAll(async () => {
    await app.close();
    await rm(root, { recursive: true, force: true });
  });

  it('creates every directory it needs 0700 and the files 0600', async () => {
    const dirs = ['.tmp', 'generated', 'generated/2024/05/06/abc123', '.meta', '.meta/generated/2024'];
    for (const dir of dirs) expect((await stat(join(root, dir))).mode & 0o777, dir).toBe(0o700);
    expect((await stat(join(root, key))).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, '.meta', `${key}.json`))).mode & 0o777).toBe(0o600);
  });

  const link = () =>
    storage.signedUrl(key, { expiresIn: 300, filename: 'Daten é.csv', contentType: 'text/csv' });
  const pathOf = (url: string) => url.slice(url.indexOf('/files/'));

  it("ends a link by notAfter (a file's retention), rounded down to its second", async () => {
    const notAfter = new Date(Date.now() + 10_500);
    const url = new URL(
      await storage.signedUrl(key, { expiresIn: 300, notAfter, filename: 'd.csv', contentType: 'text/csv' }),
    );
    expect(Number(url.searchParams.get('exp'))).toBe(Math.floor(notAfter.getTime() / 1000));
    expect((await app.inject({ url: pathOf(url.href) })).statusCode).toBe(200);
  });

  it('answers 403 invalid_link to every tampered part of a link', async () => {
    const url = new URL(await link());
    const tamper = async (mutate: (u: URL) => void) => {
      const copy = new URL(url);
      mutate(copy);
      const response = await app.inject({ url: copy.pathname + copy.search });
      return { status: response.statusCode, type: response.headers['content-type'], body: response.json() };
    };
    const cases: ((u: URL) => void)[] = [
      (u) => u.searchParams.set('exp', String(Number(u.searchParams.get('exp')) + 3600)),
      (u) => u.searchParams.set('fn', 'other.exe'),
      (u) => u.searchParams.set('ct', 'text/html'),
      (u) => u.searchParams.set('sig', `${u.searchParams.get('sig')?.slice(0, -2)}AA`),
      (u) => u.searchParams.delete('sig'),
      (u) => u.searchParams.set('exp', 'soon'),
      (u) => {
        u.pathname = u.pathname.replace('data.csv', 'other.csv');
      },
      // The same key, its last `/` spelt %2F: a segment never holds a slash.
      (u) => {
        u.pathname = u.pathname.replace(/\/(?=[^/]*$)/, '%2F');
      },
    ];
    for (const mutate of cases) {
      const result = await tamper(mutate);
      expect(result.status).toBe(403);
      expect(result.type).toMatch(/^application\/problem\+json/);
      expect(result.body).toMatchObject({ code: 'invalid_link', status: 403 });
    }
    // A link signed with another secret is refused too.
    const other = diskStorage({ root, secret: 'another-secret-0123456789-abcdefghijk' });
    const forged = await other.signedUrl(key, { expiresIn: 300, filename: 'x.csv', contentType: 'text/csv' });
    expect((await app.inject({ url: forged })).statusCode).toBe(403);
  });

  it('answers 403 link_expired to an expired link, checked after the signature', async () => {
    const signer = linkSigner(SECRET);
    const claims = {
      key,
      expires: Math.floor(Date.now() / 1000) - 1,
      filename: 'a.csv',
      contentType: 'text/csv',
    };
    const query = new URLSearchParams({
      exp: String(claims.expires),
      fn: 'a.csv',
      ct: 'text/csv',
      sig: signer.sign(claims),
    });
    const response = await app.inject({ url: `/files/${key}?${query}` });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'link_expired' });
  });

  it('never serves a file outside the storage root, even with a valid signature', async () => {
    await writeFile(join(root, '..', 'takeout-outside-secret.txt'), 'top secret').catch(() => {});
    await writeFile(join(root, 'outside.txt'), 'x'); // a file at the root itself is fine to name...
    const signer = linkSigner(SECRET);
    const sign = (k: string) => {
      const claims = {
        key: k,
        expires: Math.floor(Date.now() / 1000) + 60,
        filename: 'a',
        contentType: 'text/plain',
      };
      return new URLSearchParams({
        exp: String(claims.expires),
        fn: 'a',
        ct: 'text/plain',
        sig: signer.sign(claims),
      });
    };
    const attempts = [
      '../takeout-outside-secret.txt',
      '..%2Ftakeout-outside-secret.txt',
      'generated/..%2F..%2F..%2Ftakeout-outside-secret.txt',
      '%2E%2E/takeout-outside-secret.txt',
      '.meta/generated/2024/05/06/abc123/data.csv.json',
      '.tmp/x',
      '/etc/passwd',
      '%2Fetc%2Fpasswd',
      'generated\\..\\..\\x',
      'a%00b',
    ];
    for (const attempt of attempts) {
      const decodedKey = attempt.split('/').map(decodeURIComponent).join('/');
      const response = await app.inject({ url: `/files/${attempt}?${sign(decodedKey)}` });
      expect([403, 404], attempt).toContain(response.statusCode);
      expect(response.body).not.toContain('top secret');
    }
    // A symlink planted under the root is not followed.
    await mkdir(join(root, 'generated', 'evil'), { recursive: true });
    await symlink('/etc/hostname', join(root, 'generated', 'evil', 'link.txt'));
    const viaLink = await app.inject({
      url: `/files/generated/evil/link.txt?${sign('generated/evil/link.txt')}`,
    });
    expect(viaLink.statusCode).toBe(404);
    await rm(join(root, '..', 'takeout-outside-secret.txt'), { force: true });
  });

  it('serves single byte ranges with 206, and 416 with Content-Range for impossible ones', async () => {
    const url = pathOf(await link());
    const cases: [string, number, string | undefined, string | undefined][] = [
      ['bytes=0-4', 206, 'bytes 0-4/20', '01234'],
      ['bytes=5-', 206, 'bytes 5-19/20', content.slice(5)],
      ['bytes=-3', 206, 'bytes 17-19/20', 'hij'],
      ['bytes=10-100', 206, 'bytes 10-19/20', content.slice(10)],
      ['bytes=-100', 206, 'bytes 0-19/20', content],
      ['bytes=0-0,5-6', 200, undefined, content], // several ranges: the whole file
      ['bytes=7-3', 200, undefined, content], // invalid: ignored
      ['items=0-3', 200, undefined, content],
    ];
    for (const [range, status, contentRange, body] of cases) {
      const response = await app.inject({ url, headers: { range } });
      expect(response.statusCode, range).toBe(status);
      expect(response.headers['content-range'], range).toBe(contentRange);
      expect(response.body, range).toBe(body);
      expect(Number(response.headers['content-length'])).toBe(body?.length);
    }
    for (const range of ['bytes=20-', 'bytes=100-200', 'bytes=-0']) {
      const response = await app.inject({ url, headers: { range } });
      expect(response.statusCode, range).toBe(416);
      expect(response.headers['content-range']).toBe('bytes */20');
      expect(response.json()).toMatchObject({ code: 'range_not_satisfiable' });
    }
  });

  it('sends ETag, honours If-Range and If-None-Match, and answers HEAD without a body', async () => {
    const url = pathOf(await link());
    const full = await app.inject({ url });
    const etag = `"${createHash('sha256').update(content).digest('hex')}"`;
    expect(full.headers).toMatchObject({
      etag,
      'accept-ranges': 'bytes',
      'content-type': 'text/csv',
      'x-content-type-options': 'nosniff',
    });
    expect(full.headers['content-disposition']).toBe(
      `attachment; filename="Daten e.csv"; filename*=UTF-8''Daten%20%C3%A9.csv`,
    );
    const ranged = await app.inject({ url, headers: { range: 'bytes=0-1', 'if-range': etag } });
    expect(ranged.statusCode).toBe(206);
    const stale = await app.inject({ url, headers: { range: 'bytes=0-1', 'if-range': '"old"' } });
    expect(stale.statusCode).toBe(200);
    expect(stale.body).toBe(content);
    expect((await app.inject({ url, headers: { 'if-none-match': etag } })).statusCode).toBe(304);
    const cachedRange = await app.inject({
      url,
      headers: { 'if-none-match': etag, range: 'bytes=999-1000' },
    });
    expect(cachedRange.statusCode).toBe(304);
    const head = await app.inject({ method: 'HEAD', url });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('20');
    expect(head.body).toBe('');
  });

  it('answers 412 to If-Match or If-Unmodified-Since naming another file, and takes If-Range by date', async () => {
    const url = pathOf(await link());
    const etag = `"${createHash('sha256').update(content).digest('hex')}"`;
    const other = await app.inject({ url, headers: { 'if-match': '"not-this-one"' } });
    expect([other.statusCode, other.json().code]).toEqual([412, 'precondition_failed']);
    expect((await app.inject({ url, headers: { 'if-match': `"x", ${etag}` } })).statusCode).toBe(200);
    expect((await app.inject({ url, headers: { 'if-match': '*' } })).statusCode).toBe(200);
    expect((await app.inject({ url, headers: { 'if-match': `W/${etag}` } })).statusCode).toBe(412);
    // Written a minute ago: its Last-Modified is a strong validator.
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(join(root, key), minuteAgo, minuteAgo);
    const modified = (await app.inject({ url })).headers['last-modified'] as string;
    expect(modified).toBe(minuteAgo.toUTCString());
    const earlier = new Date(minuteAgo.getTime() - 5000).toUTCString();
    expect((await app.inject({ url, headers: { 'if-unmodified-since': earlier } })).statusCode).toBe(412);
    expect((await app.inject({ url, headers: { 'if-unmodified-since': modified } })).statusCode).toBe(200);
    const byDate = await app.inject({ url, headers: { range: 'bytes=0-1', 'if-range': modified } });
    expect([byDate.statusCode, byDate.body]).toEqual([206, '01']);
    const byOtherDate = await app.inject({ url, headers: { range: 'bytes=0-1', 'if-range': earlier } });
    expect([byOtherDate.statusCode, byOtherDate.body]).toEqual([200, content]);
  });

  it('answers 404 for a valid link to a file that is gone', async () => {
    const goneKey = 'generated/2024/05/06/gone1/x.csv';
    const url = await storage.signedUrl(goneKey, {
      expiresIn: 60,
      filename: 'x.csv',
      contentType: 'text/csv',
    });
    const response = await app.inject({ url: pathOf(url) });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'not_found' });
  });

  it('never shows a half-written file and removes stale temp files', async () => {
    const partialKey = 'generated/2024/05/06/partial1/p.csv';
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const put = storage.put(
      partialKey,
      (async function* () {
        yield Buffer.from('first half,');
        await gate;
        yield Buffer.from('second half\n');
      })(),
      { contentType: 'text/csv', filename: 'p.csv' },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await storage.stat(partialKey)).toBeUndefined();
    const visible = await stat(join(root, ...partialKey.split('/'))).catch(() => undefined);
    expect(visible).toBeUndefined();
    release();
    await put;
    expect(await readFile(join(root, ...partialKey.split('/')), 'utf8')).toBe('first half,second half\n');

    await writeFile(join(root, '.tmp', 'crashed.part'), 'leftover');
    expect(await storage.removeIncomplete(new Date(Date.now() - 60_000))).toBe(0); // too young
    expect(await storage.removeIncomplete(new Date(Date.now() + 1000))).toBe(1);
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
  });
});

describe('loadOrCreateSecret', () => {
  it('creates a 0600 secret once and returns the same one to concurrent callers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'takeout-secret-'));
    const secrets = await Promise.all(
      Array.from({ length: 8 }, () => loadOrCreateSecret(join(dir, 'data'), {})),
    );
    expect(new Set(secrets).size).toBe(1);
    expect(secrets[0]!.length).toBeGreaterThanOrEqual(32);
    expect((await stat(join(dir, 'data', 'secret'))).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateSecret(join(dir, 'data'), {})).toBe(secrets[0]);
    await rm(dir, { recursive: true, force: true });
  });

  it('creates missing directories 0700 and leaves an existing directory as it is', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'takeout-secret-'));
    await loadOrCreateSecret(join(dir, 'new', 'data'), {});
    expect((await stat(join(dir, 'new'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'new', 'data'))).mode & 0o777).toBe(0o700);
    await mkdir(join(dir, 'chosen'));
    await chmod(join(dir, 'chosen'), 0o755);
    await loadOrCreateSecret(join(dir, 'chosen'), {});
    expect((await stat(join(dir, 'chosen'))).mode & 0o777).toBe(0o755);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an existing secret file that other users may read or write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'takeout-secret-'));
    const path = join(dir, 'secret');
    await writeFile(path, `${'s'.repeat(43)}\n`);
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o660]) {
      await chmod(path, mode);
      const error = await loadOrCreateSecret(dir, {}).catch((e: Error) => e);
      expect(error, mode.toString(8)).toMatchObject({ code: 'config_error' });
      expect((error as Error).message).toContain('chmod 600');
      expect((error as Error).message).not.toContain('sss');
    }
    for (const mode of [0o600, 0o400]) {
      await chmod(path, mode);
      expect(await loadOrCreateSecret(dir, {})).toBe('s'.repeat(43));
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('prefers TAKEOUT_SECRET and rejects a short one without echoing it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'takeout-secret-'));
    const configured = 'c'.repeat(40);
    expect(await loadOrCreateSecret(dir, { TAKEOUT_SECRET: configured })).toBe(configured);
    expect(await readdir(dir)).toEqual([]);
    const error = await loadOrCreateSecret(dir, { TAKEOUT_SECRET: 'hunter2' }).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'config_error' });
    expect((error as Error).message).not.toContain('hunter2');
    await rm(dir, { recursive: true, force: true });
  });
});

describe('disk storage: directory symlinks under the root', () => {
  const body = async function* () {
    yield Buffer.from('hello');
  };
  const meta = { contentType: 'text/csv', filename: 'o.csv', expiresAt: new Date(Date.now() - 1000) };

  it('never writes, lists, reads or deletes through a directory that links out of the root', async () => {
    const base = await mkdtemp(join(tmpdir(), 'takeout-symdir-'));
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    await mkdir(join(outside, '2026', '01', '01', 'victim', 'a1'), { recursive: true });
    await writeFile(join(outside, '2026', '01', '01', 'victim', 'a1', 'data.csv'), 'precious');
    await mkdir(root);
    await symlink(outside, join(root, 'generated'));
    const storage = diskStorage({ root, secret: SECRET });
    const victim = 'generated/2026/01/01/victim/a1/data.csv';

    await expect(storage.put('generated/2026/01/01/e1/a1/out.csv', body(), meta)).rejects.toMatchObject({
      code: 'storage_error',
    });
    await expect(storage.stat(victim)).rejects.toMatchObject({ code: 'storage_error' });
    await expect(storage.read(victim)).rejects.toMatchObject({ code: 'storage_error' });
    await expect(storage.delete(victim)).rejects.toMatchObject({ code: 'storage_error' });
    const swept = await sweepExpired(storage, { now: new Date(Date.now() + 5000) });
    expect(swept).toMatchObject({ deleted: 0, failed: 1 });
    // Nothing was written to, or taken from, the directory outside.
    expect((await readdir(outside, { recursive: true })).sort()).toEqual([
      '2026',
      '2026/01',
      '2026/01/01',
      '2026/01/01/victim',
      '2026/01/01/victim/a1',
      '2026/01/01/victim/a1/data.csv',
    ]);
    expect(await readdir(join(root, '.tmp')).catch(() => [])).toEqual([]);
    await rm(base, { recursive: true, force: true });
  });

  it('refuses a metadata or temp directory that links out of the root', async () => {
    const base = await mkdtemp(join(tmpdir(), 'takeout-symdir-'));
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'old.part'), 'not ours');
    await mkdir(root);
    await symlink(outside, join(root, '.meta'));
    const storage = diskStorage({ root, secret: SECRET });
    await expect(storage.put('generated/2026/01/01/e1/a1/out.csv', body(), meta)).rejects.toMatchObject({
      code: 'storage_error',
    });
    await rm(join(root, '.meta'));
    await symlink(outside, join(root, '.tmp'));
    await expect(storage.removeIncomplete(new Date(Date.now() + 60_000))).rejects.toMatchObject({
      code: 'storage_error',
    });
    expect(await readdir(outside)).toEqual(['old.part']);
    await rm(base, { recursive: true, force: true });
  });

  it('accepts a root that is itself a link (a mounted volume)', async () => {
    const base = await mkdtemp(join(tmpdir(), 'takeout-symdir-'));
    await mkdir(join(base, 'volume'));
    await symlink(join(base, 'volume'), join(base, 'root'));
    const storage = diskStorage({ root: join(base, 'root'), secret: SECRET });
    const key = 'generated/2026/01/01/e1/a1/out.csv';
    await storage.put(key, body(), { ...meta, expiresAt: new Date(Date.now() + 60_000) });
    expect(await storage.stat(key)).toMatchObject({ size: 5 });
    const listed: string[] = [];
    for await (const item of storage.list()) listed.push(item.key);
    expect(listed).toEqual([key]);
    await storage.delete(key);
    expect(await storage.stat(key)).toBeUndefined();
    await rm(base, { recursive: true, force: true });
  });
});
