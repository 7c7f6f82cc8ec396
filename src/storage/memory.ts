/**
 * In-memory storage: every file lives in this process's memory, so it is for tests and
 * demos only (what comes next — jobs, the worker — can run against it without a disk or S3).
 * It behaves like the disk driver: a file becomes visible only when complete, size and
 * SHA-256 verified; links are HMAC-signed and served by Takeout's files route.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { assertValidKey, normalizePrefix } from './keys.js';
import { servedLinks } from './served-links.js';
import { abortable, throwIfAborted } from './streams.js';
import type {
  ListedObject,
  ObjectInfo,
  ObjectMeta,
  ServedFile,
  ServedStorage,
  StoredObject,
} from './types.js';

export interface MemoryStorageOptions {
  /** HMAC secret for links. Default: random, so links die with the process. */
  secret?: string;
  /** Origin put in front of links, e.g. the test server's address. Default: relative links. */
  baseUrl?: string;
  /** Path where the files route is mounted. Default `/files`. */
  routePrefix?: string;
  /** Key prefix of the exports. Default `generated/`. */
  prefix?: string;
}

interface MemoryFile {
  bytes: Buffer;
  meta: ObjectMeta;
  sha256: string;
  lastModified: Date;
}

export interface MemoryStorage extends ServedStorage {
  readonly kind: 'memory';
  /** Uploads still being received (what a crash would leave behind on other drivers). */
  readonly incomplete: number;
}

export function memoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  const files = new Map<string, MemoryFile>();
  const links = servedLinks({ ...options, secret: options.secret ?? randomBytes(32).toString('base64url') });
  const prefix = normalizePrefix(options.prefix);
  let incomplete = 0;

  async function put(
    key: string,
    body: AsyncIterable<Uint8Array>,
    meta: ObjectMeta,
    signal?: AbortSignal,
  ): Promise<StoredObject> {
    assertValidKey(key);
    throwIfAborted(signal);
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    let size = 0;
    incomplete++;
    try {
      for await (const chunk of abortable(body, signal)) {
        const copy = Buffer.from(chunk); // the producer may reuse its buffer
        chunks.push(copy);
        hash.update(copy);
        size += copy.byteLength;
      }
      throwIfAborted(signal);
    } finally {
      incomplete--;
    }
    const sha256 = hash.digest('hex');
    files.set(key, {
      bytes: Buffer.concat(chunks, size),
      meta: { ...meta },
      sha256,
      lastModified: new Date(),
    });
    return { key, size, sha256 };
  }

  function infoOf(key: string, file: MemoryFile): ObjectInfo {
    return {
      key,
      size: file.bytes.byteLength,
      lastModified: file.lastModified,
      contentType: file.meta.contentType,
      filename: file.meta.filename,
      ...(file.meta.expiresAt ? { expiresAt: file.meta.expiresAt } : {}),
      sha256: file.sha256,
    };
  }

  return {
    kind: 'memory',
    prefix,
    routePrefix: links.routePrefix,
    get incomplete() {
      return incomplete;
    },
    put,
    async signedUrl(key, opts) {
      assertValidKey(key);
      return links.signedUrl(key, opts);
    },
    verifyLink: links.verifyLink,
    async read(key, signal) {
      assertValidKey(key);
      throwIfAborted(signal);
      const file = files.get(key);
      return file ? abortable(Readable.from([file.bytes]), signal) : undefined;
    },
    async delete(key) {
      assertValidKey(key);
      files.delete(key);
    },
    async stat(key) {
      assertValidKey(key);
      const file = files.get(key);
      return file ? infoOf(key, file) : undefined;
    },
    async *list(listPrefix = prefix): AsyncGenerator<ListedObject> {
      // A snapshot of the keys: deleting while listing (the sweeper) is safe.
      for (const key of [...files.keys()].sort()) {
        const file = files.get(key);
        if (file && key.startsWith(listPrefix)) {
          yield { key, size: file.bytes.byteLength, lastModified: file.lastModified };
        }
      }
    },
    // Unfinished uploads live only in their own put() call: nothing is ever left behind.
    async removeIncomplete() {
      return 0;
    },
    async open(key): Promise<ServedFile | undefined> {
      assertValidKey(key);
      const file = files.get(key);
      if (!file) return undefined;
      return {
        size: file.bytes.byteLength,
        lastModified: file.lastModified,
        etag: `"${file.sha256}"`,
        createReadStream: ({ start, end }) => Readable.from([file.bytes.subarray(start, end + 1)]),
        close: async () => {},
      };
    },
    async close() {
      files.clear();
    },
  };
}
