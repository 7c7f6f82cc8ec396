import { describe, expect, it } from 'vitest';
import { formulaRuleCodes, looksLikeFormula } from '../../src/formats/formula.js';
import { HIDDEN_FORMULAS, PLAIN_TEXT } from '../support/formula-cases.js';
import { exportText, readCsv } from './support/export.js';

describe('formula rule', () => {
  it('flags formula characters behind white space, BOM, zero-width marks, and full-width forms', () => {
    for (const s of HIDDEN_FORMULAS) expect(looksLikeFormula(s), JSON.stringify(s)).toBe(true);
  });

  it('leaves other text alone', () => {
    for (const s of PLAIN_TEXT) expect(looksLikeFormula(s), JSON.stringify(s)).toBe(false);
  });

  it('exposes the same rule as code lists (for the PostgreSQL COPY path)', () => {
    const { formula, control, hides } = formulaRuleCodes();
    expect(formula.map((c) => String.fromCharCode(c)).join('')).toBe('+-=@﹢﹣﹦﹫＋－＝＠');
    expect(control).toEqual([0, 9, 10, 13]);
    expect(hides).toContain(0xfeff);
    expect(hides).toContain(0x200b);
    expect(hides).toContain(0x3000);
    expect(hides).not.toContain(0x41);
  });
});

describe('formula rule in CSV and TSV (read back with csv-parse)', () => {
  it("prefixes every hidden formula with ' and leaves plain text as it is", async () => {
    const values = [...HIDDEN_FORMULAS, ...PLAIN_TEXT];
    const text = await exportText(
      values.map((v) => ({ v })),
      { format: 'csv' },
    );
    expect(readCsv(text).slice(1)).toEqual([
      ...HIDDEN_FORMULAS.map((v) => [`'${v}`]),
      ...PLAIN_TEXT.map((v) => [v]),
    ]);
  });

  it('escapes hidden formulas in TSV headers too', async () => {
    const text = await exportText([{ ' =h': '\ufeff@x' }], { format: 'tsv' });
    expect(readCsv(text, '\t')).toEqual([["' =h"], ["'\ufeff@x"]]);
  });
});
