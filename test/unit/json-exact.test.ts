import { describe, expect, it } from 'vitest';
import { parseExportRequest } from '../../src/exports/request.js';
import { builtinFormats } from '../../src/formats/index.js';
import { parseJsonExact } from '../../src/json-exact.js';

describe('parseJsonExact', () => {
  it('reads integers a double does not hold as bigints, and nothing else differently', () => {
    expect(
      parseJsonExact(
        '[9007199254740991, 9007199254740992, -9007199254740993, 1e30, 12345678901234567891.5, 0, -0, 1234567890123456]',
      ),
    ).toEqual([
      9007199254740991,
      9007199254740992n,
      -9007199254740993n,
      1e30,
      Number('12345678901234567891.5'), // a fraction stays a double
      0,
      -0,
      1234567890123456,
    ]);
  });

  it('leaves digits inside strings and keys alone, past escaped quotes too', () => {
    expect(
      parseJsonExact('{"12345678901234567891":"x\\" 12345678901234567891 \\\\","b":[12345678901234567891]}'),
    ).toEqual({ '12345678901234567891': 'x" 12345678901234567891 \\', b: [12345678901234567891n] });
  });

  it('refuses what JSON refuses, big integers or not', () => {
    expect(() => parseJsonExact('{"rows":[{12345678901234567891:1}]}')).toThrow(SyntaxError);
    expect(() => parseJsonExact('{12345678901234567891 :1}')).toThrow(SyntaxError);
    expect(() => parseJsonExact('[0012345678901234567891]')).toThrow(SyntaxError);
    expect(() => parseJsonExact('[12345678901234567891')).toThrow(SyntaxError);
    expect(() => parseJsonExact('{"a": 12345678901234567891x}')).toThrow(SyntaxError);
  });

  it('reads a big integer nested 100,000 deep (no recursion)', () => {
    const depth = 100_000;
    const value = parseJsonExact(`${'['.repeat(depth)}12345678901234567891${']'.repeat(depth)}`);
    let node = value as unknown[];
    for (let i = 1; i < depth; i++) node = node[0] as unknown[];
    expect(node[0]).toBe(12345678901234567891n);
  });
});

describe('an export request parsed from a body with big integers', () => {
  it('stays JSON-serialisable (a job stores it): params bigints are numbers, nested ones too', () => {
    const body = parseJsonExact(
      '{"format":"csv","dataset":"d","params":{"a":12345678901234567891,"b":[98765432109876543210],"__proto__":1}}',
    );
    const request = parseExportRequest(body, builtinFormats());
    const stored = JSON.parse(JSON.stringify(request)) as { params: Record<string, unknown> };
    expect(stored.params.a).toBe(Number('12345678901234567891'));
    expect(stored.params.b).toEqual([Number('98765432109876543210')]);
    // An own `__proto__` param stays a param (refused later as unknown), not a prototype.
    expect(Object.keys(stored.params)).toEqual(['a', 'b', '__proto__']);
  });
});
