/**
 * `STORAGE_URL` parsed into a storage location, and the link / file lifetimes (factory.ts
 * builds the driver from them).
 *
 *   (unset)                     <TAKEOUT_DATA_DIR>/files
 *   file:exports                a path relative to the working directory
 *   file:///var/lib/takeout     an absolute path
 *   s3://bucket/prefix?region=eu-west-1&endpoint=http://127.0.0.1:9000&forcePathStyle=true
 *
 * Credentials never go in the URL: the S3 driver uses the SDK's chain (AWS_ACCESS_KEY_ID ...).
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { didYouMean } from '../did-you-mean.js';
import { checkRetentionSeconds, parseDurationMs } from '../durations.js';
import { TakeoutError } from '../errors.js';
import { normalizePrefix } from './keys.js';
import type { S3StorageOptions } from './s3.js';
import { MAX_PART_SIZE, MAX_PART_SIZE_TEXT, MIN_PART_SIZE } from './s3-parts.js';
import { MAX_LINK_TTL_SECONDS } from './types.js';

export type StorageLocation =
  | { kind: 'file'; root: string }
  | ({ kind: 's3' } & Omit<S3StorageOptions, 'client' | 'credentials'>);

export interface StorageUrlContext {
  /** Takeout's data directory (`TAKEOUT_DATA_DIR`, default `./data`). */
  dataDir: string;
  /** Base for relative `file:` paths. Default: the working directory. */
  cwd?: string;
}

const S3_PARAMS = new Set([
  'region',
  'endpoint',
  'forcePathStyle',
  'sse',
  'kmsKeyId',
  'partSize',
  'uniformParts',
  'queueSize',
  'checksums',
  'publicEndpoint',
]);

/** Parses `STORAGE_URL`. Errors never echo the URL (it could hold a secret by mistake). */
export function parseStorageUrl(url: string | undefined, context: StorageUrlContext): StorageLocation {
  const text = url?.trim() ?? '';
  if (text === '')
    return { kind: 'file', root: resolve(context.cwd ?? process.cwd(), context.dataDir, 'files') };
  if (text.startsWith('file:')) return { kind: 'file', root: filePath(text, context) };
  if (text.startsWith('s3://')) return parseS3Url(text);
  throw new TakeoutError('config_error', 'STORAGE_URL must start with file: or s3://');
}

function filePath(text: string, context: StorageUrlContext): string {
  if (text.startsWith('file://')) {
    try {
      return fileURLToPath(text); // file:///abs/path (a host other than localhost is refused)
    } catch {
      throw new TakeoutError('config_error', 'STORAGE_URL is not a valid file: URL');
    }
  }
  let path: string;
  try {
    path = decodeURIComponent(text.slice('file:'.length));
  } catch {
    throw new TakeoutError('config_error', 'STORAGE_URL is not a valid file: URL');
  }
  if (path === '') throw new TakeoutError('config_error', 'STORAGE_URL file: needs a path');
  return isAbsolute(path) ? path : resolve(context.cwd ?? process.cwd(), path);
}

function parseS3Url(text: string): StorageLocation {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TakeoutError('config_error', 'STORAGE_URL is not a valid s3:// URL');
  }
  if (url.username || url.password) {
    throw new TakeoutError(
      'config_error',
      'STORAGE_URL must not contain credentials; use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the SDK chain',
    );
  }
  for (const name of url.searchParams.keys()) {
    if (!S3_PARAMS.has(name)) {
      throw new TakeoutError(
        'config_error',
        `STORAGE_URL has an unknown parameter "${name}"${didYouMean(name, [...S3_PARAMS])}`,
        {
          details: { allowed: [...S3_PARAMS] },
        },
      );
    }
  }
  const get = (name: string) => url.searchParams.get(name) ?? undefined;
  const flag = (name: string): boolean | undefined => {
    const value = get(name);
    if (value === undefined) return undefined;
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    throw new TakeoutError('config_error', `STORAGE_URL parameter ${name} must be true or false`);
  };
  const sse = get('sse');
  if (sse !== undefined && sse !== 'AES256' && sse !== 'aws:kms') {
    throw new TakeoutError('config_error', 'STORAGE_URL parameter sse must be AES256 or aws:kms');
  }
  const partSize = get('partSize');
  const queueSize = get('queueSize');
  const kmsKeyId = get('kmsKeyId');
  if (kmsKeyId !== undefined && sse !== 'aws:kms') {
    throw new TakeoutError('config_error', 'STORAGE_URL parameter kmsKeyId needs sse=aws:kms');
  }
  const options: StorageLocation = { kind: 's3', bucket: bucketOf(url), prefix: prefixOf(url) };
  const set = <K extends keyof typeof options>(key: K, value: (typeof options)[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('region', regionParam(get('region')));
  set('endpoint', endpointParam(get('endpoint'), 'endpoint'));
  set('publicEndpoint', endpointParam(get('publicEndpoint'), 'publicEndpoint'));
  set('forcePathStyle', flag('forcePathStyle'));
  set('uniformParts', flag('uniformParts'));
  set('checksums', flag('checksums'));
  set('sse', sse as 'AES256' | 'aws:kms' | undefined);
  set('kmsKeyId', kmsKeyId);
  set('partSize', partSize === undefined ? undefined : parseBytes(partSize, 'partSize'));
  set('queueSize', queueSize === undefined ? undefined : parseInteger(queueSize, 'queueSize'));
  if (
    options.partSize !== undefined &&
    !(options.partSize >= MIN_PART_SIZE && options.partSize <= MAX_PART_SIZE)
  ) {
    throw new TakeoutError(
      'config_error',
      `STORAGE_URL parameter partSize must be from 5MiB to ${MAX_PART_SIZE_TEXT.replace(' ', '')}`,
    );
  }
  if (options.queueSize !== undefined && !(options.queueSize >= 1 && options.queueSize <= 64)) {
    throw new TakeoutError('config_error', 'STORAGE_URL parameter queueSize must be from 1 to 64');
  }
  return options;
}

/** The rules s3.ts applies, checked here so the message names STORAGE_URL. */
function bucketOf(url: URL): string {
  let bucket: string;
  try {
    bucket = decodeURIComponent(url.hostname);
  } catch {
    bucket = '';
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new TakeoutError(
      'config_error',
      'STORAGE_URL must name a valid bucket: s3://bucket/prefix, the bucket 3-63 lowercase letters, digits, dots and hyphens',
    );
  }
  return bucket;
}

function prefixOf(url: URL): string {
  try {
    const prefix = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
    normalizePrefix(prefix);
    return prefix;
  } catch {
    throw new TakeoutError(
      'config_error',
      'STORAGE_URL has a prefix (the path after the bucket) that is not a valid key prefix',
    );
  }
}

/** `endpoint` and `publicEndpoint`: the SDK would take anything, then fail every request. */
function endpointParam(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    throw new TakeoutError(
      'config_error',
      `STORAGE_URL parameter ${name} must be an http:// or https:// URL without credentials, like http://127.0.0.1:9000`,
    );
  }
  return value;
}

