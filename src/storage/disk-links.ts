/** The disk driver's guard against directories under its root that are links leading out of it. */
import { lstat, realpath } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { TakeoutError } from '../errors.js';
import { isInside } from './disk-files.js';
import { storageIo } from './streams.js';

/**
 * Refuses a path whose directories leave `root` through a symlink (a directory under the root
 * replaced by a link elsewhere): puts, reads, deletes and listings stay inside the root. The
 * root itself may be a link (a mounted volume); the deepest existing directory on the way to
 * `path` must resolve to the same place under the root's real path.
 */
export async function assertInsideRoot(root: string, path: string): Promise<void> {
  let dir = dirname(path);
  while (dir !== root && isInside(root, dir)) {
    let real: string;
    try {
      real = await realpath(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Not there (yet): look further up. A dangling link is refused like any other.
      const dangling = await lstat(dir).then(
        (info) => info.isSymbolicLink(),
        () => false,
      );
      if (!dangling && (code === 'ENOENT' || code === 'ENOTDIR')) {
        dir = dirname(dir);
        continue;
      }
      if (!dangling)
        throw new TakeoutError('storage_error', 'The file store failed to resolve a path', {
          cause: error,
        });
      real = '';
    }
    const realRoot = await storageIo('resolve the root', () => realpath(root));
    if (real !== join(realRoot, relative(root, dir))) {
      throw new TakeoutError(
        'storage_error',
        `The file store refuses ${relative(root, dir)}: a symlink leads out of its root`,
      );
    }
    return;
  }
}
