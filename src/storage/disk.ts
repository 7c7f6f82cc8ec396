/**
 * Local disk storage, the embedded default. Files live under `root`; a file is written to
 * `.tmp/` and renamed into place when complete, so a half-written file is never visible. Its
 * metadata (name, type, size, SHA-256, expiry) lives in a sidecar under `.meta/`. Links are
 * HMAC-signed and served by Takeout itself (`src/http/routes/files.ts`).
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { TakeoutError } from '../errors.js';
import { isInside, pruneEmptyDirs, renameInto, walkFiles, writeTempFile } from './disk-files.js';
import { assertInsideRoot } from './disk-links.js';
import { readSidecarFile, sidecarOf, writeSidecarFile } from './disk-sidecar.js';
import { assertValidKey, isValidKey, normalizePrefix } from './keys.js';
import { servedLinks } from './served-links.js';
import { storageIo, throwIfAborted } from './streams.js';
import type {
  ListedObject,
  ObjectInfo,
  ObjectMeta,
  ServedFile,
  ServedStorage,
  StoredObject,
} from './types.js';

export interface DiskStorageOptions {
  /** Directory holding the files (created when missing). */
  root: string;
  /** HMAC secret for links; see `loadOrCreateSecret`. */
  secret: string;
  /** Origin put in front of links, e.g. `https://exports.example.com`. Default: none (relative links). */
  baseUrl?: string;
  /** Path where the files route is mounted. Default `/files`. */
  routePrefix?: string;
  /** Key prefix of the exports. Default `generated/`. */
  prefix?: string;
}

/** A file opened for serving. The caller closes it (or reads a stream that closes it). */
export interface OpenedFile extends ServedFile {
  handle: FileHandle;
}

export interface DiskStorage extends ServedStorage {
  readonly kind: 'file';
  readonly root: string;
  /** Opens a stored file for reading, or undefined when it does not exist. */
  open(key: string): Promise<OpenedFile | undefined>;
}

const TMP_DIR = '.tmp';
const META_DIR = '.meta';

