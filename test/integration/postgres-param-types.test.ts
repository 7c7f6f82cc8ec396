/**
 * A parameter used several times has ONE type, the one PostgreSQL deduces from its first use
 * (docs: "cast the first use"). The describe step and the cursor bind it so; COPY cannot take
 * bind parameters and inlines literals, which must carry that same type, or each use would be
 * typed on its own (`:min / 2` an integer division, int4 bytes decoded as numeric, a date
 * literal added to an integer). Every reader must give the rows the cursor gives: the binary
 * COPY (rows, its CSV, its XLSX) and the CSV text passthrough (`copy: true`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSource } from '../../src/pipeline.js';
import { type PostgresSourceOptions, postgresSource } from '../../src/sources/postgres.js';
import { createSchema, readAll, type TestSchema } from './postgres-helpers.js';
import { collect } from './xlsx-read.js';

let db: TestSchema;
const DAY = new Date('2024-02-29T00:00:00Z');

beforeAll(async () => {
  db = await createSchema('takeout_pgparamtypes');
  await db.admin.query(`
    CREATE TYPE "Mood" AS ENUM ('sad', 'happy');
    CREATE TABLE orders (id int4 PRIMARY KEY, amount numeric, created_at timestamp, tags text[], mood "Mood");
    INSERT INTO orders VALUES
      (1, 10, '2024-03-01 08:00', '{a,b}', 'happy'),
      (2, 20, '2024-03-01 23:59:59', '{b}', 'sad'),
      (3, 20.5, '2024-03-02 00:00', NULL, 'happy'),
      (4, 41, '2024-02-29 12:00', '{}', NULL),
      (5, NULL, NULL, '{c}', 'sad');
  `);
});

afterAll(async () => {
  await db.drop();
});

/** `rows`: what the cursor gives (checked, so the comparison cannot pass on two wrong answers). */
type Case = { name: string; sql: string; params: Record<string, unknown>; rows?: unknown[][] };

const CASES: Case[] = [
  {
    name: 'a numeric filter reused in arithmetic',
    sql: 'SELECT id, amount FROM orders WHERE (:min::numeric IS NULL OR amount >= :min / 2) ORDER BY id',
    params: { min: 41 },
    rows: [
      [3, '20.5'],
      [4, '41'],
    ],
  },
  {
    name: 'the same optional filter, NULL',
    sql: 'SELECT id FROM orders WHERE (:min::numeric IS NULL OR amount >= :min / 2) ORDER BY id',
    params: { min: null },
    rows: [[1], [2], [3], [4], [5]],
  },
  {
    name: 'a numeric selected twice',
    sql: 'SELECT :budget::numeric AS budget, :budget / 12 AS monthly',
    params: { budget: 1000 },
    rows: [['1000', '83.3333333333333333']],
  },
  {
    name: 'a date reused with date arithmetic',
    sql: 'SELECT id FROM orders WHERE created_at >= :day::date AND created_at < :day + 1 ORDER BY id',
    params: { day: '2024-03-01' },
    rows: [[1], [2]],
  },
  {
    name: 'a date selected, added to and typed',
    sql: 'SELECT :day::date AS day, :day AS again, :day + 7 AS week, pg_typeof(:day)::text AS t',
    params: { day: '2024-02-29' },
    rows: [[DAY, DAY, new Date('2024-03-07T00:00:00Z'), 'date']],
  },
  {
    name: 'a text used twice (quotes, backslash, non-ASCII)',
    sql: "SELECT :s::text AS s, :s AS again, upper(:s) AS up, pg_typeof(:s)::text AS t, :s || '!' AS bang",
    params: { s: "O'Brien \\ ünï" },
    rows: [["O'Brien \\ ünï", "O'Brien \\ ünï", "O'BRIEN \\ ÜNÏ", 'text', "O'Brien \\ ünï!"]],
  },
  {
    name: 'NULL parameters keep their type',
    sql: 'SELECT :p::int AS p, :p AS q, :p + 1 AS r, pg_typeof(:p)::text AS t, :d::date AS d, :d AS d2',
    params: { p: null, d: null },
    rows: [[null, null, null, 'integer', null, null]],
  },
  {
    name: 'an array: selected, subscripted and in ANY()',
    sql: 'SELECT id, :ids::int[] AS ids, :ids AS again, :ids[2] AS second FROM orders WHERE id = ANY(:ids) ORDER BY id',
    params: { ids: [1, 3] },
    rows: [
      [1, [1, 3], [1, 3], 3],
      [3, [1, 3], [1, 3], 3],
    ],
  },
  {
    name: 'a text array against a text[] column',
    sql: 'SELECT id, :want::text[] AS want FROM orders WHERE tags && :want ORDER BY id',
    params: { want: ['b', 'c'] },
    rows: [
      [1, ['b', 'c']],
      [2, ['b', 'c']],
      [5, ['b', 'c']],
    ],
  },
  {
    name: 'a parameter of a quoted, user-defined type (an enum)',
    sql: "SELECT id, mood FROM orders WHERE mood = :m OR :m::text = 'none' ORDER BY id",
    params: { m: 'happy' },
    rows: [
      [1, 'happy'],
      [3, 'happy'],
    ],
  },
  {
    name: 'a jsonb document read with an operator',
    sql: "SELECT :doc::jsonb->>'n' AS n, :doc->>'a' AS a, :doc AS doc",
    params: { doc: { a: 'x', n: 1 } },
  },
];

