/**
 * Hostile input, as a table: each case is a request and what the server must answer. Most
 * must be refused with a 4xx problem and a documented code; a few are legal input that is
 * merely nasty (injection text in a free-text parameter, odd file names, lone surrogates):
 * those must be answered safely, and their `check` says what safe means.
 *
 * The server (test/integration/hostile-input.test.ts) offers the `items` dataset: SQLite,
 * params `name` (free text), `country` (DE or FR), `since` (a date), `n` (1 to 1000).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parse } from 'csv-parse/sync';
import { expect } from 'vitest';

/** A table beside the dataset's that no export may read or change. */
export const SECRET_TABLE = 'secrets';

export interface HostileAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  problem: Record<string, unknown> | undefined;
}

export interface HostileRequest {
  method?: string;
  path?: string;
  token?: string;
  headers?: Record<string, string>;
  /** Sent as is: a string is not JSON-encoded again. */
  body?: string | Buffer;
}

export interface HostileCase {
  name: string;
  request(context: { storedId: string }): HostileRequest;
  expect: { code: string } | { status: number; check?: (answer: HostileAnswer) => void };
}

const json = (value: unknown) => JSON.stringify(value);
const exportOf = (fields: Record<string, unknown>): HostileRequest => ({ body: json(fields) });
const items = (params: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  exportOf({ dataset: 'items', format: 'csv', params, ...extra });
const rows = (value: unknown[], extra: Record<string, unknown> = {}) =>
  exportOf({ rows: value, format: 'csv', ...extra });

/** The Content-Disposition of a file answer: one line, a plain name, no path, no controls. */
function safeDisposition(answer: HostileAnswer): string {
  const disposition = String(answer.headers['content-disposition'] ?? '');
  expect(disposition).toMatch(
    /^attachment; filename="[^"\\/\r\n]*"; filename\*=UTF-8''[A-Za-z0-9%._~!'()*-]+$/,
  );
  const name = decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(disposition)![1]!);
  // No separator, control or bidi character, no leading dot: nothing a saved file could escape with.
  expect(name).not.toMatch(/[/\\\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]|^\./);
  return name;
}

function csvRows(answer: HostileAnswer): Record<string, string>[] {
  return parse(answer.body, { columns: true, bom: true }) as Record<string, string>[];
}

const NESTED_DEPTH = 100_000;

