import { workerContract } from '../contracts/jobs-worker.js';
import { createSchema, PG_BASE_URL } from './postgres-helpers.js';

workerContract('SQLite + embedded queue + disk', async () => ({ env: {}, cleanup: async () => {} }));

workerContract('PostgreSQL + embedded queue + disk', async () => {
  const schema = await createSchema('takeout_worker');
  return {
    env: { DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: schema.name },
    cleanup: () => schema.drop(),
  };
});
