import type ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { exportRows } from '../../src/pipeline.js';
import type { Column } from '../../src/types.js';
import {
  assertZipValid,
  collect,
  partText,
  readWithExcelJs,
  readWithSheetJs,
  saved,
  serialToMs,
} from './xlsx-read.js';

const columns: Column[] = [
  { key: 'id', type: 'integer' },
  { key: 'name', header: 'Name', type: 'string' },
  { key: 'amount', type: 'decimal', format: '#,##0.00' },
  { key: 'ratio', type: 'number', format: '0%' },
  { key: 'day', type: 'date' },
  { key: 'at', type: 'datetime' },
  { key: 'ok', type: 'boolean' },
  { key: 'meta', type: 'json' },
  { key: 'big', type: 'integer' },
];

const unicode = 'Zoë 👩‍💻 مرحبا 日本語';
const spaced = '  lead and trail  ';
const controls = 'tab\there\nnew line\r\ncr, bell \u0007, literal _x0041_ & <tag>';
const rows = [
  {
    id: 1,
    name: unicode,
    amount: '12345.67',
    ratio: 0.25,
    day: new Date(Date.UTC(2024, 1, 29, 18, 30)), // a calendar date: the UTC date counts, not the time
    at: new Date('2024-03-01T12:34:56.789Z'),
    ok: true,
    meta: { tags: ['a', 'b'], n: 1 },
    big: 9007199254740993n,
  },
  {
    id: 2,
    name: spaced,
    amount: '1234567890.123456789',
    ratio: null,
    day: null,
    at: new Date('1999-12-31T23:59:59Z'),
    ok: false,
    meta: null,
    big: 123n,
  },
  {
    id: 3,
    name: controls,
    amount: 12.5,
    ratio: 1.5,
    at: new Date('1900-02-01T06:00:00Z'),
    big: '12345678901234567890',
  },
  { id: 4, name: '=HYPERLINK("http://x.test","click")', amount: '-0.5', big: 2 ** 60 },
  { id: 5, name: 'a\uD800b\uFFFFc', amount: 'n/a', ratio: Number.NaN, at: new Date('1850-06-01T00:00:00Z') },
  { id: 6, name: 'x'.repeat(40_000), ratio: Number.POSITIVE_INFINITY, at: new Date(Number.NaN) },
];

async function exportBook(data: unknown[], options: Record<string, unknown> = {}): Promise<Buffer> {
  const bytes = await collect(exportRows(data as never, { format: 'xlsx', columns, ...options }));
  assertZipValid(saved(bytes));
  return bytes;
}

function valuesOf(sheet: ExcelJS.Worksheet, row: number): unknown[] {
  return (sheet.getRow(row).values as unknown[]).slice(1);
}

