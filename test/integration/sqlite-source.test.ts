import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import * as XLSX from 'xlsx';
import { defineDataset } from '../../src/datasets/define.js';
import { openDatasetSource } from '../../src/datasets/registry.js';
import { exportSource } from '../../src/pipeline.js';
import { sqliteSource } from '../../src/sources/sqlite.js';

let path: string;

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += chunk.toString();
  return out;
}

beforeAll(() => {
  path = join(mkdtempSync(join(tmpdir(), 'takeout-sqlite-')), 'db.sqlite');
  const db = new Database(path);
  db.exec(`CREATE TABLE t (
    id INTEGER PRIMARY KEY, big BIGINT, price DECIMAL(10,2), ratio REAL, ok BOOLEAN,
    day DATE, at DATETIME, doc JSON, name TEXT, blob BLOB)`);
  const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  insert.run(
    1,
    9007199254740993n,
    12.5,
    0.1,
    1,
    '2024-02-29',
    '2024-03-31 01:30:00',
    '{"a":[1,2]}',
    'Zoë "quoted", 🚀',
    Buffer.from([0, 255]),
  );
  insert.run(2, -5, 0, -1.25e-7, 0, '1999-12-31', '2024-07-01T12:00:00Z', null, "'; DROP TABLE t; --", null);
  insert.run(3, null, null, null, null, null, null, null, null, null);
  const many = db.prepare('INSERT INTO t (id, name) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 4; i <= 2500; i++) many.run(i, `n${i}`);
  })();
  db.close();
});