export const HOSTILE_CASES: HostileCase[] = [
  // Malformed JSON and bodies
  {
    name: 'truncated JSON',
    request: () => ({ body: '{"dataset":"items","format":' }),
    expect: { code: 'invalid_json' },
  },
  {
    name: 'trailing garbage',
    request: () => ({ body: '{"format":"csv"} x' }),
    expect: { code: 'invalid_json' },
  },
  {
    name: 'NaN literal',
    request: () => ({ body: '{"rows":[{"a":NaN}],"format":"csv"}' }),
    expect: { code: 'invalid_json' },
  },
  {
    name: 'Infinity literal',
    request: () => ({ body: '{"rows":[{"a":Infinity}],"format":"csv"}' }),
    expect: { code: 'invalid_json' },
  },
  { name: 'empty body', request: () => ({ body: '' }), expect: { code: 'invalid_json' } },
  { name: 'an array, not an object', request: () => ({ body: '[]' }), expect: { code: 'invalid_request' } },
  { name: 'null body', request: () => ({ body: 'null' }), expect: { code: 'invalid_request' } },
  {
    name: 'not JSON at all (text/plain)',
    request: () => ({ body: 'dataset=items', headers: { 'content-type': 'text/plain' } }),
    expect: { code: 'unsupported_media_type' },
  },
  {
    name: 'a body past TAKEOUT_BODY_LIMIT (11 MiB)',
    request: () => ({ body: `{"format":"csv","rows":[{"a":"${'x'.repeat(11 * 1024 * 1024)}"}]}` }),
    expect: { code: 'body_too_large' },
  },
  {
    name: 'invalid UTF-8 bytes',
    request: () => ({
      body: Buffer.concat([
        Buffer.from('{"format":"csv","dataset":"'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}'),
      ]),
    }),
    expect: { code: 'unknown_dataset' },
  },
  // Wrong types
  {
    name: 'format is a number',
    request: () => exportOf({ dataset: 'items', format: 5 }),
    expect: { code: 'invalid_request' },
  },
  {
    name: 'dataset is an array',
    request: () => exportOf({ dataset: ['items'], format: 'csv' }),
    expect: { code: 'invalid_request' },
  },
  {
    name: 'params is a string',
    request: () => exportOf({ dataset: 'items', format: 'csv', params: 'n=1' }),
    expect: { code: 'invalid_params' },
  },
  {
    name: 'rows is an object',
    request: () => exportOf({ rows: { a: 1 }, format: 'csv' }),
    expect: { code: 'invalid_rows' },
  },
  { name: 'a row is a string', request: () => rows(['a,b']), expect: { code: 'invalid_rows' } },
  {
    name: 'columns is a string',
    request: () => rows([{ a: 1 }], { columns: 'a' }),
    expect: { code: 'invalid_columns' },
  },
  {
    name: 'filename is a number',
    request: () => items({}, { filename: 7 }),
    expect: { code: 'invalid_request' },
  },
  { name: 'integer param as text', request: () => items({ n: 'ten' }), expect: { code: 'invalid_params' } },
  {
    name: 'integer param as a fraction',
    request: () => items({ n: 1.5 }),
    expect: { code: 'invalid_params' },
  },
  {
    name: 'integer param 1e309 (Infinity)',
    request: () => ({ body: '{"dataset":"items","format":"csv","params":{"n":1e309}}' }),
    expect: { code: 'invalid_params' },
  },
  { name: 'integer param "NaN"', request: () => items({ n: 'NaN' }), expect: { code: 'invalid_params' } },
  {
    name: 'integer param "Infinity"',
    request: () => items({ n: 'Infinity' }),
    expect: { code: 'invalid_params' },
  },
  {
    name: 'integer param beyond 2^53 (JSON.parse would round it to a neighbour)',
    request: () => ({ body: '{"dataset":"items","format":"csv","params":{"n":9007199254740993}}' }),
    expect: { code: 'invalid_params' },
  },
  {
    name: 'integer param out of range',
    request: () => items({ n: 10_000_000 }),
    expect: { code: 'invalid_params' },
  },
  {
    name: 'param is an object',
    request: () => items({ name: { $ne: null } }),
    expect: { code: 'invalid_params' },
  },
  // Unknown things
  {
    name: 'unknown dataset',
    request: () => exportOf({ dataset: 'nope', format: 'csv' }),
    expect: { code: 'unknown_dataset' },
  },
  {
    name: 'dataset name with traversal',
    request: () => exportOf({ dataset: '../items', format: 'csv' }),
    expect: { code: 'unknown_dataset' },
  },
  {
    name: 'unknown format',
    request: () => items({}, { format: 'pdf' }),
    expect: { code: 'unknown_format' },
  },
  { name: 'unknown param', request: () => items({ zzz: 1 }), expect: { code: 'invalid_params' } },
  // Names of a megabyte, looked up for the name likely meant (no edit-distance table that size).
  {
    name: 'unknown param with a 1 MB name',
    request: () => items({ ['p'.repeat(1_000_000)]: 1 }),
    expect: { code: 'invalid_params' },
  },
  {
    name: 'dataset with a 1 MB name (names have at most 64 characters)',
    request: () => exportOf({ dataset: 'd'.repeat(1_000_000), format: 'csv' }),
    expect: { code: 'invalid_request' },
  },
  {
    name: 'unknown column with a 1 MB name',
    request: () => items({}, { columns: ['c'.repeat(1_000_000)] }),
    expect: { code: 'invalid_columns' },
  },
  {
    name: 'unknown format option',
    request: () => items({}, { options: { evil: true } }),
    expect: { code: 'invalid_option' },
  },
  {
    name: 'unknown top-level member',
    request: () => items({}, { sql: 'SELECT 1' }),
    expect: { code: 'invalid_request' },
  },
  {
    name: 'unknown time zone',
    request: () => items({}, { timezone: 'Mars/Olympus_Mons' }),
    expect: { code: 'invalid_timezone' },
  },
  {
    name: 'unknown column',
    request: () => items({}, { columns: ['id', 'secret'] }),
    expect: { code: 'invalid_columns' },
  },
  // SQL injection
  {
    name: 'SQL injection in an enum param',
    request: () => items({ country: "DE' OR '1'='1" }),
    expect: { code: 'invalid_params' },
  },
  {
    name: 'SQL injection in an integer param',
    request: () => items({ n: '1; DROP TABLE items' }),
    expect: { code: 'invalid_params' },
  },
  {
    name: 'SQL injection in a date param',
    request: () => items({ since: "2024-01-01' OR 1=1 --" }),
    expect: { code: 'invalid_params' },
  },
  {
    // Free text is legal: bound as a value, it matches no row and runs nothing.
    name: 'SQL injection in a free-text param (bound, matches nothing)',
    request: () =>
      items({
        name: `x' UNION SELECT id, secret, secret, secret FROM ${SECRET_TABLE}; DROP TABLE items; --`,
      }),
    expect: { status: 200, check: (answer) => expect(csvRows(answer)).toEqual([]) },
  },
  // Dates out of range
  {
    name: 'date with a 5-digit year',
    request: () => items({ since: '99999-01-01' }),
    expect: { code: 'invalid_params' },
  },
  {
    name: 'date that does not exist',
    request: () => items({ since: '2024-02-30' }),
    expect: { code: 'invalid_params' },
  },
  {
    name: 'date past the param max',
    request: () => items({ since: '2200-01-01' }),
    expect: { code: 'invalid_params' },
  },
  {
    name: 'date before the param min',
    request: () => items({ since: '0001-01-01' }),
    expect: { code: 'invalid_params' },
  },
  // Sizes and shapes
  {
    name: '20,000 columns (more than any format allows)',
    request: () => rows([{ a: 1 }], { columns: Array.from({ length: 20_000 }, (_, i) => `c${i}`) }),
    expect: { code: 'invalid_columns' },
  },
  {
    name: "20,000 keys in inline rows without columns (past Excel's 16,384)",
    request: () => rows([Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`c${i}`, i]))]),
    expect: { code: 'invalid_columns' },
  },
  {
    name: '10,000 columns naming keys the dataset lacks',
    request: () => items({}, { columns: Array.from({ length: 10_000 }, (_, i) => `c${i}`) }),
    expect: { code: 'invalid_columns' },
  },
  {
    name: '10,000 columns of inline rows (legal: written whole)',
    request: () => rows([Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`c${i}`, i]))]),
    expect: {
      status: 200,
      check: (answer) => {
        const [row] = csvRows(answer);
        expect(Object.keys(row!)).toHaveLength(10_000);
        expect(row!.c9999).toBe('9999');
      },
    },
  },
  {
    name: `a value nested ${NESTED_DEPTH} deep`,
    request: () => ({
      body: `{"format":"json","rows":[{"a":${'['.repeat(NESTED_DEPTH)}${']'.repeat(NESTED_DEPTH)}}]}`,
    }),
    expect: { code: 'invalid_rows' },
  },
  {
    name: `a value nested ${NESTED_DEPTH} deep in rows that become a job`,
    request: () => ({
      body: `{"format":"json","rows":[{"a":${'['.repeat(NESTED_DEPTH)}${']'.repeat(NESTED_DEPTH)}}]}`,
      headers: { prefer: 'respond-async' },
    }),
    expect: { code: 'invalid_rows' },
  },
  {
    name: `a param nested ${NESTED_DEPTH} deep`,
    request: () => ({
      body: `{"dataset":"items","format":"csv","params":{"n":${'['.repeat(NESTED_DEPTH)}${']'.repeat(NESTED_DEPTH)}}}`,
    }),
    expect: { code: 'invalid_params' },
  },
  {
    // Legal: the columns are every key seen; a row lacking one gets an empty cell.
    name: 'rows with inconsistent keys',
    request: () => rows([{ a: 1 }, { b: 2 }, { a: 3, c: 4 }]),
    expect: {
      status: 200,
      check: (answer) =>
        expect(csvRows(answer)).toEqual([
          { a: '1', b: '', c: '' },
          { a: '', b: '2', c: '' },
          { a: '3', b: '', c: '4' },
        ]),
    },
  },

  {
    name: 'object and array rows mixed',
    request: () => rows([{ a: 1 }, [2]]),
    expect: { code: 'invalid_rows' },
  },
  { name: 'array rows without columns', request: () => rows([[1, 2]]), expect: { code: 'invalid_columns' } },
  {
    name: 'integers beyond 2^53 in rows (kept exact, never rounded), and digits inside strings left alone',
    request: () => ({
      body: '{"format":"csv","rows":[{"id":12345678901234567891,"neg":-98765432109876543210,"safe":9007199254740991,"text":"12345678901234567891 \\" 99999999999999999999","doc":{"n":[18446744073709551615]}}]}',
    }),
    expect: {
      status: 200,
      check: (answer) => {
        expect(csvRows(answer)[0]).toEqual({
          id: '12345678901234567891',
          neg: '-98765432109876543210',
          safe: '9007199254740991',
          text: '12345678901234567891 " 99999999999999999999',
          doc: '{"n":["18446744073709551615"]}',
        });
      },
    },
  },
  {
    name: 'a big integer next to __proto__ (the exact parser keeps the prototype guard)',
    request: () => ({
      body: '{"format":"csv","rows":[{"id":12345678901234567891,"__proto__":{"polluted":1}}]}',
    }),
    expect: { code: 'invalid_json' },
  },
  {
    name: 'a big integer where a key should be (still not JSON)',
    request: () => ({ body: '{"format":"csv","rows":[{12345678901234567891:1}]}' }),
    expect: { code: 'invalid_json' },
  },
  {
    name: 'a big integer with a leading zero (still not JSON)',
    request: () => ({ body: '{"format":"csv","rows":[{"id":012345678901234567891}]}' }),
    expect: { code: 'invalid_json' },
  },
  // The JSON parser refuses prototype keys outright (Fastify's onProtoPoisoning: error).
  {
    name: '__proto__ in params',
    request: () => ({ body: '{"dataset":"items","format":"csv","params":{"__proto__":{"n":1}}}' }),
    expect: { code: 'invalid_json' },
  },
  {
    name: '__proto__ as a row key',
    request: () => ({ body: '{"format":"csv","rows":[{"__proto__":{"polluted":1},"a":1}]}' }),
    expect: { code: 'invalid_json' },
  },
  {
    name: 'constructor.prototype as a row key',
    request: () => ({ body: '{"format":"csv","rows":[{"constructor":{"prototype":{"polluted":1}}}]}' }),
    expect: { code: 'invalid_json' },
  },
  // Text that is legal but nasty
  {
    name: 'lone UTF-16 surrogates in values (written as U+FFFD)',
    request: () => ({ body: '{"format":"csv","rows":[{"a":"x\\ud800y","b":"\\udfff"}]}' }),
    expect: {
      status: 200,
      check: (answer) => {
        expect(answer.body.toString('utf8')).not.toMatch(/[\ud800-\udfff]/);
        expect(csvRows(answer)[0]).toEqual({ a: 'x\ufffdy', b: '\ufffd' });
      },
    },
  },
  {
    name: 'CRLF and quotes in the filename (header injection)',
    request: () => items({}, { filename: 'report"\r\nSet-Cookie: pwned=1\r\nX: "' }),
    expect: {
      status: 200,
      check: (answer) => {
        expect(answer.headers['set-cookie']).toBeUndefined();
        expect(safeDisposition(answer)).toMatch(/\.csv$/);
      },
    },
  },
  {
    name: 'path traversal in the filename',
    request: () => items({}, { filename: '../../../../etc/passwd' }),
    expect: { status: 200, check: (answer) => expect(safeDisposition(answer)).toMatch(/passwd\.csv$/) },
  },
  {
    name: 'slashes and backslashes in the filename',
    request: () => items({}, { filename: 'a/b\\c:d' }),
    expect: { status: 200, check: (answer) => void safeDisposition(answer) },
  },
  {
    name: 'bidi override in the filename (invoice<RLO>fdp.exe)',
    request: () => items({}, { filename: 'invoice\u202Efdp.exe' }),
    expect: { status: 200, check: (answer) => expect(safeDisposition(answer)).toMatch(/\.csv$/) },
  },
  {
    name: 'filename of 10,000 characters',
    request: () => items({}, { filename: 'x'.repeat(10_000) }),
    expect: { code: 'invalid_request' },
  },
  // Job routes
  {
    name: 'export id with traversal',
    request: () => ({ method: 'GET', path: '/v1/exports/..%2F..%2Fetc%2Fpasswd' }),
    expect: { code: 'export_not_found' },
  },
  {
    name: 'export id of 10,000 characters',
    request: () => ({ method: 'GET', path: `/v1/exports/exp_${'a'.repeat(10_000)}` }),
    expect: { code: 'not_found' },
  },
  {
    name: 'a malformed %-escape in the path',
    request: () => ({ method: 'GET', path: '/v1/exports/%E0%A4%A' }),
    expect: { code: 'invalid_request' },
  },
  {
    name: "someone else's export",
    request: ({ storedId }) => ({
      method: 'GET',
      path: `/v1/exports/${storedId}/download`,
      token: 'other-token-0123456789ab',
    }),
    expect: { code: 'export_not_found' },
  },
  {
    name: "deleting someone else's export",
    request: ({ storedId }) => ({
      method: 'DELETE',
      path: `/v1/exports/${storedId}`,
      token: 'other-token-0123456789ab',
    }),
    expect: { code: 'export_not_found' },
  },
  {
    name: "canceling someone else's export",
    request: ({ storedId }) => ({
      method: 'POST',
      path: `/v1/exports/${storedId}/cancel`,
      token: 'other-token-0123456789ab',
    }),
    expect: { code: 'export_not_found' },
  },
  {
    name: 'list with a negative limit',
    request: () => ({ method: 'GET', path: '/v1/exports?limit=-1' }),
    expect: { code: 'invalid_request' },
  },
  {
    name: 'list with a forged cursor',
    request: () => ({ method: 'GET', path: '/v1/exports?cursor=%27%20OR%201=1%20--' }),
    expect: { code: 'invalid_request' },
  },
  {
    name: 'Idempotency-Key of 1,000 characters',
    request: () => ({
      ...items({}),
      headers: { prefer: 'respond-async', 'idempotency-key': 'k'.repeat(1000) },
    }),
    expect: { code: 'invalid_request' },
  },
  {
    name: 'a NUL character in a background export (PostgreSQL jsonb cannot keep it)',
    request: () => ({
      ...items({}, { filename: 'a\u0000b', columns: [{ key: 'name', header: 'x\u0000y' }] }),
      headers: { prefer: 'respond-async' },
    }),
    expect: { code: 'invalid_request' },
  },
  {
    name: 'an unpaired surrogate in a background export (PostgreSQL jsonb cannot keep it)',
    request: () => ({ ...items({}, { filename: 'report \ud800' }), headers: { prefer: 'respond-async' } }),
    expect: { code: 'invalid_request' },
  },
  { name: 'no token', request: () => ({ ...items({}), token: '' }), expect: { code: 'unauthorized' } },
];