describe('xlsx values (read back by exceljs and SheetJS)', async () => {
  const bytes = await exportBook(rows, { sheetName: 'Orders' });
  const book = await readWithExcelJs(bytes);
  const sheet = book.getWorksheet('Orders')!;
  const sheetjs = readWithSheetJs(bytes);
  const cells = sheetjs.Sheets.Orders!;

  it('writes the header, then every row', () => {
    expect(valuesOf(sheet, 1)).toEqual(['id', 'Name', 'amount', 'ratio', 'day', 'at', 'ok', 'meta', 'big']);
    expect(sheet.rowCount).toBe(rows.length + 1);
    expect(cells['!ref']).toBe('A1:I7');
  });

  it('keeps numbers as numbers, and exact text where Excel would round', () => {
    expect(cells.A2).toMatchObject({ t: 'n', v: 1 });
    expect(cells.C2).toMatchObject({ t: 'n', v: 12345.67, z: '#,##0.00' });
    expect(cells.C3).toMatchObject({ t: 's', v: '1234567890.123456789' }); // 19 significant digits
    expect(cells.C4).toMatchObject({ t: 'n', v: 12.5 });
    expect(cells.C5).toMatchObject({ t: 'n', v: -0.5 });
    expect(cells.C6).toMatchObject({ t: 's', v: 'n/a' });
    expect(cells.D2).toMatchObject({ t: 'n', v: 0.25, z: '0%' });
    expect(cells.D3).toBeUndefined(); // null: an empty cell
    expect(cells.I2).toMatchObject({ t: 's', v: '9007199254740993' }); // bigint beyond 2^53
    expect(cells.I3).toMatchObject({ t: 'n', v: 123 });
    expect(cells.I4).toMatchObject({ t: 's', v: '12345678901234567890' });
    expect(cells.I5).toMatchObject({ t: 's', v: '1152921504606846976' }); // 2^60 as a JS number
    expect(cells.D6).toMatchObject({ t: 's', v: 'NaN' });
    expect(cells.D7).toMatchObject({ t: 's', v: 'Infinity' });
  });

  it('writes booleans as booleans and JSON as text', () => {
    expect(cells.G2).toMatchObject({ t: 'b', v: true });
    expect(cells.G3).toMatchObject({ t: 'b', v: false });
    expect(sheet.getCell('G2').value).toBe(true);
    expect(cells.H2).toMatchObject({ t: 's', v: '{"tags":["a","b"],"n":1}' });
  });

  it('writes dates and datetimes as date cells equal to the input', () => {
    expect(cells.E2?.t).toBe('n');
    expect(cells.E2?.z).toBe('yyyy-mm-dd');
    expect(serialToMs(cells.E2!.v as number)).toBe(Date.UTC(2024, 1, 29));
    expect(cells.F2?.z).toBe('yyyy-mm-dd hh:mm:ss');
    expect(serialToMs(cells.F2!.v as number)).toBe(Date.parse('2024-03-01T12:34:56.789Z'));
    expect(serialToMs(cells.F3!.v as number)).toBe(Date.parse('1999-12-31T23:59:59Z'));
    expect(sheet.getCell('F2').value).toEqual(new Date('2024-03-01T12:34:56.789Z'));
    expect(sheet.getCell('F3').value).toEqual(new Date('1999-12-31T23:59:59Z'));
    expect(sheet.getCell('E2').value).toEqual(new Date(Date.UTC(2024, 1, 29)));
  });

  it("keeps Excel's 1900 calendar: early 1900 dates shift by its leap-year bug, earlier ones stay text", () => {
    // 1900-02-01 is serial 32 in Excel; SheetJS (which models the bug) shows the same date.
    expect(cells.F4).toMatchObject({ t: 'n', v: 32.25, w: '1900-02-01 06:00:00' });
    expect(cells.F6).toMatchObject({ t: 's', v: '1850-06-01T00:00:00Z' });
    expect(cells.F7).toBeUndefined(); // an invalid Date: empty
  });

  it('keeps text exact: unicode, emoji, RTL, spaces, controls, markup, _x escapes', () => {
    expect(cells.B2).toMatchObject({ t: 's', v: unicode });
    expect(cells.B3).toMatchObject({ t: 's', v: spaced });
    expect(cells.B4).toMatchObject({ t: 's', v: controls });
    expect(sheet.getCell('B2').value).toBe(unicode);
    expect(sheet.getCell('B3').value).toBe(spaced);
    // exceljs does not decode Excel's _xHHHH_ escapes; SheetJS (like Excel) does, checked above.
  });

  it('drops characters XML cannot hold, and truncates text over 32,767 characters with a marker', () => {
    expect(cells.B6).toMatchObject({ t: 's', v: 'abc' });
    const long = cells.B7!.v as string;
    expect(long).toHaveLength(32_767);
    expect(long.endsWith('…[truncated]')).toBe(true);
    expect(long.startsWith('x'.repeat(32_000))).toBe(true);
  });

  it('never turns text into a formula: formula-looking text is quote-prefixed text', () => {
    expect(cells.B5).toMatchObject({ t: 's', v: '=HYPERLINK("http://x.test","click")' });
    expect(cells.B5?.f).toBeUndefined();
    expect(sheet.getCell('B5').value).toBe('=HYPERLINK("http://x.test","click")');
    expect(sheet.getCell('B5').type).toBe(3); // ValueType.String, not Formula (6)
    const xml = partText(saved(bytes), 'xl/styles.xml');
    expect(xml).toMatch(/<xf [^>]*quotePrefix="1"/);
  });

  it('looks right: bold header, frozen pane, autofilter, widths', () => {
    for (let c = 1; c <= columns.length; c++) expect(sheet.getRow(1).getCell(c).font?.bold).toBe(true);
    expect(sheet.getCell('A2').font?.bold).toBeFalsy();
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1, topLeftCell: 'A2' });
    expect(sheet.autoFilter).toBe('A1:I7');
    const widths = columns.map((_, i) => sheet.getColumn(i + 1).width ?? 0);
    for (const w of widths) expect(w).toBeGreaterThanOrEqual(6);
    expect(widths[1]).toBe(60); // the long name column hits the cap
    expect(widths[0]).toBeLessThan(widths[5]!); // id is narrower than a datetime
    expect(sheetjs.SheetNames).toEqual(['Orders']);
    const wb = partText(saved(bytes), 'xl/workbook.xml');
    expect(wb).toContain('<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">');
  });
});

