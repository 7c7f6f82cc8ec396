/**
 * The PostgreSQL source's behaviour on the real server: one snapshot per export, batches,
 * per-fetch timeouts, bound parameters (injection strings stay data, on both paths), and the
 * COPY path's row counting, dialect choice and limits. Errors and estimates:
 * postgres-errors.test.ts.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvFormat, jsonFormat, tsvFormat, xlsxFormat } from '../../src/formats/index.js';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import type { Row, Source } from '../../src/types.js';
import { createSchema, failure, readAll, type TestSchema } from './postgres-helpers.js';

let db: TestSchema;

beforeAll(async () => {
  db = await createSchema('takeout_pgsrc');
  await db.admin.query(`
    CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, at timestamp, price numeric(10,2));
    INSERT INTO items SELECT g, 'item ' || g, timestamp '2024-01-01' + g * interval '1 hour', g * 1.5
      FROM generate_series(1, 1000) g;
    ANALYZE items;
    CREATE TABLE notes (id int PRIMARY KEY, body text);
    INSERT INTO notes VALUES (1, E'two\\nlines'), (2, 'say "hi"'), (3, ''), (4, NULL), (5, E'a\\r\\nb');
  `);
});

afterAll(async () => {
  await db.drop();
});

describe('PostgreSQL source: snapshot and batches', () => {
  it('reads in batches of batchSize, as arrays in column order (cursor)', async () => {
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT id, name FROM items ORDER BY id',
      reader: 'cursor',
      batchSize: 300,
    });
    const sizes: number[] = [];
    let first: Row | undefined;
    expect(await s.rowShape()).toBe('array');
    for await (const batch of s.batches()) {
      sizes.push(batch.length);
      first ??= batch[0];
    }
    await s.close();
    expect(sizes).toEqual([300, 300, 300, 100]);
    expect(first).toEqual([1, 'item 1']);
  });

  it('times each fetch, not the whole export: a slow reader does not hit statement_timeout (cursor)', async () => {
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT id FROM items ORDER BY id',
      reader: 'cursor',
      batchSize: 100,
      // Long enough for a fetch on a busy machine; the reads together take longer still.
      statementTimeoutMs: 1000,
    });
    let rows = 0;
    const started = Date.now();
    for await (const batch of s.batches()) {
      rows += batch.length;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await s.close();
    expect(rows).toBe(1000);
    expect(Date.now() - started).toBeGreaterThan(1250);
  });

  it('exports the state at its start while rows change during the export', async () => {
    const inner = postgresSource({
      connectionString: db.url,
      sql: 'SELECT id, name FROM items ORDER BY id',
      batchSize: 100,
    });
    let changed = false;
    // After the first batch, another connection deletes, updates and inserts rows and commits.
    const source: Source = {
      columns: () => inner.columns(),
      rowShape: () => inner.rowShape(),
      close: () => inner.close(),
      async *batches(signal) {
        for await (const batch of inner.batches(signal)) {
          yield batch;
          if (!changed) {
            changed = true;
            await db.admin.query(`
              BEGIN;
              DELETE FROM items WHERE id > 900;
              UPDATE items SET name = 'changed' WHERE id BETWEEN 500 AND 600;
              INSERT INTO items VALUES (5000, 'new', NULL, 1);
              COMMIT;`);
          }
        }
      },
    };
    try {
      const csv = await readAll(exportSource(source, { format: 'csv' }));
      const rows = parse(csv) as string[][];
      expect(changed).toBe(true);
      expect(rows).toHaveLength(1001);
      expect(rows[550]).toEqual(['550', 'item 550']);
      expect(rows[1000]).toEqual(['1000', 'item 1000']);
      expect(csv).not.toContain('changed');
      // The change did happen: a new export sees it.
      const after = postgresSource({ connectionString: db.url, sql: 'SELECT count(*) AS n FROM items' });
      expect(JSON.parse(await readAll(exportSource(after, { format: 'json' })))).toEqual([{ n: 901 }]);
    } finally {
      await db.admin.query(`
        DELETE FROM items WHERE id = 5000;
        INSERT INTO items SELECT g, 'item ' || g, timestamp '2024-01-01' + g * interval '1 hour', g * 1.5
          FROM generate_series(901, 1000) g;
        UPDATE items SET name = 'item ' || id WHERE id BETWEEN 500 AND 600;`);
    }
  });

  it('the COPY path reads the snapshot that columns() opened', async () => {
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT id, name FROM items ORDER BY id',
      copy: true,
    });
    await s.columns(); // the snapshot starts here
    await db.admin.query("UPDATE items SET name = 'later' WHERE id = 1");
    try {
      const csv = await readAll(exportSource(s, { format: 'csv' }));
      expect((parse(csv) as string[][])[1]).toEqual(['1', 'item 1']);
    } finally {
      await db.admin.query("UPDATE items SET name = 'item 1' WHERE id = 1");
    }
  });

  it('refuses to write: the transaction is read-only', async () => {
    await db.admin.query('CREATE SEQUENCE IF NOT EXISTS seq');
    const s = postgresSource({ connectionString: db.url, sql: "SELECT nextval('seq') AS n" });
    const error = await failure(readAll(exportSource(s, { format: 'csv' })));
    expect(error.code).toBe('source_query_error');
    expect(error.details).toEqual({ sqlstate: '25006' });
    const check = await db.admin.query('SELECT last_value::int AS n, is_called FROM seq');
    expect(check.rows[0]).toEqual({ n: 1, is_called: false });
  });
});

describe('PostgreSQL source: parameters', () => {
  const PATHS: [string, { reader?: 'cursor'; copy?: boolean }][] = [
    ['cursor', { reader: 'cursor' }],
    ['binary COPY', {}],
    ['CSV COPY', { copy: true }],
  ];
  const INJECTIONS = [
    "'; DROP TABLE items; --",
    "' OR '1'='1",
    "\\'; DROP TABLE items; --",
    "E'\\\\' || (SELECT 1) || '",
    '$$; DROP TABLE items; $$',
    '$1 :x ::text /* */ --',
    '"; DROP TABLE items; --',
    "Robert'); DROP TABLE items;-- \\x00",
  ];

  for (const [path, options] of PATHS) {
    it(`keeps injection strings as data (${path})`, async () => {
      for (const value of INJECTIONS) {
        const s = postgresSource({
          connectionString: db.url,
          sql: 'SELECT :v AS v, length(:v) AS n, (SELECT count(*) FROM items WHERE name = :v) AS hits',
          params: { v: value },
          ...options,
        });
        const csv = await readAll(exportSource(s, { format: 'csv', escapeFormulas: false }));
        expect(parse(csv)).toEqual([
          ['v', 'n', 'hits'],
          [value, String([...value].length), '0'],
        ]);
      }
      const check = await db.admin.query('SELECT count(*)::int AS n FROM items');
      expect(check.rows[0]).toEqual({ n: 1000 });
    });
  }

  it('binds typed values the same way on every path', async () => {
    const params = {
      from: new Date('2024-01-02T00:00:00Z'),
      ids: [3, 24, 25, 26, 999],
      big: 12345678901234567890n,
      bytes: Buffer.from([0, 255]),
      flag: true,
      missing: null,
    };
    const sql = `SELECT id, at, :big::numeric AS big, :bytes::bytea AS bytes, :flag::bool AS flag,
      :missing::text IS NULL AS missing FROM items WHERE at >= :from AND id = ANY(:ids) ORDER BY id`;
    const outputs: string[][][] = [];
    for (const [, options] of PATHS) {
      const s = postgresSource({ connectionString: db.url, sql, params, ...options });
      outputs.push(
        parse(
          await readAll(
            exportSource(s, { format: 'csv', columns: ['id', 'big', 'bytes', 'flag', 'missing'] }),
          ),
        ),
      );
    }
    expect(outputs[0]).toEqual([
      ['id', 'big', 'bytes', 'flag', 'missing'],
      ['24', '12345678901234567890', 'AP8=', 'true', 'true'],
      ['25', '12345678901234567890', 'AP8=', 'true', 'true'],
      ['26', '12345678901234567890', 'AP8=', 'true', 'true'],
      ['999', '12345678901234567890', 'AP8=', 'true', 'true'],
    ]);
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[2]).toEqual(outputs[0]);
  });

  it('refuses unknown, missing and NUL-bearing parameters with invalid_params', () => {
    const make = (params: Record<string, unknown>) => () =>
      postgresSource({ connectionString: db.url, sql: 'SELECT :a', params });
    for (const [params, param] of [
      [{}, 'a'],
      [{ a: 1, b: 2 }, 'b'],
      [{ a: 'x\0y' }, 'a'],
      [{ a: () => 1 }, 'a'],
    ] as const) {
      try {
        make(params)();
        throw new Error('expected invalid_params');
      } catch (error) {
        expect(error).toMatchObject({ code: 'invalid_params', details: { param } });
      }
    }
  });
});

