/**
 * Storage keys: `<prefix><yyyy>/<mm>/<dd>/<export id>/[a<attempt>/]<sanitised filename>`. A key is a
 * relative path of safe segments, so it means the same on disk and in S3 and can never
 * climb out of the storage root.
 */

import { sanitizeFilename, truncateKeepingExtension } from '../content-disposition.js';
import { TakeoutError } from '../errors.js';

export const DEFAULT_PREFIX = 'generated/';
const MAX_KEY_BYTES = 1024;
const MAX_FILENAME_BYTES = 200; // file systems allow 255 bytes per name

export interface ExportKeyOptions {
  exportId: string;
  filename: string;
  /** The day in the key (UTC). Default: now. */
  createdAt?: Date;
  /** Default `generated/`. */
  prefix?: string;
  /** A job attempt's own folder (`a2/`): two attempts never write the same key. */
  attempt?: number;
}

export function exportKey(options: ExportKeyOptions): string {
  const attempt = options.attempt === undefined ? '' : `a${Math.trunc(options.attempt)}/`;
  const key = `${exportFolder(options)}${attempt}${keyFilename(options.filename)}`;
  assertValidKey(key);
  return key;
}

/** `<prefix><yyyy>/<mm>/<dd>/<export id>/`: where every attempt of one export writes. */
export function exportFolder(options: Omit<ExportKeyOptions, 'filename' | 'attempt'>): string {
  const { exportId, createdAt = new Date() } = options;
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(exportId)) {
    throw new TakeoutError('invalid_request', 'The export id is not valid in a storage key');
  }
  const yyyy = String(createdAt.getUTCFullYear()).padStart(4, '0');
  const mm = String(createdAt.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(createdAt.getUTCDate()).padStart(2, '0');
  return `${normalizePrefix(options.prefix)}${yyyy}/${mm}/${dd}/${exportId}/`;
}

/** `generated` / `/generated/` / `a/b` -> `generated/` / `generated/` / `a/b/`; empty -> default. */
export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return DEFAULT_PREFIX;
  const normalized = `${trimmed}/`;
  if (!isValidKey(trimmed)) {
    throw new TakeoutError('config_error', 'The storage prefix is not a valid key prefix');
  }
  return normalized;
}

/**
 * A file name safe as the last key segment everywhere: letters, digits, marks, `.`, `_`,
 * `-`, `(`, `)`; anything else becomes `_`. The name users see comes from the metadata.
 */
export function keyFilename(filename: string): string {
  const clean = (text: string) =>
    text
      .replace(/[^\p{L}\p{N}\p{M}._()-]/gu, '_')
      .replace(/_{2,}/g, '_')
      .replace(/^[._]+/, '');
  const name = sanitizeFilename(filename, 'export');
  const dot = name.lastIndexOf('.');
  const hasExtension = dot > 0 && name.length - dot <= 10;
  const stem = clean(hasExtension ? name.slice(0, dot) : name) || 'export';
  const extension = hasExtension ? `.${clean(name.slice(dot + 1))}` : '';
  return truncateKeepingExtension(extension === '.' ? stem : stem + extension, MAX_FILENAME_BYTES);
}

const SEGMENT =
  /^[^./\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069][^/\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$/u;

/**
 * Relative, `/`-separated, no empty, `.`/`..` or dot-leading segment (dot names are reserved
 * for the disk driver's own `.tmp` and `.meta` trees), no backslash, control or bidi character.
 */
export function isValidKey(key: string): boolean {
  if (key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES) return false;
  if (key.normalize('NFC') !== key) return false;
  return key.split('/').every((segment) => SEGMENT.test(segment));
}

export function assertValidKey(key: string): void {
  if (!isValidKey(key)) throw new TakeoutError('invalid_request', 'The storage key is not valid');
}
