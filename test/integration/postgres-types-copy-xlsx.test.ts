/**
 * The same typed table through the COPY fast path (the documented value text) and into XLSX
 * (read back with SheetJS, an independent reader).
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as XLSX from 'xlsx';
import { exportSource } from '../../src/pipeline.js';
import { createSchema, readAll, type TestSchema } from './postgres-helpers.js';
import { COLUMNS, CSV_ROWS, TYPES_SQL, typesSource } from './postgres-type-table.js';

let db: TestSchema;

beforeAll(async () => {
  db = await createSchema('takeout_pgtypes2');
  await db.admin.query(TYPES_SQL);
});

afterAll(async () => {
  await db.drop();
});

const source = (extra: { copy?: boolean } = {}) => typesSource(db.url, extra);

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
