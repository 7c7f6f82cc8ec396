/**
 * A connection that drops in the middle of an export (a server restart, a failover,
 * pg_terminate_backend) fails that export with source_error and nothing else: with a pool,
 * whose lent clients have no error listener of the pool's, it used to end the process.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { createSchema, type TestSchema } from './postgres-helpers.js';

let db: TestSchema;

beforeAll(async () => {
  db = await createSchema('takeout_pgterm');
  await db.admin.query(
    `CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h, repeat('x', 80) AS pad FROM generate_series(1, 200000) g`,
  );
});

afterAll(async () => {
  await db.drop();
});

async function terminate(application: string): Promise<void> {
  await db.admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
    application,
  ]);
}

describe('a pooled connection that drops during an export', () => {
  for (const reader of ['copy', 'cursor'] as const) {
    for (const when of ['after describing', 'mid-stream'] as const) {
      it(`fails the export with source_error (${reader} reader, ${when})`, async () => {
        const application = `takeout_term_${randomBytes(4).toString('hex')}`;
        const url = new URL(db.url);
        url.searchParams.set('application_name', application);
        const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
        pool.on('error', () => {}); // idle clients: the pool's own business
        try {
          const source = postgresSource({
            pool,
            reader,
            sql: 'SELECT * FROM big ORDER BY id',
            batchSize: 500,
          });
          const stream = exportSource(source, { format: 'csv' });
          const read = (async () => {
            let chunks = 0;
            for await (const _ of stream) {
              chunks++;
              if (when === 'mid-stream' && chunks === 1) await terminate(application);
            }
          })();
          if (when === 'after describing') {
            await source.columns();
            await terminate(application);
          }
          await expect(read).rejects.toMatchObject({ code: 'source_error' });
          // The pool still serves (the dead connection was not handed back).
          expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
        } finally {
          await pool.end();
        }
      });
    }
  }
});

describe('a connection that drops during the estimate', () => {
  it('fails the estimate with source_error, not internal', async () => {
    const application = `takeout_term_${randomBytes(4).toString('hex')}`;
    const url = new URL(db.url);
    url.searchParams.set('application_name', application);
    const source = postgresSource({
      connectionString: url.toString(),
      estimate: 'count',
      estimateTimeoutMs: 10_000,
      sql: 'SELECT big.id FROM big, pg_sleep(2)',
    });
    try {
      const estimate = source.estimate();
      estimate.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 500));
      await terminate(application);
      await expect(estimate).rejects.toMatchObject({ code: 'source_error' });
    } finally {
      await source.close();
    }
  });
});
