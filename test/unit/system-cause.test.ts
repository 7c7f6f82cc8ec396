import { describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { systemCause } from '../../src/system-cause.js';

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('systemCause', () => {
  it("names the system's reason found down the cause chain", () => {
    const full = errno('ENOSPC', 'ENOSPC: no space left on device, write');
    const wrapped = new TakeoutError('storage_error', 'The file store failed to write', { cause: full });
    expect(systemCause(wrapped)).toBe('ENOSPC: no space left on device, write');
    expect(systemCause(errno('SQLITE_FULL', 'database or disk is full'))).toBe(
      'SQLITE_FULL: database or disk is full',
    );
  });

  it('says nothing of errors without an errno-style code (a query, its values, a URL)', () => {
    expect(
      systemCause(errno('23505', 'duplicate key value violates unique constraint "x" (secret)')),
    ).toBeUndefined();
    expect(systemCause(new Error('connect to postgres://u:p@h failed'))).toBeUndefined();
    expect(systemCause('ENOSPC')).toBeUndefined();
    expect(systemCause(undefined)).toBeUndefined();
  });
});
