/**
 * The binary COPY reader (the default) against the cursor reader: the same values, value by
 * value, over edge and random values of every type, and the same file bytes in every format
 * over the type table; rows split across COPY chunks; per-read timeouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { createSchema, failure, type TestSchema } from './postgres-helpers.js';
import { COLUMNS, TYPES_SQL } from './postgres-type-table.js';
import { VALUES_SQL } from './postgres-values-table.js';

let db: TestSchema;

beforeAll(async () => {
  db = await createSchema('takeout_pgbin');
  await db.admin.query(TYPES_SQL);
  await db.admin.query(VALUES_SQL);
});

afterAll(async () => {
  await db.drop();
});

type Reader = 'copy' | 'cursor';

async function rowsOf(sql: string, reader: Reader): Promise<{ types: string[]; rows: unknown[][] }> {
  const s = postgresSource({ connectionString: db.url, sql, reader });
  try {
    const types = (await s.columns()).map((c) => c.type);
    const rows: unknown[][] = [];
    for await (const batch of s.batches()) rows.push(...(batch as unknown[][]));
    return { types, rows };
  } finally {
    await s.close();
  }
}

async function bytesOf(sql: string, reader: Reader, options: Record<string, unknown>): Promise<Buffer> {
  const s = postgresSource({ connectionString: db.url, sql, reader });
  const chunks: Buffer[] = [];
  for await (const chunk of exportSource(s, { format: 'csv', ...options })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('binary COPY reader: the same values as the cursor reader', () => {
  for (const table of ['edge', 'other']) {
    it(`reads every value of table ${table} exactly as the cursor does`, async () => {
      const sql = `SELECT * FROM ${table} ORDER BY id`;
      const copy = await rowsOf(sql, 'copy');
      const cursor = await rowsOf(sql, 'cursor');
      expect(copy.types).toEqual(cursor.types);
      expect(copy.rows.length).toBeGreaterThan(2);
      expect(copy.rows.length).toBe(cursor.rows.length);
      for (let i = 0; i < copy.rows.length; i++) expect(copy.rows[i], `row ${i + 1}`).toEqual(cursor.rows[i]);
    });
  }

  it('keeps exact int8 (bigint beyond 2^53) and numeric text', async () => {
    const { rows } = await rowsOf(
      "SELECT 9007199254740993::int8, -9007199254740992::int8, 9007199254740991::int8, '0.1000'::numeric",
      'copy',
    );
    expect(rows).toEqual([[9007199254740993n, -9007199254740992n, 9007199254740991, '0.1000']]);
  });

  it('reads a parameterised query with the same binding', async () => {
    const sql = 'SELECT id, tx FROM other WHERE id = ANY(:ids) AND tx IS DISTINCT FROM :t ORDER BY id';
    const params = { ids: [1, 2, 5], t: "x'; --" };
    const read = async (reader: Reader) => {
      const s = postgresSource({ connectionString: db.url, sql, params, reader });
      const out: unknown[] = [];
      for await (const batch of s.batches()) out.push(...batch);
      await s.close();
      return out;
    };
    const copy = await read('copy');
    expect(copy.map((r) => (r as unknown[])[0])).toEqual([1, 2, 5]);
    expect(copy).toEqual(await read('cursor'));
  });

  it('completes rows split across COPY chunks, large values included', async () => {
    const sql = `SELECT g, repeat(chr(1000 + g % 50), g * 7) AS t, decode(repeat('ab', g * 10), 'hex') AS b,
      CASE WHEN g % 97 = 0 THEN repeat('x', 700000) END AS big FROM generate_series(1, 600) g`;
    const copy = await rowsOf(sql, 'copy');
    expect(copy.rows).toHaveLength(600);
    expect((copy.rows[96] as unknown[])[3]).toHaveLength(700000);
    const cursor = (await rowsOf(sql, 'cursor')).rows;
    copy.rows.forEach(([g, t, b, big], i) => {
      const [g2, t2, b2, big2] = cursor[i] as unknown[];
      expect([g, t === t2, (b as Buffer).equals(b2 as Buffer), big === big2]).toEqual([g2, true, true, true]);
    });
  });
});

describe('binary COPY reader: identical files', () => {
  const sql = `SELECT ${COLUMNS} FROM t ORDER BY id`;
  const cases: [string, Record<string, unknown>][] = [
    ['csv', { format: 'csv' }],
    [
      'csv in a time zone, LF, no escaping',
      { format: 'csv', timezone: 'Asia/Kolkata', lineEnding: '\n', escapeFormulas: false },
    ],
    ['tsv', { format: 'tsv' }],
    ['json', { format: 'json' }],
    ['ndjson', { format: 'ndjson', timezone: 'America/New_York' }],
    ['xlsx', { format: 'xlsx' }],
    ['xlsx in a time zone', { format: 'xlsx', timezone: 'Asia/Kolkata' }],
  ];
  for (const [name, options] of cases) {
    it(`writes ${name} byte for byte as the cursor path does`, async () => {
      const copy = await bytesOf(sql, 'copy', options);
      expect(copy.length).toBeGreaterThan(100);
      expect(copy.equals(await bytesOf(sql, 'cursor', options))).toBe(true);
    });
  }

  for (const table of ['edge', 'other']) {
    it(`writes csv, json and xlsx of table ${table} byte for byte as the cursor path does`, async () => {
      for (const format of ['csv', 'json', 'xlsx']) {
        const copy = await bytesOf(`SELECT * FROM ${table} ORDER BY id`, 'copy', { format });
        const cursor = await bytesOf(`SELECT * FROM ${table} ORDER BY id`, 'cursor', { format });
        expect(copy.equals(cursor), format).toBe(true);
      }
    });
  }
});

describe('binary COPY reader: time limits', () => {
  it('times each wait for rows, not the export: a slow reader does not hit the limit', async () => {
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT g, md5(g::text) FROM generate_series(1, 100000) g',
      // Long enough that a busy machine's wait for the next rows stays within it (200 ms did not).
      statementTimeoutMs: 1000,
    });
    let rows = 0;
    let batches = 0;
    const started = Date.now();
    for await (const batch of s.batches()) {
      rows += batch.length;
      // A pause every 20 batches (~2500 rows): the whole read takes far longer than the limit.
      if (batches++ % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 60));
    }
    await s.close();
    expect(rows).toBe(100000);
    expect(batches).toBeGreaterThan(8);
    expect(Date.now() - started).toBeGreaterThan(1250);
  });

  it('cancels a wait for rows longer than statementTimeoutMs with source_timeout', async () => {
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT g FROM generate_series(1, 3) g WHERE pg_sleep(CASE WHEN g = 2 THEN 3 ELSE 0 END) IS NOT NULL',
      statementTimeoutMs: 300,
    });
    const started = Date.now();
    const error = await failure(
      (async () => {
        for await (const _ of s.batches()) {
        }
      })(),
    );
    await s.close();
    expect(error).toMatchObject({ code: 'source_timeout', details: { sqlstate: '57014' } });
    expect(Date.now() - started).toBeLessThan(2500);
  });
});
