/** A SQLite file with a table `t (id, pad)` of `n` rows, each with 100 characters of padding. */
import Database from 'better-sqlite3';

export function writeRowsDatabase(path: string, n: number): void {
  const sqlite = new Database(path);
  sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)');
  sqlite
    .prepare(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO t SELECT i, printf('%.100c', 'y') FROM n",
    )
    .run(n);
  sqlite.close();
}

/**
 * `takeout_slow(s)` in the schema the admin client is on: IMMUTABLE, so the planner folds it and
 * every statement planned with it (the describe step, the estimate, the cursor) takes `s`
 * seconds before its first row.
 */
export const SLOW_FUNCTION_SQL = `
  CREATE FUNCTION takeout_slow(s float8) RETURNS int IMMUTABLE LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pg_sleep(s); RETURN 0; END $$;`;
