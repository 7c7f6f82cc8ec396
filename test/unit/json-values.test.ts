import { describe, expect, it } from 'vitest';
import { exportRows } from '../../src/pipeline.js';
import { collect, exportText, readCsv } from './support/export.js';
import { seeded } from './support/random.js';

// Randomized round trips of the JSON and NDJSON writers, read back with JSON.parse (the
// independent reader) and compared with JSON.stringify where the value rules agree with it.
const { random, pick } = seeded(1234567891);

/** UTF-16 units and sequences that exercise every branch of the string writer. */
const UNITS = [
  'a',
  'Z',
  '~',
  ' ',
  '"',
  '\\',
  '/',
  '\n',
  '\r',
  '\t',
  '\b',
  '\f',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u0080',
  'é',
  '\u07ff',
  '\u0800',
  '€',
  '中',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffe',
  '\uffff',
  '😀',
  '👩‍👩‍👧',
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '\udc00\ud800', // reversed pair: two lone surrogates
];

function randomText(): string {
  // Short text takes the byte loop, text past 64 units the native path: cover both.
  const length = pick([0, 1, 3, 10, 40, 64, 65, 200]);
  let s = '';
  while (s.length < length) s += pick(UNITS);
  return s;
}

function randomNumber(): number {
  return pick([
    () => Math.floor((random() - 0.5) * 2 ** 53),
    () => Math.round((random() - 0.5) * 1e9) / 100,
    () => (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20),
    () => new Float64Array(new Uint32Array([random() * 2 ** 32, random() * 2 ** 32]).buffer)[0]!,
    () => pick([0, -0, 2 ** 53, -(2 ** 53), 2 ** 60, 1e21, 1.7976931348623157e308, 5e-324, 1e-7]),
  ])();
}

function randomBigint(): bigint {
  const digits = 1 + Math.floor(random() * 30);
  let s = '';
  for (let i = 0; i < digits; i++) s += Math.floor(random() * 10);
  return (random() < 0.5 ? -1n : 1n) * BigInt(s);
}

function randomDecimal(): string {
  const whole = String(Math.floor(random() * 1e12)) + '9'.repeat(Math.floor(random() * 30));
  return `${random() < 0.3 ? '-' : ''}${whole}.${String(Math.floor(random() * 1e6)).padStart(6, '0')}`;
}

const COLUMNS = [
  { key: 'text', type: 'string' as const },
  { key: 'n', type: 'number' as const },
  { key: 'big', type: 'integer' as const },
  { key: 'amount', type: 'decimal' as const },
  { key: 'at', type: 'datetime' as const },
  { key: 'day', type: 'date' as const },
  { key: 'any' },
];

function randomRow() {
  const ms = Math.floor((random() - 0.3) * 4e12);
  return {
    text: randomText(),
    n: randomNumber(),
    big: randomBigint(),
    amount: randomDecimal(),
    at: new Date(random() < 0.5 ? ms : ms - (ms % 1000)),
    day: new Date(Math.floor(ms / 86_400_000) * 86_400_000),
    // A column without a type gets anything: the compiled row's fallback path.
    any: pick<unknown>([randomText(), randomNumber(), true, false, null, undefined, randomBigint()]),
  };
}

type RandomRow = ReturnType<typeof randomRow>;

/** What JSON.parse must give back for a row, by the value rules (docs/formats.md). */
function expected(row: RandomRow): Record<string, unknown> {
  const bigint = (v: bigint) => (v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n ? Number(v) : v.toString());
  const iso = row.at.toISOString();
  return {
    text: row.text,
    n: Number.isFinite(row.n) ? row.n : null,
    big: bigint(row.big),
    amount: row.amount,
    at: iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso,
    day: row.day.toISOString().slice(0, 10),
    any:
      typeof row.any === 'bigint'
        ? bigint(row.any)
        : row.any === undefined || (typeof row.any === 'number' && !Number.isFinite(row.any))
          ? null
          : row.any,
  };
}

async function exportBytes(rows: unknown[], format: 'json' | 'ndjson', shape: 'object' | 'array') {
  const input =
    shape === 'object'
      ? rows
      : (rows as RandomRow[]).map((r) => COLUMNS.map((c) => r[c.key as keyof RandomRow]));
  return collect(exportRows(input as never, { format, columns: COLUMNS }));
}

