import { describe, expect, it } from 'vitest';
import { parseExportRequest } from '../../src/exports/request.js';
import { numberText } from '../../src/formats/cells.js';
import { zoneClock } from '../../src/formats/datetime.js';
import { builtinFormats } from '../../src/formats/index.js';
import { exportRows } from '../../src/pipeline.js';
import { collect, exportText, readCsv, streamError } from './support/export.js';
import { seeded } from './support/random.js';

/** Text that trips naive CSV writers, and a 1 MiB string. */
const TRICKY = [
  'plain',
  'héllo wörld',
  '日本語のテキスト',
  '👩‍👩‍👧 family 🎉 \u{1F600}',
  'say "hi"',
  '"',
  '""',
  'a,b,c',
  'semi;colon',
  'line1\nline2',
  'cr\ronly',
  'crlf\r\nend',
  '  leading',
  'trailing  ',
  ' both ',
  'tab\tinside',
  "it's",
  'back\\slash',
  'zero\u0000byte',
  'rtl \u202Etxt.exe',
  'x'.repeat(1 << 20),
];

describe('CSV writer: text round-trips through csv-parse', () => {
  it('writes every tricky string so that csv-parse reads it back exactly', async () => {
    const rows = TRICKY.map((text, i) => ({ id: i, text }));
    const text = await exportText(rows, { format: 'csv' });
    const records = readCsv(text);
    expect(records[0]).toEqual(['id', 'text']);
    expect(records.slice(1)).toEqual(TRICKY.map((t, i) => [String(i), t]));
  });

  it('round-trips the same strings as array rows, in TSV, with LF endings', async () => {
    const rows = TRICKY.map((text, i) => [i, text]);
    const text = await exportText(rows, { format: 'tsv', columns: ['id', 'text'], lineEnding: '\n' });
    expect(readCsv(text, '\t').slice(1)).toEqual(TRICKY.map((t, i) => [String(i), t]));
  });

  it('quotes only when needed (RFC 4180)', async () => {
    const text = await exportText([{ a: 'plain', b: 'a,b', c: 'say "hi"', d: 'x\ny', e: ' sp ' }], {
      format: 'csv',
    });
    expect(text).toBe('a,b,c,d,e\r\nplain,"a,b","say ""hi""","x\ny", sp \r\n');
  });

  it('writes empty text and null/undefined as empty fields', async () => {
    const text = await exportText([{ a: '', b: null, c: undefined, d: 'x' }], { format: 'csv' });
    expect(text).toBe('a,b,c,d\r\n,,,x\r\n');
  });

  it('writes a file with no rows and no columns as nothing, with columns as a header', async () => {
    expect(await exportText([], { format: 'csv' })).toBe('');
    expect(await exportText([], { format: 'csv', columns: ['a', 'b'] })).toBe('a,b\r\n');
  });
});

describe('CSV writer: formula injection (OWASP)', () => {
  const dangerous = ['=1+2', '+41 22', '-2+3', '@SUM(A1)', '\tx', '\rx', '=HYPERLINK("http://x","y")'];

  it("prefixes text starting with = + - @ TAB or CR with '", async () => {
    const text = await exportText(
      dangerous.map((v) => ({ v })),
      { format: 'csv' },
    );
    expect(readCsv(text).slice(1)).toEqual(dangerous.map((v) => [`'${v}`]));
  });

  it('escapes header text too, and text in TSV', async () => {
    const text = await exportText([{ '=cmd': '-1-1' }], { format: 'tsv' });
    expect(readCsv(text, '\t')).toEqual([["'=cmd"], ["'-1-1"]]);
  });

  it('leaves safe text and values typed as numbers alone', async () => {
    const rows = [{ t: 'a=b', n: -5, f: -1.25, big: -(2n ** 70n), d: 'x-y' }];
    const text = await exportText(rows, { format: 'csv' });
    expect(readCsv(text)[1]).toEqual(['a=b', '-5', '-1.25', '-1180591620717411303424', 'x-y']);
  });

  it('leaves numeric text in numeric columns alone but escapes formulas there', async () => {
    const columns = [
      { key: 'amount', type: 'decimal' as const },
      { key: 'n', type: 'integer' as const },
    ];
    const text = await exportText(
      [
        { amount: '-12.30', n: '-7' },
        { amount: '=1+1', n: '@x' },
      ],
      { format: 'csv', columns },
    );
    expect(readCsv(text).slice(1)).toEqual([
      ['-12.30', '-7'],
      ["'=1+1", "'@x"],
    ]);
  });

  it('escapes bytes whose base64 looks like a formula, as it does text', async () => {
    const bytes = Buffer.from('+A1+B1+C1+D1', 'base64'); // written as base64: +A1+B1+C1+D1
    const text = await exportText([{ b: bytes, plain: Buffer.from('hello') }], { format: 'csv' });
    expect(readCsv(text)[1]).toEqual(["'+A1+B1+C1+D1", 'aGVsbG8=']);
    const raw = await exportText([{ b: bytes }], { format: 'csv', escapeFormulas: false });
    expect(readCsv(raw)[1]).toEqual(['+A1+B1+C1+D1']);
  });

  it('writes text unchanged with escapeFormulas: false', async () => {
    const text = await exportText(
      dangerous.map((v) => ({ v })),
      { format: 'csv', escapeFormulas: false },
    );
    expect(readCsv(text).slice(1)).toEqual(dangerous.map((v) => [v]));
  });
});

