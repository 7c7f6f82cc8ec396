import { describe, expect, it } from 'vitest';
import { parseSqliteDatetime } from '../../src/sources/sqlite.js';

const iso = (value: Date | string) => (value instanceof Date ? value.toISOString() : `text: ${value}`);

describe('SQLite datetime text', () => {
  it('reads what datetime() writes, with a space, a T or a final Z, as UTC', () => {
    expect(iso(parseSqliteDatetime('2024-03-01 12:34:56'))).toBe('2024-03-01T12:34:56.000Z');
    expect(iso(parseSqliteDatetime('2024-03-01T12:34:56'))).toBe('2024-03-01T12:34:56.000Z');
    expect(iso(parseSqliteDatetime('2024-03-01T12:34:56Z'))).toBe('2024-03-01T12:34:56.000Z');
    expect(iso(parseSqliteDatetime('2024-02-29 23:59:59'))).toBe('2024-02-29T23:59:59.000Z');
    expect(iso(parseSqliteDatetime('2000-02-29 00:00:00'))).toBe('2000-02-29T00:00:00.000Z');
  });

  it('reads fractions, offsets and minutes without seconds by the general rule', () => {
    expect(iso(parseSqliteDatetime('2024-03-01 12:34:56.789'))).toBe('2024-03-01T12:34:56.789Z');
    expect(iso(parseSqliteDatetime('2024-03-01 12:34:56+02:00'))).toBe('2024-03-01T10:34:56.000Z');
    expect(iso(parseSqliteDatetime('2024-03-01 12:34'))).toBe('2024-03-01T12:34:00.000Z');
  });

  it('keeps as text what names no moment: no rolling into the next month or day', () => {
    for (const text of [
      '2023-02-29 10:00:00',
      '1900-02-29 00:00:00',
      '2024-04-31 00:00:00',
      '2024-13-01 00:00:00',
      '2024-01-01 00:60:00',
      '2024-01-01 12:00:00z',
      'not a date at all!!',
    ])
      expect(iso(parseSqliteDatetime(text))).toBe(`text: ${text}`);
  });
});