describe('sqliteSource', () => {
  it('declares column types from the schema', async () => {
    const source = sqliteSource({ database: path, sql: 'SELECT * FROM t' });
    expect((await source.columns()).map((c) => [c.key, c.type])).toEqual([
      ['id', 'integer'],
      ['big', 'integer'],
      ['price', 'decimal'],
      ['ratio', 'number'],
      ['ok', 'boolean'],
      ['day', 'date'],
      ['at', 'datetime'],
      ['doc', 'json'],
      ['name', 'string'],
      ['blob', 'string'],
    ]);
    await source.close?.();
  });

  it('round-trips every type exactly into JSON', async () => {
    const source = sqliteSource({ database: path, sql: 'SELECT * FROM t WHERE id <= 3 ORDER BY id' });
    const rows = JSON.parse(await text(exportSource(source, { format: 'json', timezone: 'Europe/Paris' })));
    expect(rows[0]).toEqual({
      id: 1,
      big: '9007199254740993',
      price: 12.5,
      ratio: 0.1,
      ok: true,
      day: '2024-02-29',
      at: '2024-03-31T03:30:00+02:00',
      doc: { a: [1, 2] },
      name: 'Zoë "quoted", 🚀',
      blob: Buffer.from([0, 255]).toString('base64'),
    });
    expect(rows[1]).toMatchObject({
      big: -5,
      ok: false,
      ratio: -1.25e-7,
      at: '2024-07-01T14:00:00+02:00',
      name: "'; DROP TABLE t; --",
    });
    expect(
      Object.values(rows[2])
        .slice(1)
        .every((v) => v === null),
    ).toBe(true);
  });

  it('writes DATE text as it is (a date cell in XLSX) and numbers in date columns as numbers', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'takeout-sqlite-dates-')), 'dates.sqlite');
    const db = new Database(file);
    db.exec(`CREATE TABLE d (id INTEGER, day DATE, at DATETIME);
      INSERT INTO d VALUES (1, '2024-02-29', 1700000000), (2, 19000, 2460000.5), (3, '2023-02-29', '2024-01-01 10:00:00')`);
    db.close();
    const read = (format: string) =>
      exportSource(sqliteSource({ database: file, sql: 'SELECT * FROM d ORDER BY id' }), { format });
    // Every text format: what SQLite holds (a day that does not exist stays text).
    expect(parse(await text(read('csv')))).toEqual([
      ['id', 'day', 'at'],
      ['1', '2024-02-29', '1700000000'],
      ['2', '19000', '2460000.5'],
      ['3', '2023-02-29', '2024-01-01T10:00:00Z'],
    ]);
    const chunks: Buffer[] = [];
    for await (const chunk of read('xlsx')) chunks.push(chunk as Buffer);
    const sheet = XLSX.read(Buffer.concat(chunks), { type: 'buffer' }).Sheets.Sheet1!;
    const cell = (ref: string) => [sheet[ref]?.t, sheet[ref]?.v, sheet[ref]?.w];
    // SheetJS shows a cell through its number format: dates as dates, numbers as numbers.
    expect(cell('B2')).toEqual(['n', 45351, '2024-02-29']);
    expect(cell('C2')).toEqual(['n', 1700000000, '1700000000']);
    expect(cell('B3')).toEqual(['n', 19000, '19000']);
    expect(cell('C3')).toEqual(['n', 2460000.5, '2460000.5']);
    expect(cell('B4')).toEqual(['s', '2023-02-29', '2023-02-29']);
    expect(cell('C4')).toEqual(['n', expect.closeTo(45292 + 10 / 24, 9), '2024-01-01 10:00:00']);
    // Retyped as text by the caller, DATE text stays the text it is, whatever the zone.
    const asText = exportSource(sqliteSource({ database: file, sql: 'SELECT day FROM d WHERE id = 1' }), {
      format: 'json',
      timezone: 'America/New_York',
      columns: [{ key: 'day', type: 'string' }],
    });
    expect(JSON.parse(await text(asText))).toEqual([{ day: '2024-02-29' }]);
  });

  it('keeps JSON documents exact, and text that is not JSON as text', async () => {
    const db = new Database(join(path, '..', 'docs.sqlite'));
    db.exec('CREATE TABLE d (id INTEGER PRIMARY KEY, doc JSON)');
    db.prepare('INSERT INTO d (doc) VALUES (?), (?), (?)').run(
      '{"id": 12345678901234567891, "p": 0.10000000000000000001, "s": "a  b"}',
      '{not json',
      '"a string"', // a bare number would be stored as a REAL: JSON has NUMERIC affinity
    );
    db.close();
    const docs = () =>
      sqliteSource({ database: join(path, '..', 'docs.sqlite'), sql: 'SELECT doc FROM d ORDER BY id' });
    const csv = parse(await text(exportSource(docs(), { format: 'csv' }))) as string[][];
    expect(csv.slice(1)).toEqual([
      ['{"id":12345678901234567891,"p":0.10000000000000000001,"s":"a  b"}'],
      ['{not json'],
      ['a string'],
    ]);
    const json = await text(exportSource(docs(), { format: 'json' }));
    expect(json).toContain('{"doc":{"id":12345678901234567891,"p":0.10000000000000000001,"s":"a  b"}}');
    expect(JSON.parse(json).map((r: { doc: unknown }) => r.doc)).toEqual([
      { id: Number('12345678901234567891'), p: 0.1, s: 'a  b' },
      '{not json',
      'a string',
    ]);
  });

  it('keeps the kind of values of columns without a declared type (expressions)', async () => {
    const source = sqliteSource({
      database: path,
      sql: `SELECT count(*) AS n, max(id) * 2 AS doubled, sum(ratio) AS total, 'n' || max(id) AS label,
              9007199254740993 AS huge FROM t`,
    });
    const rows = JSON.parse(await text(exportSource(source, { format: 'json' })));
    expect(rows).toEqual([
      { n: 2500, doubled: 5000, total: 0.1 - 1.25e-7, label: 'n2500', huge: '9007199254740993' },
    ]);
  });

  it('binds named parameters, never interpolates them', async () => {
    const evil = "x' OR '1'='1";
    const source = sqliteSource({
      database: path,
      sql: 'SELECT id, name FROM t WHERE name = :name OR id = @id',
      params: { name: evil, id: 2 },
    });
    const records = parse(await text(exportSource(source, { format: 'csv' })), { columns: true });
    expect(records).toEqual([{ id: '2', name: "'; DROP TABLE t; --" }]);
  });

  it('makes repeated result names unique so columns pick the right one', async () => {
    const source = sqliteSource({
      database: path,
      sql: 'SELECT a.id, b.id, a.name FROM t a JOIN t b ON b.id = a.id + 1 WHERE a.id = 1',
    });
    const rows = JSON.parse(
      await text(exportSource(source, { format: 'json', columns: ['id', 'id_2', 'name'] })),
    );
    expect(rows).toEqual([{ id: 1, id_2: 2, name: 'Zoë "quoted", 🚀' }]);
  });

  it('compares datetime params with SQLite datetime text on the same day', async () => {
    const dataset = defineDataset({
      name: 'since',
      connection: { sqlite: path },
      sql: 'SELECT id FROM t WHERE at >= :since AND id = 1',
      params: { since: { type: 'datetime', required: true } },
    });
    const ids = async (since: string) => {
      const source = await openDatasetSource(dataset, { since }, { id: 'u' }, { estimateCap: 10 });
      return JSON.parse(await text(exportSource(source, { format: 'json' }))).map(
        (r: { id: number }) => r.id,
      );
    };
    expect(await ids('2024-03-31T01:00:00Z')).toEqual([1]);
    expect(await ids('2024-03-31T03:30:00+02:00')).toEqual([1]);
    expect(await ids('2024-03-31T01:30:00.001Z')).toEqual([]);
    // Unbounded limits (a library caller's Infinity, or 0) still open the dataset.
    for (const estimateCap of [Number.POSITIVE_INFINITY, 0]) {
      const source = await openDatasetSource(
        dataset,
        { since: '2024-01-01T00:00:00Z' },
        { id: 'u' },
        { estimateCap },
      );
      expect(await source.estimate?.()).toBe(1);
      await source.close?.();
    }
  });

  it('reads in batches and estimates with a cap', async () => {
    const source = sqliteSource({
      database: path,
      sql: 'SELECT id FROM t',
      batchSize: 1000,
      estimateCap: 100,
    });
    expect(await source.estimate?.()).toBe(101);
    const sizes: number[] = [];
    for await (const batch of source.batches()) sizes.push(batch.length);
    expect(sizes).toEqual([1000, 1000, 500]);
    await source.close?.();
  });

  it('answers many estimates at once from a bounded pool of counting threads', async () => {
    // More counts than the pool has threads: the rest wait for a free one, none is lost.
    const sources = Array.from({ length: 12 }, (_, i) =>
      sqliteSource({ database: path, sql: `SELECT id FROM t WHERE id > ${i}`, estimateCap: 5000 }),
    );
    const estimates = await Promise.all(sources.map((source) => source.estimate?.()));
    expect(estimates).toEqual(sources.map((_, i) => 2500 - i)); // ids 1 to 2,500
    for (const source of sources) await source.close?.();
  });

  it('opens the database read-only and maps SQL errors to a code', async () => {
    const write = sqliteSource({ database: path, sql: 'DELETE FROM t' });
    await expect(write.columns()).rejects.toMatchObject({ code: 'source_query_error' });
    const bad = sqliteSource({ database: path, sql: 'SELECT nope FROM t' });
    const error = await bad.columns().catch((e) => e);
    expect(error).toMatchObject({
      code: 'source_query_error',
      message: 'The query refers to a column that does not exist (SQLITE_ERROR)',
    });
    expect(error.cause.message).toContain('no such column');
    // The message says what is wrong, never the database's own words (names, values).
    expect(error.message).not.toContain('nope');
    const syntax = await sqliteSource({ database: path, sql: 'SELEC 1' })
      .columns()
      .catch((e) => e);
    expect(syntax.message).toBe('The query has a syntax error (SQLITE_ERROR)');
    const unbound = sqliteSource({ database: path, sql: 'SELECT * FROM t WHERE id = :id' });
    const missingParam = await unbound
      .columns()
      .then(() => unbound.batches()[Symbol.asyncIterator]().next())
      .catch((e) => e);
    expect(missingParam).toMatchObject({ code: 'invalid_params', message: 'Missing parameter "id"' });
    const missing = sqliteSource({ database: `${path}.missing`, sql: 'SELECT 1' });
    await expect(missing.columns()).rejects.toMatchObject({ code: 'source_error', retryable: true });
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 2500 });
    db.close();
  });

  it('refuses options it cannot use with config_error, before any export', () => {
    const wrong = [
      { path, sql: 'SELECT 1' }, // no database (a misspelt option)
      { database: '', sql: 'SELECT 1' },
      { database: 42, sql: 'SELECT 1' },
      { database: path, sql: '  ' },
      { database: path, query: 'SELECT 1' },
      { database: path, sql: 'SELECT 1', batchSize: 0 },
      { database: path, sql: 'SELECT 1', batchSize: 2.5 },
      { database: path, sql: 'SELECT 1', estimateCap: -1 },
      { database: path, sql: 'SELECT 1', estimateTimeoutMs: '2000' },
    ];
    for (const options of wrong) {
      expect(() => sqliteSource(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'config_error', message: expect.stringMatching(/^sqliteSource/) }),
      );
    }
    const db = new Database(path, { readonly: true });
    expect(() => sqliteSource({ database: db, sql: 'SELECT 1' })).not.toThrow();
    db.close();
  });
});