describe('xlsx options', () => {
  it('shows datetimes in the export time zone, across DST', async () => {
    const data = [
      { at: new Date('2024-01-15T12:00:00Z') },
      { at: new Date('2024-07-01T12:00:00Z') },
      { at: new Date('2024-03-31T00:30:00Z') }, // Paris switches to summer time at 01:00 UTC
      { at: new Date('2024-03-31T01:30:00Z') },
    ];
    const bytes = await collect(
      exportRows(data, {
        format: 'xlsx',
        timezone: 'Europe/Paris',
        columns: [{ key: 'at', type: 'datetime' }],
      }),
    );
    const cells = readWithSheetJs(bytes).Sheets.Sheet1!;
    expect(['A2', 'A3', 'A4', 'A5'].map((a) => cells[a]?.w)).toEqual([
      '2024-01-15 13:00:00',
      '2024-07-01 14:00:00',
      '2024-03-31 01:30:00',
      '2024-03-31 03:30:00',
    ]);
    const sheet = (await readWithExcelJs(bytes)).worksheets[0]!;
    expect(sheet.getCell('A3').value).toEqual(new Date('2024-07-01T14:00:00Z')); // wall clock, read as UTC
  });

  it('fails with cell_too_long when longText is "error", naming the sheet row', async () => {
    // Row 6 is among the first rows (sampled for the column widths), row 150 after them; the
    // sheet row counts the header.
    for (const [index, header, sheetRow] of [
      [0, true, 2],
      [5, true, 7],
      [5, false, 6],
      [150, true, 152],
    ] as const) {
      const rows = Array.from({ length: 200 }, (_, i) => ({ t: i === index ? 'y'.repeat(32_768) : 'ok' }));
      const stream = exportRows(rows, { format: 'xlsx', longText: 'error', header });
      await expect(collect(stream), `row ${index}`).rejects.toMatchObject({
        code: 'cell_too_long',
        details: { column: 't', sheetRow, length: 32_768, limit: 32_767 },
      });
    }
  });

  it('rejects invalid options before writing anything', async () => {
    await expect(
      collect(exportRows([{ a: 1 }], { format: 'xlsx', compressionLevel: 11 })),
    ).rejects.toMatchObject({
      code: 'invalid_option',
    });
  });

  it('applies widths, sheet name rules, apostrophe escaping, no header, no filter, custom formats', async () => {
    const bytes = await collect(
      exportRows(
        [
          ['+1 555', 3, new Date(Date.UTC(2024, 0, 2))],
          ['@home', 4, new Date(Date.UTC(2024, 0, 3))],
        ],
        {
          format: 'xlsx',
          columns: [
            { key: 'phone', width: 33 },
            { key: 'n', type: 'integer' },
            { key: 'd', type: 'date' },
          ],
          header: false,
          widths: { n: 12 },
          formulaEscape: 'apostrophe',
          dateFormat: 'dd/mm/yyyy',
          sheetName: "Bob's [draft]: Q1/Q2 report for the whole year",
          compressionLevel: 9,
        },
      ),
    );
    assertZipValid(saved(bytes));
    const book = await readWithExcelJs(bytes);
    const sheet = book.worksheets[0]!;
    expect(sheet.name).toBe("Bob's _draft__ Q1_Q2 report for");
    expect(sheet.name.length).toBeLessThanOrEqual(31);
    expect(valuesOf(sheet, 1)).toEqual(["'+1 555", 3, new Date(Date.UTC(2024, 0, 2))]);
    expect(valuesOf(sheet, 2)[0]).toBe("'@home");
    expect(sheet.getColumn(1).width).toBe(33);
    expect(sheet.getColumn(2).width).toBe(12);
    expect(sheet.views[0]?.state).not.toBe('frozen');
    expect(sheet.autoFilter).toBeUndefined();
    expect(readWithSheetJs(bytes).Sheets[sheet.name]!.C1?.w).toBe('02/01/2024');
  });

  it('keeps integers past 15 digits exact as text in columns not typed number (SQLite expressions)', async () => {
    const bytes = await collect(
      exportRows(
        [
          { id: 1234567890123456, f: 1234567890123456 },
          { id: 12, f: 1.5 },
        ],
        {
          format: 'xlsx',
          columns: [
            { key: 'id', type: 'string' },
            { key: 'f', type: 'number' },
          ],
        },
      ),
    );
    const cells = readWithSheetJs(bytes).Sheets.Sheet1!;
    expect(cells.A2).toMatchObject({ t: 's', v: '1234567890123456' });
    expect(cells.A3).toMatchObject({ t: 'n', v: 12 });
    expect(cells.B2).toMatchObject({ t: 'n' }); // a number column stays numbers
  });

  it('makes YYYY-MM-DD text in a date column a date cell, and numbers there plain numbers', async () => {
    const bytes = await collect(
      exportRows(
        [
          { day: '2024-02-29', text: '2024-02-29' },
          { day: '2023-02-29', text: 'x' }, // no such day: text
          { day: '24-02-29', text: 'x' },
          { day: 45351, text: 'x' }, // a number is a number, not a day count
        ],
        {
          format: 'xlsx',
          columns: [
            { key: 'day', type: 'date' },
            { key: 'text', type: 'string' },
          ],
        },
      ),
    );
    const cells = readWithSheetJs(bytes).Sheets.Sheet1!;
    expect([cells.A2?.t, cells.A2?.v, cells.A2?.w]).toEqual(['n', 45351, '2024-02-29']);
    expect(cells.B2).toMatchObject({ t: 's', v: '2024-02-29' });
    expect(cells.A3).toMatchObject({ t: 's', v: '2023-02-29' });
    expect(cells.A4).toMatchObject({ t: 's', v: '24-02-29' });
    expect([cells.A5?.t, cells.A5?.v, cells.A5?.w]).toEqual(['n', 45351, '45351']);
  });

  it('writes an empty export as a valid workbook with just the header', async () => {
    const bytes = await collect(exportRows([], { format: 'xlsx', columns: ['a', 'b'] }));
    assertZipValid(saved(bytes));
    const sheet = (await readWithExcelJs(bytes)).worksheets[0]!;
    expect(valuesOf(sheet, 1)).toEqual(['a', 'b']);
    expect(sheet.rowCount).toBe(1);
    expect(sheet.autoFilter).toBe('A1:B1');
  });

  it('leaves the right reference on cells after empty ones', async () => {
    const data = [
      [null, 'b', null, null, 'e'],
      ['a', undefined, 'c', '', 'e'],
    ];
    const bytes = await collect(exportRows(data, { format: 'xlsx', columns: ['a', 'b', 'c', 'd', 'e'] }));
    const sheet = (await readWithExcelJs(bytes)).worksheets[0]!;
    expect(valuesOf(sheet, 2)).toEqual([undefined, 'b', undefined, undefined, 'e']);
    expect(valuesOf(sheet, 3)).toEqual(['a', undefined, 'c', undefined, 'e']);
    const cells = readWithSheetJs(bytes).Sheets.Sheet1!;
    expect([cells.B2?.v, cells.E2?.v, cells.A3?.v, cells.C3?.v, cells.E3?.v]).toEqual([
      'b',
      'e',
      'a',
      'c',
      'e',
    ]);
  });
});
