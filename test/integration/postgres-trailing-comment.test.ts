/**
 * A query may end with comments after its last `;` (as psql runs it): every path wraps the
 * query, so what follows the last token is dropped, not made part of the wrapper.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as XLSX from 'xlsx';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { createSchema, readAll, type TestSchema } from './postgres-helpers.js';
import { collect } from './xlsx-read.js';

let db: TestSchema;

beforeAll(async () => {
  db = await createSchema('takeout_pgtrail');
});

afterAll(async () => {
  await db.drop();
});

const QUERIES = [
  'SELECT 1 AS a, :v::text AS b; -- end',
  'SELECT 1 AS a, :v::text AS b;\n/* the end /* nested */ */\n-- really\n',
  "SELECT 1 AS a, :v::text AS b -- a comment ' with a quote",
  "SELECT 1 AS a, :v::text AS b; -- 'x' ; $$",
];

const PATHS: [string, { reader?: 'cursor'; copy?: boolean }][] = [
  ['cursor', { reader: 'cursor' }],
  ['binary COPY', {}],
  ['CSV COPY', { copy: true }],
];

describe('queries ending with comments', () => {
  for (const [path, options] of PATHS) {
    it(`run on the ${path} path, with estimates`, async () => {
      for (const sql of QUERIES) {
        for (const estimate of ['plan', 'count'] as const) {
          const source = postgresSource({
            connectionString: db.url,
            sql,
            params: { v: '-- x' },
            estimate,
            ...options,
          });
          expect(await source.estimate(), sql).toBe(1);
          const csv = await readAll(exportSource(source, { format: 'csv', escapeFormulas: false }));
          expect(parse(csv), sql).toEqual([
            ['a', 'b'],
            ['1', '-- x'],
          ]);
        }
      }
    });
  }

  it('run into XLSX (binary COPY)', async () => {
    const source = postgresSource({ connectionString: db.url, sql: QUERIES[0]!, params: { v: 'x' } });
    const book = XLSX.read(await collect(exportSource(source, { format: 'xlsx' })), { type: 'buffer' });
    expect(XLSX.utils.sheet_to_json(book.Sheets[book.SheetNames[0]!]!, { header: 1 })).toEqual([
      ['a', 'b'],
      [1, 'x'],
    ]);
  });
});
