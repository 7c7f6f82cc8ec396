/**
 * XLSX written straight from the binary COPY's bytes (the default reader's XLSX) against the
 * cursor path, which decodes every value and writes it with the XLSX writer: byte for byte the
 * same file over text that takes each branch (plain, formula-looking, markup, `_x` escapes,
 * controls, CR, edge white space, non-ASCII), uuid, numeric (plain, too precise, special),
 * timestamps (ordinary, infinite, before 1900), int2/int4 limits, bool and the types that are
 * always decoded, under the options that change cells; with columns picked, reordered and
 * retyped, across sheet rollovers and rows split across COPY chunks. The files are also read
 * back with SheetJS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xlsxFormat } from '../../src/formats/index.js';
import { type ExportOptions, exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { batchRows } from '../../src/sources/postgres-binary-xlsx.js';
import type { Source } from '../../src/types.js';
import { createSchema, failure, type TestSchema } from './postgres-helpers.js';
import { assertZipValid, collect, readWithSheetJs, saved, serialToMs } from './xlsx-read.js';

let db: TestSchema;

const TEXTS = [
  'plain',
  '=1+2',
  '+cmd',
  '-5',
  '@sum',
  ' leading space',
  'trailing space ',
  'tab\tinside',
  'line\nbreak',
  'carriage\rreturn',
  'a & b < c > d',
  '_x0041_ looks escaped',
  'ends with _',
  'x_y_z',
  'control\u0001char',
  'ünïcødé',
  '',
  '＝full-width',
  'quote " and apostrophe \'',
  `${'long plain text '.repeat(40)}end`,
];

beforeAll(async () => {
  db = await createSchema('takeout_pgbinxlsx');
  await db.admin.query(`CREATE TABLE v (
    id int4 PRIMARY KEY, tx text, u uuid, num numeric, ts timestamp, tstz timestamptz, vc varchar(1000),
    bp char(6), i2 int2, i4 int4, b bool, i8 int8, f8 float8, d date, j jsonb
  )`);
  const rows = TEXTS.map((tx, i) => [
    i + 1,
    tx,
    `${(i * 7919).toString(16).padStart(8, '0')}-abcd-4ef8-bb6d-6bb9bd380a11`,
    ['-12.50', '0.001', '123456789012345678901234567890.5', 'NaN', 'Infinity', '0', '0.0000001', '-0.00'][
      i % 8
    ],
    ['2024-03-01 13:05:09.123456', 'infinity', '-infinity', '1969-12-31 23:59:59.999', '1899-12-31 12:00'][
      i % 5
    ],
    ['2024-03-01 13:05:09.5+02', 'infinity', '2024-10-27 01:30:00+00', '1900-02-28 23:00:00-05'][i % 4],
    i % 3 === 0 ? null : tx,
    ['ab', 'a,b', '=x', ' '][i % 4],
    [-32768, 32767, 0, -1, null, 7][i % 6],
    [-2147483648, 2147483647, 0, -42, 1000000, null][i % 6],
    [true, false, null][i % 3],
    ['9007199254740993', '-5', null][i % 3],
    [0.1, -1e300, null, 3.5][i % 4],
    ['2024-02-29', '1900-01-01', null][i % 3],
    [JSON.stringify({ a: 1 }), null, JSON.stringify([1, 'x'])][i % 3],
  ]);
  for (const row of rows) {
    await db.admin.query(
      'INSERT INTO v VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)',
      row,
    );
  }
});

afterAll(async () => {
  await db.drop();
});

/** The XLSX of `sql`, and whether the source wrote it from its own bytes. */
async function xlsxOf(
  sql: string,
  reader: 'copy' | 'cursor',
  options: Record<string, unknown>,
): Promise<{ bytes: Buffer; fromBytes: boolean }> {
  const source: Source = postgresSource({ connectionString: db.url, sql, reader });
  let fromBytes = false;
  const passthrough = source.xlsxPassthrough?.bind(source);
  source.xlsxPassthrough = (request, signal) => {
    const written = passthrough?.(request, signal);
    fromBytes = written !== undefined;
    return written;
  };
  const bytes = await collect(exportSource(source, { format: 'xlsx', ...options } as ExportOptions));
  return { bytes, fromBytes };
}

