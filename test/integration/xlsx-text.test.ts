import { describe, expect, it } from 'vitest';
import { exportRows } from '../../src/pipeline.js';
import {
  collect,
  inlineTextsWithEtree,
  OPENPYXL,
  partText,
  readWithExcelJs,
  readWithOpenpyxl,
  readWithSheetJs,
  saved,
} from './xlsx-read.js';

// Text read back by readers that share no code with Takeout nor with each other: SheetJS and
// exceljs in Node, openpyxl (what pandas uses) and a plain XML parser in Python.

/** Text with carriage returns: every reader must give the CR back (docs/xlsx.md, "Text"). */
const WITH_CR = ['a\rb', 'line\r\nnext', '\rleading', 'trailing\r', 'only\r\n', '\r', 'tab\tand\nLF\r'];
/** Text with Excel's escapes at stake: only readers that know `_xHHHH_` give these back. */
const WITH_ESCAPES = [
  'bell \u0007 nul \u0000 esc \u001b',
  'literal _x000D_ and _x0041_',
  '_x005F_',
  'a_x00e9_b',
];
const TEXTS = [...WITH_CR, ...WITH_ESCAPES];

describe('xlsx text: carriage returns and escapes read back by independent readers', async () => {
  const bytes = await collect(
    exportRows(
      TEXTS.map((text, i) => ({ id: i + 1, text })),
      { format: 'xlsx', columns: ['id', { key: 'text', type: 'string' }] },
    ),
  );
  const path = saved(bytes, 'text');
  const xml = partText(path, 'xl/worksheets/sheet1.xml');

  it('writes CR as the character reference &#13;, never as a raw CR or _x000D_', () => {
    expect(xml).toContain('a&#13;b');
    expect(xml).not.toContain('\r');
    // The only _x000D_ left is the literal text, with its `_` escaped.
    expect(xml.match(/_x000D_/g)).toHaveLength(1);
    expect(xml).toContain('literal _x005F_x000D_ and _x005F_x0041_');
  });

  it('SheetJS reads every text back exactly, escapes included', () => {
    const sheet = readWithSheetJs(bytes).Sheets.Sheet1!;
    for (const [i, text] of TEXTS.entries()) expect(sheet[`B${i + 2}`]?.v, JSON.stringify(text)).toBe(text);
  });

  it('exceljs reads the carriage returns back', async () => {
    const sheet = (await readWithExcelJs(bytes)).worksheets[0]!;
    for (const [i, text] of WITH_CR.entries()) expect(sheet.getCell(`B${i + 2}`).value).toBe(text);
  });

  it('a plain XML parser (Python xml.etree) reads the carriage returns back', () => {
    const rows = inlineTextsWithEtree(path);
    expect(rows[0]).toEqual(['id', 'text']);
    for (const [i, text] of WITH_CR.entries()) expect(rows[i + 1]).toEqual([text]);
  });

  it.skipIf(!OPENPYXL)('openpyxl reads the carriage returns back', () => {
    const rows = readWithOpenpyxl(path);
    expect(rows[0]).toEqual(['id', 'text']);
    for (const [i, text] of WITH_CR.entries()) expect(rows[i + 1]).toEqual([i + 1, text]);
  });
});
