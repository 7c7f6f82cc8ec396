import type Database from 'better-sqlite3';
import { TakeoutError } from '../errors.js';

/** Bigints beyond this cannot be bound (SQLite integers are 64-bit). */
const INT64 = 2 ** 63;

/**
 * Parameters as better-sqlite3 binds them. It binds every JS number as REAL (5 as 5.0, so
 * `code = :code` misses the TEXT '5' and `'row-' || :n` gives 'row-5.0'), so whole numbers go
 * as bigints, bound as INTEGER: what PostgreSQL makes of the text '5'. Booleans become 1/0;
 * fractions, and whole numbers beyond 64 bits, stay REAL. Undefined values are left out.
 */
export function bindable(params: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (typeof v === 'boolean') out[k] = v ? 1n : 0n;
    else if (typeof v === 'number' && Number.isInteger(v) && v >= -INT64 && v < INT64) out[k] = BigInt(v);
    else out[k] = v;
  }
  return out;
}

/** Queries (with their parameter names) found to use every parameter, per connection. */
const checkedOn = new WeakMap<Database.Database, Set<string>>();
const CHECKED_PER_CONNECTION = 256;

/**
 * Refuses a parameter the query does not use (`invalid_params`, as compileNamedParams does for
 * PostgreSQL): `--param limit=10` against SQL without `:limit` would otherwise export every row
 * without a word. better-sqlite3 ignores keys a statement lacks and does not list the names it
 * has, so SQLite is asked: bound without a given name, a statement that uses it must refuse.
 * Each probe is a fresh statement (binding is permanent); a query and set of names found
 * good is remembered per connection, so an export that repeats them prepares nothing more.
 */
export function refuseUnusedParams(
  db: Database.Database,
  sql: string,
  params: Record<string, unknown>,
): void {
  const names = Object.keys(params);
  if (names.length === 0) return;
  const key = `${names.join('\0')}\0${sql}`;
  let checked = checkedOn.get(db);
  if (checked?.has(key)) return;
  for (const name of names) {
    const { [name]: _left, ...rest } = params;
    let used = false;
    try {
      db.prepare(sql).bind(rest);
    } catch (error) {
      used = error instanceof Error && /^Missing named parameter/.test(error.message);
    }
    if (!used) {
      throw new TakeoutError('invalid_params', `Unknown parameter ${JSON.stringify(name).slice(0, 80)}`, {
        details: { param: name },
      });
    }
  }
  if (!checked || checked.size >= CHECKED_PER_CONNECTION) {
    checked = new Set();
    checkedOn.set(db, checked);
  }
  checked.add(key);
}