describe('PostgreSQL source: COPY path', () => {
  it('counts rows with line breaks inside values and writes CRLF only at record ends', async () => {
    const progress: number[] = [];
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT id, body FROM notes ORDER BY id',
      copy: true,
    });
    const csv = await readAll(
      exportSource(s, { format: 'csv', onProgress: (p) => p.done && progress.push(p.rows) }),
    );
    expect(progress).toEqual([5]);
    expect(csv).toBe('id,body\r\n1,"two\nlines"\r\n2,"say ""hi"""\r\n3,""\r\n4,\r\n5,"a\r\nb"\r\n');
    expect(parse(csv)).toEqual([
      ['id', 'body'],
      ['1', 'two\nlines'],
      ['2', 'say "hi"'],
      ['3', ''],
      ['4', ''],
      ['5', 'a\r\nb'],
    ]);
  });

  it('applies only to plain csv/tsv (the core decides); binary COPY CSV where COPY text cannot', async () => {
    // The core asks for the passthrough only when the format's bytes are plain CSV.
    expect(jsonFormat.plainCsv).toBeUndefined();
    expect(xlsxFormat.plainCsv).toBeUndefined();
    expect(csvFormat.plainCsv?.({ locale: 'de-DE' })).toBeUndefined();
    const dialect = csvFormat.plainCsv!({})!;
    expect(dialect).toMatchObject({ delimiter: ',', lineEnding: '\r\n', header: true, bom: false });
    expect(tsvFormat.plainCsv?.({ preset: 'excel' })).toMatchObject({ delimiter: '\t', bom: true });
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT 1.5::numeric AS x, true AS b',
      copy: true,
    });
    let rows = 0;
    const request = { columns: await s.columns(), onRows: (n: number) => (rows += n) };
    // A delimiter COPY's text cannot write: the CSV comes from the binary COPY instead, the
    // CSV writer's bytes.
    const binary = s.csvPassthrough(
      { ...request, dialect: { ...dialect, delimiter: '§' } },
      new AbortController().signal,
    );
    expect(binary).toBeDefined();
    const chunks: Uint8Array[] = [];
    for await (const chunk of binary!) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString('utf8')).toBe('x§b\r\n1.5§true\r\n');
    expect(rows).toBe(1);
    await s.close();
    const s2 = postgresSource({ connectionString: db.url, sql: 'SELECT 1.5::numeric AS x', copy: true });
    expect(await readAll(exportSource(s2, { format: 'csv', locale: 'de-DE' }))).toBe('x\r\n1,5\r\n');
    // The cursor reader writes no CSV itself; nor does a source not yet opened.
    const cursor = postgresSource({ connectionString: db.url, sql: 'SELECT 1 AS x', reader: 'cursor' });
    await cursor.columns();
    expect(cursor.csvPassthrough({ ...request, dialect }, new AbortController().signal)).toBeUndefined();
    await cursor.close();
    const off = postgresSource({ connectionString: db.url, sql: 'SELECT 1 AS x' });
    expect(off.csvPassthrough({ ...request, dialect }, new AbortController().signal)).toBeUndefined();
  });

  it('stops at maxRows with sync_limit_exceeded', async () => {
    const s = postgresSource({ connectionString: db.url, sql: 'SELECT * FROM items', copy: true });
    const error = await failure(readAll(exportSource(s, { format: 'csv', maxRows: 10 })));
    expect(error.code).toBe('sync_limit_exceeded');
  });

  it('reports a query error from COPY before any byte', async () => {
    const s = postgresSource({
      connectionString: db.url,
      sql: 'SELECT id, 1 / (id - 700) AS x FROM items ORDER BY id',
      copy: true,
    });
    const error = await failure(readAll(exportSource(s, { format: 'csv' })));
    expect(error).toMatchObject({ code: 'source_query_error', details: { sqlstate: '22012' } });
  });
});
