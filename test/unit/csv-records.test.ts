/**
 * Records that a blank line would lose (one empty field), files with no columns, and numbers
 * from JSON documents under a decimal-comma locale. Read back by Python's csv module (which,
 * like pandas, skips blank lines) and by csv-parse told to skip them too.
 */
import { execFileSync } from 'node:child_process';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { RawJson } from '../../src/raw-json.js';
import { exportText, readCsv } from './support/export.js';

/** Records of a CSV/TSV text as Python's csv.reader gives them. */
function pythonRecords(text: string, delimiter = ','): string[][] {
  const script =
    'import csv,io,json,sys\nprint(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline=""), delimiter=sys.argv[1]))))';
  return JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', script, delimiter], {
      input: text,
      maxBuffer: 1 << 26,
    }).toString(),
  );
}

/** Rows as Python's csv.DictReader gives them (the header row names the fields). */
function pythonDicts(text: string): Record<string, string>[] {
  const script =
    'import csv,io,json,sys\nprint(json.dumps(list(csv.DictReader(io.StringIO(sys.stdin.read(), newline="")))))';
  return JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', script], { input: text, maxBuffer: 1 << 26 }).toString(),
  );
}

/** csv-parse as readers that drop blank lines read a file. */
function readSkippingBlank(text: string, delimiter = ','): string[][] {
  return parse(text, { delimiter, skip_empty_lines: true }) as string[][];
}

describe('CSV writer: a record of one empty field', () => {
  const rows = [{ a: 'x' }, { a: '' }, { a: null }, { a: undefined }, {}, { a: 'y' }];
  const expected = ['x', '', '', '', '', 'y'];

  it('writes "" instead of a blank line, so that Python keeps every row', async () => {
    const text = await exportText(rows, { format: 'csv' });
    expect(text).toBe('a\r\nx\r\n""\r\n""\r\n""\r\n""\r\ny\r\n');
    expect(pythonDicts(text)).toEqual(expected.map((a) => ({ a })));
    expect(readSkippingBlank(text).slice(1)).toEqual(expected.map((a) => [a]));
  });

  it.each([
    ['csv, LF', { format: 'csv', lineEnding: '\n' }, ',', true],
    ['tsv', { format: 'tsv' }, '\t', true],
    ['csv, no header, BOM', { format: 'csv', header: false, bom: true }, ',', false],
  ] as const)('does so in %s', async (_name, options, delimiter, header) => {
    const text = (await exportText(rows, options)).replace(/^\uFEFF/, '');
    const records = pythonRecords(text, delimiter);
    expect(records).toEqual([...(header ? [['a']] : []), ...expected.map((a) => [a])]);
  });

  it('writes every kind of empty value so: typed columns, array rows, invalid dates, empty bytes', async () => {
    const cases: [string, unknown][] = [
      ['string', ''],
      ['integer', null],
      ['datetime', new Date(Number.NaN)],
      ['date', undefined],
      ['json', new Uint8Array(0)],
      ['boolean', null],
    ];
    for (const [type, value] of cases) {
      const columns = [{ key: 'v', type: type as 'string' }];
      const text = await exportText([[value], ['z']], { format: 'csv', columns });
      expect(text, type).toBe('v\r\n""\r\nz\r\n');
    }
  });

  it('keeps every row across chunk boundaries', async () => {
    const rows = Array.from({ length: 60_000 }, (_, i) => ({
      a: i % 3 === 0 ? '' : `${'x'.repeat(i % 17)}${i}`,
    }));
    const text = await exportText(rows, { format: 'csv' });
    expect(text.length).toBeGreaterThan(3 * 128 * 1024);
    expect(pythonDicts(text)).toHaveLength(rows.length);
    const records = readSkippingBlank(text).slice(1);
    expect(records).toHaveLength(rows.length);
    expect(records).toEqual(rows.map((r) => [r.a]));
  });

  it('writes an empty header of the only column as ""', async () => {
    const text = await exportText([{ a: null }], { format: 'csv', columns: [{ key: 'a', header: '' }] });
    expect(text).toBe('""\r\n""\r\n');
    expect(pythonRecords(text)).toEqual([[''], ['']]);
  });

  it('leaves records of several fields as they were: empty fields stay bare', async () => {
    const text = await exportText([{ a: '', b: null }], { format: 'csv' });
    expect(text).toBe('a,b\r\n,\r\n');
    expect(pythonRecords(text)).toEqual([
      ['a', 'b'],
      ['', ''],
    ]);
  });
});

describe('CSV writer: no columns', () => {
  it('writes an empty file: no line per row, no BOM', async () => {
    expect(await exportText([{}, {}], { format: 'csv' })).toBe('');
    expect(await exportText([{}, {}], { format: 'tsv', bom: true })).toBe('');
    expect(await exportText([], { format: 'csv', bom: true })).toBe('');
    expect(await exportText([], { format: 'csv', preset: 'excel' })).toBe('');
  });
});

describe('CSV writer: numbers from JSON documents under a locale', () => {
  // What the PostgreSQL and SQLite sources give for a JSON number a double would change.
  const rows = [{ a: new RawJson('2.50'), b: 2.5, c: new RawJson('-0.10'), d: new RawJson('1e400') }];
  const columns = [
    { key: 'a', type: 'number' as const },
    { key: 'b', type: 'number' as const },
    { key: 'c', type: 'json' as const },
    { key: 'd', type: 'number' as const },
  ];

  it('writes them with the decimal comma, digits as stored', async () => {
    const text = await exportText(rows, { format: 'csv', locale: 'de-DE', columns });
    expect(text).toBe('a;b;c;d\r\n2,50;2,5;-0,10;1e400\r\n');
    expect(readCsv(text, ';')[1]).toEqual(['2,50', '2,5', '-0,10', '1e400']);
  });

  it('quotes them when the delimiter is the comma, and leaves them alone with a decimal point', async () => {
    const comma = await exportText(rows, { format: 'csv', locale: 'fr-FR', delimiter: ',', columns });
    expect(readCsv(comma)[1]).toEqual(['2,50', '2,5', '-0,10', '1e400']);
    expect(await exportText(rows, { format: 'csv', locale: 'en-US', columns })).toBe(
      'a,b,c,d\r\n2.50,2.5,-0.10,1e400\r\n',
    );
  });
});