/** A region is one host name label (the SDK puts it in host names): `eu-west-1`, `auto`. */
export function regionParam(
  value: string | undefined,
  name = 'STORAGE_URL parameter region',
): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(value)) {
    throw new TakeoutError('config_error', `${name} must be a region name like eu-west-1`);
  }
  return value;
}

function parseInteger(text: string, name: string): number {
  if (!/^\d+$/.test(text))
    throw new TakeoutError('config_error', `STORAGE_URL parameter ${name} must be an integer`);
  return Number(text);
}

/** `8388608`, `8MiB`, `16MB` (MB read as MiB: part sizes are binary in practice). */
function parseBytes(text: string, name: string): number {
  const match = /^(\d+)\s*(k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text);
  if (!match)
    throw new TakeoutError('config_error', `STORAGE_URL parameter ${name} must be a size like 16MiB`);
  const unit = (match[2] ?? '').toLowerCase()[0];
  const factor = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(match[1]) * factor;
}

/** `300`, `300s`, `90m`, `1.5h`, `7d` -> whole seconds (the grammar of every duration, src/durations.ts). */
export function parseDuration(text: string, name: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms % 1000 !== 0) {
    throw new TakeoutError(
      'config_error',
      `${name} must be a duration in whole seconds, like 300, 90m, 1.5h or 7d`,
    );
  }
  return ms / 1000;
}

export interface StorageSettings {
  location: StorageLocation;
  /** Lifetime of download links, seconds (`TAKEOUT_LINK_TTL`, default 300, at most 7 days). */
  linkTtlSeconds: number;
  /** Retention of stored files, seconds (`TAKEOUT_FILE_TTL`, default 24 h). */
  fileTtlSeconds: number;
}

export function storageSettingsFromEnv(env: NodeJS.ProcessEnv, context: StorageUrlContext): StorageSettings {
  const linkTtlSeconds = env.TAKEOUT_LINK_TTL ? parseDuration(env.TAKEOUT_LINK_TTL, 'TAKEOUT_LINK_TTL') : 300;
  if (linkTtlSeconds < 1 || linkTtlSeconds > MAX_LINK_TTL_SECONDS) {
    throw new TakeoutError('config_error', 'TAKEOUT_LINK_TTL must be from 1 second to 7 days');
  }
  const fileTtlSeconds = env.TAKEOUT_FILE_TTL
    ? parseDuration(env.TAKEOUT_FILE_TTL, 'TAKEOUT_FILE_TTL')
    : 86_400;
  if (fileTtlSeconds < 1)
    throw new TakeoutError('config_error', 'TAKEOUT_FILE_TTL must be at least 1 second');
  checkRetentionSeconds(fileTtlSeconds, 'TAKEOUT_FILE_TTL');
  return { location: parseStorageUrl(env.STORAGE_URL, context), linkTtlSeconds, fileTtlSeconds };
}

export interface StorageFactoryOptions extends StorageUrlContext {
  /** Signing secret for disk links (`loadOrCreateSecret`). Required for `file:`. */
  secret?: string;
  /** Public origin of Takeout, put in front of disk links. */
  baseUrl?: string;
  /** Static S3 credentials; default: the SDK's chain. */
  credentials?: S3StorageOptions['credentials'];
  /** S3 region when the URL names none; default: AWS_REGION or us-east-1. */
  region?: string;
}
