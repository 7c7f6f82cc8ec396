import { statSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * Read-only SQLite connections kept per database file between exports, each with its prepared
 * statements. Opening a file and preparing the first statement (SQLite reads and parses the
 * whole schema) cost more than reading a small export's rows: a server answering many small
 * sync exports spent most of its time there. A connection belongs to one export at a time
 * (better-sqlite3 allows one running statement per connection, and exports interleave their
 * batches), so each file has a little pool of idle ones.
 *
 * A kept connection reads what is committed at each statement's start, like a new one (SQLite
 * checks the file's change counter per read transaction). One kept while the schema changed
 * (PRAGMA schema_version, read on each acquire) is closed: it would describe the old columns. A file replaced by another one (a
 * new inode: a rename, a delete and re-create) is noticed by a stat on each acquire: the old
 * connections are closed. Idle connections are closed after IDLE_MS, and never keep the
 * process alive.
 */

/** Idle connections are closed after this long. */
const IDLE_MS = 30_000;
/** Idle connections kept per file; more are closed when released. */
const MAX_IDLE_PER_FILE = 8;
/** Prepared statements kept per connection (least recently used go first). */
const MAX_STATEMENTS = 16;

interface Identity {
  dev: number;
  ino: number;
}

interface Idle {
  db: Database.Database;
  statements: Map<string, Database.Statement>;
  /** The schema's version when the connection was opened (PRAGMA schema_version). */
  schemaVersion: number | undefined;
  identity: Identity;
  timer: NodeJS.Timeout;
}

const idleByPath = new Map<string, Idle[]>();

/** A read-only connection held by one export; `release()` gives it back (or closes it). */
export interface HeldConnection {
  readonly db: Database.Database;
  /** The prepared statement for `sql` on this connection, prepared once per connection. */
  prepare(sql: string): Database.Statement;
  /** Gives the connection back for the next export; idempotent. */
  release(): void;
}

function identityOf(path: string): Identity | undefined {
  try {
    const stat = statSync(path);
    return { dev: stat.dev, ino: stat.ino };
  } catch {
    return undefined; // opening reports the real error
  }
}

/** PRAGMA schema_version: SQLite adds one on every change to the schema. */
function schemaVersionOf(db: Database.Database): number | undefined {
  try {
    return db.pragma('schema_version', { simple: true }) as number;
  } catch {
    return undefined; // unreadable now: a new connection reports why
  }
}

function closeQuietly(db: Database.Database): void {
  try {
    if (db.open) db.close();
  } catch {
    // nothing left to do with it
  }
}

function takeIdle(path: string, identity: Identity | undefined): Idle | undefined {
  const idle = idleByPath.get(path);
  if (!idle) return undefined;
  const fresh: Idle[] = [];
  for (const entry of idle) {
    if (identity !== undefined && entry.identity.dev === identity.dev && entry.identity.ino === identity.ino)
      fresh.push(entry);
    else {
      // Connections to a file that is no longer at this path are of no use any more.
      clearTimeout(entry.timer);
      closeQuietly(entry.db);
    }
  }
  const taken = fresh.pop();
  if (fresh.length > 0) idleByPath.set(path, fresh);
  else idleByPath.delete(path);
  if (taken) clearTimeout(taken.timer);
  return taken;
}

function putIdle(path: string, entry: Omit<Idle, 'timer'>): void {
  const idle = idleByPath.get(path) ?? [];
  if (idle.length >= MAX_IDLE_PER_FILE || !entry.db.open) {
    closeQuietly(entry.db);
    return;
  }
  const kept: Idle = {
    ...entry,
    timer: setTimeout(() => {
      const list = idleByPath.get(path);
      const at = list?.indexOf(kept) ?? -1;
      if (list && at >= 0) {
        list.splice(at, 1);
        if (list.length === 0) idleByPath.delete(path);
      }
      closeQuietly(kept.db);
    }, IDLE_MS),
  };
  kept.timer.unref();
  idle.push(kept);
  idleByPath.set(path, idle);
}

/**
 * A read-only connection to the database file at `path`: a kept one when the file is still
 * the same, else a new one. Throws what better-sqlite3 throws when the file cannot be opened.
 */
export function acquireConnection(path: string): HeldConnection {
  const identity = identityOf(path);
  let reused = takeIdle(path, identity);
  // A table altered since it was kept (a migration while the service runs): SQLite re-prepares
  // a kept statement when it runs, but its columns, as described before it runs, would be the
  // old ones, and so would a new statement's on that connection. A new connection reads the
  // schema afresh; schema changes are rare enough to pay for one.
  if (reused && schemaVersionOf(reused.db) !== reused.schemaVersion) {
    closeQuietly(reused.db);
    reused = undefined;
  }
  const db = reused?.db ?? new Database(path, { readonly: true, fileMustExist: true });
  const statements = reused?.statements ?? new Map<string, Database.Statement>();
  const schemaVersion = reused ? reused.schemaVersion : schemaVersionOf(db);
  // The identity of the file opened: a stat after opening could name a newer file.
  const openedIdentity = reused?.identity ?? identity;
  let released = false;
  return {
    db,
    prepare(sql) {
      const known = statements.get(sql);
      if (known) {
        // Most recently used last: the first is the one to drop.
        statements.delete(sql);
        statements.set(sql, known);
        return known;
      }
      const statement = db.prepare(sql);
      statements.set(sql, statement);
      if (statements.size > MAX_STATEMENTS) statements.delete(statements.keys().next().value as string);
      return statement;
    },
    release() {
      if (released) return;
      released = true;
      if (openedIdentity === undefined) closeQuietly(db);
      else putIdle(path, { db, statements, schemaVersion, identity: openedIdentity });
    },
  };
}

/** Closes every idle connection (tests, and a service that closes). */
export function closeIdleConnections(): void {
  for (const idle of idleByPath.values()) {
    for (const entry of idle) {
      clearTimeout(entry.timer);
      closeQuietly(entry.db);
    }
  }
  idleByPath.clear();
}
