/** The notification outbox contract on both job stores: SQLite (a file) and PostgreSQL (a fresh schema). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresJobStore } from '../../src/jobs/store/postgres.js';
import { sqliteJobStore } from '../../src/jobs/store/sqlite.js';
import type { JobStore } from '../../src/jobs/types.js';
import { outboxContract } from '../contracts/jobs-outbox.js';
import { outboxAdminContract } from '../contracts/jobs-outbox-admin.js';
import { createSchema } from './postgres-helpers.js';

function withOthers(store: JobStore, open: () => Promise<JobStore>, cleanup: () => Promise<void>) {
  const opened: JobStore[] = [];
  return {
    store,
    async other() {
      const other = await open();
      opened.push(other);
      return other;
    },
    async close() {
      for (const other of opened) await other.close();
      await store.close();
      await cleanup();
    },
  };
}

async function sqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'takeout-outbox-'));
  const path = join(dir, 'jobs.db');
  return withOthers(
    sqliteJobStore({ path }),
    async () => sqliteJobStore({ path }),
    async () => rmSync(dir, { recursive: true, force: true }),
  );
}

async function postgres() {
  const schema = await createSchema('takeout_outbox');
  const open = () => postgresJobStore({ connectionString: schema.url, schema: schema.name });
  return withOthers(await open(), open, () => schema.drop());
}

outboxContract('SQLite', sqlite);
outboxContract('PostgreSQL', postgres);
outboxAdminContract('SQLite', sqlite);
outboxAdminContract('PostgreSQL', postgres);
