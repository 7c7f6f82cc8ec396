/**
 * Mistakes in declaring where rows come from are config_errors when they are made, not
 * failures of every export: the config file's dataset connections are tried at start, and a
 * source refuses an option it does not have.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { defineDataset } from '../../src/datasets/define.js';
import { checkDatasetConnections } from '../../src/datasets/preflight.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-preflight-'));
const good = join(dir, 'good.sqlite');
const db = new Database(good);
db.exec('CREATE TABLE t (id INTEGER)');
db.close();
const notDb = join(dir, 'text.sqlite');
writeFileSync(notDb, 'not a database at all, just text\n'.repeat(100));

const sqlite = (path: string, sql: string) => defineDataset({ name: 'd', connection: { sqlite: path }, sql });
const pg = defineDataset({ name: 'p', connection: { postgres: { urlEnv: 'SHOP_DB' } }, sql: 'SELECT 1' });

function problem(run: () => void): string | undefined {
  try {
    run();
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
  return undefined;
}

describe('dataset connections at start', () => {
  it('passes datasets that can run', () => {
    expect(
      problem(() =>
        checkDatasetConnections([sqlite(good, 'SELECT id FROM t'), pg], 'takeout.config.json', {
          SHOP_DB: 'postgres://app@127.0.0.1:5432/shop',
        }),
      ),
    ).toBeUndefined();
  });

  it('refuses a missing or broken SQLite file, SQL that does not prepare, an unset or bad URL variable', () => {
    const check = (dataset: ReturnType<typeof sqlite>, env: NodeJS.ProcessEnv = {}) =>
      problem(() => checkDatasetConnections([dataset], 'takeout.config.json', env));
    expect(check(sqlite(join(dir, 'missing.sqlite'), 'SELECT 1'))).toMatch(
      /^config_error: takeout\.config\.json \(dataset "d"\): connection\.sqlite cannot be opened: .*SQLITE_CANTOPEN/,
    );
    expect(check(sqlite(notDb, 'SELECT 1'))).toMatch(/cannot be opened|does not prepare/);
    expect(check(sqlite(good, 'SELEC id FROM t'))).toMatch(/: sql does not prepare: .*syntax error/);
    expect(check(sqlite(good, 'SELECT nope FROM t'))).toMatch(/sql does not prepare: no such column: nope/);
    // SQL that returns no rows would fail every request as the caller's source_query_error.
    expect(check(sqlite(good, 'DELETE FROM t'))).toBe(
      'config_error: takeout.config.json (dataset "d"): sql returns no rows: give a SELECT (or WITH ... SELECT)',
    );
    // A declared column the SQL does not return would fail every request as invalid_columns.
    const columns = defineDataset({
      name: 'd',
      connection: { sqlite: good },
      sql: 'SELECT id, id * 2 AS twice FROM t',
      columns: [{ key: 'id' }, { key: 'twise' }],
    });
    expect(check(columns)).toBe(
      'config_error: takeout.config.json (dataset "d"): columns[1].key "twise" is not a column its sql returns (did you mean twice?); it returns id, twice',
    );
    expect(check(pg)).toBe(
      'config_error: takeout.config.json (dataset "p"): connection.postgres.urlEnv names SHOP_DB, which is not set',
    );
    const secret = check(pg, { SHOP_DB: 'postgres://app:Sup3rS3cret#x@127.0.0.1:5432/shop' });
    expect(secret).toMatch(/SHOP_DB is not a URL/);
    expect(secret).not.toContain('Sup3rS3cret');
  });
});

describe('source options', () => {
  it('refuses an option a source does not have, suggesting the one meant', async () => {
    const { postgresSource } = await import('../../src/sources/postgres.js');
    const { sqliteSource } = await import('../../src/sources/sqlite.js');
    expect(
      problem(() =>
        postgresSource({
          connectionString: 'postgres://x@127.0.0.1/db',
          sql: 'SELECT 1',
          readr: 'cursor',
        } as never),
      ),
    ).toBe('config_error: postgresSource: "readr" is not one of its options (did you mean reader?)');
    expect(problem(() => sqliteSource({ database: good, sql: 'SELECT 1', batchsize: 10 } as never))).toBe(
      'config_error: sqliteSource: "batchsize" is not one of its options (did you mean batchSize?)',
    );
  });
});