describe('CSV writer: values', () => {
  it('writes numbers without exponents for integers and exact bigints', async () => {
    const values = [
      0,
      -0,
      1,
      -1,
      0.1,
      1.5,
      2 ** 53 - 1,
      2 ** 60,
      -(2 ** 60),
      1e21,
      -1e21,
      1.7976931348623157e308,
    ];
    const text = await exportText(
      values.map((v) => ({ v })),
      { format: 'csv' },
    );
    const got = readCsv(text)
      .slice(1)
      .map((r) => r[0]);
    expect(got).toEqual([
      '0',
      '-0', // reads back as -0, not 0
      '1',
      '-1',
      '0.1',
      '1.5',
      '9007199254740991',
      '1152921504606846976',
      '-1152921504606846976',
      '1000000000000000000000',
      '-1000000000000000000000',
      BigInt(Number.MAX_VALUE).toString(), // the double's exact value, 309 digits
    ]);
    for (const [i, v] of values.entries()) expect(Number(got[i])).toBe(v);
    expect(got.filter((s) => /e/i.test(s ?? ''))).toEqual([]);
  });

  it('writes fractions as the shortest text that reads back the same (as String does)', () => {
    const { random } = seeded(2463534242);
    const wrong: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      const scale = 10 ** Math.floor(random() * 16 - 3);
      const cents = Math.round(random() * 1e6 * scale) / 100; // two-decimal amounts of every size
      const any = (random() - 0.5) * scale; // arbitrary doubles
      for (const v of [cents, -cents, any, cents + 0.001]) {
        // String(-0) is "0"; numberText keeps the sign.
        const shortest = Object.is(v, -0) ? '-0' : String(v);
        if (numberText(v) !== shortest) wrong.push(`${shortest} -> ${numberText(v)}`);
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    for (const v of [0.01, -0.01, 0.1, 0.5, 999999999999.99, 1e12 + 0.5, 1e-7, 5e-324, Number.NaN])
      expect(numberText(v)).toBe(String(v));
  });

  it('writes bigints exactly', async () => {
    const big = 123456789012345678901234567890n;
    const text = await exportText([{ v: big }, { v: -big }], { format: 'csv' });
    expect(readCsv(text).slice(1)).toEqual([[big.toString()], [(-big).toString()]]);
  });

  it('writes booleans, JSON, bytes, dates and datetimes', async () => {
    const row = {
      yes: true,
      no: false,
      obj: { a: [1, 'two', null], b: { c: 'd"e' } },
      arr: [1, 2, 3],
      bytes: new Uint8Array([0, 1, 2, 250, 255]),
      at: new Date('2024-07-14T08:30:05.250Z'),
      day: new Date('2024-02-29T00:00:00Z'),
      bad: new Date(Number.NaN),
    };
    const text = await exportText([row], {
      format: 'csv',
      columns: ['yes', 'no', 'obj', 'arr', 'bytes', 'at', { key: 'day', type: 'date' }, 'bad'],
    });
    const [, record] = readCsv(text);
    expect(record).toEqual([
      'true',
      'false',
      JSON.stringify(row.obj),
      '[1,2,3]',
      Buffer.from(row.bytes).toString('base64'),
      '2024-07-14T08:30:05.250Z',
      '2024-02-29',
      '',
    ]);
    expect(JSON.parse(record![2]!)).toEqual(row.obj);
  });

  it('renders datetimes in the requested time zone', async () => {
    const at = new Date('2024-07-14T08:30:05Z');
    const rows = [{ at }];
    expect(readCsv(await exportText(rows, { format: 'csv', timezone: 'Europe/Paris' }))[1]).toEqual([
      '2024-07-14T10:30:05+02:00',
    ]);
    expect(readCsv(await exportText(rows, { format: 'csv', timezone: 'Asia/Kathmandu' }))[1]).toEqual([
      '2024-07-14T14:15:05+05:45',
    ]);
  });
});

describe('CSV writer: options', () => {
  const rows = [
    { name: 'Ana', amount: 1234.5, n: 3 },
    { name: 'Bo', amount: -0.25, n: -4 },
  ];

  it('uses CRLF by default and LF on request', async () => {
    expect(await exportText(rows, { format: 'csv' })).toBe(
      'name,amount,n\r\nAna,1234.5,3\r\nBo,-0.25,-4\r\n',
    );
    expect(await exportText(rows, { format: 'csv', lineEnding: '\n' })).toBe(
      'name,amount,n\nAna,1234.5,3\nBo,-0.25,-4\n',
    );
  });

  it('uses any one-character delimiter and quotes fields containing it', async () => {
    const text = await exportText([{ a: 'x|y', b: 'z' }], { format: 'csv', delimiter: '|' });
    expect(text).toBe('a|b\r\n"x|y"|z\r\n');
    expect(readCsv(text, '|')).toEqual([
      ['a', 'b'],
      ['x|y', 'z'],
    ]);
  });

  it("quotes a formula-escaped field when the delimiter is the escape's own apostrophe", async () => {
    const long = `=HYPERLINK("${'x'.repeat(80)}")`;
    const rows = [{ '=h': '=1+1', b: 'x', c: long }];
    const text = await exportText(rows, { format: 'csv', delimiter: "'" });
    expect(readCsv(text, "'")).toEqual([
      ["'=h", 'b', 'c'],
      ["'=1+1", 'x', `'${long}`],
    ]);
  });

  it('omits the header on request and uses Column headers', async () => {
    expect(await exportText(rows, { format: 'csv', header: false })).toBe('Ana,1234.5,3\r\nBo,-0.25,-4\r\n');
    const text = await exportText(rows, {
      format: 'csv',
      columns: [{ key: 'n', header: 'Count, total' }, 'name'],
    });
    expect(readCsv(text)).toEqual([
      ['Count, total', 'name'],
      ['3', 'Ana'],
      ['-4', 'Bo'],
    ]);
  });

  it('starts with a UTF-8 BOM on request', async () => {
    const bytes = await collect(exportRows(rows, { format: 'csv', bom: true }));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.subarray(3).toString('utf8').startsWith('name,')).toBe(true);
    const plain = await collect(exportRows(rows, { format: 'csv' }));
    expect(plain[0]).toBe('n'.charCodeAt(0));
  });

  it("locale 'de-DE' switches to ; and decimal commas, integers untouched", async () => {
    const text = await exportText(rows, { format: 'csv', locale: 'de-DE' });
    expect(text).toBe('name;amount;n\r\nAna;1234,5;3\r\nBo;-0,25;-4\r\n');
    expect(readCsv(text, ';')[1]).toEqual(['Ana', '1234,5', '3']);
  });

  it('a decimal comma with an explicit , delimiter gets quoted', async () => {
    const text = await exportText(rows, { format: 'csv', locale: 'fr-FR', delimiter: ',' });
    expect(readCsv(text)[1]).toEqual(['Ana', '1234,5', '3']);
  });

  it("locale 'en-US' keeps , and the decimal point", async () => {
    expect(await exportText(rows, { format: 'csv', locale: 'en-US', lineEnding: '\n' })).toBe(
      'name,amount,n\nAna,1234.5,3\nBo,-0.25,-4\n',
    );
  });

  it("preset 'excel' means BOM + CRLF, and with a locale the ; variant", async () => {
    expect(await exportText(rows, { format: 'csv', preset: 'excel', lineEnding: undefined })).toBe(
      '\uFEFFname,amount,n\r\nAna,1234.5,3\r\nBo,-0.25,-4\r\n',
    );
    expect(await exportText(rows, { format: 'csv', preset: 'excel', locale: 'de-DE' })).toBe(
      '\uFEFFname;amount;n\r\nAna;1234,5;3\r\nBo;-0,25;-4\r\n',
    );
  });

  it('writes decimal text exactly, with the locale separator', async () => {
    const columns = [{ key: 'price', type: 'decimal' as const }];
    const rows2 = [{ price: '12345678901234567890.10' }];
    expect(readCsv(await exportText(rows2, { format: 'csv', columns }))[1]).toEqual([
      '12345678901234567890.10',
    ]);
    expect(readCsv(await exportText(rows2, { format: 'csv', columns, locale: 'de-DE' }), ';')[1]).toEqual([
      '12345678901234567890,10',
    ]);
  });

  it.each([
    [{ delimiter: '""' }, 'invalid_option'],
    [{ delimiter: '"' }, 'invalid_option'],
    [{ delimiter: '\n' }, 'invalid_option'],
    [{ lineEnding: '\r' }, 'invalid_option'],
    [{ locale: 'not a locale!' }, 'invalid_option'],
    [{ preset: 'lotus' }, 'invalid_option'],
    [{ bom: 'yes' }, 'invalid_option'],
    [{ header: 'no' }, 'invalid_option'],
    [{ timezone: 'Mars/Olympus_Mons' }, 'invalid_timezone'],
  ])('rejects %j with %s', async (options, code) => {
    const error = await streamError(exportRows(rows, { format: 'csv', ...(options as object) }));
    expect(error).toMatchObject({ name: 'TakeoutError', code });
  });
});

