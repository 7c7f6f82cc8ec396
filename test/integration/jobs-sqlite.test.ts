import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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

describe('the SQLite job store file', () => {
  it('is readable by its owner only, with its WAL files, even in a world-readable directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'takeout-jobs-mode-'));
    try {
      chmodSync(dir, 0o755);
      const path = join(dir, 'jobs.db');
      const store = sqliteJobStore({ path });
      store.migrate();
      const modes = () =>
        ['jobs.db', 'jobs.db-wal', 'jobs.db-shm'].map((name) =>
          (statSync(join(dir, name)).mode & 0o777).toString(8),
        );
      expect(modes()).toEqual(['600', '600', '600']);
      await store.close();

      // A file an earlier version left readable to others is narrowed when opened.
      chmodSync(path, 0o644);
      const again = sqliteJobStore({ path });
      expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
