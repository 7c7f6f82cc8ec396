import { embeddedQueue } from '../../src/jobs/queue/embedded.js';
import { postgresJobStore } from '../../src/jobs/store/postgres.js';
import { jobsContract } from '../contracts/jobs.js';
import { createSchema } from './postgres-helpers.js';

jobsContract('PostgreSQL + embedded queue', async () => {
  const schema = await createSchema('takeout_jobs');
  // The store creates its tables in its own schema option, not through search_path.
  const store = await postgresJobStore({ connectionString: schema.url, schema: schema.name });
  const others: { close(): Promise<void> }[] = [];
  return {
    store,
    async queue(options = {}) {
      const own = await postgresJobStore({ connectionString: schema.url, schema: schema.name });
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
      await schema.drop();
    },
  };
});
