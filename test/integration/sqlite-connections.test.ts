import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sqliteSource } from '../../src/sources/sqlite.js';
import { acquireConnection, closeIdleConnections } from '../../src/sources/sqlite-connections.js';
import type { Row } from '../../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-sqlite-conn-'));

function createDatabase(path: string, values: number[]): void {
  const db = new Database(path);
  db.exec('CREATE TABLE t (v INTEGER)');
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  for (const v of values) insert.run(v);
  db.close();
}

async function readAll(path: string, sql: string): Promise<Row[]> {
  const source = sqliteSource({ database: path, sql, batchSize: 2 });
  const rows: Row[] = [];
  try {
    for await (const batch of source.batches()) rows.push(...batch);
  } finally {
    await source.close?.();
  }
  return rows;
}

afterEach(() => closeIdleConnections());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kept SQLite connections', () => {
  it('hands a released connection and its prepared statements to the next export', () => {
    const path = join(dir, 'reuse.sqlite');
    createDatabase(path, [1, 2, 3]);
    const first = acquireConnection(path);
    const statement = first.prepare('SELECT v FROM t');
    expect(first.prepare('SELECT v FROM t')).toBe(statement);
    first.release();
    first.release(); // idempotent: the connection is kept once
    const second = acquireConnection(path);
    const third = acquireConnection(path);
    expect(second.db).toBe(first.db);
    expect(second.prepare('SELECT v FROM t')).toBe(statement);
    // Held connections are never shared: a second export at once gets its own.
    expect(third.db).not.toBe(second.db);
    expect(third.db.readonly).toBe(true);
    second.release();
    third.release();
  });

  it('sees rows committed after the connection was kept', async () => {
    const path = join(dir, 'commits.sqlite');
    createDatabase(path, [1]);
    expect(await readAll(path, 'SELECT v FROM t ORDER BY v')).toEqual([[1]]);
    const writer = new Database(path);
    writer.prepare('INSERT INTO t (v) VALUES (2)').run();
    writer.close();
    expect(await readAll(path, 'SELECT v FROM t ORDER BY v')).toEqual([[1], [2]]);
  });

  it('reads the columns a migration gave the table since the connection was kept', async () => {
    const path = join(dir, 'migrated.sqlite');
    createDatabase(path, [1]);
    const columnsOf = async () => {
      const source = sqliteSource({ database: path, sql: 'SELECT * FROM t' });
      try {
        const columns = (await source.columns()).map((c) => `${c.key}:${c.type}`);
        const rows: Row[] = [];
        for await (const batch of source.batches()) rows.push(...batch);
        return { columns, rows };
      } finally {
        await source.close?.();
      }
    };
    expect(await columnsOf()).toEqual({ columns: ['v:integer'], rows: [[1]] });
    const writer = new Database(path);
    writer.exec("ALTER TABLE t ADD COLUMN day DATE; UPDATE t SET day = '2024-05-05'");
    expect(await columnsOf()).toEqual({ columns: ['v:integer', 'day:date'], rows: [[1, '2024-05-05']] });
    writer.exec('ALTER TABLE t DROP COLUMN v');
    writer.close();
    expect(await columnsOf()).toEqual({ columns: ['day:date'], rows: [['2024-05-05']] });
  });

  it('drops kept connections when another file takes the path', async () => {
    const path = join(dir, 'replaced.sqlite');
    createDatabase(path, [1, 2]);
    expect(await readAll(path, 'SELECT v FROM t ORDER BY v')).toEqual([[1], [2]]);
    const kept = acquireConnection(path);
    const keptDb = kept.db;
    kept.release();
    const next = join(dir, 'next.sqlite');
    createDatabase(next, [7, 8, 9]);
    renameSync(next, path);
    expect(await readAll(path, 'SELECT v FROM t ORDER BY v')).toEqual([[7], [8], [9]]);
    expect(keptDb.open).toBe(false);
  });

  it('gives a connection back free after an export stopped halfway, for the next one to use', async () => {
    const path = join(dir, 'stopped.sqlite');
    createDatabase(path, [1, 2, 3, 4, 5, 6]);
    const source = sqliteSource({ database: path, sql: 'SELECT v FROM t ORDER BY v', batchSize: 2 });
    for await (const batch of source.batches()) {
      expect(batch).toEqual([[1], [2]]);
      break;
    }
    await source.close?.();
    // The same kept connection and statement run again from the start.
    expect(await readAll(path, 'SELECT v FROM t ORDER BY v')).toEqual([[1], [2], [3], [4], [5], [6]]);
  });

  it('counts an export from the rows it reads ahead, and hands those rows out first', async () => {
    const path = join(dir, 'ahead.sqlite');
    createDatabase(path, [1, 2, 3, 4, 5]);
    const sql = 'SELECT v FROM t ORDER BY v';
    const run = async (batchSize: number) => {
      const source = sqliteSource({ database: path, sql, batchSize });
      const estimate = await source.estimate?.();
      const batches: Row[][] = [];
      for await (const batch of source.batches()) batches.push(batch);
      await source.close?.();
      return { estimate, batches };
    };
    // Within one batch: counted from the rows read ahead.
    expect(await run(10)).toEqual({ estimate: 5, batches: [[[1], [2], [3], [4], [5]]] });
    // Beyond it: counted on a worker thread; the rows read ahead still come first, in order.
    expect(await run(2)).toEqual({ estimate: 5, batches: [[[1], [2]], [[3], [4]], [[5]]] });
  });
});
