/**
 * Cancellation: an aborted export closes the cursor (or cancels the COPY), ends the
 * transaction and returns or ends its connection. After 100 aborted exports, with
 * per-export clients or with a pool, pg_stat_activity shows nothing left behind.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { backendsNamed, createSchema, eventually, PG_BASE_URL, type TestSchema } from './postgres-helpers.js';

let db: TestSchema;

beforeAll(async () => {
  db = await createSchema('takeout_pgabort');
  await db.admin.query(`
    CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h, repeat('x', 80) AS pad FROM generate_series(1, 50000) g;
  `);
});

afterAll(async () => {
  await db.drop();
});

function appName(): string {
  return `takeout_abort_${randomBytes(4).toString('hex')}`;
}

function urlWithApp(name: string): string {
  const url = new URL(db.url);
  url.searchParams.set('application_name', name);
  return url.toString();
}

/** Starts an export and aborts it at `point`: before reading, after the first chunk, or later. */
async function abortedExport(
  make: () => ReturnType<typeof postgresSource>,
  point: 'start' | 'first' | 'later',
): Promise<void> {
  const controller = new AbortController();
  const stream = exportSource(make(), { format: 'csv', signal: controller.signal });
  const ended = new Promise<void>((resolve) => stream.once('close', resolve));
  stream.on('error', () => {});
  if (point === 'start') controller.abort();
  else {
    let chunks = 0;
    for await (const _ of stream) {
      chunks++;
      if (point === 'first' || chunks === 5) break;
    }
    controller.abort();
    stream.destroy();
  }
  await ended;
}

const POINTS = ['start', 'first', 'later'] as const;

describe('PostgreSQL source: aborts leak nothing', () => {
  it('100 aborted exports with per-export clients leave no backend behind', async () => {
    const name = appName();
    for (let i = 0; i < 100; i++) {
      await abortedExport(
        () =>
          postgresSource({
            connectionString: urlWithApp(name),
            sql: 'SELECT * FROM big ORDER BY id',
            batchSize: 500,
            copy: i % 2 === 1,
          }),
        POINTS[i % 3] as (typeof POINTS)[number],
      );
    }
    expect(await eventually(async () => (await backendsNamed(db.admin, name)) === 0)).toBe(true);
  });

  it('100 aborted exports through a pool leave every client idle and returned', async () => {
    const name = appName();
    const pool = new pg.Pool({ connectionString: urlWithApp(name), max: 4 });
    try {
      for (let i = 0; i < 100; i++) {
        await abortedExport(
          () =>
            postgresSource({ pool, sql: 'SELECT * FROM big ORDER BY id', batchSize: 500, copy: i % 2 === 1 }),
          POINTS[i % 3] as (typeof POINTS)[number],
        );
      }
      expect(
        await eventually(async () => pool.idleCount === pool.totalCount && pool.waitingCount === 0),
      ).toBe(true);
      expect(pool.totalCount).toBeLessThanOrEqual(4);
      // Nothing running and no transaction left open on the server side either (a discarded
      // connection's backend may need a moment to finish its cancelled COPY and exit).
      const busy = async () =>
        (
          await db.admin.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'",
            [name],
          )
        ).rows[0] as { n: number };
      expect(await eventually(async () => (await busy()).n === 0)).toBe(true);
      // The pool still works.
      const after = postgresSource({ pool, sql: 'SELECT count(*) AS n FROM big' });
      const chunks: Buffer[] = [];
      for await (const c of exportSource(after, { format: 'csv' })) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('n\r\n50000\r\n');
    } finally {
      await pool.end();
    }
    expect(await eventually(async () => (await backendsNamed(db.admin, name)) === 0)).toBe(true);
  });

  for (const copy of [false, true]) {
    it(`an abort during a slow query cancels it promptly (${copy ? 'COPY' : 'cursor'} path)`, async () => {
      const name = appName();
      const controller = new AbortController();
      const source = postgresSource({
        connectionString: urlWithApp(name),
        // The describe step (LIMIT 0) is fast; fetching the row sleeps.
        sql: 'SELECT pg_sleep(30) AS x',
        copy,
      });
      const stream = exportSource(source, { format: 'csv', signal: controller.signal });
      const started = Date.now();
      setTimeout(() => controller.abort(), 300);
      const error = await new Promise<unknown>((resolve) => {
        stream.once('error', resolve);
        stream.resume();
      });
      expect(error).toMatchObject({ code: 'aborted' });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await eventually(async () => (await backendsNamed(db.admin, name)) === 0)).toBe(true);
    });
  }

  it('close() without reading ends the transaction and returns the connection', async () => {
    const name = appName();
    const pool = new pg.Pool({ connectionString: `${PG_BASE_URL}?application_name=${name}`, max: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const s = postgresSource({ pool, sql: 'SELECT 1 AS x' });
        await s.columns();
        await s.close();
      }
      expect(pool.totalCount).toBe(1);
      expect(pool.idleCount).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
