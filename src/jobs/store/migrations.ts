/**
 * Versioned schema changes of the job stores, applied in order at start-up (and by
 * `takeout migrate`). Append new versions; never edit an applied one.
 */
export interface Migration {
  version: number;
  name: string;
  /**
   * Statements run in one transaction; `{table}`, `{deliveries}`, `{attempts}` and `{index}`
   * (the prefix of index names) are replaced by the names in use.
   */
  statements: string[];
}

/** The columns both dialects share; `{time}`, `{json}` and `{bigint}` are the dialect's types. */
const exportsTable = [
  `CREATE TABLE {table} (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    owner_tenant TEXT NOT NULL DEFAULT '',
    principal {json} NOT NULL,
    request {json} NOT NULL,
    request_hash TEXT NOT NULL,
    idempotency_key TEXT,
    input_key TEXT,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    rows_written {bigint} NOT NULL DEFAULT 0,
    rows_estimated {bigint},
    bytes_written {bigint} NOT NULL DEFAULT 0,
    created_at {time} NOT NULL,
    updated_at {time} NOT NULL,
    started_at {time},
    finished_at {time},
    expires_at {time},
    run_after {time},
    lease_owner TEXT,
    lease_expires_at {time},
    result {json},
    error {json},
    UNIQUE (owner_tenant, owner_id, idempotency_key)
  )`,
  'CREATE INDEX {index}_owner_created ON {table} (owner_tenant, owner_id, created_at DESC, id DESC)',
  'CREATE INDEX {index}_status_updated ON {table} (status, updated_at)',
];

/**
 * The outbox of notifications (a delivery per event and channel, written with the job's
 * final status) and every attempt to send one; the channels a job announces to.
 */
const notificationsTables = [
  'ALTER TABLE {table} ADD COLUMN notify {json}',
  `CREATE TABLE {deliveries} (
    id TEXT PRIMARY KEY,
    export_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    destination TEXT,
    event TEXT NOT NULL,
    data {json} NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at {time} NOT NULL,
    updated_at {time} NOT NULL,
    next_attempt_at {time} NOT NULL,
    lease_owner TEXT,
    lease_expires_at {time},
    last_attempt_at {time},
    last_status INTEGER,
    last_error TEXT,
    delivered_at {time}
  )`,
  'CREATE INDEX {index}_deliveries_due ON {deliveries} (status, next_attempt_at)',
  'CREATE INDEX {index}_deliveries_export ON {deliveries} (export_id, created_at)',
  `CREATE TABLE {attempts} (
    delivery_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    attempted_at {time} NOT NULL,
    status_code INTEGER,
    latency_ms INTEGER NOT NULL,
    error TEXT,
    PRIMARY KEY (delivery_id, attempt)
  )`,
];

/**
 * Fair start order: how many exports the owner already had queued or running when this one
 * was created. Queues start lower ranks first, so one owner's backlog waits behind everyone
 * else's first exports instead of holding the workers.
 */
const queueRank = [
  'ALTER TABLE {table} ADD COLUMN queue_rank INTEGER NOT NULL DEFAULT 0',
  'CREATE INDEX {index}_queued_rank ON {table} (status, queue_rank, created_at, id)',
];

/**
 * Claims that ended in a hand-back at shutdown: a deploy is not the export's fault, so these
 * do not count against TAKEOUT_JOB_ATTEMPTS (`attempt` still counts every claim, and names the
 * attempt's storage key).
 */
const handedBack = ['ALTER TABLE {table} ADD COLUMN handed_back INTEGER NOT NULL DEFAULT 0'];

/**
 * When an operator last sent a delivery again: its retry period runs from then, not from the
 * event (a receiver down for longer than TAKEOUT_NOTIFY_RETRY_FOR can still get its events).
 */
const redelivered = ['ALTER TABLE {deliveries} ADD COLUMN redelivered_at {time}'];

export interface DialectTypes {
  time: string;
  json: string;
  bigint: string;
}

export function migrations(types: DialectTypes): Migration[] {
  const typed = (sql: string) =>
    sql
      .replaceAll('{time}', types.time)
      .replaceAll('{json}', types.json)
      .replaceAll('{bigint}', types.bigint);
  return [
    { version: 1, name: 'exports', statements: exportsTable.map(typed) },
    { version: 2, name: 'notifications', statements: notificationsTables.map(typed) },
    { version: 3, name: 'queue rank', statements: queueRank },
    { version: 4, name: 'handed back', statements: handedBack },
    { version: 5, name: 'redelivered', statements: redelivered.map(typed) },
  ];
}

export interface TableNames {
  table: string;
  deliveries: string;
  attempts: string;
  index: string;
}

/** Fills in the (possibly schema-qualified) table names and the prefix of index names. */
export function bind(statement: string, names: TableNames): string {
  return statement
    .replaceAll('{table}', names.table)
    .replaceAll('{deliveries}', names.deliveries)
    .replaceAll('{attempts}', names.attempts)
    .replaceAll('{index}', names.index);
}

export const MIGRATIONS_TABLE = 'takeout_migrations';
export const EXPORTS_TABLE = 'takeout_exports';
export const DELIVERIES_TABLE = 'takeout_deliveries';
export const ATTEMPTS_TABLE = 'takeout_delivery_attempts';

/** What `migrate()` did: how many migrations it applied, and the version the store is now at. */
export interface MigrationOutcome {
  applied: number;
  /** Above SCHEMA_VERSION when a newer release migrated the store. */
  version: number;
}

/** The version a fully migrated store is at. */
export const SCHEMA_VERSION = migrations({ time: '', json: '', bigint: '' }).at(-1)!.version;