export function diskStorage(options: DiskStorageOptions): DiskStorage {
  if (typeof options?.root !== 'string' || options.root === '') {
    throw new TakeoutError(
      'config_error',
      "diskStorage needs a root: the directory holding the files, e.g. diskStorage({ root: './data/files', secret })",
    );
  }
  const root = resolve(options.root);
  const tmpDir = join(root, TMP_DIR);
  const metaRoot = join(root, META_DIR);
  const links = servedLinks(options);
  const { routePrefix } = links;
  const prefix = normalizePrefix(options.prefix);

  const pathOf = (key: string): string => {
    assertValidKey(key);
    const path = join(root, ...key.split('/'));
    if (!isInside(root, path)) throw new TakeoutError('invalid_request', 'The storage key is not valid');
    return path;
  };
  const metaPathOf = (key: string): string => `${join(metaRoot, ...key.split('/'))}.json`;

  const readSidecar = (key: string) => readSidecarFile(metaPathOf(key));

  async function put(
    key: string,
    body: AsyncIterable<Uint8Array>,
    meta: ObjectMeta,
    signal?: AbortSignal,
  ): Promise<StoredObject> {
    const target = pathOf(key);
    throwIfAborted(signal);
    await assertInsideRoot(root, target);
    await assertInsideRoot(root, metaPathOf(key));
    await assertInsideRoot(root, join(tmpDir, 'file'));
    const written = await writeTempFile(tmpDir, body, signal);
    const metaTmp = join(tmpDir, `${randomUUID()}.meta`);
    const metaPath = metaPathOf(key);
    let sidecarPlaced = false;
    try {
      // Sidecar first: a visible file always has its metadata (and so its expiry).
      await storageIo('write metadata', async () => {
        await writeSidecarFile(metaTmp, sidecarOf(meta, written));
        await assertInsideRoot(root, metaPath); // again: the upload may have taken hours
        await renameInto(metaTmp, metaPath);
        sidecarPlaced = true;
      });
      await storageIo('move the file into place', async () => {
        await assertInsideRoot(root, target);
        await renameInto(written.path, target);
      });
      return { key, size: written.size, sha256: written.sha256 };
    } catch (error) {
      // Nothing of a failed put is left: its data, a half-written sidecar (a full disk), or a
      // placed sidecar whose file never arrived.
      await rm(written.path, { force: true }).catch(() => {});
      await rm(metaTmp, { force: true }).catch(() => {});
      if (sidecarPlaced) {
        await rm(metaPath, { force: true }).catch(() => {});
        await pruneEmptyDirs(dirname(metaPath), metaRoot);
      }
      throw error;
    }
  }

  async function remove(key: string): Promise<void> {
    const path = pathOf(key);
    await assertInsideRoot(root, path);
    await assertInsideRoot(root, metaPathOf(key));
    await storageIo('delete', async () => {
      await rm(path, { force: true });
      await rm(metaPathOf(key), { force: true });
    });
    await pruneEmptyDirs(dirname(path), root);
    await pruneEmptyDirs(dirname(metaPathOf(key)), metaRoot);
  }

  async function statKey(key: string): Promise<ObjectInfo | undefined> {
    const path = pathOf(key);
    await assertInsideRoot(root, path);
    await assertInsideRoot(root, metaPathOf(key));
    return storageIo('read metadata', async () => {
      let info: Awaited<ReturnType<typeof stat>>;
      try {
        info = await stat(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      const sidecar = await readSidecar(key);
      return {
        key,
        size: info.size,
        lastModified: info.mtime,
        contentType: sidecar?.contentType ?? 'application/octet-stream',
        filename: sidecar?.filename ?? basename(path),
        ...(sidecar?.expiresAt ? { expiresAt: new Date(sidecar.expiresAt) } : {}),
        ...(sidecar ? { sha256: sidecar.sha256 } : {}),
      };
    });
  }

  async function* list(listPrefix = prefix): AsyncGenerator<ListedObject> {
    // Start at the deepest directory the prefix names, then filter by the full prefix.
    const dirPart = listPrefix.includes('/') ? listPrefix.slice(0, listPrefix.lastIndexOf('/')) : '';
    if (dirPart !== '' && !isValidKey(dirPart)) return;
    const start = dirPart === '' ? root : join(root, ...dirPart.split('/'));
    // The walk never follows a link it meets; the directories the prefix names are checked here.
    await assertInsideRoot(root, join(start, 'file'));
    const skipInternal = (entry: { name: string }, depth: number) =>
      dirPart === '' && depth === 0 && (entry.name === TMP_DIR || entry.name === META_DIR);
    for await (const key of walkFiles(start, root, skipInternal)) {
      if (!key.startsWith(listPrefix)) continue;
      try {
        const info = await stat(join(root, ...key.split('/')));
        yield { key, size: info.size, lastModified: info.mtime };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // deleted meanwhile
      }
    }
  }

  async function removeIncomplete(before: Date, options: { prefix?: string } = {}): Promise<number> {
    // Temp files are not named by key: none is known to belong under a prefix.
    if (options.prefix !== undefined) return 0;
    await assertInsideRoot(root, join(tmpDir, 'file'));
    await assertInsideRoot(root, join(metaRoot, 'file'));
    let removed = 0;
    const olderThan = async (path: string) => (await stat(path)).mtime < before;
    const tryRemove = async (path: string, check: () => Promise<boolean>) => {
      try {
        if (await check()) {
          await rm(path);
          removed++;
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    };
    for await (const name of walkFiles(tmpDir, tmpDir)) {
      const path = join(tmpDir, name);
      await tryRemove(path, () => olderThan(path));
    }
    // A sidecar whose file never arrived (a crash between the two renames).
    for await (const name of walkFiles(metaRoot, metaRoot)) {
      const path = join(metaRoot, name);
      const key = name.replace(/\.json$/, '');
      await tryRemove(path, async () => {
        if (!isValidKey(key) || !(await olderThan(path))) return false;
        return stat(pathOf(key)).then(
          () => false,
          (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
        );
      });
    }
    return removed;
  }

  return {
    kind: 'file',
    prefix,
    root,
    routePrefix,
    put,
    delete: remove,
    stat: statKey,
    async read(key, signal) {
      const path = pathOf(key);
      await assertInsideRoot(root, path);
      const handle = await storageIo('open', () =>
        open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw error;
        }),
      );
      return handle?.createReadStream(signal ? { signal } : {});
    },
    list,
    removeIncomplete,
    async signedUrl(key, opts) {
      pathOf(key);
      return links.signedUrl(key, opts);
    },
    verifyLink: links.verifyLink,
    async open(key) {
      const path = pathOf(key);
      let handle: FileHandle;
      try {
        // O_NOFOLLOW and the realpath check: a symlink planted under root cannot leak other files.
        handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return undefined;
        throw new TakeoutError('storage_error', 'The file store failed to open a file', { cause: error });
      }
      try {
        if (!isInside(await realpath(root), await realpath(path))) {
          await handle.close();
          return undefined;
        }
        const info = await handle.stat();
        if (!info.isFile()) {
          await handle.close();
          return undefined;
        }
        const sidecar = await readSidecar(key);
        const etag =
          sidecar && sidecar.size === info.size
            ? `"${sidecar.sha256}"`
            : `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
        return {
          handle,
          size: info.size,
          lastModified: info.mtime,
          etag,
          createReadStream: (range) => handle.createReadStream({ ...range, autoClose: true }),
          close: () => handle.close(),
        };
      } catch (error) {
        await handle.close().catch(() => {});
        throw new TakeoutError('storage_error', 'The file store failed to open a file', { cause: error });
      }
    },
    async close() {},
  };
}
