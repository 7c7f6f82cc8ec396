import { describe, expect, it } from 'vitest';
import { exportRows } from '../../src/pipeline.js';
import { exportText, streamError } from './support/export.js';

const TRICKY = [
  'plain',
  'héllo wörld',
  '日本語',
  '👩‍👩‍👧 family 🎉',
  'say "hi"',
  'back\\slash',
  'line1\nline2\r\nline3',
  'tab\there',
  '  spaces  ',
  '\u0000\u0001\u001f control',
  'line sep \u2028 para sep \u2029',
  '</script><script>alert(1)</script>',
  '=1+2',
  '@SUM(A1)',
  '',
  'x'.repeat(1 << 20),
];

/** NDJSON records, each line read with JSON.parse. */
function readNdjson(text: string): unknown[] {
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line));
}

describe('JSON writer', () => {
  it('writes one array that JSON.parse reads back exactly', async () => {
    const rows = TRICKY.map((text, i) => ({ id: i, text }));
    const parsed = JSON.parse(await exportText(rows, { format: 'json' }));
    expect(parsed).toEqual(rows);
  });

  it('writes an empty array for no rows', async () => {
    expect(JSON.parse(await exportText([], { format: 'json' }))).toEqual([]);
    expect(JSON.parse(await exportText([], { format: 'json', columns: ['a'] }))).toEqual([]);
  });

  it('keys objects by column key in column order, even for array rows', async () => {
    const text = await exportText(
      [
        [1, 'a'],
        [2, 'b'],
      ],
      { format: 'json', columns: [{ key: 'id', header: 'Identifier' }, 'name'] },
    );
    const parsed = JSON.parse(text) as Record<string, unknown>[];
    expect(parsed).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
    expect(Object.keys(parsed[0]!)).toEqual(['id', 'name']);
  });

  it('writes only the chosen columns, and null for missing values', async () => {
    const text = await exportText([{ a: 1, b: 2, secret: 'x' }, { a: 3 }], {
      format: 'json',
      columns: ['a', 'b'],
    });
    expect(JSON.parse(text)).toEqual([
      { a: 1, b: 2 },
      { a: 3, b: null },
    ]);
  });

  it('follows the value rules', async () => {
    const row = {
      int: 42,
      neg: -0.5,
      big: 2 ** 60,
      huge: 1e21,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      safeBig: 12n,
      unsafeBig: 2n ** 64n + 1n,
      yes: true,
      nil: null,
      undef: undefined,
      obj: { nested: [1, { deep: 'x"y' }], n: null },
      bytes: new Uint8Array([104, 105, 0, 255]),
      at: new Date('2024-03-31T01:30:00.5Z'),
      day: new Date('2024-02-29T00:00:00Z'),
      bad: new Date(Number.NaN),
      formula: '=cmd',
    };
    const text = await exportText([row], {
      format: 'json',
      timezone: 'Europe/Paris',
      columns: [...Object.keys(row).filter((k) => k !== 'day'), { key: 'day', type: 'date' }],
    });
    expect(JSON.parse(text)).toEqual([
      {
        int: 42,
        neg: -0.5,
        big: 2 ** 60,
        huge: 1e21,
        nan: null,
        inf: null,
        safeBig: 12,
        unsafeBig: '18446744073709551617',
        yes: true,
        nil: null,
        undef: null,
        obj: row.obj,
        bytes: Buffer.from(row.bytes).toString('base64'),
        at: '2024-03-31T03:30:00.500+02:00',
        formula: '=cmd',
        bad: null,
        day: '2024-02-29',
      },
    ]);
    // Integers are written without exponents, and exactly.
    expect(text).toContain('"big":1152921504606846976');
    expect(text).toContain('"huge":1000000000000000000000');
  });

  it('streams a large array in several chunks that form valid JSON', async () => {
    function* rows() {
      for (let i = 0; i < 50_000; i++) yield { i, s: `row ${i}, "q"` };
    }
    const chunks: Buffer[] = [];
    for await (const chunk of exportRows(rows(), { format: 'json' })) chunks.push(chunk as Buffer);
    expect(chunks.length).toBeGreaterThan(5);
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { i: number; s: string }[];
    expect(parsed).toHaveLength(50_000);
    expect(parsed[49_999]).toEqual({ i: 49_999, s: 'row 49999, "q"' });
  });

  it('fails with invalid_rows on a value that is not JSON (a cycle)', async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const error = await streamError(exportRows([{ v: cyclic }], { format: 'json' }));
    expect(error).toMatchObject({ code: 'invalid_rows' });
  });
});

describe('NDJSON writer', () => {
  it('writes one JSON object per line that JSON.parse reads back exactly', async () => {
    const rows = TRICKY.map((text, i) => ({ id: i, text }));
    const text = await exportText(rows, { format: 'ndjson' });
    expect(text.split('\n')).toHaveLength(rows.length + 1);
    expect(readNdjson(text)).toEqual(rows);
  });

  it('writes nothing for no rows', async () => {
    expect(await exportText([], { format: 'ndjson' })).toBe('');
  });

  it('writes datetimes in the time zone and big integers exactly', async () => {
    const rows = [{ at: new Date('2024-11-03T05:59:59Z'), n: 2n ** 63n - 1n }];
    const text = await exportText(rows, { format: 'ndjson', timezone: 'America/New_York' });
    expect(readNdjson(text)).toEqual([{ at: '2024-11-03T01:59:59-04:00', n: '9223372036854775807' }]);
  });

  it('accepts async batches of array rows', async () => {
    async function* batches() {
      yield [
        [1, 'a'],
        [2, 'b'],
      ];
      yield [[3, 'c']];
    }
    const text = await exportText(batches(), { format: 'ndjson', columns: ['n', 's'] });
    expect(readNdjson(text)).toEqual([
      { n: 1, s: 'a' },
      { n: 2, s: 'b' },
      { n: 3, s: 'c' },
    ]);
  });
});