describe('CSV options in a request', () => {
  it('refuses a quote or line break as the delimiter when the request is read, not when it runs', () => {
    for (const delimiter of ['"', '\r', '\n']) {
      expect(() =>
        parseExportRequest({ dataset: 'd', format: 'csv', options: { delimiter } }, builtinFormats()),
      ).toThrow(
        expect.objectContaining({
          code: 'invalid_option',
          message: expect.stringMatching(/delimiter must not be any of/),
        }),
      );
    }
    expect(
      parseExportRequest({ dataset: 'd', format: 'csv', options: { delimiter: ';' } }, builtinFormats()),
    ).toBeDefined();
  });
});

describe('TSV options', () => {
  it('refuses a delimiter other than TAB, in a request and in exportRows', async () => {
    const rows = [{ name: 'Ana', n: 3 }];
    expect(() =>
      parseExportRequest({ dataset: 'd', format: 'tsv', options: { delimiter: ';' } }, builtinFormats()),
    ).toThrow(
      expect.objectContaining({
        code: 'invalid_option',
        message: expect.stringMatching(/delimiter must be "\\t"/),
      }),
    );
    const error = await streamError(exportRows(rows, { format: 'tsv', delimiter: ';' }));
    expect(error).toMatchObject({ code: 'invalid_option' });
    expect(await exportText(rows, { format: 'tsv', delimiter: '\t', lineEnding: '\n' })).toBe(
      'name\tn\nAna\t3\n',
    );
  });
});

