/**
 * Helpers for the PostgreSQL integration tests: a fresh schema per test file (or test) on the
 * real server at 127.0.0.1:5432, and connection strings whose sessions use it.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { expect } from 'vitest';
import { TakeoutError } from '../../src/errors.js';

export const PG_BASE_URL = process.env.TAKEOUT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  name: string;
  /** A connection string whose sessions have `search_path` set to the schema. */
  url: string;
  /** An admin client with `search_path` set to the schema, for setup and changes. */
  admin: pg.Client;
  drop(): Promise<void>;
}

export function withSearchPath(base: string, schema: string, extra: Record<string, string> = {}): string {
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  return url.toString();
}

export async function createSchema(prefix = 'takeout_pg'): Promise<TestSchema> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_BASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${name}`);
  await admin.query(`SET search_path = ${name}`);
  return {
    name,
    url: withSearchPath(PG_BASE_URL, name),
    admin,
    async drop() {
      await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await admin.end();
    },
  };
}

export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Backends connected with `application_name` = name (other than the asking one). */
export async function backendsNamed(admin: pg.Client, name: string): Promise<number> {
  const result = await admin.query(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
    [name],
  );
  return (result.rows[0] as { n: number }).n;
}

/** Polls until `check` returns true or the time is up; returns the last result. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The TakeoutError that `work` rejects with (the test fails when it resolves). */
export async function failure(work: Promise<unknown>): Promise<TakeoutError> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(TakeoutError);
    return error as TakeoutError;
  }
  throw new Error('expected a failure');
}
