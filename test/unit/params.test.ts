import { describe, expect, it } from 'vitest';
import { type ParamSpec, validateParams } from '../../src/datasets/params.js';

/** The value of `name` after validation, or the invalid_params message naming it. */
function check(spec: ParamSpec, value: unknown): unknown {
  try {
    return validateParams({ p: spec }, { p: value }).p;
  } catch (error) {
    const { code, details, message } = error as {
      code: string;
      details?: { param?: string };
      message: string;
    };
    expect(code).toBe('invalid_params');
    expect(details?.param).toBe('p');
    return `refused: ${message}`;
  }
}

describe('integer and number text', () => {
  it('takes an integer as an optional sign and decimal digits only', () => {
    const integer: ParamSpec = { type: 'integer' };
    expect(['+7', '-7', '007', '42'].map((text) => check(integer, text))).toEqual([7, -7, 7, 42]);
    for (const text of ['0x10', '0b11', '0o7', '1e3', ' 7 ', '7.0', '', 'Infinity']) {
      expect(check(integer, text), text).toMatch(/refused: .* must be an integer/);
    }
  });

  it('takes a number in decimal notation only', () => {
    const number: ParamSpec = { type: 'number' };
    expect(['0.5', '-.5', '5.', '1e3', '-2.5E-3'].map((text) => check(number, text))).toEqual([
      0.5, -0.5, 5, 1000, -0.0025,
    ]);
    for (const text of ['0x10', '0b11', ' 1', '1e', 'NaN', '1e400']) {
      expect(check(number, text), text).toMatch(/refused: .* must be a number/);
    }
  });
});

describe('dates and datetimes', () => {
  it('refuses a datetime on a day the calendar does not have', () => {
    expect(check({ type: 'datetime' }, '2021-02-31T00:00:00Z')).toMatch(/refused: .* not a calendar date/);
    expect(check({ type: 'datetime' }, '2021-04-31T10:00+02:00')).toMatch(/not a calendar date/);
    expect(check({ type: 'datetime' }, '2024-02-29T23:30:00-01:00')).toBe('2024-03-01T00:30:00.000Z');
  });

  it('takes years 0001 to 9999 only, in UTC too', () => {
    for (const [type, value] of [
      ['date', '0000-01-01'],
      ['datetime', '0000-01-01T00:00:00Z'],
      ['datetime', '0001-01-01T00:30:00+01:00'], // 0000-12-31 in UTC
      ['datetime', '9999-12-31T23:00:00-02:00'], // 10000-01-01 in UTC
    ] as const) {
      expect(check({ type }, value), value).toMatch(/refused: .* years 0001 to 9999/);
    }
    expect(check({ type: 'date' }, '0001-01-01')).toBe('0001-01-01');
    expect(check({ type: 'datetime' }, '9999-12-31T23:59:59Z')).toBe('9999-12-31T23:59:59.000Z');
  });

  it('keeps the digits of a datetime past the millisecond, in UTC', () => {
    expect(check({ type: 'datetime' }, '2024-01-01T00:00:00.123456Z')).toBe('2024-01-01T00:00:00.123456Z');
    expect(check({ type: 'datetime' }, '2024-01-01T05:30:00.123456789+05:30')).toBe(
      '2024-01-01T00:00:00.123456789Z',
    );
    expect(check({ type: 'datetime' }, '2024-01-01T00:00:00.5Z')).toBe('2024-01-01T00:00:00.500Z');
    const after: ParamSpec = { type: 'datetime', min: '2024-01-01T00:00:00.123456Z' };
    expect(check(after, '2024-01-01T00:00:00.123455Z')).toMatch(/must be on or after/);
    expect(check(after, '2024-01-01T00:00:00.123457Z')).toBe('2024-01-01T00:00:00.123457Z');
  });

  it('compares a datetime with its enum entries as the instants they name', () => {
    const spec: ParamSpec = { type: 'datetime', enum: ['2024-01-01T00:00:00Z', 'not a time'] };
    expect(check(spec, '2024-01-01T00:00:00Z')).toBe('2024-01-01T00:00:00.000Z');
    expect(check(spec, '2024-01-01T01:00:00+01:00')).toBe('2024-01-01T00:00:00.000Z');
    expect(check(spec, '2024-01-02T00:00:00Z')).toMatch(/refused: .* must be one of/);
  });
});

describe('strings', () => {
  it('counts maxLength in code points', () => {
    expect(check({ type: 'string', maxLength: 3 }, '😀😀')).toBe('😀😀');
    expect(check({ type: 'string', maxLength: 3 }, '😀a😀')).toBe('😀a😀');
    expect(check({ type: 'string', maxLength: 3 }, '😀😀😀😀')).toMatch(/refused: .* at most 3 characters/);
  });

  it('refuses a NUL character, which PostgreSQL text cannot hold', () => {
    expect(check({ type: 'string' }, 'a\0b')).toMatch(/refused: .* NUL character/);
  });
});

describe('an explicit null', () => {
  it('counts as not given: the default applies, a required one is refused', () => {
    const specs: Record<string, ParamSpec> = {
      d: { type: 'date', default: '2024-01-01' },
      s: { type: 'string' },
    };
    expect(validateParams(specs, { d: null, s: null })).toEqual({ d: '2024-01-01', s: null });
    expect(check({ type: 'string', required: true }, null)).toMatch(/refused: .* is required/);
  });
});
