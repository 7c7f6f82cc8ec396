/**
 * Integers beyond 2^53 inside an object or array cell are written as the exact value of the
 * double, as one in a cell of its own is (docs/formats.md): JSON.stringify's shortest digits
 * (2**60 -> 1152921504606847000) are another integer to an exact reader. Read back by Python's
 * json module, whose integers are exact.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { jsonText } from '../../src/formats/cells.js';
import { RawJson } from '../../src/raw-json.js';
import { exportText, readCsv } from './support/export.js';

/** Each integer of a JSON text as Python reads it, as its decimal digits (floats as repr). */
function pythonNumbers(json: string): string[] {
  const script = `import json,sys
def walk(v):
    if isinstance(v, bool) or v is None or isinstance(v, str): return []
    if isinstance(v, (int, float)): return [str(v) if isinstance(v, int) else repr(v)]
    items = v.values() if isinstance(v, dict) else v
    return [x for i in items for x in walk(i)]
print(json.dumps(walk(json.loads(sys.stdin.read()))))`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: json }).toString());
}

const exact = (v: number) => BigInt(v).toString();
const BIG = [2 ** 60, -(2 ** 60), 2 ** 53, 1e21, -1.5e25, Number.MAX_SAFE_INTEGER + 3];

describe('integers beyond 2^53 inside object cells', () => {
  it('are written exactly in JSON and NDJSON, at any depth, as at the top level', async () => {
    const row = { top: 2 ** 60, nested: { v: 2 ** 60, list: [BIG, { deep: 1e21 }] } };
    for (const format of ['json', 'ndjson'] as const) {
      const text = await exportText([row], { format });
      const numbers = pythonNumbers(format === 'json' ? text : text.trim());
      expect(numbers, format).toEqual([exact(2 ** 60), exact(2 ** 60), ...BIG.map(exact), exact(1e21)]);
      // Read as doubles, the same values.
      expect(JSON.parse(text.trim())).toEqual(format === 'json' ? [row] : row);
    }
  });

  it('are written exactly in a CSV cell', async () => {
    const text = await exportText([{ doc: { v: 2 ** 60, w: [-(2 ** 60)] } }], { format: 'csv' });
    const cell = readCsv(text)[1]![0]!;
    expect(cell).toBe('{"v":1152921504606846976,"w":[-1152921504606846976]}');
    expect(pythonNumbers(cell)).toEqual([exact(2 ** 60), exact(-(2 ** 60))]);
  });

  it('leave smaller numbers, fractions, and digits inside strings and keys as they are', () => {
    const value = {
      '12345678901234567890': 9007199254740991,
      s: '1152921504606847000',
      e: 'x1e+30',
      f: [0.1, 1e-7, 2.5e20],
    };
    expect(jsonText(value)).toBe(JSON.stringify(value));
  });

  it('are exact next to bigints and bytes; a database document keeps its own text', () => {
    expect(jsonText({ b: 10n ** 20n, v: 2 ** 60, bytes: Buffer.from('hi') })).toBe(
      '{"b":"100000000000000000000","v":1152921504606846976,"bytes":"aGk="}',
    );
    const doc = new RawJson('{"n":1152921504606847000}');
    expect(jsonText([doc])).toBe('[{"n":1152921504606847000}]');
    expect(jsonText([{ toJSON: () => doc }, 5n])).toBe('[{"n":1152921504606847000},"5"]');
  });
});
