/**
 * `takeout jobs list|show|cancel|delete` for operators, and `takeout migrate`. Configured like the
 * server: DATABASE_URL (PostgreSQL) or the SQLite file in TAKEOUT_DATA_DIR.
 */
import { parseArgs } from 'node:util';
import { didYouMean } from '../did-you-mean.js';
import { isTakeoutError, TakeoutError } from '../errors.js';
import { requestCancel } from '../jobs/lifecycle.js';
import { SCHEMA_VERSION } from '../jobs/store/migrations.js';
import { FINISHED_STATUSES, JOB_STATUSES, type JobRecord, type JobStatus } from '../jobs/types.js';
import { visibleStatus } from '../jobs/view.js';
import { parsePrincipal, refuseEmpty, shellWord } from './flags.js';
import { operatorJobView, ownerText } from './job-json.js';
import { storeState, withStore } from './job-store.js';
import { type CliIo, CommandError, RequestError, UsageError, unknownArgument } from './usage.js';

export const JOBS_USAGE = `Usage: takeout jobs <command> [options]

Commands:
  list [--owner ID[:TENANT]] [--status S[,S]] [--limit N] [--cursor C] [--json]
                       jobs, newest first (all owners unless --owner)
  show ID              one job as JSON (the API's document, with owner, file_key, deliveries)
  cancel ID            cancel a queued or running job; exit 1 when it had already finished
                       (succeeded, failed or expired), 0 when it is canceling or canceled
  delete ID            what DELETE /v1/exports/ID does: delete a succeeded job's file now
                       (the job becomes expired; its record stays) or cancel an active one.
                       The file store comes from STORAGE_URL (default TAKEOUT_DATA_DIR/files)

The job store comes from the environment: DATABASE_URL (postgres://...) or the SQLite file
in TAKEOUT_DATA_DIR (default ./data). See docs/jobs.md.`;

export const MIGRATE_USAGE = `Usage: takeout migrate

Applies the job store's schema migrations (DATABASE_URL, or SQLite in TAKEOUT_DATA_DIR).
The server also applies them when it starts; this lets a deployment run them first.`;

function parseStatuses(text: string): JobStatus[] {
  const statuses = text.split(',').map((s) => s.trim());
  for (const status of statuses) {
    if (!(JOB_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(
        `unknown status ${JSON.stringify(status)}${didYouMean(status, JOB_STATUSES)}; use ${JOB_STATUSES.join(', ')}`,
      );
    }
  }
  return statuses as JobStatus[];
}

function line(job: JobRecord): string {
  const owner = ownerText(job);
  const rows = job.result?.rowCount ?? job.progress.rowsWritten;
  return [
    job.id,
    // As the owner sees it (and as --status filters): a file past its retention is expired.
    visibleStatus(job).padEnd(9),
    String(job.attempt).padEnd(3),
    String(rows).padStart(10),
    job.createdAt.toISOString(),
    owner,
  ].join('  ');
}

/** The names of line()'s columns, above them (ids have one length: exp_ and 22 characters). */
function header(jobs: JobRecord[]): string {
  const idWidth = Math.max(2, ...jobs.map((job) => job.id.length));
  return [
    'ID'.padEnd(idWidth),
    'STATUS'.padEnd(9),
    'TRY',
    'ROWS'.padStart(10),
    'CREATED'.padEnd(24),
    'OWNER',
  ].join('  ');
}

/** The command for the next page: the same filters, the next cursor. */
function nextPage(values: { owner?: string; status?: string; limit?: string }, cursor: string): string {
  const words = ['takeout', 'jobs', 'list'];
  if (values.owner !== undefined) words.push('--owner', values.owner);
  if (values.status !== undefined) words.push('--status', values.status);
  if (values.limit !== undefined) words.push('--limit', values.limit);
  words.push('--cursor', cursor);
  return words.map(shellWord).join(' ');
}

async function list(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      owner: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return help(io);
  refuseEmpty(values);
  const limit = Number(values.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError('--limit is 1 to 100');
  const owner = values.owner === undefined ? null : parsePrincipal(values.owner, '--owner');
  const status = values.status === undefined ? undefined : parseStatuses(values.status);
  const page = await withStore(io.env, { create: false }, (store) =>
    store.list(owner, {
      limit,
      ...(status ? { status } : {}),
      ...(values.cursor ? { cursor: values.cursor } : {}),
    }),
  ).catch((error: unknown) => {
    // The one request value of the command line: a cursor that is not one is a wrong flag (exit 2).
    if (isTakeoutError(error) && error.code === 'invalid_request') throw new RequestError(error);
    throw error;
  });
  if (values.json) {
    // Shaped as GET /v1/exports answers, with the operator's members on each export.
    const document = {
      exports: page.jobs.map((job) => operatorJobView(job)),
      ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}),
    };
    io.stdout.write(`${JSON.stringify(document)}\n`);
    return 0;
  }
  if (page.jobs.length === 0) {
    // On stderr: a script reading stdout finds no rows, as before.
    const filters = [
      ...(values.owner !== undefined ? [`of ${values.owner}`] : []),
      ...(values.status !== undefined ? [`with status ${values.status}`] : []),
    ];
    // An owner is matched with its tenant: `alice` is not `alice:acme`.
    const tenantHint =
      owner && owner.tenant === undefined ? ' (an owner in a tenant is --owner ID:TENANT)' : '';
    io.stderr.write(
      `no ${values.cursor ? 'more ' : ''}exports${filters.map((f) => ` ${f}`).join('')}${tenantHint}\n`,
    );
  } else io.stdout.write(`${header(page.jobs)}\n${page.jobs.map((job) => `${line(job)}\n`).join('')}`);
  if (page.nextCursor) io.stderr.write(`more: ${nextPage(values, page.nextCursor)}\n`);
  return 0;
}

