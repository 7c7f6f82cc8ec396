/**
 * An XLSX cell has no offset: its date-time is the wall time in the export's zone, exact to the
 * second also where the zone's offset had seconds (local mean time: Monrovia -00:44:30 until
 * 1972, Paris +00:09:21 until 1911, Kathmandu +05:41:16 until 1920). Read back with SheetJS;
 * the expected wall times come from Intl, not from Takeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportRows, exportSource } from '../../src/pipeline.js';
import { postgresSource } from '../../src/sources/postgres.js';
import { createSchema, type TestSchema } from './postgres-helpers.js';
import { collect, readWithSheetJs, serialToMs } from './xlsx-read.js';

/** The wall time of `ms` in `zone` (to the second) as UTC milliseconds, by Intl. */
function wallMs(ms: number, zone: string): number {
  const parts: Record<string, number> = {};
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  for (const p of format.formatToParts(ms)) parts[p.type] = Number(p.value);
  const { year, month, day, hour, minute, second } = parts as Record<string, number>;
  return Date.UTC(year!, month! - 1, day!, hour, minute, second) + (((ms % 1000) + 1000) % 1000);
}

/** Serial numbers of a column below the header, as instants read as UTC wall times. */
function cellsMs(bytes: Buffer, column = 'A'): number[] {
  const sheet = readWithSheetJs(bytes).Sheets.Sheet1!;
  const out: number[] = [];
  for (let row = 2; sheet[`${column}${row}`]; row++)
    out.push(serialToMs(sheet[`${column}${row}`]!.v as number));
  return out;
}

const CASES: [string, string[]][] = [
  ['Africa/Monrovia', ['1970-06-01T12:00:00Z', '1971-12-31T23:59:59.250Z', '2024-06-01T12:00:00Z']],
  ['Europe/Paris', ['1905-06-01T12:00:00Z', '1911-03-10T23:50:00Z', '2024-03-31T01:30:00Z']],
  ['Asia/Kathmandu', ['1911-06-01T12:00:00Z', '1986-01-01T00:00:00Z']],
];

describe('XLSX date-times in zones whose offset has seconds', () => {
  it('are the exact wall time (the ISO texts keep their minute-rounded offsets)', async () => {
    // The offsets really have seconds in this Node's zone data.
    expect(wallMs(Date.parse('1970-06-01T12:00:00Z'), 'Africa/Monrovia')).toBe(
      Date.parse('1970-06-01T11:15:30Z'),
    );
    for (const [timezone, instants] of CASES) {
      const rows = instants.map((at) => ({ at: new Date(at) }));
      const bytes = await collect(
        exportRows(rows, { format: 'xlsx', timezone, columns: [{ key: 'at', type: 'datetime' }] }),
      );
      expect(cellsMs(bytes), timezone).toEqual(instants.map((at) => wallMs(Date.parse(at), timezone)));
    }
  });
});

describe('XLSX date-times from PostgreSQL in such zones', () => {
  let db: TestSchema;
  beforeAll(async () => {
    db = await createSchema('takeout_pgxlsxoff');
  });
  afterAll(async () => {
    await db.drop();
  });

  for (const reader of ['copy', 'cursor'] as const) {
    it(`are the exact wall time (${reader} reader)`, async () => {
      const instants = ['1970-06-01T12:00:00Z', '1905-06-01T12:00:00.5Z'];
      const sql = `SELECT t::timestamptz AS at, t::timestamptz::timestamp AS ts FROM unnest(ARRAY['${instants.join("','")}']) AS x(t)`;
      for (const timezone of ['Africa/Monrovia', 'Europe/Paris']) {
        const source = postgresSource({ connectionString: db.url, sql, reader });
        const bytes = await collect(exportSource(source, { format: 'xlsx', timezone }));
        const expected = instants.map((at) => wallMs(Date.parse(at), timezone));
        expect(cellsMs(bytes), timezone).toEqual(expected);
        expect(cellsMs(bytes, 'B'), `${timezone} timestamp`).toEqual(expected); // UTC wall time: the same instant
      }
    });
  }
});
