import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedQueue } from '../../src/jobs/queue/embedded.js';
import { sqliteJobStore } from '../../src/jobs/store/sqlite.js';
import { jobsContract } from '../contracts/jobs.js';

jobsContract('SQLite + embedded queue', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'takeout-jobs-'));
  const path = join(dir, 'takeout.db');
  const store = sqliteJobStore({ path });
  const others: { close(): Promise<void> }[] = [];
  return {
    store,
    async queue(options = {}) {
      // Each queue opens the file anew, as another process would.
      const own = sqliteJobStore({ path });
      others.push(own);
      return embeddedQueue({
        store: own,
        pollIntervalMs: 100,
        maxAttempts: options.maxAttempts ?? 3,
        backoff: { baseMs: 50, maxMs: 100 },
      });
    },
    async close() {
      for (const other of others) await other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
