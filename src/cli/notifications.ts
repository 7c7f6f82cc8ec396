/**
 * `takeout notifications list|redeliver` for operators: see how deliveries of the outbox went
 * and send again those that failed (a receiver down for longer than TAKEOUT_NOTIFY_RETRY_FOR,
 * an allow list fixed late). The dispatchers of running workers send what is made pending.
 */
import { parseArgs } from 'node:util';
import { didYouMean } from '../did-you-mean.js';
import { parseDurationMs } from '../durations.js';
import type { JobStore } from '../jobs/types.js';
import {
  DELIVERY_STATUSES,
  type Delivery,
  type DeliveryQuery,
  type DeliveryStatus,
  type NotifyChannel,
} from '../notify/types.js';
import { refuseEmpty, shellWord } from './flags.js';
import { withStore } from './job-store.js';
import { type CliIo, CommandError, UsageError } from './usage.js';

export const NOTIFICATIONS_USAGE = `Usage: takeout notifications <command> [options]

Commands:
  list [--status S[,S]] [--channel C] [--destination D] [--export ID] [--since T]
       [--limit N] [--cursor C] [--json]
                       deliveries of notifications, newest first
  redeliver ID...      send these deliveries again (failed, disabled or delivered ones)
  redeliver --failed [--channel C] [--destination D] [--export ID] [--since T] [--dry-run]
                       send again every failed delivery that matches

Statuses: ${DELIVERY_STATUSES.join(', ')}. Channels: webhook (the owner's), email, service
(TAKEOUT_WEBHOOK_URL). T is a time back from now (24h, 3d) or a date (2026-12-01T08:00Z).
A delivery sent again keeps its id (webhook-id) and its event as it was, and is retried for
TAKEOUT_NOTIFY_RETRY_FOR from now; running workers send it within TAKEOUT_NOTIFY_POLL.

The job store comes from the environment: DATABASE_URL (postgres://...) or the SQLite file
in TAKEOUT_DATA_DIR (default ./data). See docs/notifications.md.`;

const CHANNELS: readonly NotifyChannel[] = ['webhook', 'email', 'service'];
/** Deliveries made pending per statement by `redeliver --failed`. */
const REDELIVER_BATCH = 500;

