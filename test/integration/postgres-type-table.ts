/**
 * The table of every listed PostgreSQL type shared by the type tests, and what each cell must
 * read as in a CSV file (UTC) on the cursor path.
 */
import { postgresSource } from '../../src/sources/postgres.js';

export const COLUMNS =
  'id, i2, i4, i8, num, f4, f8, b, d, ts, tstz, tm, iv, u, j, jb, by, ai, at, e, ae, tx, vc, dom';

/** Creates the enum, the domain and table `t` with four rows in the current schema. */
export const TYPES_SQL = `
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
  `;

export function typesSource(url: string, extra: { copy?: boolean; reader?: 'copy' | 'cursor' } = {}) {
  return postgresSource({ connectionString: url, sql: `SELECT ${COLUMNS} FROM t ORDER BY id`, ...extra });
}

// What each cell must read as in the CSV file (UTC), per row; null means an empty cell.
export const CSV_ROWS: (string | null)[][] = [
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
