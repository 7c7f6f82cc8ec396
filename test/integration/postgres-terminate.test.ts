/**
 * A connection that drops in the middle of an export (a server restart, a failover,
 * pg_terminate_backend) fails that export with source_error and nothing else: with a pool,
 * whose lent clients have no error listener of the pool's, it used to end the process. One
 * whose server goes silent (no reset: a dropped flow) fails with source_timeout, its
 * connection cut, instead of holding the export and the connection for ever.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
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

const BIG = 'SELECT * FROM big ORDER BY id';

/** A small pool of its own (idle clients' errors are the pool's business). */
function poolOf(url: URL): pg.Pool {
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  pool.on('error', () => {});
  return pool;
}

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
        const pool = poolOf(url);
        try {
          const source = postgresSource({ pool, reader, sql: BIG, batchSize: 500 });
          const stream = exportSource(source, { format: 'csv' });
          const read = (async () => {
            let chunks = 0;
            for await (const _ of stream) {
              chunks++;
              if (when === 'mid-stream' && chunks === 1) await terminate(application);
            }
          })();
          // It may fail while the test is still terminating the backend: handled from the start.
          read.catch(() => {});
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

/** A TCP proxy to PostgreSQL that can go silent: bytes stop flowing both ways, no reset. */
async function silentProxy(): Promise<{ port: number; silence(on: boolean): void; close(): Promise<void> }> {
  let silent = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(new URL(db.url).port || 5432), '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (bytes) => {
      if (!silent) upstream.write(bytes);
    });
    upstream.on('data', (bytes) => {
      if (!silent) client.write(bytes);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    silence(on) {
      silent = on;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('a server that goes silent during an export', () => {
  for (const reader of ['copy', 'cursor'] as const) {
    it(`fails the export with source_timeout and cuts its connection (${reader} reader)`, async () => {
      const proxy = await silentProxy();
      const url = new URL(db.url);
      url.port = String(proxy.port);
      const pool = poolOf(url);
      try {
        const source = postgresSource({ pool, reader, sql: BIG, batchSize: 500, statementTimeoutMs: 1000 });
        const started = Date.now();
        const read = (async () => {
          for await (const _ of exportSource(source, { format: 'csv' })) proxy.silence(true);
        })();
        await expect(read).rejects.toMatchObject({ code: 'source_timeout' });
        // The statement timeout, then a few seconds for an answer to the cancel: not for ever.
        expect(Date.now() - started).toBeLessThan(20_000);
        proxy.silence(false);
        // The silent connection is not handed back to the pool: a new one serves.
        expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await pool.end();
        await proxy.close();
      }
    });
  }
});
