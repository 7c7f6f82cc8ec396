/**
 * The disk driver when the disk fills as a file is placed: a put that fails leaves nothing in
 * `.tmp/` (neither the data nor a half-written sidecar) and no sidecar without its file. And
 * against a power loss: what a put places is flushed, file, sidecar and directory entries,
 * before it returns. The faults are injected into node:fs/promises, which also records every
 * fsync and rename, without a tmpfs of limited size or a power cut.
 */
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DiskStorage, diskStorage } from '../../src/storage/disk.js';

const faults = vi.hoisted(() => ({
  sidecarWrite: false,
  filePlacement: false,
  /** What the driver did, in order: `sync <path>` and `rename <to>`. */
  calls: [] as string[],
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const full = (syscall: string, path: string) =>
    Object.assign(new Error(`ENOSPC: no space left on device, ${syscall} '${path}'`), {
      code: 'ENOSPC',
      syscall,
      path,
    });
  const open = (async (path: string, ...rest: unknown[]) => {
    const handle: FileHandle = await (fs.open as (...args: unknown[]) => Promise<FileHandle>)(path, ...rest);
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      faults.calls.push(`sync ${path}`);
      return sync();
    };
    const writeFile = handle.writeFile.bind(handle);
    handle.writeFile = async (data: unknown) => {
      if (faults.sidecarWrite && String(path).endsWith('.meta')) {
        // The disk fills mid-write: part of the sidecar is on disk.
        await writeFile(String(data).slice(0, 8));
        throw full('write', String(path));
      }
      return writeFile(data as string);
    };
    return handle;
  }) as typeof fs.open;
  const rename: typeof fs.rename = async (from, to) => {
    if (faults.filePlacement && String(from).endsWith('.part')) throw full('rename', String(to));
    faults.calls.push(`rename ${to}`);
    return fs.rename(from, to);
  };
  return { ...fs, default: { ...fs, open, rename }, open, rename };
});

const SECRET = 'test-secret-0123456789-abcdefghijklmnop';
const key = 'generated/2026/01/01/exp_full/a1/data.csv';

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe('disk storage on a full disk', () => {
  let root: string;
  let storage: DiskStorage;
  const put = () =>
    storage.put(
      key,
      (async function* () {
        yield Buffer.from('a,b\n1,2\n');
      })(),
      { contentType: 'text/csv', filename: 'data.csv', expiresAt: new Date(Date.now() + 86_400_000) },
    );

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'takeout-disk-full-'));
    storage = diskStorage({ root, secret: SECRET });
  });
  afterEach(async () => {
    faults.sidecarWrite = false;
    faults.filePlacement = false;
    faults.calls.length = 0;
    await rm(root, { recursive: true, force: true });
  });

  it('leaves no half-written sidecar in .tmp when the metadata write fails', async () => {
    faults.sidecarWrite = true;
    await expect(put()).rejects.toMatchObject({
      code: 'storage_error',
      cause: expect.objectContaining({ code: 'ENOSPC' }),
    });
    expect(await filesUnder(join(root, '.tmp'))).toEqual([]);
    expect(await filesUnder(join(root, '.meta'))).toEqual([]);
    expect(await storage.stat(key)).toBeUndefined();
  });

  it('removes the placed sidecar when the file cannot be moved into place', async () => {
    faults.filePlacement = true;
    await expect(put()).rejects.toMatchObject({ code: 'storage_error' });
    expect(await filesUnder(join(root, '.tmp'))).toEqual([]);
    expect(await filesUnder(join(root, '.meta'))).toEqual([]);
    expect(await filesUnder(root)).toEqual([]);
  });

  it('still stores a file when the disk has room (the faults are off)', async () => {
    await expect(put()).resolves.toMatchObject({ key, size: 8 });
    expect(await filesUnder(join(root, '.tmp'))).toEqual([]);
    expect((await filesUnder(root)).sort()).toEqual([
      `${join('.meta', ...key.split('/'))}.json`,
      join(...key.split('/')),
    ]);
  });

  it('flushes the file, the sidecar and every directory entry it adds before the put returns', async () => {
    await put();
    const target = join(root, ...key.split('/'));
    const meta = `${join(root, '.meta', ...key.split('/'))}.json`;
    const { calls } = faults;
    const at = (call: string) => {
      expect(calls, call).toContain(call);
      return calls.indexOf(call);
    };
    // Each file's data before its rename; each rename before its directory is flushed.
    const renamedMeta = at(`rename ${meta}`);
    expect(calls.slice(0, renamedMeta).some((c) => /^sync .*\.meta$/.test(c))).toBe(true);
    expect(at(`sync ${dirname(meta)}`)).toBeGreaterThan(renamedMeta);
    const renamedFile = at(`rename ${target}`);
    expect(calls.slice(0, renamedFile).some((c) => /^sync .*\.part$/.test(c))).toBe(true);
    expect(at(`sync ${dirname(target)}`)).toBeGreaterThan(renamedFile);
    // The directories the put created are entries of their parents: up to the root.
    for (let dir = dirname(target); dir !== root; dir = dirname(dir)) at(`sync ${dirname(dir)}`);
    for (let dir = dirname(meta); dir !== join(root, '.meta'); dir = dirname(dir)) at(`sync ${dirname(dir)}`);
  });
});
