import type { Readable } from 'node:stream';

/** What a stored file is: how to serve it and when its retention ends. */
export interface ObjectMeta {
  contentType: string;
  /** The name users see when they download it (sanitised before use in headers). */
  filename: string;
  /** End of retention; the sweeper deletes the file after this instant. */
  expiresAt?: Date;
}

/** What `put` verified it wrote. */
export interface StoredObject {
  key: string;
  size: number;
  /** Hex SHA-256 of the bytes, computed while streaming. */
  sha256: string;
}

/** A stored file as a listing sees it (no metadata: listing S3 does not return it). */
export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** A stored file with its metadata. */
export interface ObjectInfo extends ListedObject {
  contentType: string;
  filename: string;
  expiresAt?: Date;
  /** Hex SHA-256 when the store kept it (the disk driver does; S3 has only its own checksums). */
  sha256?: string;
}

export interface SignedUrlOptions {
  /** Lifetime of the link in seconds: an integer from 1 to 604800 (7 days). */
  expiresIn: number;
  /** The link ends by then at the latest, whatever `expiresIn` (a file's retention). */
  notAfter?: Date;
  filename: string;
  contentType: string;
}

/** Where finished files live. Implementations: `diskStorage`, `s3Storage`. */
export interface Storage {
  /** `file` or `s3`: lets callers (and the contract tests) know what they hold. */
  readonly kind: string;
  /** Key prefix of the exports (`generated/` by default): what the sweeper and lifecycle rule cover. */
  readonly prefix: string;
  /**
   * The largest object `put` can store, when the store has a limit (S3: 10,000 parts of the
   * configured sizes): a background export stops there with `export_too_large`, which no retry
   * can mend, instead of failing its upload at the end, three times.
   */
  readonly maxObjectBytes?: number;
  /**
   * Streams `body` to `key`. The object becomes visible only when complete, size and SHA-256
   * verified; on error or abort nothing is left behind (no file, no multipart parts).
   */
  put(
    key: string,
    body: AsyncIterable<Uint8Array>,
    meta: ObjectMeta,
    signal?: AbortSignal,
  ): Promise<StoredObject>;
  /** A link that downloads the file under `filename` as `contentType` until it expires. */
  signedUrl(key: string, opts: SignedUrlOptions): Promise<string>;
  /**
   * The file's bytes, streamed; undefined when there is no such file. For Takeout's own use
   * (a job reading its staged input); users download through signed links.
   */
  read(key: string, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** Deletes the file; deleting a missing file is not an error. */
  delete(key: string): Promise<void>;
  /** The file's metadata, or undefined when there is no such file. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /**
   * Every file whose key starts with `prefix`, streamed (never collected in memory). `signal`
   * stops a listing that waits on its store (readiness probes give up after 2 s).
   */
  list(prefix?: string, signal?: AbortSignal): AsyncIterable<ListedObject>;
  /**
   * Removes leftovers of writes that never finished and are older than `before` (disk temp
   * files, S3 incomplete multipart uploads). Returns how many were removed. With `prefix`,
   * only those of keys under it: S3 uploads are named by key; disk temp files are not, so
   * disk removes none then (its leftovers wait for the age rule).
   */
  removeIncomplete(before: Date, options?: { prefix?: string }): Promise<number>;
  close(): Promise<void>;
}

/** Maximum lifetime of a signed link (SigV4 presigned URLs cannot live longer). */
export const MAX_LINK_TTL_SECONDS = 604_800;

/** A stored file opened to be served by Takeout's files route. */
export interface ServedFile {
  size: number;
  lastModified: Date;
  /** Strong ETag from the SHA-256 when known, else a weak one. */
  etag: string;
  /** The bytes from `start` to `end` (inclusive); the stream releases the file when it ends. */
  createReadStream(range: { start: number; end: number }): Readable;
  /** Releases the file when no stream is read. */
  close(): Promise<void>;
}

/**
 * A storage whose links Takeout serves itself (disk, memory): `GET <routePrefix>/*` checks
 * the link and streams the file.
 */
export interface ServedStorage extends Storage {
  readonly routePrefix: string;
  /** Checks a link's signature and expiry; returns what it grants. Throws `invalid_link` / `link_expired`. */
  verifyLink(
    key: string,
    query: Record<string, unknown>,
    now?: Date,
  ): { filename: string; contentType: string };
  /** Opens a stored file for serving, or undefined when it does not exist. */
  open(key: string): Promise<ServedFile | undefined>;
}

/** Whether the storage's links are served by Takeout (it needs the files route). */
export function isServedStorage(storage: Storage): storage is ServedStorage {
  const candidate = storage as Partial<ServedStorage>;
  return typeof candidate.verifyLink === 'function' && typeof candidate.open === 'function';
}
