import { describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { compileNamedParams, namedParams } from '../../src/sources/named-params.js';

function invalidParam(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TakeoutError);
    expect((error as TakeoutError).code).toBe('invalid_params');
    return (error as TakeoutError).details?.param as string;
  }
  throw new Error('expected invalid_params');
}

describe('compileNamedParams', () => {
  it('numbers parameters by first use and reuses a number for a repeated name', () => {
    const q = compileNamedParams('SELECT * FROM t WHERE a = :a AND b > :b_2 OR a2 = :a', { a: 1, b_2: 'x' });
    expect(q.text).toBe('SELECT * FROM t WHERE a = $1 AND b > $2 OR a2 = $1');
    expect(q.values).toEqual([1, 'x']);
    expect(q.names).toEqual(['a', 'b_2']);
  });

  it('leaves casts, strings, identifiers, comments and dollar quotes alone', () => {
    const sql = [
      "SELECT :a::int, x::text, ':b', E'\\':c', 'it''s :d', \"col:e\", \"q\"\":f\"",
      '-- :g in a comment',
      '/* :h /* nested :i */ still :j */ $$ :k $$, $tag$ :l $x$ :m $tag$, :z',
      'FROM t WHERE U&\'\\0041:n\' = u&"x:o" AND x = :p',
    ].join('\n');
    const q = compileNamedParams(sql, { a: 1, z: 2, p: 3 });
    expect(q.names).toEqual(['a', 'z', 'p']);
    expect(q.text).toBe(
      [
        "SELECT $1::int, x::text, ':b', E'\\':c', 'it''s :d', \"col:e\", \"q\"\":f\"",
        '-- :g in a comment',
        '/* :h /* nested :i */ still :j */ $$ :k $$, $tag$ :l $x$ :m $tag$, $2',
        'FROM t WHERE U&\'\\0041:n\' = u&"x:o" AND x = $3',
      ].join('\n'),
    );
  });

  it('refuses positional parameters, which would collide with the numbering', () => {
    expect(invalidParam(() => compileNamedParams('SELECT $1 FROM t WHERE x = :x', { x: 1 }))).toBe('$1');
    // A $ inside an identifier is not a parameter or a dollar quote.
    expect(compileNamedParams('SELECT a$1, b$c$ FROM t WHERE x = :x', { x: 1 }).text).toBe(
      'SELECT a$1, b$c$ FROM t WHERE x = $1',
    );
  });

  it('ignores array slices with numbers and a colon before a space', () => {
    const q = compileNamedParams('SELECT arr[1:2], arr[lo : hi], :v', { v: 0 });
    expect(q.text).toBe('SELECT arr[1:2], arr[lo : hi], $1');
  });

  it('refuses a missing parameter and names it', () => {
    expect(invalidParam(() => compileNamedParams('SELECT :from, :to', { from: 1 }))).toBe('to');
    expect(invalidParam(() => compileNamedParams('SELECT :from', { from: undefined }))).toBe('from');
  });

  it('refuses an unknown parameter and names it', () => {
    expect(invalidParam(() => compileNamedParams('SELECT :a', { a: 1, tenant: 2 }))).toBe('tenant');
    // A name only inside a string literal is not a reference.
    expect(invalidParam(() => compileNamedParams("SELECT ':a'", { a: 1 }))).toBe('a');
  });

  it('binds null as a value and never pastes values into the text', () => {
    const evil = "'; DROP TABLE users; --";
    const q = compileNamedParams('SELECT :a, :b', { a: null, b: evil });
    expect(q.text).toBe('SELECT $1, $2');
    expect(q.values).toEqual([null, evil]);
  });

  it('uses a custom placeholder when given', () => {
    const q = compileNamedParams(
      'SELECT :a, :b, :a',
      { a: 1, b: 2 },
      { placeholder: (i, n) => `<${i}:${n}>` },
    );
    expect(q.text).toBe('SELECT <0:a>, <1:b>, <0:a>');
  });

  it('stops at an unterminated literal instead of finding parameters in it', () => {
    expect(compileNamedParams("SELECT 'abc :x", {}).text).toBe("SELECT 'abc :x");
    expect(compileNamedParams('SELECT $q$ :x', {}).text).toBe('SELECT $q$ :x');
  });

  it('lists the parameters a query uses (for checking definitions)', () => {
    expect(namedParams("SELECT :b, ':x', :a::int, :b -- :c\n")).toEqual(['b', 'a']);
  });
});
