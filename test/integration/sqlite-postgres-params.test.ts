/**
 * One dataset declaration, the same SQL and params, on SQLite and PostgreSQL: typed params
 * give the same rows on both engines, and what one engine refuses both refuse with
 * invalid_params (never a database error on one and rows on the other).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatasetConnection, defineDataset } from '../../src/datasets/define.js';
import type { ParamSpec } from '../../src/datasets/params.js';
import { openDatasetSource } from '../../src/datasets/registry.js';
import { TakeoutError } from '../../src/errors.js';
import { sqliteSource } from '../../src/sources/sqlite.js';
import type { Source } from '../../src/types.js';
import { createSchema, type TestSchema } from './postgres-helpers.js';

let schema: TestSchema;
let sqlitePath: string;
const engines: Record<string, DatasetConnection> = {};

beforeAll(async () => {
  sqlitePath = join(mkdtempSync(join(tmpdir(), 'takeout-params-')), 'db.sqlite');
  const db = new Database(sqlitePath);
  // SQLite keeps booleans as integers; PostgreSQL has its own type for them.
  db.exec(`CREATE TABLE t (id INTEGER, code TEXT, flag INTEGER, day DATE);
    INSERT INTO t VALUES (1, '5', 1, '2024-01-01'), (2, '7', 0, '2024-02-01');`);
  db.close();
  schema = await createSchema('takeout_params');
  await schema.admin.query(`CREATE TABLE t (id int, code text, flag boolean, day date);
    INSERT INTO t VALUES (1, '5', true, '2024-01-01'), (2, '7', false, '2024-02-01');`);
  engines.sqlite = { sqlite: sqlitePath };
  engines.postgres = { postgres: { url: schema.url } };
});

afterAll(async () => {
  await schema?.drop();
});

async function rowsOf(source: Source): Promise<unknown[]> {
  const rows: unknown[] = [];
  try {
    const keys = (await source.columns()).map((c) => c.key);
    const arrays = (await source.rowShape?.()) === 'array';
    for await (const batch of source.batches()) {
      for (const row of batch) rows.push(arrays ? row : keys.map((k) => (row as Record<string, unknown>)[k]));
    }
  } finally {
    await source.close?.();
  }
  return rows;
}

/** The rows of `sql` on each engine, or the code it fails with. */
async function onBoth(sql: string, params: Record<string, ParamSpec>, given: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const [engine, connection] of Object.entries(engines)) {
    const dataset = defineDataset({ name: `t-${engine}`, connection, sql, params });
    try {
      out[engine] = await rowsOf(await openDatasetSource(dataset, given, { id: 'u' }, { estimateCap: 100 }));
    } catch (error) {
      out[engine] = error instanceof TakeoutError ? `${error.code} ${error.details?.param}` : error;
    }
  }
  return out;
}

describe('typed params on SQLite and PostgreSQL', () => {
  it('compares an integer with a TEXT column alike', async () => {
    const sql = 'SELECT id FROM t WHERE code = :code ORDER BY id';
    const rows = await onBoth(sql, { code: { type: 'integer', required: true } }, { code: 5 });
    expect(rows).toEqual({ sqlite: [[1]], postgres: [[1]] });
    expect(await onBoth(sql, { code: { type: 'integer' } }, { code: '7' })).toEqual({
      sqlite: [[2]],
      postgres: [[2]],
    });
  });

  it('writes an integer into text alike', async () => {
    const sql = "SELECT id, 'row-' || :n AS label FROM t WHERE id = 1";
    expect(await onBoth(sql, { n: { type: 'integer', default: 3 } }, {})).toEqual({
      sqlite: [[1, 'row-3']],
      postgres: [[1, 'row-3']],
    });
  });

  it('compares a boolean with the engine’s boolean column alike', async () => {
    const sql = 'SELECT id FROM t WHERE flag = :on ORDER BY id';
    for (const [on, id] of [
      [true, 1],
      ['false', 2],
    ] as const) {
      expect(await onBoth(sql, { on: { type: 'boolean' } }, { on })).toEqual({
        sqlite: [[id]],
        postgres: [[id]],
      });
    }
  });

  it('refuses what PostgreSQL cannot take with invalid_params on both', async () => {
    const day = 'SELECT id FROM t WHERE day >= :since ORDER BY id';
    for (const [type, since] of [
      ['date', '0000-01-01'],
      ['datetime', '0000-01-01T00:00:00Z'],
      ['datetime', '2021-02-31T00:00:00Z'],
    ] as const) {
      expect(await onBoth(day, { since: { type } }, { since }), since).toEqual({
        sqlite: 'invalid_params since',
        postgres: 'invalid_params since',
      });
    }
    const nul = await onBoth(
      'SELECT id FROM t WHERE code = :code',
      { code: { type: 'string' } },
      { code: '5\0' },
    );
    expect(nul).toEqual({ sqlite: 'invalid_params code', postgres: 'invalid_params code' });
  });
});

describe('a parameter given to sqliteSource that its query does not use', () => {
  it('is refused (invalid_params), told apart from one read as @name or $name, used twice or more', async () => {
    const source = sqliteSource({
      database: sqlitePath,
      sql: 'SELECT id FROM t WHERE code = @code OR id = $id OR id = :id ORDER BY id',
      params: { code: '5', id: 2 },
    });
    expect(await rowsOf(source)).toEqual([[1], [2]]);
    const unused = sqliteSource({ database: sqlitePath, sql: 'SELECT id FROM t', params: { id: 2 } });
    await expect(rowsOf(unused)).rejects.toMatchObject({ code: 'invalid_params', details: { param: 'id' } });
  });
});

/** A number param given beyond 2^63 (12345678901234567891 in a JSON body): its double. */
const BEYOND_INT64 = 1.2345678901234567e19;

describe('numbers bound on SQLite', () => {
  it('binds whole numbers and booleans as INTEGER, fractions and numbers beyond 64 bits as REAL', async () => {
    const source = sqliteSource({
      database: sqlitePath,
      sql: `SELECT typeof(:n), typeof(:b), typeof(:x), typeof(:whole), :big, :beyond, :exact, :f || ''`,
      params: {
        n: 5,
        b: false,
        x: 0.5,
        whole: 2,
        big: 2 ** 60,
        beyond: BEYOND_INT64,
        exact: 2n ** 62n,
        f: -1.5,
      },
    });
    expect(await rowsOf(source)).toEqual([
      ['integer', 'integer', 'real', 'integer', 2n ** 60n, BEYOND_INT64, 2n ** 62n, '-1.5'],
    ]);
  });
});
