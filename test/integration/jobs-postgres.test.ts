import { postgresJobStore } from '../../src/jobs/store/postgres.js';
import { embeddedHarness, jobsContract } from '../contracts/jobs.js';
import { createSchema } from './postgres-helpers.js';

jobsContract('PostgreSQL + embedded queue', async () => {
  const schema = await createSchema('takeout_jobs');
  // The store puts its tables in its `schema` option, not through the search_path.
  const open = () => postgresJobStore({ connectionString: schema.url, schema: schema.name });
  return embeddedHarness(await open(), open, () => schema.drop());
});
