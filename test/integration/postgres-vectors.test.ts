/**
 * `int2vector` and `oidvector`: the catalog calls them arrays, but their text is space-separated
 * (`1 2 3`), not `{...}`. The cursor reader (text) must give what the binary COPY gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { createSchema, readAll, type TestSchema } from './postgres-helpers.js';

let db: TestSchema;

beforeAll(async () => {
  db = await createSchema('takeout_pgvec');
  await db.admin.query('CREATE DOMAIN vec AS int2vector');
});

afterAll(async () => {
  await db.drop();
});

const SQL = `SELECT '1 2 3'::int2vector AS i, '1 2'::oidvector AS o, ''::int2vector AS none,
  ARRAY['1 2'::int2vector, '', NULL] AS arr, ARRAY['4294967295 0'::oidvector] AS oids,
  '7 -8'::vec AS dom, NULL::int2vector AS nothing`;

describe('int2vector and oidvector', () => {
  for (const reader of ['cursor', 'copy'] as const) {
    it(`are arrays of numbers (${reader} reader)`, async () => {
      const source = postgresSource({ connectionString: db.url, sql: SQL, reader });
      const json = JSON.parse(await readAll(exportSource(source, { format: 'json' })));
      expect(json).toEqual([
        {
          i: [1, 2, 3],
          o: [1, 2],
          none: [],
          arr: [[1, 2], [], null],
          oids: [[4294967295, 0]],
          dom: [7, -8],
          nothing: null,
        },
      ]);
    });
  }

  it('give the same file on both readers', async () => {
    const out = (reader: 'cursor' | 'copy', format: string) =>
      readAll(exportSource(postgresSource({ connectionString: db.url, sql: SQL, reader }), { format }));
    for (const format of ['csv', 'ndjson']) {
      expect(await out('cursor', format), format).toBe(await out('copy', format));
    }
  });
});