async function show(id: string, io: CliIo): Promise<number> {
  const view = await withStore(io.env, { create: false }, async (store) => {
    const found = await store.get(id);
    // Operators see every delivery of its notifications, the service-wide webhook's included.
    return found && operatorJobView(found, found.notify?.length ? await store.deliveries(id) : undefined);
  });
  if (!view) throw new TakeoutError('export_not_found', `No export ${id}`);
  io.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
  return 0;
}

/**
 * Cancels a queued or running export. One already canceling or canceled is left as it is
 * (exit 0: it ends canceled, as asked); one that finished otherwise cannot be, exit 1.
 */
async function cancel(id: string, io: CliIo): Promise<number> {
  const { before, after } = await withStore(io.env, { create: false }, async (store) => {
    const found = await store.get(id);
    return { before: found, after: found && (await requestCancel(store, id)) };
  });
  if (!before || !after) throw new TakeoutError('export_not_found', `No export ${id}`);
  const was = visibleStatus(before);
  if (was === 'canceling' || was === 'canceled') {
    io.stdout.write(`${line(after)}\n`);
    io.stderr.write(`takeout: ${id} was already ${was}\n`);
    return 0;
  }
  const now = visibleStatus(after);
  if ((FINISHED_STATUSES as readonly string[]).includes(now) && now !== 'canceled')
    throw new CommandError('export_finished', `${id} already ${now}: there is nothing to cancel`);
  io.stdout.write(`${line(after)}\n`);
  return 0;
}

async function one(argv: string[], io: CliIo, action: 'show' | 'cancel' | 'delete'): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return help(io);
  const [id] = positionals;
  if (!id || positionals.length > 1) throw new UsageError(`jobs ${action} takes one export id`);
  if (action === 'delete') return (await import('./jobs-delete.js')).deleteJob(id, io, line);
  return action === 'show' ? show(id, io) : cancel(id, io);
}

function help(io: CliIo): number {
  io.stdout.write(`${JOBS_USAGE}\n`);
  return 0;
}

export async function jobsCommand(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    (command === undefined ? io.stderr : io.stdout).write(`${JOBS_USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === 'list') return list(rest, io);
  if (command === 'show' || command === 'cancel' || command === 'delete') return one(rest, io, command);
  throw new UsageError(
    `unknown jobs command ${JSON.stringify(command)}${didYouMean(command, ['list', 'show', 'cancel', 'delete'])}`,
  );
}

export async function migrateCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${MIGRATE_USAGE}\n`);
    return 0;
  }
  if (argv[0] !== undefined) throw unknownArgument(argv[0], 'migrate');
  // Where it is and what it was, said after: a mistyped schema creates a new, empty store.
  const before = await storeState(io.env);
  // Opening the store applies what is missing (under a lock: safe while servers start too).
  const { kind, version } = await withStore(io.env, { create: true }, async (store) => ({
    kind: store.kind,
    ...(await store.migrate()),
  }));
  const where = before ? ` in ${before.where}` : '';
  const what =
    before?.version === undefined
      ? `created${where}, at schema version ${version}`
      : before.version < version
        ? `migrated from schema version ${before.version} to ${version}${where}`
        : `already at schema version ${version}${where}; nothing to apply`;
  // The store's version, which a newer release may have taken past this one's.
  const newer =
    version > SCHEMA_VERSION
      ? `; this takeout knows versions up to ${SCHEMA_VERSION} (a newer release migrated it; migrations only add, so this one still works against it)`
      : '';
  io.stdout.write(`job store (${kind}): ${what}${newer}\n`);
  return 0;
}
