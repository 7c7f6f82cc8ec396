import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteJobStore } from '../../src/jobs/store/sqlite.js';
import { embeddedHarness, jobsContract } from '../contracts/jobs.js';

jobsContract('SQLite + embedded queue', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'takeout-jobs-'));
  const path = join(dir, 'jobs.db');
  return embeddedHarness(
    sqliteJobStore({ path }),
    async () => sqliteJobStore({ path }),
    async () => rmSync(dir, { recursive: true, force: true }),
  );
});
