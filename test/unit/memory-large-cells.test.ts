/**
 * Memory with very large cells: no export keeps its first rows alive after writing them (the
 * sample that inferred the columns or sized the XLSX columns), and a SQLite batch ends by bytes
 * as well as by rows, so megabyte cells cannot fill a thousand-row batch.
 */

import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { exportRows } from '../../src/pipeline.js';
import { BATCH_BYTES, sqliteSource } from '../../src/sources/sqlite.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CELL = 64 * 1024;

describe('rows already written', () => {
  for (const [format, typed] of [
    ['csv', false],
    ['csv', true],
    ['xlsx', false],
    ['xlsx', true],
    ['ndjson', true],
  ] as const) {
    it(`are not kept alive by the sample (${format}, ${typed ? 'typed' : 'inferred'} columns)`, async () => {
      const first: WeakRef<object>[] = [];
      let alive: number | undefined;
      function* rows() {
        for (let i = 0; i < 3000; i++) {
          if (i === 2500) {
            gc();
            alive = first.filter((ref) => ref.deref() !== undefined).length;
          }
          const row = [i, `${i}`.padEnd(CELL, 'x')];
          if (i < 20) first.push(new WeakRef(row));
          yield row;
        }
      }
      const columns = typed ? [{ key: 'id', type: 'integer' as const }, { key: 'text' }] : ['id', 'text'];
      let bytes = 0;
      for await (const chunk of exportRows(rows(), { format, columns }))
        bytes += (chunk as Buffer).byteLength;
      expect(bytes).toBeGreaterThan(format === 'xlsx' ? 0 : 3000 * CELL);
      expect(alive).toBe(0);
    });
  }
});

describe('a SQLite batch', () => {
  it('ends by bytes too: rows of a megabyte come a few at a time, every row once, in order', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, body TEXT)');
    const insert = db.prepare('INSERT INTO big VALUES (?, ?)');
    const rows = 40;
    for (let i = 1; i <= rows; i++) insert.run(i, 'y'.repeat(1024 * 1024));
    const source = sqliteSource({ database: db, sql: 'SELECT id, body FROM big ORDER BY id' });
    expect(await source.estimate!()).toBe(rows);
    const sizes: number[] = [];
    const ids: number[] = [];
    for await (const batch of source.batches()) {
      sizes.push(batch.length);
      for (const row of batch) ids.push(Number((row as unknown[])[0]));
    }
    await source.close?.();
    const perBatch = Math.ceil(BATCH_BYTES / (1024 * 1024));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(perBatch);
    expect(ids).toEqual(Array.from({ length: rows }, (_, i) => i + 1));
    db.close();
  });
});
