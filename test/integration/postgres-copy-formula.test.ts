/**
 * The formula rule on the PostgreSQL COPY fast path is the writers' rule: the same text gets
 * the same `'` whether COPY or the row-by-row CSV writer produces the file.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { HIDDEN_FORMULAS, PLAIN_TEXT } from '../support/formula-cases.js';
import { createSchema, readAll, type TestSchema } from './postgres-helpers.js';

// PostgreSQL text holds no NUL.
const hidden = HIDDEN_FORMULAS.filter((v) => !v.includes('\u0000'));
const values = [...hidden, ...PLAIN_TEXT];

let db: TestSchema;

beforeAll(async () => {
  db = await createSchema('takeout_pgformula');
  await db.admin.query('CREATE TABLE t (id int, v text, vc varchar(200))');
  for (const [i, v] of values.entries()) await db.admin.query('INSERT INTO t VALUES ($1, $2, $3)', [i, v, v]);
});

afterAll(async () => {
  await db.drop();
});

async function csvOf(copy: boolean): Promise<string[][]> {
  const source = postgresSource({ connectionString: db.url, sql: 'SELECT v, vc FROM t ORDER BY id', copy });
  return parse(await readAll(exportSource(source, { format: 'csv' }))) as string[][];
}

describe('formula rule on the COPY fast path', () => {
  it('writes other string types as they show, NULL apart from empty, as the CSV writer does', async () => {
    const sql =
      "SELECT ip::inet AS ip, code::char(4) AS code, NULL::inet AS none, ''::char(2) AS blank, " +
      // A composite whose fields are all NULL is not NULL: it shows as `(,)`.
      'ROW(NULL::int, NULL::text) AS pair, NULL::int4range AS range ' +
      "FROM (VALUES ('10.0.0.1', '=1'), ('192.168.0.1/24', 'ab')) AS x(ip, code)";
    const read = async (copy: boolean) =>
      (
        await readAll(
          exportSource(postgresSource({ connectionString: db.url, sql, copy }), { format: 'csv' }),
        )
      )
        .toString()
        .split('\r\n');
    const viaWriter = await read(false);
    // inet without its /32, char(n) with its padding (and its formula escaped), NULL empty.
    expect(viaWriter.slice(1, 3)).toEqual(['10.0.0.1,\'=1  ,,  ,"(,)",', '192.168.0.1/24,ab  ,,  ,"(,)",']);
    expect(await read(true)).toEqual(viaWriter);
  });

  it('escapes bytes whose base64 starts with + and dates at -infinity, as the writer does', async () => {
    const sql =
      'SELECT b, d, ts, tz FROM (VALUES ' +
      "(1, '\\xfbff'::bytea, '-infinity'::date, '-infinity'::timestamp, '-infinity'::timestamptz), " +
      "(2, '\\xf8'::bytea, 'infinity'::date, 'infinity'::timestamp, 'infinity'::timestamptz), " +
      "(3, '\\xf7'::bytea, '2024-02-29'::date, '2024-02-29 10:11:12'::timestamp, '2024-02-29 10:11:12+00'::timestamptz), " +
      "(4, ''::bytea, NULL::date, NULL::timestamp, NULL::timestamptz), " +
      '(5, NULL::bytea, NULL, NULL, NULL)) AS x(id, b, d, ts, tz) ORDER BY id';
    const rows = async (copy: boolean, escapeFormulas = true) =>
      parse(
        await readAll(
          exportSource(postgresSource({ connectionString: db.url, sql, copy }), {
            format: 'csv',
            escapeFormulas,
          }),
        ),
      ) as string[][];
    const viaCopy = await rows(true);
    expect(viaCopy.map((r) => r[0])).toEqual(['b', "'+/8=", "'+A==", '9w==', '', '']);
    expect(viaCopy.map((r) => r.slice(1).join(' | '))[1]).toBe("'-infinity | '-infinity | '-infinity");
    expect(viaCopy[2]!.slice(1)).toEqual(['infinity', 'infinity', 'infinity']);
    // The writer's values, where the two paths spell values alike (bytes, and the infinities).
    const viaWriter = await rows(false);
    expect(viaCopy.map((r) => r[0])).toEqual(viaWriter.map((r) => r[0]));
    expect(viaCopy.slice(1, 3)).toEqual(viaWriter.slice(1, 3));
    // escapeFormulas: false leaves both as they are.
    const plain = await rows(true, false);
    expect(plain[1]).toEqual(['+/8=', '-infinity', '-infinity', '-infinity']);
  });

  it('escapes exactly what the CSV writer escapes', async () => {
    const expected = values.map((v, i) => {
      const text = i < hidden.length ? `'${v}` : v;
      return [text, text];
    });
    const viaCopy = await csvOf(true);
    const viaWriter = await csvOf(false);
    expect(viaCopy.slice(1)).toEqual(expected);
    expect(viaWriter.slice(1)).toEqual(expected);
  });
});
