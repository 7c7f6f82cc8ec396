import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteSource } from '../../src/sources/sqlite.js';

const ROWS =
  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) INSERT INTO n SELECT x FROM c';
let path: string;
let memory: Database.Database;

beforeAll(() => {
  path = join(mkdtempSync(join(tmpdir(), 'takeout-estimate-')), 'db.sqlite');
  const file = new Database(path);
  file.exec(`CREATE TABLE n (i INTEGER); ${ROWS}`);
  file.close();
  memory = new Database(':memory:');
  memory.exec(`CREATE TABLE n (i INTEGER); ${ROWS}`);
});

afterAll(() => memory?.close());

// Beyond the first batch (1,000 rows) the count wraps the query: on a worker for a file, here
// for an in-memory database.
describe('sqliteSource estimate beyond the first batch', () => {
  const endings = [
    '',
    ' -- all of them',
    ';',
    ' ; \n',
    '\n-- last line\n',
    '; -- all of them',
    ';\n/* done */ ;',
    ' /* a -- b */;-- c; d',
  ];

  it.each(endings)('counts a query ending in %j', async (ending) => {
    for (const database of [path, memory]) {
      const source = sqliteSource({
        database,
        sql: `SELECT i FROM n WHERE i > :from ORDER BY i${ending}`,
        params: { from: 0 },
      });
      expect(await source.estimate?.()).toBe(3000);
      expect(await source.columns()).toHaveLength(1);
      await source.close?.();
    }
  });

  it('keeps quoted text that looks like a comment or a semicolon', async () => {
    for (const database of [path, memory]) {
      const sql = `SELECT i, '-- not a comment;' AS "a;--b", 1 AS [c;--] FROM n WHERE 'x''--' <> '';`;
      const source = sqliteSource({ database, sql });
      expect(await source.estimate?.()).toBe(3000);
      await source.close?.();
    }
  });

  it('still stops at the cap', async () => {
    for (const database of [path, memory]) {
      const source = sqliteSource({ database, sql: 'SELECT i FROM n -- all;', estimateCap: 2000 });
      expect(await source.estimate?.()).toBe(2001);
      await source.close?.();
    }
  });
});

describe('sqliteSource estimate within the first batch', () => {
  it('counts on when the first read stops at its byte limit short of the cap', async () => {
    // 20 rows of 1 MiB: the first read stops at 8 MiB, 8 rows, whatever the cap.
    const db = new Database(':memory:');
    db.exec(
      'CREATE TABLE b (x BLOB); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20) INSERT INTO b SELECT zeroblob(1048576) FROM c',
    );
    try {
      for (const [cap, expected] of [
        [10, 11],
        [50, 20],
      ]) {
        const source = sqliteSource({ database: db, sql: 'SELECT x FROM b', estimateCap: cap });
        expect(await source.estimate?.(), `cap ${cap}`).toBe(expected);
        await source.close?.();
      }
    } finally {
      db.close();
    }
  });
});
