import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { postgresSource } from '../../src/sources/postgres.js';
import { rowsSource } from '../../src/sources/rows.js';
import { sqliteSource } from '../../src/sources/sqlite.js';
import type { Row } from '../../src/types.js';
import { sourceContract } from '../contracts/sources.js';
import { createSchema } from './postgres-helpers.js';

const TABLE_ROWS = 50_000;

sourceContract('inline rows', async () => {
  let readers = 0;
  async function* table(n: number): AsyncGenerator<Row> {
    readers++;
    try {
      for (let id = 1; id <= n; id++) yield { id, name: `name ${id}` };
    } finally {
      readers--;
    }
  }
  return {
    open: async (n) => rowsSource(table(n), { batchSize: 100 }),
    failing: async () => rowsSource([1, 2] as unknown as Row[]),
    busy: async () => readers,
    estimate: 'none',
    close: async () => {},
  };
});

sourceContract('SQLite', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'takeout-source-contract-')), 'table.sqlite');
  const setup = new Database(path);
  setup.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
  const insert = setup.prepare('INSERT INTO t VALUES (?, ?)');
  setup.transaction(() => {
    for (let id = 1; id <= TABLE_ROWS; id++) insert.run(id, `name ${id}`);
  })();
  setup.close();
  // The sources share one handle whose statements the harness watches: a statement still
  // being iterated is a reader left open.
  const db = new Database(path, { readonly: true });
  const statements: Database.Statement[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const statement = prepare(sql);
    statements.push(statement);
    return statement;
  }) as typeof db.prepare;
  return {
    open: async (n) =>
      sqliteSource({
        database: db,
        sql: 'SELECT id, name FROM t WHERE id <= :n ORDER BY id',
        params: { n },
        batchSize: 100,
      }),
    failing: async () => sqliteSource({ database: db, sql: 'SELECT id, nope FROM t' }),
    busy: async () => statements.filter((s) => s.busy).length,
    estimate: 'exact',
    close: async () => {
      db.close();
    },
  };
});

for (const reader of ['copy', 'cursor'] as const) {
  sourceContract(`PostgreSQL (${reader})`, async () => {
    const schema = await createSchema('takeout_contract');
    await schema.admin.query(
      `CREATE TABLE t AS SELECT g AS id, 'name ' || g AS name FROM generate_series(1, ${TABLE_ROWS}) g; ANALYZE t`,
    );
    const applicationName = `takeout_contract_${randomBytes(4).toString('hex')}`;
    const pool = new pg.Pool({
      connectionString: schema.url,
      application_name: applicationName,
      idleTimeoutMillis: 100,
    });
    pool.on('error', () => {});
    return {
      open: async (n) =>
        postgresSource({
          reader,
          pool,
          sql: 'SELECT id, name FROM t WHERE id <= :n ORDER BY id',
          params: { n },
          batchSize: 100,
        }),
      failing: async () => postgresSource({ reader, pool, sql: 'SELECT id, nope FROM t' }),
      // Connections lent out of the pool, and backends still in a transaction.
      busy: async () => {
        const { rows } = await schema.admin.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'",
          [applicationName],
        );
        return pool.totalCount - pool.idleCount + (rows[0] as { n: number }).n;
      },
      estimate: 'approximate',
      close: async () => {
        await pool.end();
        await schema.drop();
      },
    };
  });
}
