/**
 * Inline rows of a background export wait in storage as gzip NDJSON, outside the exports
 * prefix, never in a queue message or a database row. Written before the job record,
 * read by the worker, deleted when the job ends (or by the sweeper, whatever happened).
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { pipeline, Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { TakeoutError } from '../errors.js';
import { rowsFailure } from '../sources/rows.js';
import type { Storage } from '../storage/types.js';
import type { Row } from '../types.js';

const ROWS_FILE = 'rows.ndjson.gz';

/**
 * Beside the exports prefix, never inside it, in a folder of its own per prefix:
 * `generated/` → `staging/generated/`, `a/exports/` → `a/staging/exports/`. Deployments that
 * share a bucket under other prefixes (`generated/`, `tenant-b/`) stage apart, so a sweeper
 * only ever lists, and removes, its own deployment's staged rows.
 */
export function stagingPrefix(exportsPrefix: string): string {
  const trimmed = exportsPrefix.replace(/\/+$/, '');
  const cut = trimmed.lastIndexOf('/') + 1;
  const parent = trimmed.slice(0, cut);
  const name = trimmed.slice(cut);
  // A prefix that is itself `staging/` keeps its exports apart from staged rows too.
  return `${parent}${name === 'staging' ? 'takeout-staging' : 'staging'}/${name ? `${name}/` : ''}`;
}

export function stagingKey(storage: Storage, exportId: string): string {
  return `${stagingPrefix(storage.prefix)}${exportId}/${ROWS_FILE}`;
}

/** The export id a staging key belongs to, or undefined for a foreign key. */
export function exportIdOfStagingKey(storage: Storage, key: string): string | undefined {
  const prefix = stagingPrefix(storage.prefix);
  if (!key.startsWith(prefix) || !key.endsWith(`/${ROWS_FILE}`)) return undefined;
  const id = key.slice(prefix.length, -ROWS_FILE.length - 1);
  return id.includes('/') ? undefined : id;
}

export interface StagedRows {
  key: string;
  rowCount: number;
  /** Uncompressed NDJSON bytes. */
  bytes: number;
  /** SHA-256 of the NDJSON: part of the request hash that tells idempotent retries apart. */
  sha256: string;
}

/**
 * What JSON cannot hold travels tagged, as a one-key object (`{"$takeout:bigint":"-12"}`) that
 * readStagedRows turns back into the value: BigInts, Dates, NaN and the infinities. Bytes go as
 * base64 text, which every writer writes exactly as it writes bytes.
 */
const TAG = '$takeout:';

function rowJson(row: Row): string {
  return JSON.stringify(row, function (this: Record<string, unknown>, key, value) {
    if (typeof value === 'bigint') return { [`${TAG}bigint`]: value.toString() };
    if (typeof value === 'number' && !Number.isFinite(value)) return { [`${TAG}number`]: String(value) };
    const original = this[key]; // toJSON (Date, Buffer) has already run on `value`
    if (original instanceof Date) return { [`${TAG}date`]: Number.isNaN(original.getTime()) ? null : value };
    if (original instanceof Uint8Array) {
      return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
    }
    return value;
  });
}

/** The value a tagged object stands for (see rowJson); anything else as it is. */
function untag(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 1 || !keys[0]!.startsWith(TAG)) return value;
  const text = (value as Record<string, unknown>)[keys[0]!];
  const kind = keys[0]!.slice(TAG.length);
  // Only what rowJson writes: a caller's own object that merely looks like a tag stays as it is.
  if (kind === 'bigint' && typeof text === 'string' && /^-?\d+$/.test(text)) return BigInt(text);
  if (kind === 'number' && (text === 'NaN' || text === 'Infinity' || text === '-Infinity'))
    return Number(text);
  if (kind === 'date' && (text === null || typeof text === 'string')) {
    return new Date(text === null ? Number.NaN : text);
  }
  return value;
}

/** Streams `rows` to storage as gzip NDJSON; `export_too_large` past `maxBytes` (nothing is left). */
export async function stageRows(
  storage: Storage,
  key: string,
  rows: AsyncIterable<Row> | Iterable<Row>,
  options: { maxBytes: number; expiresAt: Date; signal?: AbortSignal },
): Promise<StagedRows> {
  const hash = createHash('sha256');
  let rowCount = 0;
  let bytes = 0;
  async function* ndjson(): AsyncGenerator<Buffer> {
    let pending: string[] = [];
    let pendingLength = 0;
    const flush = () => {
      const chunk = Buffer.from(pending.join(''));
      pending = [];
      pendingLength = 0;
      bytes += chunk.byteLength;
      if (bytes > options.maxBytes) {
        throw new TakeoutError(
          'export_too_large',
          `The inline rows are larger than ${options.maxBytes} bytes`,
          {
            details: { byteLimit: options.maxBytes },
          },
        );
      }
      hash.update(chunk);
      return chunk;
    };
    for await (const row of rows) {
      if (typeof row !== 'object' || row === null) {
        throw new TakeoutError('invalid_rows', `Row ${rowCount} is not an object or an array`, {
          details: { row: rowCount },
        });
      }
      let line: string;
      try {
        line = rowJson(row);
      } catch (cause) {
        // Nested past the call stack, or a cycle: the caller's data, as the writers say.
        throw new TakeoutError(
          'invalid_rows',
          `Row ${rowCount} holds a value that cannot be written as JSON`,
          {
            cause,
            details: { row: rowCount },
          },
        );
      }
      line += '\n';
      pending.push(line);
      pendingLength += line.length;
      rowCount++;
      if (pendingLength >= 64 * 1024) yield flush();
    }
    if (pending.length > 0) yield flush();
  }
  // What the caller's rows threw is a source_error, as when an export reads them.
  async function* staged(): AsyncGenerator<Buffer> {
    try {
      yield* ndjson();
    } catch (error) {
      throw rowsFailure(error);
    }
  }
  // pipeline() destroys the gzip stream with the rows' error (a plain pipe would hang).
  const gzipped = pipeline(Readable.from(staged()), createGzip(), () => {});
  await storage.put(
    key,
    gzipped,
    { contentType: 'application/gzip', filename: ROWS_FILE, expiresAt: options.expiresAt },
    options.signal,
  );
  return { key, rowCount, bytes, sha256: hash.digest('hex') };
}

/** The staged rows, one at a time (memory stays flat whatever their number). */
export async function* readStagedRows(
  storage: Storage,
  key: string,
  signal?: AbortSignal,
): AsyncGenerator<Row> {
  const body = await storage.read(key, signal);
  if (!body) throw new TakeoutError('internal', 'The staged rows of this export are gone');
  const gunzip = pipeline(Readable.from(body), createGunzip(), () => {});
  const lines = createInterface({ input: gunzip, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      // The reviver only where a tag may be: it costs a call per value.
      if (line !== '') yield (line.includes(TAG) ? JSON.parse(line, untag) : JSON.parse(line)) as Row;
    }
  } finally {
    lines.close();
    gunzip.destroy();
  }
}
