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
  it('keeps objects, arrays and numbers a double would change as exact text, parses other scalars', () => {
    const doc = jsonDocument('{"id": 12345678901234567891, "p": 1.50}', true);
    expect(doc).toBeInstanceOf(RawJson);
    expect(jsonText(doc)).toBe('{"id":12345678901234567891,"p":1.50}');
    expect((doc as RawJson).value).toEqual({ id: Number('12345678901234567891'), p: 1.5 });
    expect(JSON.stringify([doc])).toBe('[{"id":12345678901234567000,"p":1.5}]');
    expect(jsonDocument(' "x" ', true)).toBe('x');
    expect(jsonDocument('null', true)).toBe(null);
    expect(jsonDocument('1.5', true)).toBe(1.5);
    expect(jsonText(jsonDocument('-98765432109876543210', true))).toBe('-98765432109876543210');
    // A number a double would change stays as stored; one it holds exactly is parsed.
    for (const stored of ['1e400', '2.50', '-0', '12345678901234567891.5', '0.10000000000000000001', '1E5']) {
      const value = jsonDocument(` ${stored} `, true);
      expect(value, stored).toBeInstanceOf(RawJson);
      expect(jsonText(value), stored).toBe(stored);
      expect((value as RawJson).isNumber).toBe(true);
    }
    expect(jsonDocument('-7', true)).toBe(-7);
    expect((jsonDocument('{}', true) as RawJson).isNumber).toBe(false);
  });

  it('checks text the database did not check', () => {
    expect(() => jsonDocument('{"a": 1', false)).toThrow(SyntaxError);
    expect(() => jsonDocument('[1,]', false)).toThrow(SyntaxError);
    expect(jsonDocument('[1, 2]', false)).toBeInstanceOf(RawJson);
  });

  it('embeds documents held in arrays exactly (an array of jsonb), bigints beside them as strings', () => {
    const docs = [
      jsonDocument('{"n": 12345678901234567891}', true),
      jsonDocument('98765432109876543210', true),
    ];
    expect(jsonText([...docs, null, 'x', 5n, 2n ** 64n])).toBe(
      '[{"n":12345678901234567891},98765432109876543210,null,"x","5","18446744073709551616"]',
    );
    // A string that merely looks like the stand-in is left alone.
    expect(jsonText(['\u0000raw-json-0:0', docs[0]])).toBe(
      '["\\u0000raw-json-0:0",{"n":12345678901234567891}]',
    );
    expect(jsonText({ a: [1, 2] })).toBe('{"a":[1,2]}');
  });

  it('embeds a document that an object gives as its toJSON', () => {
    const doc = jsonDocument('{"n": 12345678901234567891}', true);
    expect(jsonText([{ toJSON: () => doc }, 5n])).toBe('[{"n":12345678901234567891},"5"]');
  });
});
