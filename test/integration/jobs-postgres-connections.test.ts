/**
 * The PostgreSQL job store when its connections go away (a failover, a restart, an operator's
 * pg_terminate_backend) while callers wait for the pool, and when it cannot open at all: every
 * failure is a job_store_error the caller can retry, never an unheard 'error' event that ends
 * the process, and an opening failure says why.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTakeoutError } from '../../src/errors.js';
import { openJobStore } from '../../src/jobs/store/index.js';
import { postgresJobStore } from '../../src/jobs/store/postgres.js';
import { createSchema, PG_BASE_URL, type TestSchema } from './postgres-helpers.js';

let schema: TestSchema;

beforeAll(async () => {
  schema = await createSchema('takeout_jobs_conn');
});
afterAll(() => schema?.drop());

describe('the PostgreSQL job store losing its connections', () => {
  it('answers job_store_error while its backends are terminated under load, and the process lives on', async () => {
    // Its own application name: only this test's backends are terminated.
    const name = `takeout-terminated-${process.pid}`;
    const pool = new pg.Pool({ connectionString: schema.url, application_name: name, max: 3 });
    pool.on('error', () => {}); // the pool's idle clients: the application's to listen to
    const store = await postgresJobStore({ pool, schema: schema.name });
    const codes = new Map<string, number>();
    let succeeded = 0;
    const end = Date.now() + 6000;
    const work = async (kind: number) => {
      while (Date.now() < end) {
        try {
          if (kind === 0) await store.get('exp_AAAAAAAAAAAAAAAAAAAAAA');
          else if (kind === 1) await store.purgeDeliveries(new Date(0));
          else {
            const id = `exp_${randomUUID().replaceAll('-', '').slice(0, 22)}`;
            await store.create(
              {
                id,
                owner: { id: 'terminated' },
                principal: { id: 'terminated' },
                request: {},
                requestHash: 'h',
              },
              { maxActivePerOwner: 1e9 },
            );
          }
          succeeded++;
        } catch (error) {
          const code = isTakeoutError(error) ? error.code : `not a TakeoutError: ${String(error)}`;
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }
    };
    const killer = (async () => {
      const admin = new pg.Client({ connectionString: PG_BASE_URL });
      await admin.connect();
      while (Date.now() < end) {
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [name],
        );
        await sleep(40);
      }
      await admin.end();
    })();
    // More callers than connections: some always wait for the pool.
    await Promise.all([killer, ...[0, 1, 2, 2, 2, 2].map(work)]);
    await store.close();
    await pool.end();
    expect(succeeded).toBeGreaterThan(0);
    expect([...codes.keys()]).toEqual(codes.size === 0 ? [] : ['job_store_error']);
  }, 30_000);

  it('says why it cannot open: the database missing, or a connection string pg cannot read', async () => {
    const url = new URL(PG_BASE_URL);
    url.pathname = `/takeout_absent_${process.pid}`;
    const absent = await openJobStore({ databaseUrl: url.href, dataDir: '/nonexistent' }).catch((e) => e);
    expect(absent.code).toBe('job_store_error');
    expect(absent.message).toMatch(
      /^The job database failed \(database "takeout_absent_\d+" does not exist\)$/,
    );
    const unreadable = await openJobStore({
      databaseUrl: 'postgres://app:Sup3rS3cret#x@127.0.0.1:5432/test',
      dataDir: '/nonexistent',
    }).catch((e) => e);
    expect(unreadable.code).toBe('config_error');
    expect(unreadable.message).toMatch(/not a valid PostgreSQL URL/);
    expect(unreadable.message).not.toMatch(/Sup3rS3cret/);
  });
});
