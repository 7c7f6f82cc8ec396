/**
 * The describe step (`SELECT * FROM (query) LIMIT 0`, run by columns()) can wait: here on a
 * lock another session holds. When the client leaves (the export's stream destroyed, or the
 * source closed), it must stop at once: cancelled with a CancelRequest and the connection
 * discarded, not left waiting up to the statement timeout (60 s by default) with a pool slot.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defineDataset } from '../../src/datasets/define.js';
import { DatasetRegistry } from '../../src/datasets/registry.js';
import {
  DEFAULT_EXPORT_LIMITS,
  type ExportContext,
  parseExportRequest,
  planExport,
} from '../../src/exports/index.js';
import { builtinFormats } from '../../src/formats/index.js';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { createSchema, eventually, failure, type TestSchema } from './postgres-helpers.js';

let db: TestSchema;
let locker: pg.Client;

beforeAll(async () => {
  db = await createSchema('takeout_pgdescabort');
  await db.admin.query('CREATE TABLE orders (id int PRIMARY KEY, amount numeric)');
  await db.admin.query('INSERT INTO orders SELECT g, g FROM generate_series(1, 10) g');
});

afterAll(async () => {
  await db.drop();
});

// Another session holds the table's ACCESS EXCLUSIVE lock: any read of it waits.
beforeEach(async () => {
  locker = new pg.Client({ connectionString: db.url });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
});

afterEach(async () => {
  await locker.query('ROLLBACK').catch(() => {});
  await locker.end();
});

function appUrl(): { name: string; url: string } {
  const name = `takeout_descabort_${randomBytes(4).toString('hex')}`;
  const url = new URL(db.url);
  url.searchParams.set('application_name', name);
  return { name, url: url.toString() };
}

/** Backends of `name`: all of them, and those waiting on a lock. */
async function backends(name: string): Promise<{ all: number; waiting: number }> {
  const result = await db.admin.query(
    `SELECT count(*)::int AS all, count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS waiting
       FROM pg_stat_activity WHERE application_name = $1`,
    [name],
  );
  return result.rows[0] as { all: number; waiting: number };
}

/** Whether `work` settles within `ms` (it is left running when not). */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const done = work.then(
    () => true,
    () => true,
  );
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ms, false)));
  return Promise.race([done, late]).finally(() => clearTimeout(timer));
}

const waitingOnLock = (name: string) => eventually(async () => (await backends(name)).waiting === 1, 5000);

describe('PostgreSQL source: a describe step waiting on a lock stops when the client leaves', () => {
  it('destroying the export stream cancels it and ends the per-export connection', async () => {
    const { name, url } = appUrl();
    const source = postgresSource({ connectionString: url, sql: 'SELECT * FROM orders' });
    const stream = exportSource(source, { format: 'csv' });
    stream.on('error', () => {});
    const closed = new Promise<void>((resolve) => stream.once('close', resolve));
    stream.resume();
    expect(await waitingOnLock(name)).toBe(true);
    const left = Date.now();
    stream.destroy();
    await closed;
    expect(await eventually(async () => (await backends(name)).all === 0, 2000)).toBe(true);
    expect(Date.now() - left).toBeLessThan(2500);
  });

  it('aborting the signal cancels it and frees the pool slot', async () => {
    const { name, url } = appUrl();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const controller = new AbortController();
      const source = postgresSource({
        pool,
        sql: 'SELECT * FROM orders WHERE id > :min',
        params: { min: 0 },
      });
      const stream = exportSource(source, { format: 'ndjson', signal: controller.signal });
      const error = new Promise<unknown>((resolve) => stream.once('error', resolve));
      stream.resume();
      expect(await waitingOnLock(name)).toBe(true);
      controller.abort();
      expect(await error).toMatchObject({ code: 'aborted' });
      // No backend waits any more, and the pool's one client is not checked out.
      expect(
        await eventually(
          async () => (await backends(name)).waiting === 0 && pool.idleCount === pool.totalCount,
          2000,
        ),
      ).toBe(true);
      // The one slot serves the next export at once (the lock is still held: it reads no table).
      const next = postgresSource({ pool, sql: 'SELECT 1 AS x' });
      const columns = next.columns();
      expect(await settlesWithin(columns, 2000)).toBe(true);
      expect((await columns).map((c) => c.key)).toEqual(['x']);
      await next.close();
    } finally {
      // A describe still waiting would hold pool.end() until the lock goes: let it go first.
      await locker.query('ROLLBACK');
      await pool.end();
    }
  });

  it('close() during columns() rejects it as aborted and returns within ~2 s', async () => {
    const { name, url } = appUrl();
    const source = postgresSource({ connectionString: url, sql: 'SELECT id FROM orders' });
    const columns = source.columns();
    columns.catch(() => {});
    expect(await waitingOnLock(name)).toBe(true);
    expect(await settlesWithin(source.close(), 2000)).toBe(true);
    expect((await failure(columns)).code).toBe('aborted');
    expect(await eventually(async () => (await backends(name)).all === 0, 2000)).toBe(true);
    // A closed source stays closed: it does not open again.
    expect((await failure(source.columns())).code).toBe('aborted');
  });

  it('a plan aborted during the describe (an HTTP client that left) stops it at once', async () => {
    const { name, url } = appUrl();
    const formats = builtinFormats();
    const context: ExportContext = {
      datasets: new DatasetRegistry([
        defineDataset({
          name: 'orders',
          source: () => postgresSource({ connectionString: url, sql: 'SELECT * FROM orders' }),
        }),
      ]),
      formats,
      limits: DEFAULT_EXPORT_LIMITS,
    };
    const request = parseExportRequest({ dataset: 'orders', format: 'csv' }, formats);
    const controller = new AbortController();
    let closing: Promise<unknown> | undefined;
    const planning = planExport(request, { id: 'u' }, context, {
      signal: controller.signal,
      onBackgroundClose: (close) => {
        closing = close;
      },
    });
    planning.catch(() => {});
    expect(await waitingOnLock(name)).toBe(true);
    controller.abort();
    expect((await failure(planning)).code).toBe('aborted');
    // The source is closed in the background once the describe has settled: at once, not
    // when the lock goes or the statement timeout (60 s) ends it.
    expect(closing).toBeDefined();
    expect(await settlesWithin(closing!, 2000)).toBe(true);
    expect(await eventually(async () => (await backends(name)).all === 0, 2000)).toBe(true);
  });

  it('without an abort the describe waits for the lock and then succeeds', async () => {
    const { url } = appUrl();
    const source = postgresSource({ connectionString: url, sql: 'SELECT id FROM orders' });
    try {
      const columns = source.columns();
      setTimeout(() => void locker.query('ROLLBACK'), 300);
      expect((await columns).map((c) => c.key)).toEqual(['id']);
    } finally {
      await source.close();
    }
  });
});
