/**
 * Inline rows are JSON, which has no date type: in a column the request declares `datetime`,
 * ISO 8601 text with its offset is the instant it names (docs/api.md). Read back with csv-parse,
 * JSON.parse, SheetJS and openpyxl.
 */
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetRegistry } from '../../src/datasets/registry.js';
import { jsonInstant } from '../../src/exports/json-datetimes.js';
import { bearerTokens } from '../../src/http/auth.js';
import { buildServer } from '../../src/http/server.js';
import { OPENPYXL, readWithOpenpyxl, readWithSheetJs, saved } from './xlsx-read.js';

const TOKEN = 'inline-dates-token-0123456789';
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  app = await buildServer({
    datasets: new DatasetRegistry([]),
    authenticate: bearerTokens(new Map([[TOKEN, { id: 'ann' }]])),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await app?.close();
});

async function exported(format: string, extra: Record<string, unknown> = {}): Promise<Buffer> {
  const response = await fetch(`${base}/v1/exports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      format,
      timezone: 'Europe/Paris',
      columns: [{ key: 'at', type: 'datetime' }, 'label'],
      rows: [
        { at: '2024-03-31T00:59:59Z', label: 'before the DST gap' },
        { at: '2024-03-31T03:30:00+02:00', label: 'after it, with an offset' },
        { at: '2024-03-31T02:30:00', label: 'no offset: text' },
        { at: '2024-02-30T00:00:00Z', label: 'no such day: text' },
        { at: null, label: 'null' },
      ],
      ...extra,
    }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

describe('inline rows: ISO 8601 instants in a declared datetime column', () => {
  it('CSV and NDJSON write them in the export time zone; other text stays as sent', async () => {
    const csv = parse(await exported('csv'), { columns: true }) as { at: string }[];
    const expected = [
      '2024-03-31T01:59:59+01:00',
      '2024-03-31T03:30:00+02:00',
      '2024-03-31T02:30:00',
      '2024-02-30T00:00:00Z',
      '',
    ];
    expect(csv.map((r) => r.at)).toEqual(expected);
    const lines = (await exported('ndjson')).toString().trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { at: string | null }).at)).toEqual([
      ...expected.slice(0, 4),
      null,
    ]);
  });

  it('XLSX holds them as date cells (SheetJS, openpyxl), the rest as text', async () => {
    const bytes = await exported('xlsx');
    const sheet = readWithSheetJs(bytes).Sheets.Sheet1!;
    expect(sheet.A2).toMatchObject({ t: 'n', z: expect.stringContaining('yy') });
    expect(sheet.A4).toMatchObject({ t: 's', v: '2024-03-31T02:30:00' });
    if (OPENPYXL) {
      const rows = readWithOpenpyxl(saved(bytes, 'inline-datetimes'));
      // openpyxl reads a date cell as a naive datetime: the wall time in Paris.
      expect(rows.slice(1, 4).map((r) => r[0])).toEqual([
        '2024-03-31 01:59:59',
        '2024-03-31 03:30:00',
        '2024-03-31T02:30:00',
      ]);
    }
  });

  it('leaves columns not declared datetime, and rows without declared columns, as text', async () => {
    const untyped = parse(await exported('csv', { columns: ['at', 'label'] }), { columns: true }) as {
      at: string;
    }[];
    expect(untyped[0]?.at).toBe('2024-03-31T00:59:59Z');
  });
});

describe('jsonInstant', () => {
  it('reads ISO 8601 with Z or an offset, milliseconds included, and refuses the rest', () => {
    expect(jsonInstant('2024-03-31T00:59:59.123Z')?.toISOString()).toBe('2024-03-31T00:59:59.123Z');
    expect(jsonInstant('2024-02-29T23:00-01:00')?.toISOString()).toBe('2024-03-01T00:00:00.000Z');
    for (const text of [
      '2024-03-31T00:59:59.123456Z', // microseconds stay text: a Date would cut them
      '2024-03-31T00:59:59',
      '2024-03-31',
      '2023-02-29T00:00:00Z',
      '2024-03-31 00:00:00Z',
      'x',
    ]) {
      expect(jsonInstant(text), text).toBeUndefined();
    }
  });
});
