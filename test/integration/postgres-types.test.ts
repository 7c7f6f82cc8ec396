/**
 * Every listed PostgreSQL type round-trips exactly into CSV and JSON (cursor path), the COPY
 * path writes the documented text, and nothing depends on the Node process's time zone.
 * csv-parse and JSON.parse are the independent readers.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as XLSX from 'xlsx';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { createSchema, readAll, type TestSchema } from './postgres-helpers.js';

let db: TestSchema;

const COLUMNS =
  'id, i2, i4, i8, num, f4, f8, b, d, ts, tstz, tm, iv, u, j, jb, by, ai, at, e, ae, tx, vc, dom';

beforeAll(async () => {
  db = await createSchema('takeout_pgtypes');
  await db.admin.query(`
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
    CREATE TABLE t (
      id int4 PRIMARY KEY, i2 int2, i4 int4, i8 int8, num numeric, f4 float4, f8 float8, b bool,
      d date, ts timestamp, tstz timestamptz, tm time, iv interval, u uuid, j json, jb jsonb, by bytea,
      ai int4[], at text[], e mood, ae mood[], tx text, vc varchar(40), dom posint
    );
    INSERT INTO t VALUES
      (1, -32768, -2147483648, -9223372036854775808, '-12345678901234567890.123456789012345678', 1.1, 0.1, true,
       '2024-02-29', '2024-03-01 13:05:09.123', '2024-03-01 13:05:09.123+02', '23:59:59.999999',
       '1 year 2 mons 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
       '{"a": [1, 2.5, "x"], "b": null}', '{"k": "v", "n": 1}', '\\xdeadbeef00', '{1,2,NULL}',
       '{"a,b","c\\"d","NULL",NULL}', 'happy', '{sad,ok}', E'line1\\nline2 "q", comma', 'ünïcødé 😀', 5),
      (2, 32767, 2147483647, 9223372036854775807, '0.000000000000000000001', 3.4028235e+38,
       -1.7976931348623157e+308, false, '0001-01-01', '1969-12-31 23:59:59.999', 'infinity', '00:00', '-1 days',
       '00000000-0000-0000-0000-000000000000', '[]', '"=cmd"', '\\x', '{}', '{}', 'sad', '{}', '',
       '=HYPERLINK("x")', 1),
      (3, NULL, NULL, 9007199254740993, 'NaN', 'NaN', 'Infinity', NULL, '2000-01-01', NULL, '1999-12-31 23:00:00-05',
       NULL, NULL, NULL, 'null', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (4, NULL, NULL, 9007199254740991, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
  `);
});

afterAll(async () => {
  await db.drop();
});

function source(extra: { copy?: boolean } = {}) {
  return postgresSource({ connectionString: db.url, sql: `SELECT ${COLUMNS} FROM t ORDER BY id`, ...extra });
}

// What each cell must read as in the CSV file (UTC), per row; null means an empty cell.
const CSV_ROWS: (string | null)[][] = [
  [
    '1',
    '-32768',
    '-2147483648',
    '-9223372036854775808',
    '-12345678901234567890.123456789012345678',
    '1.1',
    '0.1',
    'true',
    '2024-02-29',
    '2024-03-01T13:05:09.123Z',
    '2024-03-01T11:05:09.123Z',
    '23:59:59.999999',
    'P1Y2M3DT4H5M6.5S',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    '{"a":[1,2.5,"x"],"b":null}',
    '{"k":"v","n":1}',
    '3q2+7wA=',
    '[1,2,null]',
    '["a,b","c\\"d","NULL",null]',
    'happy',
    '["sad","ok"]',
    'line1\nline2 "q", comma',
    'ünïcødé 😀',
    '5',
  ],
  [
    '2',
    '32767',
    '2147483647',
    '9223372036854775807',
    '0.000000000000000000001',
    '3.4028235e+38',
    '-1.7976931348623157e+308',
    'false',
    '0001-01-01',
    '1969-12-31T23:59:59.999Z',
    'infinity',
    '00:00:00',
    'P-1D',
    '00000000-0000-0000-0000-000000000000',
    '[]',
    "'=cmd",
    '',
    '[]',
    '[]',
    'sad',
    '[]',
    '',
    '\'=HYPERLINK("x")',
    '1',
  ],
  [
    '3',
    '',
    '',
    '9007199254740993',
    'NaN',
    'NaN',
    'Infinity',
    '',
    '2000-01-01',
    '',
    '2000-01-01T04:00:00Z',
    '',
    '',
    '',
    '', // a JSON null document reads back as null, like SQL NULL
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
  ],
  [
    '4',
    '',
    '',
    '9007199254740991',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
  ],
];

describe('PostgreSQL types (cursor path)', () => {
  it('declares column types from the type OIDs before the first batch', async () => {
    const s = source();
    try {
      const types = Object.fromEntries((await s.columns()).map((c) => [c.key, c.type]));
      expect(types).toEqual({
        id: 'integer',
        i2: 'integer',
        i4: 'integer',
        i8: 'integer',
        num: 'decimal',
        f4: 'number',
        f8: 'number',
        b: 'boolean',
        d: 'date',
        ts: 'datetime',
        tstz: 'datetime',
        tm: 'string',
        iv: 'string',
        u: 'string',
        j: 'json',
        jb: 'json',
        by: 'string',
        ai: 'json',
        at: 'json',
        e: 'string',
        ae: 'json',
        tx: 'string',
        vc: 'string',
        dom: 'integer',
      });
    } finally {
      await s.close();
    }
  });

  it('round-trips every type into CSV', async () => {
    const csv = await readAll(exportSource(source(), { format: 'csv' }));
    const rows = parse(csv, { relax_column_count: false }) as string[][];
    expect(rows[0]).toEqual(COLUMNS.split(', '));
    // Integer-valued doubles of 1e21 and more are written without exponent (the writer's
    // rule): the digits are the double's exact value, so they read back as the same number.
    const expected = CSV_ROWS.map((r) => [...r]);
    Object.assign(expected[1] as string[], {
      5: '340282349999999991754788743781432688640',
      6: `-${BigInt(1.7976931348623157e308)}`,
    });
    expect(Number(expected[1]?.[5])).toBe(3.4028235e38);
    expect(rows.slice(1)).toEqual(expected);
  });

  it('round-trips every type into JSON', async () => {
    const json = JSON.parse(await readAll(exportSource(source(), { format: 'json' }))) as Record<
      string,
      unknown
    >[];
    expect(json).toHaveLength(4);
    expect(json[0]).toEqual({
      id: 1,
      i2: -32768,
      i4: -2147483648,
      i8: '-9223372036854775808',
      num: '-12345678901234567890.123456789012345678',
      f4: 1.1,
      f8: 0.1,
      b: true,
      d: '2024-02-29',
      ts: '2024-03-01T13:05:09.123Z',
      tstz: '2024-03-01T11:05:09.123Z',
      tm: '23:59:59.999999',
      iv: 'P1Y2M3DT4H5M6.5S',
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      j: { a: [1, 2.5, 'x'], b: null },
      jb: { k: 'v', n: 1 },
      by: '3q2+7wA=',
      ai: [1, 2, null],
      at: ['a,b', 'c"d', 'NULL', null],
      e: 'happy',
      ae: ['sad', 'ok'],
      tx: 'line1\nline2 "q", comma',
      vc: 'ünïcødé 😀',
      dom: 5,
    });
    expect(json[1]).toMatchObject({
      i2: 32767,
      i8: '9223372036854775807',
      num: '0.000000000000000000001',
      f4: 3.4028235e38,
      f8: -1.7976931348623157e308,
      b: false,
      d: '0001-01-01',
      ts: '1969-12-31T23:59:59.999Z',
      tstz: 'infinity',
      iv: 'P-1D',
      j: [],
      jb: '=cmd',
      by: '',
      ai: [],
      tx: '',
      vc: '=HYPERLINK("x")',
    });
    expect(json[2]).toMatchObject({
      i2: null,
      i8: '9007199254740993',
      num: 'NaN',
      f4: null,
      f8: null,
      j: null,
    });
    expect(json[3]).toMatchObject({ i8: 9007199254740991, num: null, d: null });
  });

  it('does not depend on the Node process time zone (dates never shift)', async () => {
    const saved = process.env.TZ;
    const outputs: string[] = [];
    try {
      for (const tz of ['Pacific/Kiritimati', 'America/Adak', 'UTC']) {
        process.env.TZ = tz;
        outputs.push(await readAll(exportSource(source(), { format: 'csv' })));
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
    expect(outputs[0]).toBe(outputs[2]);
    expect(outputs[1]).toBe(outputs[2]);
  });

  it('renders datetimes in the requested zone and dates as calendar dates', async () => {
    const csv = await readAll(exportSource(source(), { format: 'csv', timezone: 'Asia/Kolkata' }));
    const row = (parse(csv) as string[][])[1] as string[];
    expect(row[8]).toBe('2024-02-29');
    expect(row[9]).toBe('2024-03-01T18:35:09.123+05:30'); // timestamp: UTC wall time 13:05:09.123
    expect(row[10]).toBe('2024-03-01T16:35:09.123+05:30');
  });

  it('truncates microseconds of timestamps to milliseconds (JavaScript Dates)', async () => {
    const s = postgresSource({
      connectionString: db.url,
      sql: "SELECT '2024-01-01 00:00:00.999999+00'::timestamptz AS a, '0044-03-15 12:00:00 BC'::timestamp AS b",
    });
    const json = JSON.parse(await readAll(exportSource(s, { format: 'json' }))) as unknown[];
    expect(json).toEqual([{ a: '2024-01-01T00:00:00.999Z', b: '-000043-03-15T12:00:00Z' }]);
  });

  it('makes duplicate column names unique keys but keeps them as headers', async () => {
    const s = postgresSource({ connectionString: db.url, sql: 'SELECT 1 AS a, 2 AS a, 3 AS a_2' });
    const csv = await readAll(exportSource(s, { format: 'csv' }));
    expect(parse(csv)).toEqual([
      ['a', 'a', 'a_2'],
      ['1', '2', '3'],
    ]);
    const s2 = postgresSource({ connectionString: db.url, sql: 'SELECT 1 AS a, 2 AS a, 3 AS a_2' });
    expect((await s2.columns()).map((c) => c.key)).toEqual(['a', 'a_2', 'a_2_2']);
    await s2.close();
  });
});

describe('PostgreSQL types (COPY path, opted in)', () => {
  it("writes PostgreSQL's text with Takeout's booleans, base64 bytes, JSON arrays and formula escaping", async () => {
    const csv = await readAll(exportSource(source({ copy: true }), { format: 'csv' }));
    expect(csv.endsWith('\r\n')).toBe(true);
    const rows = parse(csv) as string[][];
    expect(rows[0]).toEqual(COLUMNS.split(', '));
    const expected = CSV_ROWS.map((r) => [...r]);
    // The documented differences: PostgreSQL's timestamptz text (µs kept), its JSON text.
    Object.assign(expected[0] as string[], {
      9: '2024-03-01 13:05:09.123+00',
      10: '2024-03-01 11:05:09.123+00',
      14: '{"a": [1, 2.5, "x"], "b": null}',
      15: '{"k": "v", "n": 1}',
    });
    Object.assign(expected[1] as string[], { 9: '1969-12-31 23:59:59.999+00', 15: '"=cmd"' });
    Object.assign(expected[2] as string[], { 10: '2000-01-01 04:00:00+00', 14: 'null' });
    expect(rows.slice(1)).toEqual(expected);
  });

  it('renders timestamptz in the requested zone and honours lineEnding, bom and delimiter', async () => {
    const out = await readAll(
      exportSource(source({ copy: true }), {
        format: 'csv',
        timezone: 'Asia/Kolkata',
        lineEnding: '\n',
        bom: true,
        delimiter: ';',
      }),
    );
    expect(out.startsWith('\uFEFFid;i2;')).toBe(true);
    expect(out).not.toContain('\r');
    const rows = parse(out.slice(1), { delimiter: ';' }) as string[][];
    expect(rows[1]?.[10]).toBe('2024-03-01 16:35:09.123+05:30');
    expect(rows[1]?.[9]).toBe('2024-03-01 18:35:09.123+05:30');
  });

  it('writes the chosen columns in the chosen order with their headers', async () => {
    const csv = await readAll(
      exportSource(source({ copy: true }), {
        format: 'csv',
        columns: [{ key: 'vc', header: 'Text' }, 'id', { key: 'b', header: '=Flag' }],
      }),
    );
    expect(parse(csv)).toEqual([
      ['Text', 'id', "'=Flag"],
      ['ünïcødé 😀', '1', 'true'],
      ['\'=HYPERLINK("x")', '2', 'false'],
      ['', '3', ''],
      ['', '4', ''],
    ]);
  });
});

describe('PostgreSQL types (XLSX, read back with SheetJS)', () => {
  it('writes typed cells: exact numbers, big integers and long decimals as text, real dates', async () => {
    const chunks: Buffer[] = [];
    for await (const c of exportSource(source(), { format: 'xlsx', timezone: 'Asia/Kolkata' }))
      chunks.push(c as Buffer);
    const book = XLSX.read(Buffer.concat(chunks), { type: 'buffer' });
    const sheet = book.Sheets[book.SheetNames[0] as string] as XLSX.WorkSheet;
    const rows = XLSX.utils.sheet_to_json<unknown[]>(sheet, { header: 1, raw: true, defval: null });
    const head = rows[0] as string[];
    const cell = (row: number, key: string) => (rows[row] as unknown[])[head.indexOf(key)];
    const serial = (ms: number) => ms / 86_400_000 + 25569; // Excel's 1900 day count
    expect(head).toEqual(COLUMNS.split(', '));
    // Integers: numbers up to 15 digits, text with every digit beyond.
    expect([cell(1, 'i2'), cell(1, 'i4'), cell(2, 'i2')]).toEqual([-32768, -2147483648, 32767]);
    expect(cell(1, 'i8')).toBe('-9223372036854775808');
    expect(cell(3, 'i8')).toBe('9007199254740993');
    // numeric: exact text when Excel would round it, else a number.
    expect(cell(1, 'num')).toBe('-12345678901234567890.123456789012345678');
    expect(cell(2, 'num')).toBe(1e-21);
    expect([cell(1, 'f4'), cell(1, 'f8'), cell(2, 'f8')]).toEqual([1.1, 0.1, -1.7976931348623157e308]);
    expect([cell(1, 'b'), cell(2, 'b')]).toEqual([true, false]);
    // date: the calendar date; timestamp/timestamptz: wall time in the export's zone (+05:30).
    expect(cell(1, 'd')).toBe(serial(Date.UTC(2024, 1, 29)));
    expect(cell(1, 'ts') as number).toBeCloseTo(serial(Date.UTC(2024, 2, 1, 18, 35, 9, 123)), 8);
    expect(cell(1, 'tstz') as number).toBeCloseTo(serial(Date.UTC(2024, 2, 1, 16, 35, 9, 123)), 8);
    expect([cell(1, 'tm'), cell(1, 'iv'), cell(1, 'u'), cell(1, 'e')]).toEqual([
      '23:59:59.999999',
      'P1Y2M3DT4H5M6.5S',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      'happy',
    ]);
    expect(JSON.parse(cell(1, 'j') as string)).toEqual({ a: [1, 2.5, 'x'], b: null });
    expect(JSON.parse(cell(1, 'at') as string)).toEqual(['a,b', 'c"d', 'NULL', null]);
    expect(cell(1, 'by')).toBe('3q2+7wA=');
    expect([cell(1, 'tx'), cell(1, 'vc'), cell(2, 'vc')]).toEqual([
      'line1\nline2 "q", comma',
      'ünïcødé 😀',
      '=HYPERLINK("x")', // text, never a formula (quote-prefixed in the file)
    ]);
    expect(sheet[XLSX.utils.encode_cell({ r: 2, c: head.indexOf('vc') })]?.f).toBeUndefined();
  });
});
