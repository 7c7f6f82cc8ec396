import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { columnsShape } from '../../src/formats/compile.js';
import { exportRows } from '../../src/pipeline.js';
import { readExport } from '../support/read-export.js';

describe('compiled row writers found by the shape of their columns', () => {
  it('never mistakes one column set for another', () => {
    const shapes = new Set(
      [
        [{ key: 'a|0 string 1:b' }],
        [{ key: 'a' }, { key: 'b' }],
        [{ key: 'a', type: 'string' }, { key: 'b' }],
        [{ key: 'a', type: 'integer' }, { key: 'b' }],
        [
          { key: 'a', index: 1 },
          { key: 'b', index: 0 },
        ],
        [{ key: 'a 1:b' }],
        [{ key: 'a' }, { key: ' 1:b' }],
      ].map((columns) => columnsShape(columns, 'object')),
    );
    expect(shapes.size).toBe(7);
    expect(columnsShape([{ key: 'a' }], 'array')).not.toBe(columnsShape([{ key: 'a' }], 'object'));
  });

  it('writes each export with its own columns, however many exports ran before', async () => {
    const rows = [{ a: 1, b: 'x', c: true }];
    for (const format of ['csv', 'json', 'xlsx'] as const) {
      for (const columns of [['a', 'b'], ['b', 'a'], ['c'], ['a', 'b']]) {
        const [got] = await readExport(format, await buffer(exportRows(rows, { format, columns })));
        expect(Object.keys(got!)).toEqual(columns);
        for (const key of columns) expect(String(got![key])).toBe(String(rows[0]![key as 'a']));
      }
    }
  });
});