describe('CSV writer: column keys', () => {
  it('reads keys that look like code as plain property names', async () => {
    const key = '"]; throw new Error("injected"); //';
    const text = await exportText([{ [key]: 'safe', 'a\\b': 1, 'line\nbreak': 2 }], { format: 'csv' });
    expect(readCsv(text)).toEqual([
      [key, 'a\\b', 'line\nbreak'],
      ['safe', '1', '2'],
    ]);
  });
});

describe('CSV writer: randomized against the value rules', () => {
  const { random, pick } = seeded(88172645);
  const UNITS = [
    'a',
    'Z',
    '0',
    ' ',
    ',',
    ';',
    '"',
    '\n',
    '\r',
    '\t',
    '=',
    '-',
    'é',
    'ß',
    '€',
    '中',
    '😀',
    '§',
    "'",
  ];
  const randomText = () =>
    Array.from({ length: Math.floor(random() * 12) }, () => pick(UNITS)).join('') +
    (random() < 0.05 ? 'long '.repeat(5000) : '');
  const randomNumber = () =>
    pick([
      () => Math.floor((random() - 0.5) * 2 ** 53),
      () => Math.round((random() - 0.5) * 1e9) / 100,
      () => (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20),
      () => pick([0, -0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, 1e21]),
    ])();

  it.each([
    [',', '.', undefined],
    [';', ',', 'de-DE'],
    ['\t', '.', undefined],
    ['§', '.', undefined],
    ['.', '.', undefined],
  ])('writes random rows that csv-parse reads back (delimiter %j)', async (delimiter, decimal, locale) => {
    const zone = pick(['UTC', 'Europe/Paris', 'Asia/Kathmandu', 'America/St_Johns']);
    const clock = zoneClock(zone);
    const rows = Array.from({ length: 3000 }, () => ({
      text: randomText(),
      n: randomNumber(),
      at: new Date(Math.floor((random() - 0.3) * 4e12)),
      b: random() < 0.5,
      none: random() < 0.5 ? null : undefined,
    }));
    const text = await exportText(rows, {
      format: 'csv',
      delimiter,
      timezone: zone,
      escapeFormulas: false,
      ...(locale ? { locale } : {}),
    });
    const records = readCsv(text, delimiter).slice(1);
    expect(records).toHaveLength(rows.length);
    rows.forEach((row, i) => {
      const expected = [
        row.text,
        decimal === ',' ? numberText(row.n).replace('.', ',') : numberText(row.n),
        clock.isoDateTime(row.at.getTime()),
        String(row.b),
        '',
      ];
      expect(records[i], `row ${i}`).toEqual(expected);
    });
  });

  it('writes lone surrogates as U+FFFD, as Buffer.from does', async () => {
    const text = await exportText([{ s: 'a\uD800b\uDC00c\uD83D' }], { format: 'csv', header: false });
    expect(text).toBe('a\uFFFDb\uFFFDc\uFFFD\r\n');
  });
});
