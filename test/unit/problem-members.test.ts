import { describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { problemOf } from '../../src/http/problem.js';

describe('problem documents', () => {
  it('name extension members in snake_case, as every other body', () => {
    const error = new TakeoutError('sync_limit_exceeded', 'Too wide', {
      details: { limit: 10, cellLimit: 100, byteLimit: 1024, sheetRow: 3 },
    });
    const problem = problemOf(error, '/v1/exports');
    expect(problem).toMatchObject({ limit: 10, cell_limit: 100, byte_limit: 1024, sheet_row: 3 });
    expect(Object.keys(problem).filter((key) => /[A-Z]/.test(key))).toEqual([]);
  });

  it('never lets a detail replace a standard member', () => {
    const error = new TakeoutError('export_not_ready', 'Not yet', {
      details: { status: 'running', code: 'x' },
    });
    expect(problemOf(error)).toMatchObject({ status: 409, code: 'export_not_ready' });
  });
});
