/**
 * Objects in cells that JSON.stringify alone would write wrong (docs/formats.md, "Values"):
 * a Decimal's or a Luxon date's `toJSON` string as quoted JSON text, a Map or a Set as `{}`,
 * a typed array as an object of indices; and XLSX values no reader holds as numbers. Read
 * back with csv-parse, JSON.parse, SheetJS and openpyxl.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { ExportOptions } from '../../src/pipeline.js';
import { exportRows } from '../../src/pipeline.js';
import type { Row } from '../../src/types.js';
import { collect, OPENPYXL, readWithOpenpyxl, readWithSheetJs, saved } from './xlsx-read.js';

/** Stands for Decimal.js / Prisma's Decimal: its JSON is the digits as a string. */
class Decimal {
  constructor(private readonly digits: string) {}
  toJSON(): string {
    return this.digits;
  }
}

const ROW = {
  amount: new Decimal('12.30'),
  note: new String('boxed'),
  tags: new Set(['a', 'b']),
  attributes: new Map<string, unknown>([
    ['size', 2],
    ['big', 2n ** 60n],
  ]),
  byId: new Map([[7, 'seven']]),
  samples: new Float64Array([1.5, -2]),
  raw: new Uint16Array([1, 65535]).buffer,
  nested: { tags: new Set([1]), when: new Decimal('2024-01-02') },
};
const COLUMNS: ExportOptions<string>['columns'] = [
  { key: 'amount', type: 'decimal' },
  'note',
  'tags',
  'attributes',
  'byId',
  'samples',
  'raw',
  'nested',
];

/** What every format holds for ROW (CSV as text, JSON as values). */
const JSON_VALUES = {
  amount: '12.30',
  note: 'boxed',
  tags: ['a', 'b'],
  attributes: { size: 2, big: '1152921504606846976' },
  byId: [[7, 'seven']],
  samples: [1.5, -2],
  raw: 'AQD//w==',
  nested: { tags: [1], when: '2024-01-02' },
};
const TEXTS = [
  '12.30',
  'boxed',
  '["a","b"]',
  '{"size":2,"big":"1152921504606846976"}',
  '[[7,"seven"]]',
  '[1.5,-2]',
  'AQD//w==',
  '{"tags":[1],"when":"2024-01-02"}',
];

async function exported(format: string, rows: Row[]): Promise<Buffer> {
  return collect(exportRows(rows, { format, columns: COLUMNS }));
}

describe('objects in cells', () => {
  it('CSV writes what each object stands for, nothing lost', async () => {
    const records = parse(await exported('csv', [ROW])) as string[][];
    expect(records[1]).toEqual(TEXTS);
  });

  it('CSV writes a negative Decimal or boxed number in a numeric column bare, as the number it stands for', async () => {
    const negative = { a: new Decimal('-12.30'), b: new Number(-5), c: Object(-5n), d: new Decimal('+1e-7') };
    const columns = (['a', 'b', 'c', 'd'] as const).map((key) => ({ key, type: 'decimal' as const }));
    const csv = await collect(exportRows([negative], { format: 'csv', columns }));
    expect((parse(csv) as string[][])[1]).toEqual(['-12.30', '-5', '-5', '+1e-7']);
    const german = await collect(exportRows([negative], { format: 'csv', columns, locale: 'de-DE' }));
    expect((parse(german, { delimiter: ';' }) as string[][])[1]).toEqual(['-12,30', '-5', '-5', '+1e-7']);
    // In a text column the same value is text, and escaped as text is.
    const text = await collect(exportRows([negative], { format: 'csv', columns: ['a'] }));
    expect((parse(text) as string[][])[1]).toEqual(["'-12.30"]);
  });

  it('NDJSON holds the same values', async () => {
    const line = (await exported('ndjson', [ROW])).toString().trim();
    expect(JSON.parse(line)).toEqual(JSON_VALUES);
  });

  it('XLSX holds a Decimal as a number and the rest as their text (SheetJS, openpyxl)', async () => {
    const bytes = await exported('xlsx', [ROW]);
    const sheet = readWithSheetJs(bytes).Sheets.Sheet1!;
    expect(sheet.A2).toMatchObject({ t: 'n', v: 12.3 });
    const letters = 'BCDEFGH';
    for (const [i, text] of TEXTS.slice(1).entries()) {
      expect(sheet[`${letters[i]}2`]?.v, text).toBe(text);
    }
    if (OPENPYXL) expect(readWithOpenpyxl(saved(bytes, 'objects'))[1]).toEqual([12.3, ...TEXTS.slice(1)]);
  });

  it('XLSX keeps bigints past the largest double as exact text, and text of no characters as no cell', async () => {
    const huge = 2n * 10n ** 308n;
    const bytes = await collect(
      exportRows([{ a: huge, b: -(10n ** 400n), c: 1.5e308, d: '\uFFFE\uD800', e: 'after' }], {
        format: 'xlsx',
        columns: [{ key: 'a', type: 'integer' }, 'b', 'c', 'd', 'e'],
      }),
    );
    const sheet = readWithSheetJs(bytes).Sheets.Sheet1!;
    expect(sheet.A2).toMatchObject({ t: 's', v: huge.toString() });
    expect(sheet.B2).toMatchObject({ t: 's', v: (-(10n ** 400n)).toString() });
    // An integer past 15 digits, outside a `number` column: its exact digits as text.
    expect(sheet.C2).toMatchObject({ t: 's', v: BigInt(1.5e308).toString() });
    expect(sheet.D2).toBeUndefined();
    expect(sheet.E2).toMatchObject({ v: 'after' });
    if (OPENPYXL) {
      const [, row] = readWithOpenpyxl(saved(bytes, 'ranges'));
      const digits = BigInt(1.5e308).toString();
      expect(row).toEqual([huge.toString(), (-(10n ** 400n)).toString(), digits, null, 'after']);
    }
  });
});