function source(c: Case, extra: Partial<PostgresSourceOptions> = {}) {
  return postgresSource({ connectionString: db.url, sql: c.sql, params: c.params, ...extra });
}

async function rowsOf(c: Case, reader: 'copy' | 'cursor'): Promise<{ types: unknown[]; rows: unknown[][] }> {
  const s = source(c, { reader });
  try {
    const types = (await s.columns()).map((col) => [col.key, col.type]);
    const rows: unknown[][] = [];
    for await (const batch of s.batches()) rows.push(...(batch as unknown[][]));
    return { types, rows };
  } finally {
    await s.close();
  }
}

describe('PostgreSQL source: a reused parameter has one type on every reader', () => {
  for (const c of CASES) {
    it(`${c.name}: binary COPY rows equal the cursor's`, async () => {
      const cursor = await rowsOf(c, 'cursor');
      if (c.rows) expect(cursor.rows).toEqual(c.rows);
      const copy = await rowsOf(c, 'copy');
      expect(copy).toEqual(cursor);
    });

    it(`${c.name}: the CSV of the binary COPY, of COPY's CSV text and the XLSX equal the cursor's`, async () => {
      const csv = (extra: Partial<PostgresSourceOptions>) =>
        readAll(exportSource(source(c, extra), { format: 'csv' }));
      const cursorCsv = await csv({ reader: 'cursor' });
      expect(await csv({})).toBe(cursorCsv);
      // COPY's own CSV text spells arrays and JSON its own way (docs/postgres.md): compare
      // the cases where both spell values alike.
      if (!/ids|want|doc/.test(c.sql)) expect(await csv({ copy: true })).toBe(cursorCsv);
      const xlsx = (reader: 'copy' | 'cursor') =>
        collect(exportSource(source(c, { reader }), { format: 'xlsx' }));
      expect((await xlsx('copy')).equals(await xlsx('cursor'))).toBe(true);
    });
  }

  it('a text COPY of a reused parameter matches the cursor (copy: true, two columns)', async () => {
    const c: Case = {
      name: 'copy',
      sql: 'SELECT :budget::numeric AS budget, :budget / 12 AS monthly, :day::date + 0 AS d',
      params: { budget: 1000, day: '2024-03-01' },
    };
    const copy = await readAll(exportSource(source(c, { copy: true }), { format: 'csv' }));
    expect(copy).toBe('budget,monthly,d\r\n1000,83.3333333333333333,2024-03-01\r\n');
  });
});
