import type pg from 'pg';
import { PG_KEEPALIVE } from '../sources/postgres-keepalive.js';

export interface PostgresPoolOptions {
  /** Connections per pool (per connection string). Default 10. */
  max?: number;
  /** An idle connection is closed after this long. Default 10 000 ms. */
  idleTimeoutMs?: number;
  /** Connection timeout. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** `application_name` of the connections (a URL parameter wins). Default `takeout`. */
  applicationName?: string;
}

/**
 * One `pg.Pool` per PostgreSQL connection string, shared by every export of a service: an
 * export borrows a connection and returns it (or discards it when it is in an unknown state).
 * `pg` is loaded only when the first pool is made.
 */
export class PostgresPools {
  private readonly pools = new Map<string, Promise<pg.Pool>>();
  private closed = false;

  constructor(private readonly options: PostgresPoolOptions = {}) {}

  /** The pool of `connectionString`, made on first use. */
  get(connectionString: string): Promise<pg.Pool> {
    if (this.closed) return Promise.reject(new Error('The PostgreSQL pools are closed'));
    let pool = this.pools.get(connectionString);
    if (!pool) {
      pool = import('pg').then(({ default: pgModule }) => {
        const made = new pgModule.Pool({
          connectionString,
          max: this.options.max ?? 10,
          idleTimeoutMillis: this.options.idleTimeoutMs ?? 10_000,
          connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
          application_name: this.options.applicationName ?? 'takeout',
          ...PG_KEEPALIVE,
        });
        // An idle connection's error (the server restarts) must not crash the process.
        made.on('error', () => {});
        return made;
      });
      this.pools.set(connectionString, pool);
    }
    return pool;
  }

  /** How many pools are open (one per connection string used so far). */
  get size(): number {
    return this.pools.size;
  }

  /** Ends every pool; connections still lent out end when they are returned. */
  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map(async (pool) => (await pool).end()));
  }
}
