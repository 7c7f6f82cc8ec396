/**
 * Every listed PostgreSQL type round-trips exactly into CSV and JSON (binary COPY and cursor readers), and
 * nothing depends on the Node process's time zone. csv-parse and JSON.parse are the
 * independent readers.
 */
import { execFileSync } from 'node:child_process';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as XLSX from 'xlsx';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { createSchema, readAll, type TestSchema } from './postgres-helpers.js';
import { COLUMNS, CSV_ROWS, TYPES_SQL, typesSource } from './postgres-type-table.js';

let db: TestSchema;

async function collectBytes(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  db = await createSchema('takeout_pgtypes');
  await db.admin.query(TYPES_SQL);
});

afterAll(async () => {
  await db.drop();
});

for (const reader of ['copy', 'cursor'] as const) {
  const source = () => typesSource(db.url, { reader });

  describe(`PostgreSQL types (${reader} reader)`, () => {
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
        reader,
        sql: "SELECT '2024-01-01 00:00:00.999999+00'::timestamptz AS a, '0044-03-15 12:00:00 BC'::timestamp AS b",
      });
      const json = JSON.parse(await readAll(exportSource(s, { format: 'json' }))) as unknown[];
      expect(json).toEqual([{ a: '2024-01-01T00:00:00.999Z', b: '-000043-03-15T12:00:00Z' }]);
    });

    it('keeps JSON documents exact: integers beyond 2^53, long decimals, spacing inside strings', async () => {
      const sql = `SELECT '{"id": 12345678901234567891, "price": 0.10000000000000000001, "s": "a  b\\" c", "n": [1.50]}'::jsonb AS jb,
        '{"id" : 12345678901234567891,  "t": "x y"}'::json AS j, '98765432109876543210'::jsonb AS big,
        ARRAY['{"n": 12345678901234567891}'::jsonb, '98765432109876543210'] AS arr`;
      const csv = await readAll(
        exportSource(postgresSource({ connectionString: db.url, reader, sql }), { format: 'csv' }),
      );
      const ndjson = await readAll(
        exportSource(postgresSource({ connectionString: db.url, reader, sql }), { format: 'ndjson' }),
      );
      const [, cells] = parse(csv) as string[][];
      // Python's json reads integers exactly and, with Decimal, every digit of a decimal.
      const read = (documents: string[]) =>
        JSON.parse(
          execFileSync(
            '/usr/bin/python3',
            [
              '-c',
              'import json,sys,decimal\nfor line in sys.stdin.read().split("\\n"):\n  d=json.loads(line, parse_float=decimal.Decimal)\n  print(json.dumps({"id": str(d["id"]), "price": str(d.get("price")), "s": d.get("s", d.get("t")), "n": [str(x) for x in d.get("n", [])]}))',
            ],
            { input: documents.join('\n') },
          )
            .toString()
            .trim()
            .split('\n')
            .join(',')
            .replace(/^/, '[')
            .concat(']'),
        );
      const expected = [
        { id: '12345678901234567891', price: '0.10000000000000000001', s: 'a  b" c', n: ['1.50'] },
        { id: '12345678901234567891', price: 'None', s: 'x y', n: [] },
      ];
      expect(read([cells![0]!, cells![1]!])).toEqual(expected);
      const embedded = ndjson.trim().match(/^\{"jb":(.*),"j":(.*),"big":(.*),"arr":(.*)\}$/);
      expect(read([embedded![1]!, embedded![2]!])).toEqual(expected);
      expect(cells![0]).not.toMatch(/": |, /); // compact, as JSON.stringify spaces it
      // A bare integer beyond 2^53 keeps its digits, alone or in an array of documents.
      expect(cells![2]).toBe('98765432109876543210');
      expect(embedded![3]).toBe('98765432109876543210');
      expect(cells![3]).toBe('[{"n":12345678901234567891},98765432109876543210]');
      expect(embedded![4]).toBe('[{"n":12345678901234567891},98765432109876543210]');
    });

    it('keeps bare JSON numbers as stored in CSV, NDJSON and XLSX (a double would change them)', async () => {
      const sql = `SELECT '2.50'::jsonb AS a, '1e400'::json AS b, '-0.10'::json AS c,
        '12345678901234567891.5'::jsonb AS d, '7'::jsonb AS e, '-98765432109876543210'::json AS f`;
      const run = (format: string) =>
        readAll(exportSource(postgresSource({ connectionString: db.url, reader, sql }), { format }));
      const [, cells] = parse(await run('csv')) as string[][];
      // As stored, and a negative number is a number: no formula escape.
      expect(cells).toEqual([
        '2.50',
        '1e400',
        '-0.10',
        '12345678901234567891.5',
        '7',
        '-98765432109876543210',
      ]);
      // Python's json with Decimal reads every digit of the NDJSON line.
      const line = (await run('ndjson')).trim();
      expect(line).toBe(
        '{"a":2.50,"b":1e400,"c":-0.10,"d":12345678901234567891.5,"e":7,"f":-98765432109876543210}',
      );
      const read = execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          'import json,sys,decimal\nprint(json.dumps({k: str(v) for k, v in json.loads(sys.stdin.read(), parse_float=decimal.Decimal).items()}))',
        ],
        { input: line },
      ).toString();
      expect(JSON.parse(read)).toEqual({
        a: '2.50',
        b: '1E+400',
        c: '-0.10',
        d: '12345678901234567891.5',
        e: '7',
        f: '-98765432109876543210',
      });
      // XLSX: numbers where Excel holds them exactly, else the stored text (SheetJS reads it back).
      const xlsx = await collectBytes(
        exportSource(postgresSource({ connectionString: db.url, reader, sql }), { format: 'xlsx' }),
      );
      const sheet = XLSX.read(xlsx, { type: 'buffer' }).Sheets.Sheet1!;
      expect(['A2', 'B2', 'C2', 'D2', 'E2', 'F2'].map((ref) => [sheet[ref]?.t, sheet[ref]?.v])).toEqual([
        ['n', 2.5],
        ['s', '1e400'],
        ['n', -0.1],
        ['s', '12345678901234567891.5'],
        ['n', 7],
        ['s', '-98765432109876543210'],
      ]);
    });

    it('writes bytes inside arrays as base64, splits box arrays on ; and keeps -0', async () => {
      const sql = `SELECT ARRAY['\\x0102ff'::bytea, '\\x', NULL] AS by,
        '{(3,4),(1,2);(7,8),(5,6)}'::box[] AS bx, '-0'::float8 AS z`;
      const run = (format: string) =>
        readAll(exportSource(postgresSource({ connectionString: db.url, reader, sql }), { format }));
      expect(JSON.parse(await run('ndjson'))).toEqual({
        by: [Buffer.from([1, 2, 255]).toString('base64'), '', null],
        bx: ['(3,4),(1,2)', '(7,8),(5,6)'],
        z: -0,
      });
      const [, cells] = parse(await run('csv')) as string[][];
      expect(cells).toEqual(['["AQL/","",null]', '["(3,4),(1,2)","(7,8),(5,6)"]', '-0']);
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
}