describe('XLSX from the binary COPY bytes', () => {
  const sql = 'SELECT * FROM v ORDER BY id';
  const variants: [string, Record<string, unknown>][] = [
    ['the defaults', {}],
    ['apostrophe escapes in a time zone', { formulaEscape: 'apostrophe', timezone: 'Europe/Paris' }],
    ['no formula escaping, no header', { escapeFormulas: false, header: false, freezeHeader: false }],
    [
      'date formats and no autofilter',
      { dateFormat: 'dd/mm/yyyy', datetimeFormat: 'yyyy-mm-dd hh:mm', autoFilter: false },
    ],
    ['sheets of 6 rows', { maxRowsPerSheet: 6, sheetName: 'Data' }],
    ['level 6 (zlib)', { compressionLevel: 6 }],
    [
      'columns picked, reordered and retyped',
      {
        columns: [
          'tstz',
          { key: 'tx', type: 'decimal' },
          'id',
          { key: 'num', type: 'string' },
          { key: 'u', header: 'uuid', width: 40 },
          { key: 'ts', type: 'date' },
          'bp',
          { key: 'i4', type: 'string' },
          'j',
        ],
      },
    ],
  ];
  for (const [name, options] of variants) {
    it(`writes ${name} byte for byte as the decoded path does`, async () => {
      const copy = await xlsxOf(sql, 'copy', options);
      const cursor = await xlsxOf(sql, 'cursor', options);
      expect(copy.fromBytes).toBe(true);
      expect(cursor.fromBytes).toBe(false);
      expect(copy.bytes.length).toBeGreaterThan(1000);
      expect(copy.bytes.equals(cursor.bytes)).toBe(true);
    });
  }

  it('makes day text in a column retyped as date a date cell, as the decoded path does', async () => {
    const daySql = "SELECT d AS day FROM (VALUES ('2024-02-29'), ('2023-02-29'), ('x')) v(d)";
    const options = { columns: [{ key: 'day', type: 'date' }] };
    const copy = await xlsxOf(daySql, 'copy', options);
    const cursor = await xlsxOf(daySql, 'cursor', options);
    expect(copy.fromBytes).toBe(true);
    expect(copy.bytes.equals(cursor.bytes)).toBe(true);
    const sheet = readWithSheetJs(copy.bytes).Sheets.Sheet1!;
    expect([sheet.A2?.t, sheet.A2?.w, sheet.A3?.t, sheet.A4?.t]).toEqual(['n', '2024-02-29', 's', 's']);
  });

  it('reads back with SheetJS: text exact (CR included), numbers as numbers, dates as serials', async () => {
    const { bytes } = await xlsxOf(sql, 'copy', {});
    assertZipValid(saved(bytes, 'pg-binary'));
    const sheet = readWithSheetJs(bytes).Sheets.Sheet1;
    const cell = (ref: string) => sheet?.[ref] as { t: string; v: unknown } | undefined;
    TEXTS.forEach((text, i) => {
      const found = cell(`B${i + 2}`);
      if (text === '') expect(found).toBeUndefined();
      else expect(found?.v, JSON.stringify(text)).toBe(text);
    });
    expect(cell('D2')).toMatchObject({ t: 'n', v: -12.5 });
    expect(cell('D4')).toMatchObject({ t: 's', v: '123456789012345678901234567890.5' }); // beyond 15 digits
    expect(cell('D5')).toMatchObject({ t: 's', v: 'NaN' });
    expect(cell('C2')).toMatchObject({ t: 's', v: '00000000-abcd-4ef8-bb6d-6bb9bd380a11' });
    expect(serialToMs(cell('E2')?.v as number)).toBe(Date.UTC(2024, 2, 1, 13, 5, 9, 123));
    expect(cell('E3')).toMatchObject({ t: 's', v: 'infinity' });
    expect(cell('I2')).toMatchObject({ t: 'n', v: -32768 });
    expect(cell('K2')).toMatchObject({ t: 'b', v: true });
    expect(cell('L2')).toMatchObject({ t: 's', v: '9007199254740993' });
  });

  it('completes rows split across COPY chunks and rolls over sheets the same way', async () => {
    const sql = `SELECT g, repeat(chr(97 + g % 26), g % 3000) AS t, g::numeric / 7 AS n,
      CASE WHEN g % 5 = 0 THEN repeat('é', 100) END AS u FROM generate_series(1, 4000) g`;
    const options = { maxRowsPerSheet: 1500 };
    const copy = await xlsxOf(sql, 'copy', options);
    expect(copy.fromBytes).toBe(true);
    expect(copy.bytes.length).toBeGreaterThan(100_000);
    expect(copy.bytes.equals((await xlsxOf(sql, 'cursor', options)).bytes)).toBe(true);
    expect(readWithSheetJs(copy.bytes).SheetNames).toHaveLength(3);
  });

  it('writes wide rows (small batches) the same way', async () => {
    const columns = Array.from({ length: 1200 }, (_, i) => `g + ${i} AS c${i}`).join(', ');
    const sql = `SELECT ${columns}, md5(g::text) AS m FROM generate_series(1, 40) g`;
    const copy = await xlsxOf(sql, 'copy', {});
    expect(copy.fromBytes).toBe(true);
    expect(copy.bytes.equals((await xlsxOf(sql, 'cursor', {})).bytes)).toBe(true);
    expect(batchRows(1201)).toBe(6);
    expect(batchRows(10)).toBe(512);
    expect(batchRows(100_000)).toBe(1);
  });

  it('takes the fast path only for the built-in writer: a copy with its own write is used as it is', async () => {
    const sql = 'SELECT id, tx FROM v ORDER BY id';
    const renamed = { ...xlsxFormat, name: 'sheet' };
    const viaRenamed = await xlsxOf(sql, 'copy', { format: renamed });
    expect(viaRenamed.fromBytes).toBe(true);
    const own = {
      ...xlsxFormat,
      write: async function* () {
        yield Buffer.from('mine');
      },
    };
    const viaOwn = await xlsxOf(sql, 'copy', { format: own });
    expect(viaOwn.fromBytes).toBe(false);
    expect(viaOwn.bytes.toString()).toBe('mine');
  });

  it('stops at maxRows with sync_limit_exceeded, and reports an error from the COPY', async () => {
    const many = postgresSource({
      connectionString: db.url,
      sql: 'SELECT g, md5(g::text) FROM generate_series(1, 50000) g',
    });
    expect(await failure(collect(exportSource(many, { format: 'xlsx', maxRows: 10 })))).toMatchObject({
      code: 'sync_limit_exceeded',
    });
    const failing = postgresSource({
      connectionString: db.url,
      sql: 'SELECT g, 1 / (g - 40000) AS x FROM generate_series(1, 50000) g',
    });
    expect(await failure(collect(exportSource(failing, { format: 'xlsx' })))).toMatchObject({
      code: 'source_query_error',
      details: { sqlstate: '22012' },
    });
  });
});
