import { createHash } from 'node:crypto';

/** JSON with sorted keys: the same request always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The SHA-256 an idempotency key is checked against: the request without its inline rows, in
 * canonical JSON, plus the staged rows' own SHA-256 when there are any.
 */
export function requestHash(request: unknown, rowsSha256?: string): string {
  return createHash('sha256')
    .update(canonical(request))
    .update(rowsSha256 ? `\nrows:${rowsSha256}` : '')
    .digest('hex');
}
