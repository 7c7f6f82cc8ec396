/**
 * The CSV text passthrough (`copy: true`) in a time zone and with declared column types: the
 * query runs in UTC like every other path (filters and casts mean the same), only the text of
 * instants is in the export's zone, spelled as PostgreSQL spells timestamptz there (checked
 * against PostgreSQL's own output with that TimeZone); declared types decide as in the writers.
 */
import { parse } from 'csv-parse/sync';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { checkCopyZone, copyZone } from '../../src/sources/postgres-copy-time.js';
import type { Column } from '../../src/types.js';
import { createSchema, failure, readAll, type TestSchema } from './postgres-helpers.js';

let db: TestSchema;

beforeAll(async () => {
  db = await createSchema('takeout_pgzone');
  await db.admin.query(`
    CREATE TABLE ev (id int, at timestamptz);
    INSERT INTO ev VALUES (1, '2024-07-01 02:00+00'), (2, '2024-07-01 12:00+00'), (3, '2024-07-02 01:00+00'),
      (4, '2024-06-30 23:00+00');`);
});

afterAll(async () => {
  await db.drop();
});

async function csv(
  sql: string,
  options: { copy?: boolean; params?: Record<string, unknown> },
  request: { timezone?: string; columns?: Column[]; escapeFormulas?: boolean } = {},
): Promise<string[][]> {
  const source = postgresSource({ connectionString: db.url, sql, ...options });
  return parse(await readAll(exportSource(source, { format: 'csv', ...request }))) as string[][];
}

describe('copy: true runs the query in UTC', () => {
  it('filters and casts as the default path does; only the instants are written in the zone', async () => {
    const sql = 'SELECT id, at::date AS day, at FROM ev WHERE at >= :from ORDER BY id';
    const params = { from: '2024-07-01' };
    const timezone = 'America/New_York';
    const viaCopy = await csv(sql, { copy: true, params }, { timezone });
    const viaWriter = await csv(sql, { params }, { timezone });
    expect(viaWriter).toEqual([
      ['id', 'day', 'at'],
      ['1', '2024-07-01', '2024-06-30T22:00:00-04:00'],
      ['2', '2024-07-01', '2024-07-01T08:00:00-04:00'],
      ['3', '2024-07-02', '2024-07-01T21:00:00-04:00'],
    ]);
    expect(viaCopy).toEqual([
      ['id', 'day', 'at'],
      ['1', '2024-07-01', '2024-06-30 22:00:00-04'],
      ['2', '2024-07-01', '2024-07-01 08:00:00-04'],
      ['3', '2024-07-02', '2024-07-01 21:00:00-04'],
    ]);
    const setting = await csv(
      "SELECT current_setting('TimeZone') AS tz, 1 AS n",
      { copy: true },
      { timezone },
    );
    expect(setting[1]).toEqual(['UTC', '1']);
  });

  it("writes instants as PostgreSQL does with the zone's TimeZone: seconds offsets, BC, the range's ends", async () => {
    const values = [
      '1970-06-01 12:00:00+00', // Monrovia -00:44:30
      '1900-01-01 00:00:00.5+00', // Paris +00:09:21
      '1911-06-01 00:00:00+00', // Kathmandu +05:41:16
      '2024-03-31 00:59:59.999999+00',
      '2024-03-31 01:00:00+00',
      '0044-03-15 12:00:00+00 BC',
      '0001-01-01 10:00:00+00',
      '4714-11-24 00:00:00+00 BC',
      '294276-12-31 23:59:59.999999+00',
      '12345-06-01 00:00:00+00',
      'infinity',
      '-infinity',
    ];
    const sql = `SELECT id, v, v::timestamp AS ts FROM unnest(ARRAY['${values.join("','")}']::timestamptz[]) WITH ORDINALITY AS x(v, id) ORDER BY id`;
    for (const timezone of ['Africa/Monrovia', 'Europe/Paris', 'Asia/Kathmandu', 'America/St_Johns']) {
      // PostgreSQL's own text of each value with TimeZone set to the zone: the reference.
      await db.admin.query(`SET TimeZone = '${timezone}'`);
      // (The timestamp column holds the UTC wall time: the same instant.)
      const expected = await db.admin.query({
        text: 'SELECT v::text, v::text FROM unnest($1::text[]) AS x(t), LATERAL (SELECT t::timestamptz AS v) y',
        values: [values],
        rowMode: 'array',
      });
      await db.admin.query('RESET TimeZone');
      const rows = await csv(sql, { copy: true }, { timezone, escapeFormulas: false });
      expect(
        rows.slice(1).map((r) => [r[1], r[2]]),
        timezone,
      ).toEqual(expected.rows);
    }
  });

  it('refuses a zone name PostgreSQL reads as a fixed-offset abbreviation (CET), not one it reads right', async () => {
    // Node names CET Europe/Brussels, so exports never meet it; an ICU that keeps CET would.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query("BEGIN; SET LOCAL TimeZone = 'UTC'");
      const zone = { ...copyZone('Europe/Paris'), name: 'CET' };
      const error = await failure(checkCopyZone(client, zone));
      expect(error.code).toBe('invalid_timezone');
      expect(error.message).toContain('Europe/Paris');
      await client.query('ROLLBACK; BEGIN');
      // EST is an abbreviation too, with the zone's own offset: accepted.
      await checkCopyZone(client, copyZone('EST'));
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
    const rows = await csv('SELECT id, at FROM ev WHERE id = 1', { copy: true }, { timezone: 'EST' });
    expect(rows[1]).toEqual(['1', '2024-06-30 21:00:00-05']);
  });
});

describe('copy: true follows declared column types', () => {
  const sql =
    'SELECT id, amount_text, amount_num, at, d, ts FROM (VALUES ' +
    "(1, '-5.00', -2.50::numeric, '2024-07-01 02:00:00+00'::timestamptz, '2024-02-29'::date, '2024-03-01 01:30:00'::timestamp), " +
    "(2, '+7', 3.0, NULL, NULL, 'infinity'), (3, '=1+1', 'NaN', '-infinity', '-infinity', '-infinity'), " +
    "(4, '1e5', -0.5, 'infinity', 'infinity', NULL)) AS t(id, amount_text, amount_num, at, d, ts) ORDER BY id";
  const columns: Column[] = [
    { key: 'id', type: 'integer' },
    { key: 'amount_text', type: 'decimal' },
    { key: 'amount_num', type: 'string' },
    { key: 'at', type: 'date' },
    { key: 'd', type: 'datetime' },
    { key: 'ts', type: 'date' },
  ];

  it('escapes formulas by the declared type and writes dates of instants declared date', async () => {
    const timezone = 'America/New_York';
    const viaWriter = await csv(sql, {}, { timezone, columns });
    const viaCopy = await csv(sql, { copy: true }, { timezone, columns });
    expect(viaWriter).toEqual([
      ['id', 'amount_text', 'amount_num', 'at', 'd', 'ts'],
      ['1', '-5.00', "'-2.50", '2024-07-01', '2024-02-28T19:00:00-05:00', '2024-03-01'],
      ['2', '+7', '3.0', '', '', 'infinity'],
      ['3', "'=1+1", 'NaN', "'-infinity", "'-infinity", "'-infinity"],
      ['4', '1e5', "'-0.5", 'infinity', 'infinity', ''],
    ]);
    // The same but for the spelling of an instant (a date declared datetime: UTC midnight).
    const expected = viaWriter.map((r) => [...r]);
    expected[1]![4] = '2024-02-28 19:00:00-05';
    expect(viaCopy).toEqual(expected);
  });
});