describe('JSON and NDJSON writers: randomized round trips', () => {
  it.each([
    ['json', 'object'],
    ['json', 'array'],
    ['ndjson', 'object'],
    ['ndjson', 'array'],
  ] as const)('%s from %s rows reads back exactly with JSON.parse', async (format, shape) => {
    const rows = Array.from({ length: 4000 }, randomRow);
    const bytes = await exportBytes(rows, format, shape);
    // Valid UTF-8 throughout: lone surrogates are escaped, never encoded.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    const parsed =
      format === 'json'
        ? (JSON.parse(text) as Record<string, unknown>[])
        : text
            .split('\n')
            .slice(0, -1)
            .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed).toHaveLength(rows.length);
    const wrong: string[] = [];
    parsed.forEach((got, i) => {
      const want = expected(rows[i]!);
      for (const key of Object.keys(want)) {
        // Every expected value is a primitive (-0 and 0 compare equal here; tested below).
        if (got[key] !== want[key])
          wrong.push(`row ${i} ${key}: ${JSON.stringify(want[key])} -> ${JSON.stringify(got[key])}`);
      }
      expect(Object.keys(got)).toEqual(COLUMNS.map((c) => c.key));
    });
    expect(wrong.slice(0, 10)).toEqual([]);
  });

  it('writes strings and numbers byte for byte as JSON.stringify does', async () => {
    // Numbers within 2^53 (beyond it the writer gives every digit where JSON.stringify has an exponent).
    const safe = () => {
      const n = randomNumber();
      // -0 too is written otherwise: JSON.stringify gives 0, the writer -0 (tested below).
      return Math.abs(n) < 2 ** 53 && !Object.is(n, -0) ? n : 0.5;
    };
    const rows = Array.from({ length: 3000 }, () => ({ s: randomText(), n: safe() }));
    const bytes = await collect(
      exportRows(rows, { format: 'ndjson', columns: [{ key: 's', type: 'string' }, 'n'] }),
    );
    expect(bytes.toString('utf8')).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  });

  it('keeps a lone surrogate as its \\uXXXX escape, lowercase as JSON.stringify writes it', async () => {
    const rows = [{ s: 'a\ud800b' }, { s: '\udfff' }, { s: `${'x'.repeat(100)}\ud83d` }];
    const text = (await collect(exportRows(rows, { format: 'ndjson' }))).toString('utf8');
    expect(text).toBe(`{"s":"a\\ud800b"}\n{"s":"\\udfff"}\n{"s":"${'x'.repeat(100)}\\ud83d"}\n`);
    expect(
      text
        .split('\n')
        .slice(0, -1)
        .map((l) => (JSON.parse(l) as { s: string }).s),
    ).toEqual(rows.map((r) => r.s));
  });

  it('writes a value of an unexpected type for its column by the general rules', async () => {
    const rows = [
      [1n, 'x', new Date(Number.NaN), 'not a date', Number.NaN],
      [null, 7, true, new Uint8Array([1, 2, 3]), { a: [1n] }],
    ];
    const columns = [
      { key: 'a', type: 'string' as const },
      { key: 'b', type: 'boolean' as const },
      { key: 'c', type: 'date' as const },
      { key: 'd', type: 'datetime' as const },
      { key: 'e', type: 'integer' as const },
    ];
    const text = (await collect(exportRows(rows, { format: 'json', columns }))).toString('utf8');
    expect(JSON.parse(text)).toEqual([
      { a: 1, b: 'x', c: null, d: 'not a date', e: null },
      { a: null, b: 7, c: true, d: 'AQID', e: { a: ['1'] } },
    ]);
  });
});

describe('bytes inside objects and arrays', () => {
  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  const rows = [
    {
      a: [bytes, new Uint8Array([9, 8]), Buffer.alloc(0), new Uint8Array(0), null],
      b: { nested: { raw: new Uint8Array(bytes.buffer, bytes.byteOffset + 1, 2) }, n: 1n },
      // Objects that only look like what JSON.stringify makes of bytes stay as they are.
      c: { type: 'Buffer', data: [1, 2] },
      d: [{ 0: 'zero' }, {}],
    },
  ];
  const expected = {
    a: ['AAEC+v8=', 'CQg=', '', '', null],
    b: { nested: { raw: 'AQI=' }, n: '1' },
    c: { type: 'Buffer', data: [1, 2] },
    d: [{ 0: 'zero' }, {}],
  };

  it('writes them as base64 strings in JSON and NDJSON', async () => {
    expect(JSON.parse((await collect(exportRows(rows, { format: 'json' }))).toString('utf8'))).toEqual([
      expected,
    ]);
    expect(JSON.parse((await collect(exportRows(rows, { format: 'ndjson' }))).toString('utf8'))).toEqual(
      expected,
    );
  });

  it('writes them as base64 strings in the JSON text of a CSV cell', async () => {
    const [, cells] = readCsv(await exportText(rows, { format: 'csv' }));
    expect(cells!.map((cell) => JSON.parse(cell))).toEqual(Object.values(expected));
  });
});

it('writes -0 as -0 in every text format, which reads back as -0', async () => {
  const rows = [{ z: -0, f: -0.5, zero: 0 }];
  const ndjson = JSON.parse(await exportText(rows, { format: 'ndjson' })) as Record<string, number>;
  expect([Object.is(ndjson.z, -0), ndjson.f, Object.is(ndjson.zero, 0)]).toEqual([true, -0.5, true]);
  expect(readCsv(await exportText(rows, { format: 'csv' }))[1]).toEqual(['-0', '-0.5', '0']);
});
