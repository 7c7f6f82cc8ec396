/**
 * The PostgreSQL source's error codes (no SQL, values or connection string in messages) and
 * its row estimates, on the real server.
 */
import { parse } from 'csv-parse/sync';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { createSchema, failure, readAll, type TestSchema } from './postgres-helpers.js';

let db: TestSchema;

beforeAll(async () => {
  db = await createSchema('takeout_pgerr');
  await db.admin.query(`
    CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
    INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;
    ANALYZE items;
  `);
});

afterAll(async () => {
  await db.drop();
});

describe('PostgreSQL source: errors', () => {
  const secretUrl = () => {
    const url = new URL(db.url);
    url.password = 'hunter2-secret';
    return url.toString();
  };

  it.each([
    ['SELEC id FROM items', '42601'],
    ['SELECT id FROM no_such_table_xyz', '42P01'],
    ['SELECT no_such_column_xyz FROM items', '42703'],
    ["SELECT 'abc'::int FROM items", '22P02'],
  ])('maps %s to source_query_error %s without leaking the SQL', async (sql, sqlstate) => {
    const s = postgresSource({ connectionString: secretUrl(), sql });
    const error = await failure(s.columns());
    await s.close();
    expect(error.code).toBe('source_query_error');
    expect(error.status).toBe(400);
    expect(error.details).toEqual({ sqlstate });
    for (const secret of ['no_such', 'items', 'abc', 'hunter2', 'SELEC'])
      expect(error.message).not.toContain(secret);
    expect(error.cause).toBeInstanceOf(pg.DatabaseError);
  });

  it('maps an error in the middle of the rows (after the first batch)', async () => {
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT id, 1 / (id - 700) AS x FROM items ORDER BY id',
      batchSize: 100,
    });
    const error = await failure(readAll(exportSource(s, { format: 'csv' })));
    expect(error).toMatchObject({ code: 'source_query_error', details: { sqlstate: '22012' } });
  });

  it('maps a statement timeout to source_timeout', async () => {
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT pg_sleep(2) AS x',
      statementTimeoutMs: 100,
    });
    const started = Date.now();
    const error = await failure(readAll(exportSource(s, { format: 'csv' })));
    expect(error).toMatchObject({ code: 'source_timeout', retryable: true, details: { sqlstate: '57014' } });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('maps connection failures to source_error without the connection string', async () => {
    const refused = postgresSource({
      connectionString: 'postgres://admin:hunter2@127.0.0.1:1/db',
      sql: 'SELECT 1',
    });
    const error = await failure(refused.columns());
    expect(error).toMatchObject({
      code: 'source_error',
      retryable: true,
      details: { errno: 'ECONNREFUSED' },
    });
    expect(error.message).not.toMatch(/hunter2|127\.0\.0\.1|admin/);
    const url = new URL(db.url);
    url.pathname = '/no_such_database_xyz';
    const missing = postgresSource({ connectionString: url.toString(), sql: 'SELECT 1' });
    const error2 = await failure(missing.columns());
    expect(error2).toMatchObject({ code: 'source_error', details: { sqlstate: '3D000' } });
    expect(error2.message).not.toContain('no_such_database');
  });

  it('rejects bad options as config_error', () => {
    expect(() => postgresSource({ sql: 'SELECT 1' })).toThrow(/exactly one/);
    expect(() => postgresSource({ connectionString: db.url, sql: ' ' })).toThrow(/sql/);
    expect(() => postgresSource({ connectionString: db.url, sql: 'SELECT 1', batchSize: 0 })).toThrow(
      /batchSize/,
    );
  });
});

describe('PostgreSQL source: estimates', () => {
  it("uses the planner's estimate", async () => {
    await db.admin.query('ANALYZE items');
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT * FROM items WHERE id <= :n',
      params: { n: 500 },
    });
    const n = await s.estimate();
    expect(n).toBeGreaterThan(400);
    expect(n).toBeLessThan(600);
  });

  it('counts exactly in count mode, also inside an open export transaction', async () => {
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT * FROM items WHERE id % 7 = 0',
      estimate: 'count',
    });
    expect(await s.estimate()).toBe(142);
    await s.columns();
    expect(await s.estimate()).toBe(142);
    // The estimate's time cap did not replace the export's own statement timeout.
    const csv = await readAll(exportSource(s, { format: 'csv', columns: ['id'] }));
    expect(parse(csv)).toHaveLength(143);
  });

  it('falls back to the plan when the count takes too long', async () => {
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT g FROM generate_series(1, 1000) g WHERE pg_sleep(0.01) IS NOT NULL',
      estimate: 'count',
      estimateTimeoutMs: 100,
    });
    const n = await s.estimate();
    expect(typeof n).toBe('number');
    expect(n).not.toBe(1000);
  });
});
