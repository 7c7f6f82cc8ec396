import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { coerceError, ERROR_CATALOG, TakeoutError } from '../../src/errors.js';

describe('error catalog', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|\s*(yes|no)\s*\|/gm)].map((m) => [
      m[1],
      { status: Number(m[2]), retryable: m[3] === 'yes' },
    ]),
  );

  it.each(Object.entries(ERROR_CATALOG))(
    '%s is documented with its status and retryability',
    (code, entry) => {
      expect(rows.get(code)).toEqual({ status: entry.status, retryable: entry.retryable });
    },
  );

  it('documents no code that does not exist', () => {
    expect([...rows.keys()].filter((code) => !Object.hasOwn(ERROR_CATALOG, code ?? ''))).toEqual([]);
  });

  it('catalogs only codes the code can raise', () => {
    const src = fileURLToPath(new URL('../../src', import.meta.url));
    const files = (readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && f !== 'errors.ts')
      .map((f) => readFileSync(join(src, f), 'utf8'))
      .join('\n');
    const unused = Object.keys(ERROR_CATALOG).filter((code) => !files.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });

  it('carries code, status and retryability', () => {
    const error = new TakeoutError('unknown_format', 'nope', { details: { formats: ['csv'] } });
    expect(error).toMatchObject({ code: 'unknown_format', status: 400, retryable: false, message: 'nope' });
  });

  it('coerces foreign errors without leaking their message', () => {
    const error = coerceError(new Error('password=hunter2'));
    expect(error.code).toBe('internal');
    expect(error.message).not.toContain('hunter2');
    expect(coerceError(Object.assign(new Error('x'), { name: 'AbortError' })).code).toBe('aborted');
  });
});
