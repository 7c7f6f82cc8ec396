import { TakeoutError } from '../errors.js';
import type { Column, ColumnSpec } from '../types.js';

/** The body of `POST /v1/exports`, checked. */
export interface ExportRequest {
  format: string;
  rows?: unknown[];
  dataset?: string;
  params?: Record<string, unknown>;
  columns?: ColumnSpec[];
  filename?: string;
  timezone?: string;
  locale?: string;
  /** Format options: delimiter, lineEnding, header, bom, preset, escapeFormulas, sheetName ... */
  options: Record<string, unknown>;
}

const MEMBERS = new Set([
  'format',
  'rows',
  'dataset',
  'params',
  'columns',
  'filename',
  'timezone',
  'locale',
  'options',
]);
// Members a request may not smuggle in through `options`: they have their own checks.
const RESERVED_OPTIONS = new Set([
  'format',
  'columns',
  'signal',
  'onProgress',
  'maxRows',
  'filename',
  'timezone',
  'locale',
]);

function bad(message: string, code: 'invalid_request' | 'invalid_rows' = 'invalid_request'): TakeoutError {
  return new TakeoutError(code, message);
}

function optionalString(body: Record<string, unknown>, name: string, max: number): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw bad(`${name} must be a non-empty string of at most ${max} characters`);
  }
  return v;
}

export function parseExportRequest(body: unknown): ExportRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw bad('The body must be a JSON object');
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!MEMBERS.has(key))
      throw bad(`Unknown member ${JSON.stringify(key).slice(0, 60)}; allowed: ${[...MEMBERS].join(', ')}`);
  }
  if (typeof b.format !== 'string') throw bad('format is required (csv, tsv, json, ndjson, xlsx)');
  if ((b.rows === undefined) === (b.dataset === undefined)) throw bad('Give exactly one of rows or dataset');
  const request: ExportRequest = { format: b.format, options: {} };
  if (b.rows !== undefined) {
    if (!Array.isArray(b.rows)) throw bad('rows must be an array of objects or arrays', 'invalid_rows');
    const shapeOfFirst = Array.isArray(b.rows[0]);
    b.rows.forEach((row, i) => {
      const message =
        typeof row !== 'object' || row === null
          ? `rows[${i}] must be an object or an array`
          : Array.isArray(row) !== shapeOfFirst
            ? `rows[${i}] must be ${shapeOfFirst ? 'an array' : 'an object'} like rows[0]`
            : undefined;
      if (message) throw new TakeoutError('invalid_rows', message, { details: { row: i } });
    });
    request.rows = b.rows;
    if (b.params !== undefined) throw bad('params go with dataset, not rows');
  } else {
    if (typeof b.dataset !== 'string') throw bad('dataset must be a string');
    request.dataset = b.dataset;
    if (b.params !== undefined) {
      if (typeof b.params !== 'object' || b.params === null || Array.isArray(b.params)) {
        throw new TakeoutError('invalid_params', 'params must be an object');
      }
      request.params = b.params as Record<string, unknown>;
    }
  }
  if (b.columns !== undefined) {
    if (!Array.isArray(b.columns)) throw new TakeoutError('invalid_columns', 'columns must be an array');
    request.columns = b.columns as ColumnSpec[];
  }
  const filename = optionalString(b, 'filename', 255);
  if (filename) request.filename = filename;
  const timezone = optionalString(b, 'timezone', 64);
  if (timezone) request.timezone = timezone;
  const locale = optionalString(b, 'locale', 35);
  if (locale) request.locale = locale;
  if (b.options !== undefined) {
    if (typeof b.options !== 'object' || b.options === null || Array.isArray(b.options))
      throw bad('options must be an object');
    for (const key of Object.keys(b.options)) {
      if (RESERVED_OPTIONS.has(key))
        throw bad(`options.${key} is not an option; give ${key} at the top level`);
    }
    request.options = b.options as Record<string, unknown>;
  }
  return request;
}

/**
 * Applies request columns to a dataset's columns: a request may pick, reorder and rename
 * the dataset's columns, never add new ones.
 */
export function pickColumns(
  available: readonly Column[] | undefined,
  requested: ColumnSpec[] | undefined,
): ColumnSpec[] | undefined {
  if (!requested || !available) return requested ?? available?.slice();
  const byKey = new Map(available.map((c) => [c.key, c]));
  return requested.map((spec, i) => {
    const key = typeof spec === 'string' ? spec : (spec as Column | null)?.key;
    const known = typeof key === 'string' ? byKey.get(key) : undefined;
    if (!known) {
      throw new TakeoutError('invalid_columns', `columns[${i}] is not a column of this dataset`, {
        details: { columns: [...byKey.keys()] },
      });
    }
    return typeof spec === 'string' ? known : { ...known, ...(spec as Column) };
  });
}

/** A file name for the download: the caller's (with the right extension) or `<name>-<UTC time>.<ext>`. */
export function downloadName(
  requested: string | undefined,
  base: string,
  extension: string,
  now = new Date(),
): string {
  if (requested) {
    return requested.toLowerCase().endsWith(`.${extension}`) ? requested : `${requested}.${extension}`;
  }
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return `${base}-${stamp}.${extension}`;
}
