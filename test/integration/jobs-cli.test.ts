import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { claimJob, failJob } from '../../src/jobs/lifecycle.js';
import { SCHEMA_VERSION } from '../../src/jobs/store/migrations.js';
import { postgresJobStore } from '../../src/jobs/store/postgres.js';
import { sqliteJobStore } from '../../src/jobs/store/sqlite.js';
import { addJob, cli } from '../support/jobs-cli.js';
import { createSchema, PG_BASE_URL, withSearchPath } from './postgres-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-jobs-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The database the tests' PostgreSQL URL names (`test` unless TAKEOUT_TEST_PG_URL says otherwise). */
const DATABASE = new URL(PG_BASE_URL).pathname.slice(1);

describe('takeout jobs and takeout migrate', () => {
  it('lists, shows and cancels jobs in the SQLite store of TAKEOUT_DATA_DIR', async () => {
    const env = { TAKEOUT_DATA_DIR: dir };
    expect(await cli(['migrate'], env)).toMatchObject({
      code: 0,
      out: `job store (sqlite): created in ${join(dir, 'jobs.db')}, at schema version ${SCHEMA_VERSION}\n`,
    });
    const store = sqliteJobStore({ path: join(dir, 'jobs.db') });
    const mine = await addJob(store, { id: 'ann', tenant: 't1' });
    // Newest first: a later millisecond, or the tie would be broken by the random ids.
    await sleep(5);
    const running = await addJob(store, { id: 'bob' });
    await claimJob(store, running.id, { leaseOwner: 'w', leaseMs: 60_000 });

    const all = await cli(['jobs', 'list'], env);
    expect(all.code).toBe(0);
    // A header row names the columns, each name above its column.
    const [head = '', ...lines] = all.out.trim().split('\n');
    expect(head.split(/\s+/)).toEqual(['ID', 'STATUS', 'TRY', 'ROWS', 'CREATED', 'OWNER']);
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([running.id, mine.id]);
    expect(lines[0]).toMatch(/running\s+1\s+0\s+\S+\s+bob$/);
    expect(lines[1]).toMatch(/queued\s+0\s+0\s+\S+\s+ann:t1$/);
    for (const name of ['STATUS', 'TRY', 'CREATED', 'OWNER'])
      expect(
        lines.map((l) => l[head.indexOf(name) - 1]),
        name,
      ).toEqual([' ', ' ']);
    expect(lines.map((l) => l.lastIndexOf(' ') + 1)).toEqual([head.indexOf('OWNER'), head.indexOf('OWNER')]);

    // --json is shaped as the API's list: snake_case, the status the owner sees, the owner's id.
    const ann = await cli(['jobs', 'list', '--owner', 'ann:t1', '--json'], env);
    expect(JSON.parse(ann.out)).toEqual({
      exports: [
        {
          id: mine.id,
          status: 'queued',
          format: 'csv',
          attempt: 0,
          created_at: mine.createdAt.toISOString(),
          updated_at: expect.any(String),
          progress: { rows_written: 0, bytes_written: 0 },
          owner: 'ann:t1',
          dataset: 'orders',
          record_status: 'queued',
          request: mine.request,
        },
      ],
    });
    const annWithoutTenant = await cli(['jobs', 'list', '--owner', 'ann'], env);
    expect(annWithoutTenant.err).toBe('no exports of ann (an owner in a tenant is --owner ID:TENANT)\n');
    const paged = await cli(['jobs', 'list', '--limit', '1'], env);
    expect(paged.out.trim().split('\n')).toHaveLength(2);
    // The next page keeps the filters given.
    expect(paged.err).toMatch(/^more: takeout jobs list --limit 1 --cursor \S+\n$/);

    const shown = await cli(['jobs', 'show', mine.id], env);
    expect(JSON.parse(shown.out)).toMatchObject({ id: mine.id, status: 'queued', owner: 'ann:t1' });
    // The running one's lease: whose attempt holds it and until when.
    expect(JSON.parse((await cli(['jobs', 'show', running.id], env)).out)).toMatchObject({
      status: 'running',
      lease: { owner: 'w', expires_at: expect.stringMatching(/^\d{4}-/) },
    });
    expect(shown.out).not.toMatch(/createdAt|requestHash|principal|lease/);

    expect((await cli(['jobs', 'cancel', running.id], env)).out).toContain('canceling');
    expect((await store.get(running.id))?.status).toBe('canceling');
    expect((await cli(['jobs', 'cancel', mine.id], env)).out).toContain('canceled');
    expect((await store.get(mine.id))?.status).toBe('canceled');

    const missing = await cli(['jobs', 'show', 'exp_nope'], env);
    expect(missing).toMatchObject({ code: 1, err: 'takeout: export_not_found: No export exp_nope\n' });
    expect((await cli(['jobs', 'list', '--status', 'done'], env)).code).toBe(2);
    expect((await cli(['jobs', 'list', '--status', 'runing'], env)).err).toContain(
      'unknown status "runing" (did you mean running?)',
    );
    expect((await cli(['jobs', 'frobnicate'], env)).code).toBe(2);
    const typo = await cli(['jobs', 'lsit'], env);
    // The help pointed at is the command's: `takeout jobs lsit --help` would be the same error.
    expect([typo.code, typo.err]).toEqual([
      2,
      'takeout: unknown jobs command "lsit" (did you mean list?)\nsee takeout jobs --help\n',
    ]);
    await store.close();
  });

  it('migrate says the version the store is at, when a newer release took it further', async () => {
    const env = { TAKEOUT_DATA_DIR: mkdtempSync(join(dir, 'newer-')) };
    expect((await cli(['migrate'], env)).code).toBe(0);
    const db = new Database(join(env.TAKEOUT_DATA_DIR, 'jobs.db'));
    db.prepare('INSERT INTO takeout_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
      SCHEMA_VERSION + 1,
      'from a newer release',
      Date.now(),
    );
    db.close();
    expect(await cli(['migrate'], env)).toMatchObject({
      code: 0,
      out: `job store (sqlite): already at schema version ${SCHEMA_VERSION + 1} in ${join(env.TAKEOUT_DATA_DIR, 'jobs.db')}; nothing to apply; this takeout knows versions up to ${SCHEMA_VERSION} (a newer release migrated it; migrations only add, so this one still works against it)\n`,
    });
  });

  it('migrate says whether it created the store, migrated it from an older version, or found nothing to do', async () => {
    const env = { TAKEOUT_DATA_DIR: mkdtempSync(join(dir, 'older-')) };
    const path = join(env.TAKEOUT_DATA_DIR, 'jobs.db');
    expect((await cli(['migrate'], env)).out).toBe(
      `job store (sqlite): created in ${path}, at schema version ${SCHEMA_VERSION}\n`,
    );
    // Back to the version before the last one (migration 5 added this column: undo it).
    const db = new Database(path);
    db.exec('ALTER TABLE takeout_deliveries DROP COLUMN redelivered_at');
    db.prepare('DELETE FROM takeout_migrations WHERE version = ?').run(SCHEMA_VERSION);
    db.close();
    expect((await cli(['migrate'], env)).out).toBe(
      `job store (sqlite): migrated from schema version ${SCHEMA_VERSION - 1} to ${SCHEMA_VERSION} in ${path}\n`,
    );
    expect((await cli(['migrate'], env)).out).toBe(
      `job store (sqlite): already at schema version ${SCHEMA_VERSION} in ${path}; nothing to apply\n`,
    );
  });

  it('keeps --owner, --status and --limit in the command for the next page', async () => {
    const env = { TAKEOUT_DATA_DIR: mkdtempSync(join(dir, 'pages-')) };
    expect((await cli(['migrate'], env)).code).toBe(0);
    const store = sqliteJobStore({ path: join(env.TAKEOUT_DATA_DIR, 'jobs.db') });
    for (let i = 0; i < 3; i++) {
      await addJob(store, { id: 'ann', tenant: 't 1' });
      await sleep(2);
    }
    await addJob(store, { id: 'bob' });
    const args = ['jobs', 'list', '--owner', 'ann:t 1', '--status', 'queued', '--limit', '2'];
    const page = await cli(args, env);
    expect(page.out.trim().split('\n')).toHaveLength(3);
    const more =
      /^more: takeout jobs list --owner 'ann:t 1' --status queued --limit 2 --cursor (\S+)\n$/.exec(page.err);
    expect(more, page.err).not.toBeNull();
    const next = await cli([...args, '--cursor', more?.[1] ?? ''], env);
    expect([next.code, next.out.trim().split('\n').length, next.err]).toEqual([0, 2, '']);
    // Nothing listed: a line saying so (on stderr, stdout staying empty), naming the filters.
    expect(await cli(['jobs', 'list', '--owner', 'cy', '--status', 'queued'], env)).toEqual({
      code: 0,
      out: '',
      err: 'no exports of cy with status queued (an owner in a tenant is --owner ID:TENANT)\n',
    });
    // A cursor that is not one is a wrong flag value: exit 2, as docs/errors.md says.
    const garbage = await cli([...args, '--cursor', 'garbage'], env);
    expect([garbage.code, garbage.out, garbage.err]).toEqual([
      2,
      '',
      expect.stringMatching(/^takeout: invalid_request: /),
    ]);
    await store.close();
  });

  it('never creates a job store to read one, and says why the job database failed', async () => {
    const missing = join(dir, 'no-such-data-dir');
    for (const args of [
      ['jobs', 'list'],
      ['jobs', 'show', 'exp_x'],
      ['jobs', 'cancel', 'exp_x'],
    ]) {
      const result = await cli(args, { TAKEOUT_DATA_DIR: missing });
      expect([result.code, result.out], args.join(' ')).toEqual([1, '']);
      expect(result.err).toBe(
        `takeout: no_job_store: There is no job store in ${missing} (no jobs.db): set TAKEOUT_DATA_DIR to the service's data directory, or DATABASE_URL\n`,
      );
    }
    expect(existsSync(missing)).toBe(false);
    // A file that is not a database: SQLite's reason, as jobs.md promises.
    const notDb = mkdtempSync(join(dir, 'not-a-db-'));
    writeFileSync(join(notDb, 'jobs.db'), 'garbage, not SQLite\n'.repeat(100));
    expect(await cli(['jobs', 'list'], { TAKEOUT_DATA_DIR: notDb })).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^takeout: (config_error|job_store_error): .*file is not a database/),
    });
    const db = `takeout_no_such_db_${process.pid}`;
    const url = new URL(PG_BASE_URL);
    url.pathname = `/${db}`;
    const absent = await cli(['migrate'], { DATABASE_URL: url.href });
    expect(absent).toMatchObject({
      code: 1,
      err: `takeout: job_store_error: The job database failed (database "${db}" does not exist)\n`,
    });
    const port = await cli(['jobs', 'list'], {
      DATABASE_URL: 'postgres://postgres:secret-pw@127.0.0.1:99999/test',
    });
    expect(port).toMatchObject({
      code: 1,
      err: 'takeout: config_error: DATABASE_URL: port 99999 is out of range (1 to 65535)\n',
    });
  });

  it('never creates the PostgreSQL schema or tables to read them, by TAKEOUT_DATABASE_SCHEMA or search_path', async () => {
    const schema = await createSchema('takeout_jobs_cli_empty');
    const absent = `${schema.name}_absent`;
    const tables = async (name: string) =>
      (
        await schema.admin.query(
          'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
          [name],
        )
      ).rows.map((row: { table_name: string }) => row.table_name);
    const namespaces = async () =>
      (await schema.admin.query('SELECT nspname FROM pg_namespace WHERE nspname = $1', [absent])).rowCount;
    const fix = "set DATABASE_URL, and TAKEOUT_DATABASE_SCHEMA if the service has one, to the service's";
    try {
      const cases: [NodeJS.ProcessEnv, string][] = [
        [{ DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: schema.name }, `schema ${schema.name}`],
        [{ DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: absent }, `schema ${absent}`],
        [{ DATABASE_URL: withSearchPath(PG_BASE_URL, schema.name) }, `search_path ${schema.name}`],
      ];
      for (const [env, where] of cases) {
        for (const args of [
          ['jobs', 'list'],
          ['jobs', 'show', 'exp_x'],
          ['jobs', 'cancel', 'exp_x'],
        ]) {
          const result = await cli(args, env);
          expect(result, `${args.join(' ')} in ${where}`).toEqual({
            code: 1,
            out: '',
            err: `takeout: no_job_store: There is no job store in database ${DATABASE}, ${where} (no takeout_migrations table): ${fix}\n`,
          });
        }
      }
      expect(await tables(schema.name)).toEqual([]);
      expect(await namespaces()).toBe(0);
      // Once migrated (through the search_path alone), the same commands read it.
      const env = { DATABASE_URL: withSearchPath(PG_BASE_URL, schema.name) };
      expect((await cli(['migrate'], env)).code).toBe(0);
      expect(await tables(schema.name)).toContain('takeout_exports');
      for (const reader of [env, { DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: schema.name }]) {
        expect(await cli(['jobs', 'list'], reader)).toEqual({ code: 0, out: '', err: 'no exports\n' });
      }
    } finally {
      await schema.drop();
    }
  });

  it('migrates a PostgreSQL schema once, however often it is run', async () => {
    const schema = await createSchema('takeout_jobs_cli');
    try {
      const env = { DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: schema.name };
      const where = `database ${DATABASE}, schema ${schema.name}`;
      const created = `job store (postgres): created in ${where}, at schema version ${SCHEMA_VERSION}\n`;
      const current = `job store (postgres): already at schema version ${SCHEMA_VERSION} in ${where}; nothing to apply\n`;
      const runs = await Promise.all([cli(['migrate'], env), cli(['migrate'], env)]);
      // The first to look finds no store; the other may look before or after it is made.
      for (const run of runs) expect(run.code).toBe(0);
      expect(runs.map((run) => run.out)).toContain(created);
      for (const run of runs) expect([created, current]).toContain(run.out);
      expect((await cli(['migrate'], env)).out).toBe(current);
      const versions = await schema.admin.query(`SELECT version FROM ${schema.name}.takeout_migrations`);
      expect(versions.rows).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
      const store = await postgresJobStore({ connectionString: PG_BASE_URL, schema: schema.name });
      const job = await addJob(store, { id: 'ann' });
      expect((await cli(['jobs', 'show', job.id], env)).out).toContain(job.id);
      // An operator sees every delivery of a job's notifications.
      const told = await addJob(store, { id: 'ann' }, [{ channel: 'service' }]);
      await claimJob(store, told.id, { leaseOwner: 'w', leaseMs: 60_000 });
      await failJob(store, told.id, 'w', { code: 'source_error', message: 'down', retryable: false });
      const shown = JSON.parse((await cli(['jobs', 'show', told.id], env)).out);
      expect(shown.deliveries).toEqual([
        expect.objectContaining({
          channel: 'service',
          event: 'export.failed',
          state: 'pending',
          attempts: 0,
        }),
      ]);
      expect(shown).toMatchObject({ status: 'failed', error: { code: 'source_error' } });
      await store.close();
      expect((await cli(['migrate'], { DATABASE_URL: 'mysql://x' })).err).toContain('config_error');
    } finally {
      await schema.drop();
    }
  });
});