const filterOptions = {
  channel: { type: 'string' },
  destination: { type: 'string' },
  export: { type: 'string' },
  since: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Filters = { channel?: string; destination?: string; export?: string; since?: string };

/** `word`, one of `known`, or a usage error naming what it should be (and the likely one). */
function oneOf<T extends string>(word: string, known: readonly T[], noun: string): T {
  if (!(known as readonly string[]).includes(word))
    throw new UsageError(
      `unknown ${noun} ${JSON.stringify(word)}${didYouMean(word, known)}; use ${known.join(', ')}`,
    );
  return word as T;
}

const parseStatuses = (text: string): DeliveryStatus[] =>
  text.split(',').map((s) => oneOf(s.trim(), DELIVERY_STATUSES, 'status'));

/** `24h` back from now, or a date: the oldest event to match. */
function parseSince(text: string, now: Date): Date {
  const back = parseDurationMs(text);
  if (back !== undefined) return new Date(now.getTime() - back);
  const date = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(
      `--since is a time back from now (24h, 3d) or a date (2026-12-01), got ${JSON.stringify(text)}`,
    );
  return date;
}

/** The filters every command shares, as a query. */
function query(values: Filters, now: Date): Omit<DeliveryQuery, 'limit'> {
  // `list` shows the service-wide webhook's deliveries with `-`: they have no destination.
  if (values.destination === '-')
    throw new UsageError(
      '--destination -: the service-wide webhook has no destination; give --channel service',
    );
  return {
    ...(values.channel !== undefined ? { channel: oneOf(values.channel, CHANNELS, 'channel') } : {}),
    ...(values.destination !== undefined ? { destination: values.destination } : {}),
    ...(values.export !== undefined ? { exportId: values.export } : {}),
    ...(values.since !== undefined ? { since: parseSince(values.since, now) } : {}),
  };
}

type OutboxStore = JobStore & Required<Pick<JobStore, 'findDeliveries' | 'redeliver'>>;

function withOutbox<T>(io: CliIo, use: (store: OutboxStore) => Promise<T>): Promise<T> {
  return withStore(io.env, { create: false }, (store) => {
    if (!store.findDeliveries || !store.redeliver)
      throw new CommandError(
        'unsupported',
        `this job store (${store.kind}) cannot list or send deliveries again`,
      );
    return use(store as OutboxStore);
  });
}

/** An opaque page cursor: the last delivery's place in the order. */
const cursorOf = (d: Delivery) =>
  Buffer.from(JSON.stringify([d.createdAt.getTime(), d.id])).toString('base64url');

function parseCursor(text: string): NonNullable<DeliveryQuery['after']> {
  try {
    const [ms, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    if (typeof ms === 'number' && Number.isFinite(ms) && typeof id === 'string')
      return { createdAt: new Date(ms), id };
  } catch {}
  throw new UsageError('--cursor is not one this command printed');
}

const COLUMNS = ['ID', 'STATUS', 'TRY', 'CREATED', 'EXPORT', 'CHANNEL', 'EVENT', 'DESTINATION', 'LAST'];

function cells(d: Delivery): string[] {
  const last = d.lastError ?? (d.lastStatus !== undefined ? String(d.lastStatus) : '-');
  return [
    d.id,
    d.status,
    String(d.attempts),
    d.createdAt.toISOString(),
    d.exportId,
    d.channel,
    d.event,
    d.destination ?? '-',
    last.length > 60 ? `${last.slice(0, 59)}…` : last,
  ];
}

/** Aligned columns under a header; the last one (free text) is not padded. */
function table(deliveries: Delivery[]): string {
  const rows = [COLUMNS, ...deliveries.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

async function list(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...filterOptions,
      status: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return help(io);
  refuseEmpty(values);
  const limit = Number(values.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError('--limit is 1 to 100');
  const wanted: DeliveryQuery = {
    ...query(values, new Date()),
    ...(values.status !== undefined ? { status: parseStatuses(values.status) } : {}),
    ...(values.cursor !== undefined ? { after: parseCursor(values.cursor) } : {}),
    // One more than shown: whether there is a next page.
    limit: limit + 1,
  };
  const found = await withOutbox(io, (store) => store.findDeliveries(wanted));
  const page = found.slice(0, limit);
  const next = found.length > limit ? cursorOf(page.at(-1)!) : undefined;
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ deliveries: page, ...(next ? { nextCursor: next } : {}) })}\n`);
    return 0;
  }
  if (page.length === 0) io.stderr.write(`no ${values.cursor ? 'more ' : ''}deliveries match\n`);
  else io.stdout.write(`${table(page)}\n`);
  if (next) {
    const words = ['takeout', 'notifications', 'list'];
    for (const [name, value] of Object.entries(values))
      if (typeof value === 'string' && name !== 'cursor') words.push(`--${name}`, value);
    io.stderr.write(`more: ${[...words, '--cursor', next].map(shellWord).join(' ')}\n`);
  }
  return 0;
}

/** Sends the named deliveries again; exit 1 when one of them does not exist. */
async function redeliverIds(ids: string[], io: CliIo): Promise<number> {
  const { known, sent } = await withOutbox(io, async (store) => {
    const known = await store.findDeliveries({ ids, limit: ids.length });
    return { known, sent: await store.redeliver(known.map((d) => d.id)) };
  });
  const again = new Set(sent.map((d) => d.id));
  let missing = 0;
  for (const id of new Set(ids)) {
    const was = known.find((d) => d.id === id);
    if (!was) {
      missing++;
      io.stderr.write(`takeout: ${id}: no such delivery\n`);
    } else if (again.has(id)) io.stdout.write(`${id}  pending  (was ${was.status})\n`);
    else io.stdout.write(`${id}  pending  (already on its way; left as it is)\n`);
  }
  if (missing > 0)
    throw new CommandError(
      'delivery_not_found',
      missing === 1
        ? '1 of the deliveries named does not exist'
        : `${missing} of the deliveries named do not exist`,
    );
  return 0;
}

/** Sends again every failed delivery that matches, page by page (each page one statement). */
async function redeliverFailed(values: Filters & { 'dry-run'?: boolean }, io: CliIo): Promise<number> {
  const filters = { ...query(values, new Date()), status: ['failed'] as DeliveryStatus[] };
  const count = await withOutbox(io, async (store) => {
    let after: DeliveryQuery['after'];
    let total = 0;
    for (;;) {
      const page = await store.findDeliveries({
        ...filters,
        ...(after ? { after } : {}),
        limit: REDELIVER_BATCH,
      });
      if (page.length === 0) return total;
      total += values['dry-run'] ? page.length : (await store.redeliver(page.map((d) => d.id))).length;
      const last = page.at(-1)!;
      after = { createdAt: last.createdAt, id: last.id };
    }
  });
  const what = count === 1 ? 'delivery' : 'deliveries';
  io.stdout.write(
    values['dry-run']
      ? `${count} failed ${what} would be sent again\n`
      : `${count} failed ${what} sent again\n`,
  );
  return 0;
}

async function redeliver(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...filterOptions,
      failed: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return help(io);
  refuseEmpty(values);
  const filtered = ['channel', 'destination', 'export', 'since'].some((name) => name in values);
  if (positionals.length > 0) {
    if (values.failed || filtered || values['dry-run'])
      throw new UsageError('redeliver takes delivery ids or --failed with filters, not both');
    return redeliverIds(positionals, io);
  }
  if (!values.failed) throw new UsageError('redeliver takes delivery ids (msg_...) or --failed');
  return redeliverFailed(values, io);
}

function help(io: CliIo): number {
  io.stdout.write(`${NOTIFICATIONS_USAGE}\n`);
  return 0;
}

export async function notificationsCommand(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    (command === undefined ? io.stderr : io.stdout).write(`${NOTIFICATIONS_USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === 'list') return list(rest, io);
  if (command === 'redeliver') return redeliver(rest, io);
  throw new UsageError(
    `unknown notifications command ${JSON.stringify(command)}${didYouMean(command, ['list', 'redeliver'])}`,
  );
}
