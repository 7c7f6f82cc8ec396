/**
 * The formula rule in XLSX (docs/xlsx.md, "Formula safety"): read back with SheetJS for the
 * values and straight from the package's XML for the quote-prefix marks.
 */
import { describe, expect, it } from 'vitest';
import { exportRows } from '../../src/pipeline.js';
import { HIDDEN_FORMULAS, PLAIN_TEXT } from '../support/formula-cases.js';
import { collect, partText, readWithSheetJs, saved } from './xlsx-read.js';

// Empty text writes no cell; NUL has no place in XML (the writer drops it).
const hidden = HIDDEN_FORMULAS.filter((v) => !v.includes('\u0000'));
const plain = PLAIN_TEXT.filter((v) => v !== '');
const values = [...hidden, ...plain];

/** Per style index (`s="n"`): whether its xf in styles.xml has quotePrefix="1". */
function quotePrefixStyles(path: string): boolean[] {
  const styles = partText(path, 'xl/styles.xml');
  const cellXfs = /<cellXfs[^>]*>([\s\S]*?)<\/cellXfs>/.exec(styles)![1]!;
  return [...cellXfs.matchAll(/<xf\b[^>]*?\/?>/g)].map((m) => /quotePrefix="1"/.test(m[0]));
}

/** Whether each data row's cell in column A uses a quote-prefixed style. */
function quotePrefixed(path: string, rows: number): boolean[] {
  const quoted = quotePrefixStyles(path);
  const sheet = partText(path, 'xl/worksheets/sheet1.xml');
  const styleOf = new Map<number, number>();
  for (const m of sheet.matchAll(/<row r="(\d+)"[^>]*>(<c\b[^>]*>)/g)) {
    const s = /\ss="(\d+)"/.exec(m[2]!);
    styleOf.set(Number(m[1]), s ? Number(s[1]) : 0);
  }
  return Array.from({ length: rows }, (_, i) => quoted[styleOf.get(i + 2) ?? 0] === true);
}

describe('formula rule in XLSX', () => {
  it('keeps every value exact and marks hidden formulas (only them) as quote-prefixed text', async () => {
    const bytes = await collect(
      exportRows(
        values.map((v) => ({ v })),
        { format: 'xlsx' },
      ),
    );
    const sheet = readWithSheetJs(bytes).Sheets.Sheet1!;
    values.forEach((v, i) => {
      const cell = sheet[`A${i + 2}`];
      expect(cell, JSON.stringify(v)).toMatchObject({ t: 's', v });
      expect(cell?.f).toBeUndefined();
    });
    const marks = quotePrefixed(saved(bytes, 'formula'), values.length);
    expect(marks).toEqual(values.map((_, i) => i < hidden.length));
  });

  it("puts a ' before hidden formulas with formulaEscape: 'apostrophe'", async () => {
    const bytes = await collect(
      exportRows(
        values.map((v) => ({ v })),
        { format: 'xlsx', formulaEscape: 'apostrophe' },
      ),
    );
    const sheet = readWithSheetJs(bytes).Sheets.Sheet1!;
    values.forEach((v, i) => {
      expect(sheet[`A${i + 2}`]?.v, JSON.stringify(v)).toBe(i < hidden.length ? `'${v}` : v);
    });
  });

  it('leaves numbers and dates written as text as they are, in both modes (as CSV does)', async () => {
    // Each becomes a text cell (more digits than Excel keeps, no Excel number, no Excel date),
    // and starts with - or +, yet is a value, not a formula; text in a numeric column is still text.
    const rows = [
      { v: -(2n ** 63n), type: 'integer' },
      { v: '-12345678901234567890.123456789012345678', type: 'decimal' },
      { v: '-1e400', type: 'decimal' },
      { v: Number.NEGATIVE_INFINITY, type: 'number' },
      { v: new Date('-000001-06-01T00:00:00Z'), type: 'datetime' },
      { v: new Date('+010000-01-01T00:00:00Z'), type: 'date' },
      { v: '=1+2', type: 'decimal' },
      { v: '-Infinity', type: 'decimal' },
    ] as const;
    const shown = [
      '-9223372036854775808',
      '-12345678901234567890.123456789012345678',
      '-1e400',
      '-Infinity',
      '-000001-06-01T00:00:00Z',
      '+010000-01-01',
    ];
    const formulas = ['=1+2', '-Infinity'];
    for (const formulaEscape of ['quotePrefix', 'apostrophe'] as const) {
      const bytes = await collect(
        exportRows([Object.fromEntries(rows.map((r, i) => [`c${i}`, r.v]))], {
          format: 'xlsx',
          formulaEscape,
          columns: rows.map((r, i) => ({ key: `c${i}`, type: r.type })),
        }),
      );
      const sheet = readWithSheetJs(bytes).Sheets.Sheet1!;
      const letters = rows.map((_, i) => String.fromCharCode(65 + i));
      const values = letters.map((letter) => sheet[`${letter}2`]?.v);
      const escaped = formulaEscape === 'apostrophe' ? formulas.map((f) => `'${f}`) : formulas;
      expect(values, formulaEscape).toEqual([...shown, ...escaped]);
      const path = saved(bytes, `formula-values-${formulaEscape}`);
      const quoted = quotePrefixStyles(path);
      // Row 2's cells in order (the writer leaves out references of cells without a gap).
      const row = /<row r="2"[^>]*>([\s\S]*?)<\/row>/.exec(partText(path, 'xl/worksheets/sheet1.xml'))![1]!;
      const marked = [...row.matchAll(/<c\b[^>]*>/g)].map(
        (m) => quoted[Number(/\ss="(\d+)"/.exec(m[0])?.[1] ?? 0)] === true,
      );
      const markedFormulas = formulaEscape === 'quotePrefix';
      expect(marked, formulaEscape).toEqual([
        ...shown.map(() => false),
        ...formulas.map(() => markedFormulas),
      ]);
    }
  });

  it('marks a header that hides a formula', async () => {
    const bytes = await collect(exportRows([{ '\u200b=h': 1 }], { format: 'xlsx' }));
    const path = saved(bytes, 'formula-header');
    expect(readWithSheetJs(bytes).Sheets.Sheet1!.A1).toMatchObject({ v: '\u200b=h' });
    const header = /<c r="A1" s="(\d+)"/.exec(partText(path, 'xl/worksheets/sheet1.xml'))![1]!;
    expect(quotePrefixStyles(path)[Number(header)]).toBe(true);
  });
});
