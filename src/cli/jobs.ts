/**
 * `takeout jobs list|show|cancel` for operators, and `takeout migrate`. Configured like the
 * server: DATABASE_URL (PostgreSQL) or the SQLite file in TAKEOUT_DATA_DIR.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TakeoutError } from '../errors.js';
import { jobSettingsFromEnv } from '../jobs/config.js';
import { requestCancel } from '../jobs/lifecycle.js';
import { type MigratedJobStore, openJobStore } from '../jobs/store/index.js';
import { SCHEMA_VERSION } from '../jobs/store/migrations.js';
import { JOB_STATUSES, type JobOwner, type JobRecord, type JobStatus } from '../jobs/types.js';
import { visibleStatus } from '../jobs/view.js';
import { type CliIo, UsageError } from './usage.js';

export const JOBS_USAGE = `Usage: takeout jobs <command> [options]

Commands:
  list [--owner ID[:TENANT]] [--status S[,S]] [--limit N] [--cursor C] [--json]
                       jobs, newest first (all owners unless --owner)
  show ID              one job as JSON
  cancel ID            cancel a queued or running job

The job store comes from the environment: DATABASE_URL (postgres://...) or the SQLite file
in TAKEOUT_DATA_DIR (default ./data). See docs/jobs.md.`;

export const MIGRATE_USAGE = `Usage: takeout migrate

Applies the job store's schema migrations (DATABASE_URL, or SQLite in TAKEOUT_DATA_DIR).
The server also applies them when it starts; this lets a deployment run them first.`;

async function withStore<T>(
  env: NodeJS.ProcessEnv,
  work: (store: MigratedJobStore) => Promise<T>,
): Promise<T> {
  const settings = jobSettingsFromEnv(env);
  const store = await openJobStore({
    databaseUrl: settings.databaseUrl,
    schema: settings.databaseSchema,
    dataDir: resolve(env.TAKEOUT_DATA_DIR || 'data'),
  });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function parseOwner(text: string): JobOwner {
  const [id, tenant] = text.split(':');
  if (!id) throw new UsageError('--owner is ID or ID:TENANT');
  return tenant ? { id, tenant } : { id };
}

function parseStatuses(text: string): JobStatus[] {
  const statuses = text.split(',').map((s) => s.trim());
  for (const status of statuses) {
    if (!(JOB_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(`unknown status ${JSON.stringify(status)}; use ${JOB_STATUSES.join(', ')}`);
    }
  }
  return statuses as JobStatus[];
}

function line(job: JobRecord): string {
  const owner = job.owner.tenant ? `${job.owner.id}:${job.owner.tenant}` : job.owner.id;
  const rows = job.result?.rowCount ?? job.progress.rowsWritten;
  return [
    job.id,
    // As the owner sees it (and as --status filters): a file past its retention is expired.
    visibleStatus(job).padEnd(9),
    `a${job.attempt}`,
    String(rows).padStart(10),
    job.createdAt.toISOString(),
    owner,
  ].join('  ');
}

async function list(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      owner: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string', default: '20' },
      cursor: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError('--limit is 1 to 100');
  const page = await withStore(io.env, (store) =>
    store.list(values.owner ? parseOwner(values.owner) : null, {
      limit,
      ...(values.status ? { status: parseStatuses(values.status) } : {}),
      ...(values.cursor ? { cursor: values.cursor } : {}),
    }),
  );
  if (values.json) {
    io.stdout.write(`${JSON.stringify(page)}\n`);
    return 0;
  }
  for (const job of page.jobs) io.stdout.write(`${line(job)}\n`);
  if (page.nextCursor) io.stderr.write(`more: takeout jobs list --cursor ${page.nextCursor}\n`);
  return 0;
}

async function one(argv: string[], io: CliIo, action: 'show' | 'cancel'): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true });
  const [id] = positionals;
  if (!id || positionals.length > 1) throw new UsageError(`takeout jobs ${action} takes one export id`);
  const job = await withStore(io.env, async (store) => {
    if (action === 'cancel') return requestCancel(store, id);
    const found = await store.get(id);
    // Operators see every delivery of its notifications, the service-wide webhook's included.
    return found?.notify?.length ? { ...found, deliveries: await store.deliveries(id) } : found;
  });
  if (!job) throw new TakeoutError('export_not_found', `No export ${id}`);
  io.stdout.write(action === 'show' ? `${JSON.stringify(job, null, 2)}\n` : `${line(job)}\n`);
  return 0;
}

export async function jobsCommand(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    (command === undefined ? io.stderr : io.stdout).write(`${JOBS_USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === 'list') return list(rest, io);
  if (command === 'show' || command === 'cancel') return one(rest, io, command);
  throw new UsageError(`unknown jobs command ${JSON.stringify(command)}`);
}

export async function migrateCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${MIGRATE_USAGE}\n`);
    return 0;
  }
  if (argv.length > 0) throw new UsageError('takeout migrate takes no arguments');
  // Opening the store applies what is missing (under a lock: safe while servers start too).
  const kind = await withStore(io.env, async (store) => {
    await store.migrate();
    return store.kind;
  });
  io.stdout.write(`job store (${kind}): schema at version ${SCHEMA_VERSION}\n`);
  return 0;
}
