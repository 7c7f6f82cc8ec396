/** File-system helpers of the disk driver: atomic placement, tree walks, pruning. */
import type { Dirent } from 'node:fs';
import { mkdir, opendir, rename, rmdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

/**
 * Renames `from` to `to`, creating the parent directories. Retries when a concurrent sweeper
 * pruned a just-created empty directory between the mkdir and the rename.
 */
export async function renameInto(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await mkdir(dirname(to), { recursive: true });
    try {
      await rename(from, to);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 4) throw error;
    }
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
