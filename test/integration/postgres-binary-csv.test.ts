/**
 * CSV written straight from the binary COPY's bytes (the default reader's CSV) against the
 * cursor path, which decodes every value and writes it with the CSV writer: byte for byte the
 * same over text that takes each branch (plain, quoted, formula-looking, hidden formula,
 * non-ASCII, long), uuid, numeric, timestamps, int2/int4 (their limits) and bool, in dialects whose delimiter a value could
 * contain, with columns picked and reordered. The CSV is also read back with csv-parse.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { createSchema, failure, readAll, type TestSchema } from './postgres-helpers.js';

let db: TestSchema;

const TEXTS = [
  'plain',
  'with, comma',
  'with "quotes"',
  'line\nbreak',
  'carriage\rreturn',
  'tab\tinside',
  '=1+2',
  '+cmd',
  '-5',
  '@sum',
  '\tlead tab',
  '  =hidden',
  '  spaced text',
  '',
  'ünïcødé',
  'x ünï, "q"',
  '＝full-width',
  '\u00a0=nbsp',
  `${'long '.repeat(20)}"quoted", and more`,
  'long plain text '.repeat(8),
  'a-b.c:d;e|f',
  '-',
];

beforeAll(async () => {
  db = await createSchema('takeout_pgbincsv');
  await db.admin.query(`CREATE TABLE v (
    id int4 PRIMARY KEY, tx text, u uuid, num numeric, ts timestamp, tstz timestamptz, vc varchar(200), bp char(6),
    i2 int2, i4 int4, b bool
  )`);
  const rows = TEXTS.map((tx, i) => [
    i + 1,
    tx,
    `${(i * 7919).toString(16).padStart(8, '0')}-abcd-4ef8-bb6d-6bb9bd380a11`,
    ['-12.50', '0.001', '123456789012345678901234567890.5', 'NaN', 'Infinity', '-Infinity', '0'][i % 7],
    ['2024-03-01 13:05:09.123456', 'infinity', '-infinity', '1969-12-31 23:59:59.999', '0044-03-15 12:00 BC'][
      i % 5
    ],
    ['2024-03-01 13:05:09.5+02', 'infinity', '2024-10-27 01:30:00+00', '1999-12-31 23:00:00-05'][i % 4],
    i % 3 === 0 ? null : tx,
    ['ab', 'a,b', '=x', ' '][i % 4],
    [-32768, 32767, 0, -1, null, 7][i % 6],
    [-2147483648, 2147483647, 0, -42, 1000000, null][i % 6],
    [true, false, null][i % 3],
  ]);
  for (const row of rows) {
    await db.admin.query('INSERT INTO v VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', row);
  }
});

afterAll(async () => {
  await db.drop();
});

async function csvOf(reader: 'copy' | 'cursor', options: Record<string, unknown>): Promise<Buffer> {
  const source = postgresSource({ connectionString: db.url, sql: 'SELECT * FROM v ORDER BY id', reader });
  const chunks: Buffer[] = [];
  for await (const chunk of exportSource(source, { format: 'csv', ...options })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('CSV from the binary COPY bytes', () => {
  const dialects: [string, Record<string, unknown>][] = [
    ['the defaults', {}],
    ['no formula escaping, LF', { escapeFormulas: false, lineEnding: '\n' }],
    ['a time zone and a BOM', { timezone: 'Europe/Paris', bom: true }],
    ['TSV', { format: 'tsv' }],
    ['delimiter -', { delimiter: '-' }],
    ['delimiter .', { delimiter: '.' }],
    ['delimiter a', { delimiter: 'a' }],
    ['delimiter :', { delimiter: ':' }],
    ['delimiter §', { delimiter: '§' }],
    ["delimiter ' (the formula escape's own character)", { delimiter: "'" }],
    [
      'columns picked and reordered, no header',
      { header: false, columns: ['tstz', 'tx', 'id', 'u', 'num', 'bp', 'vc', 'ts'] },
    ],
  ];
  for (const [name, options] of dialects) {
    it(`writes ${name} byte for byte as the decoded path does`, async () => {
      const copy = await csvOf('copy', options);
      const cursor = await csvOf('cursor', options);
      expect(copy.length).toBeGreaterThan(1000);
      expect(copy.toString('utf8')).toBe(cursor.toString('utf8'));
      expect(copy.equals(cursor)).toBe(true);
    });
  }

  it('reads back with an independent parser: text exact, formulas escaped', async () => {
    const records = parse(await csvOf('copy', {}), { columns: true, bom: true }) as Record<string, string>[];
    expect(records).toHaveLength(TEXTS.length);
    const expected = (s: string) =>
      /^[=+\-@\t]/.test(s) || /^\s+=/.test(s) || s.startsWith('＝') ? `'${s}` : s;
    expect(records.map((r) => r.tx)).toEqual(TEXTS.map(expected));
    expect(records[0]).toMatchObject({ id: '1', num: '-12.50', ts: '2024-03-01T13:05:09.123Z' });
    expect(records[1]).toMatchObject({ ts: 'infinity', tstz: 'infinity', vc: 'with, comma' });
    expect(records[3]).toMatchObject({ num: 'NaN', vc: '' });
    expect(records[0]).toMatchObject({ i2: '-32768', i4: '-2147483648', b: 'true' });
    expect(records[1]).toMatchObject({ i2: '32767', i4: '2147483647', b: 'false' });
    expect(records[4]).toMatchObject({ i2: '', i4: '1000000', b: 'false' });
    expect(records[5]).toMatchObject({ i2: '7', i4: '', b: '' });
  });

  it('writes a one-column empty or NULL field as "" on every path, never a blank line readers skip', async () => {
    const sql = "SELECT x FROM (VALUES (1, 'a'), (2, ''), (3, NULL), (4, 'b')) AS t(i, x) ORDER BY i";
    const expected = 'x\r\na\r\n""\r\n""\r\nb\r\n';
    for (const options of [{ reader: 'copy' as const }, { reader: 'cursor' as const }, { copy: true }]) {
      const source = postgresSource({ connectionString: db.url, sql, ...options });
      const text = await readAll(exportSource(source, { format: 'csv' }));
      expect(text, JSON.stringify(options)).toBe(expected);
      const records = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
      expect(records.map((r) => r.x)).toEqual(['a', '', '', 'b']);
    }
  });

  it('stops at maxRows with sync_limit_exceeded, and reports an error from the COPY', async () => {
    const many = postgresSource({
      connectionString: db.url,
      sql: 'SELECT g, md5(g::text) FROM generate_series(1, 50000) g',
    });
    expect(await failure(readAll(exportSource(many, { format: 'csv', maxRows: 10 })))).toMatchObject({
      code: 'sync_limit_exceeded',
    });
    const failing = postgresSource({
      connectionString: db.url,
      sql: 'SELECT g, 1 / (g - 40000) AS x FROM generate_series(1, 50000) g',
    });
    expect(await failure(readAll(exportSource(failing, { format: 'csv' })))).toMatchObject({
      code: 'source_query_error',
      details: { sqlstate: '22012' },
    });
  });
});
