import { describe, expect, it } from 'vitest';
import { jsonText } from '../../src/formats/cells.js';
import { jsonDocument, minifiedJson, RawJson } from '../../src/raw-json.js';

describe('minifiedJson', () => {
  it('drops the whitespace between tokens and none inside strings', () => {
    const documents = [
      '{"a": 1, "b": [1, 2, {"c": "x y"}]}',
      '{ "s" : "a \\" b" ,\n\t"t":"\\\\" , "u" :\r\n "\\\\\\" q "}',
      '[ "  ", "é \\n", true , false , null ]',
      '{"k":"v"}',
      '  [ ]  ',
    ];
    for (const text of documents) {
      // Where numbers are spelt as JSON.stringify spells them, its spacing is the reference.
      expect(minifiedJson(text)).toBe(JSON.stringify(JSON.parse(text)));
    }
    // Escapes and numbers stay as they are spelt.
    expect(minifiedJson('[ "\\u0020", 1.50, 1E2 ]')).toBe('["\\u0020",1.50,1E2]');
  });
});

describe('jsonDocument', () => {
  it('keeps objects and arrays as exact text, parses scalars, makes big integers bigints', () => {
    const doc = jsonDocument('{"id": 12345678901234567891, "p": 1.50}', true);
    expect(doc).toBeInstanceOf(RawJson);
    expect(jsonText(doc)).toBe('{"id":12345678901234567891,"p":1.50}');
    expect((doc as RawJson).value).toEqual({ id: Number('12345678901234567891'), p: 1.5 });
    expect(JSON.stringify([doc])).toBe('[{"id":12345678901234567000,"p":1.5}]');
    expect(jsonDocument(' "x" ', true)).toBe('x');
    expect(jsonDocument('null', true)).toBe(null);
    expect(jsonDocument('1.5', true)).toBe(1.5);
    expect(jsonDocument('-98765432109876543210', true)).toBe(-98765432109876543210n);
    expect(jsonDocument('1e400', true)).toBe(Number.POSITIVE_INFINITY);
  });

  it('checks text the database did not check', () => {
    expect(() => jsonDocument('{"a": 1', false)).toThrow(SyntaxError);
    expect(() => jsonDocument('[1,]', false)).toThrow(SyntaxError);
    expect(jsonDocument('[1, 2]', false)).toBeInstanceOf(RawJson);
  });
});
