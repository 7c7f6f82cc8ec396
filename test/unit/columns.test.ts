import { describe, expect, it } from 'vitest';
import {
  INFER_SAMPLE_ROWS,
  inferType,
  normalizeColumns,
  resolveColumns,
  typeOfValue,
} from '../../src/columns.js';
import type { ResolvedColumn } from '../../src/types.js';
import { exportText, readCsv } from './support/export.js';

describe('normalizeColumns', () => {
  it('accepts keys and Column objects, keeping only known members', () => {
    expect(
      normalizeColumns([
        'id',
        { key: 'amount', header: 'Amount (€)', type: 'decimal', format: '#,##0.00', width: 12, extra: 1 },
      ]),
    ).toEqual([
      { key: 'id' },
      { key: 'amount', header: 'Amount (€)', type: 'decimal', format: '#,##0.00', width: 12 },
    ]);
  });

  it.each([
    ['not an array', 'id'],
    ['empty', []],
    ['a number', [1]],
    ['null', [null]],
    ['an array', [['id']]],
    ['an empty key', ['']],
    ['a long key', ['k'.repeat(257)]],
    ['a repeated key', ['a', { key: 'a' }]],
    ['a non-string header', [{ key: 'a', header: 1 }]],
    ['an unknown type', [{ key: 'a', type: 'money' }]],
    ['a long format', [{ key: 'a', format: 'f'.repeat(256) }]],
    ['a zero width', [{ key: 'a', width: 0 }]],
    ['too many columns', Array.from({ length: 16_385 }, (_, i) => `c${i}`)],
  ])('rejects %s with invalid_columns', (_name, specs) => {
    expect(() => normalizeColumns(specs)).toThrow(expect.objectContaining({ code: 'invalid_columns' }));
  });
});

describe('type inference', () => {
  it('types single values', () => {
    expect(typeOfValue('x')).toBe('string');
    expect(typeOfValue(1)).toBe('integer');
    expect(typeOfValue(1.5)).toBe('number');
    expect(typeOfValue(2n)).toBe('integer');
    expect(typeOfValue(false)).toBe('boolean');
    expect(typeOfValue(new Date())).toBe('datetime');
    expect(typeOfValue({ a: 1 })).toBe('json');
    expect(typeOfValue([1])).toBe('json');
    expect(typeOfValue(new Uint8Array(1))).toBe('string');
    expect(typeOfValue(null)).toBeUndefined();
    expect(typeOfValue(undefined)).toBeUndefined();
  });

  it('takes the narrowest type that fits every sampled value', () => {
    expect(inferType([1, null, 2])).toBe('integer');
    expect(inferType([1, 2.5])).toBe('number');
    expect(inferType([2.5, 1])).toBe('number');
    expect(inferType([null, undefined])).toBe('string');
    expect(inferType([])).toBe('string');
    expect(inferType([1, 'a'])).toBe('string');
    expect(inferType([true, 1])).toBe('string');
    expect(inferType([new Date(), new Date()])).toBe('datetime');
  });
});

describe('resolveColumns', () => {
  it('infers keys in order of first appearance, headers and types from the sample', () => {
    const columns = resolveColumns(
      undefined,
      [
        { a: 1, b: 'x' },
        { b: 'y', c: new Date(), a: 2.5 },
      ],
      'object',
    );
    expect(columns).toEqual([
      { key: 'a', header: 'a', type: 'number' },
      { key: 'b', header: 'b', type: 'string' },
      { key: 'c', header: 'c', type: 'datetime' },
    ]);
  });

  it("lets the caller's header and type win and gives array rows their position", () => {
    const columns = resolveColumns(
      [{ key: 'n', header: 'Number', type: 'decimal' }, 'when'],
      [['1.50', new Date()]],
      'array',
    );
    expect(columns).toEqual([
      { key: 'n', header: 'Number', type: 'decimal', index: 0 },
      { key: 'when', header: 'when', type: 'datetime', index: 1 },
    ]);
  });

  it("reads a key Object.prototype has only from a row's own keys (__proto__, constructor)", () => {
    // JSON.parse makes `__proto__` an own key; the second row lacks it, and must not show
    // Object.prototype (an object, which made the column a string).
    const rows = JSON.parse('[{"__proto__":5,"constructor":1.5},{}]') as Record<string, unknown>[];
    expect(resolveColumns(undefined, rows, 'object')).toEqual([
      { key: '__proto__', header: '__proto__', type: 'integer' },
      { key: 'constructor', header: 'constructor', type: 'number' },
    ]);
    expect(resolveColumns(['toString'], [{}, { a: 1 }], 'object')[0]?.type).toBe('string');
  });

  it('needs columns for array rows', () => {
    expect(() => resolveColumns(undefined, [[1, 2]], 'array')).toThrow(
      expect.objectContaining({ code: 'invalid_columns' }),
    );
  });

  it("selects from a source's declared columns by key, keeping their position and type", () => {
    const declared: ResolvedColumn[] = [
      { key: 'id', header: 'ID', type: 'integer' },
      { key: 'name', header: 'Name', type: 'string' },
      { key: 'at', header: 'at', type: 'datetime' },
    ];
    expect(resolveColumns(['at', { key: 'id', header: 'Order' }], [], 'array', declared)).toEqual([
      { key: 'at', header: 'at', type: 'datetime', index: 2 },
      { key: 'id', header: 'Order', type: 'integer', index: 0 },
    ]);
    expect(() => resolveColumns(['nope'], [], 'array', declared)).toThrow(
      expect.objectContaining({ code: 'invalid_columns' }),
    );
  });
});

describe('columns through exportRows', () => {
  it(`infers columns from the first ${INFER_SAMPLE_ROWS} rows only`, async () => {
    const rows = Array.from({ length: INFER_SAMPLE_ROWS + 10 }, (_, i) =>
      i < INFER_SAMPLE_ROWS ? { a: i } : { a: i, late: 'not in the sample' },
    );
    const records = readCsv(await exportText(rows, { format: 'csv' }));
    expect(records[0]).toEqual(['a']);
    expect(records).toHaveLength(INFER_SAMPLE_ROWS + 11);
  });

  it('writes a column typed integer from the sample that later holds text safely', async () => {
    const rows: { n: unknown }[] = Array.from({ length: INFER_SAMPLE_ROWS }, (_, i) => ({ n: i }));
    rows.push({ n: '=cmd|calc' }, { n: '-3' }, { n: -4 });
    const records = readCsv(await exportText(rows, { format: 'csv', columns: ['n'] }));
    // Numeric text in a column typed as numbers stays as is; formula text is still escaped.
    expect(records.slice(-3)).toEqual([["'=cmd|calc"], ['-3'], ['-4']]);
  });

  it('writes an own __proto__ key as the number it is', async () => {
    const rows = JSON.parse('[{"__proto__":5},{}]') as Record<string, unknown>[];
    expect(await exportText(rows, { format: 'json' })).toBe('[{"__proto__":5},\n{"__proto__":null}]\n');
    expect(readCsv(await exportText(rows, { format: 'csv' }))).toEqual([['__proto__'], ['5'], ['']]);
  });

  it('rejects array rows without columns', async () => {
    await expect(exportText([[1, 2]], { format: 'csv' })).rejects.toMatchObject({ code: 'invalid_columns' });
  });
});
