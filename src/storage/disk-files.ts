/** File-system helpers of the disk driver: streamed temp files, atomic placement, tree walks, pruning. */
import { createHash, randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { type FileHandle, mkdir, open, opendir, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { TakeoutError } from '../errors.js';
import { abortable, storageIo, throwIfAborted } from './streams.js';

const WRITE_BATCH_BYTES = 256 * 1024; // coalesce small chunks into fewer write calls

/**
 * How every directory Takeout creates is made: readable by its owner only (before the umask,
 * which can only take more away). Directories that already exist keep their mode: they may be
 * a volume or a folder the operator chose, and the files inside are 0600 anyway.
 */
export const PRIVATE_DIR = { recursive: true, mode: 0o700 } as const;

/**
 * Streams `body` into a new file under `dir` (flushed to disk, size checked) and returns its
 * path, size and SHA-256. On any failure or abort the file is removed.
 */
export async function writeTempFile(
  dir: string,
  body: AsyncIterable<Uint8Array>,
  signal?: AbortSignal,
): Promise<{ path: string; size: number; sha256: string }> {
  await storageIo('create its temp directory', () => mkdir(dir, PRIVATE_DIR));
  const path = join(dir, `${randomUUID()}.part`);
  const handle = await storageIo('create a temp file', () => open(path, 'wx', 0o600));
  const hash = createHash('sha256');
  let size = 0;
  let closed = false;
  try {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    for await (const chunk of abortable(body, signal)) {
      if (chunk.byteLength === 0) continue;
      hash.update(chunk);
      size += chunk.byteLength;
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      if (pendingBytes >= WRITE_BATCH_BYTES) {
        const batch = pending;
        pending = [];
        pendingBytes = 0;
        await storageIo('write', () => writeAll(handle, batch));
      }
    }
    if (pending.length > 0) await storageIo('write', () => writeAll(handle, pending));
    throwIfAborted(signal);
    await storageIo('flush', () => handle.sync());
    const written = (await handle.stat()).size;
    closed = true;
    await handle.close();
    if (written !== size) {
      throw new TakeoutError('storage_integrity_error', `Wrote ${size} bytes but the file has ${written}`);
    }
    return { path, size, sha256: hash.digest('hex') };
  } catch (error) {
    if (!closed) await handle.close().catch(() => {});
    await rm(path, { force: true }).catch(() => {});
    throw error;
  }
}

async function writeAll(handle: FileHandle, chunks: Uint8Array[]): Promise<void> {
  // writev may write less than asked; finish the rest chunk by chunk.
  const { bytesWritten } = await handle.writev(chunks);
  let skip = bytesWritten;
  for (const chunk of chunks) {
    if (skip >= chunk.byteLength) {
      skip -= chunk.byteLength;
      continue;
    }
    let offset = skip;
    skip = 0;
    while (offset < chunk.byteLength) {
      offset += (await handle.write(chunk, offset, chunk.byteLength - offset)).bytesWritten;
    }
  }
}

/**
 * Renames `from` to `to`, creating the parent directories, and makes the rename durable: a
 * rename (like a created directory) is an entry in its parent directory, which a power loss
 * may drop unless that directory is flushed too, leaving a job recorded as done with no file.
 * Retries when a concurrent sweeper pruned a just-created empty directory between the mkdir
 * and the rename.
 */
export async function renameInto(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const created = await mkdir(dirname(to), PRIVATE_DIR);
    try {
      await rename(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 4) throw error;
      continue;
    }
    // The file's directory, and the parent of each directory the mkdir created.
    let dir = dirname(to);
    await syncDir(dir);
    while (created !== undefined && dir !== dirname(created) && isInside(dirname(created), dir)) {
      dir = dirname(dir);
      await syncDir(dir);
    }
    return;
  }
}

/** Flushes a directory's entries to disk (fsync on the directory; POSIX file systems). */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems (and some network mounts) do not fsync directories: nothing to do.
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Writes a small file (`wx`: never over an existing one) and flushes it before returning, so
 * that a power loss cannot leave it empty once a rename or a reader has relied on it.
 */
export async function writeNewFileDurably(path: string, data: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes empty directories from `dir` up to (not including) `stop`. Races are harmless. */
export async function pruneEmptyDirs(dir: string, stop: string): Promise<void> {
  while (dir !== stop && isInside(stop, dir)) {
    try {
      await rmdir(dir);
    } catch {
      return; // not empty, already gone, or busy: stop here
    }
    dir = dirname(dir);
  }
}

export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep);
}

/** Every regular file under `dir` as a path relative to `base`, depth first, streamed. */
export async function* walkFiles(
  dir: string,
  base: string,
  skip: (entry: Dirent, depth: number) => boolean = () => false,
  depth = 0,
): AsyncGenerator<string> {
  let handle: Awaited<ReturnType<typeof opendir>>;
  try {
    handle = await opendir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // pruned meanwhile
    throw error;
  }
  for await (const entry of handle) {
    if (skip(entry, depth)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walkFiles(path, base, skip, depth + 1);
    else if (entry.isFile()) yield relative(base, path).split(sep).join('/');
  }
}
