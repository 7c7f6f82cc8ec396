import { describe, expect, it } from 'vitest';
import { checkPreconditions, etagMatches, ifRangeHolds } from '../../src/http/etag-match.js';

describe('etagMatches (If-None-Match, weak comparison)', () => {
  it('matches a listed tag whether either side is weak', () => {
    expect(etagMatches('"a"', '"a"')).toBe(true);
    expect(etagMatches('"x", W/"a"', '"a"')).toBe(true);
    expect(etagMatches(' "a" ', 'W/"a"')).toBe(true);
    expect(etagMatches('W/"a"', 'W/"a"')).toBe(true);
  });

  it('matches any tag only for a header that is * alone', () => {
    expect(etagMatches('*', '"a"')).toBe(true);
    expect(etagMatches(' * ', 'W/"a"')).toBe(true);
    expect(etagMatches('"x", *', '"a"')).toBe(false);
  });

  it('does not match another tag, a missing header or an empty one', () => {
    expect(etagMatches('"b"', '"a"')).toBe(false);
    expect(etagMatches('"a', '"a"')).toBe(false);
    expect(etagMatches(undefined, '"a"')).toBe(false);
    expect(etagMatches('', '"a"')).toBe(false);
  });
});

describe('checkPreconditions (If-Match, If-Unmodified-Since)', () => {
  const file = { etag: '"a"', lastModified: new Date('2026-12-03T10:00:00.500Z') };
  const code = (headers: Record<string, string>) => {
    try {
      checkPreconditions(headers, file);
      return 'passed';
    } catch (error) {
      return (error as { code: string }).code;
    }
  };

  it('passes If-Match naming the tag by the strong comparison, or *', () => {
    expect(code({ 'if-match': '"a"' })).toBe('passed');
    expect(code({ 'if-match': '"b", "a"' })).toBe('passed');
    expect(code({ 'if-match': '*' })).toBe('passed');
    expect(code({ 'if-match': 'W/"a"' })).toBe('precondition_failed');
    expect(code({ 'if-match': '"b"' })).toBe('precondition_failed');
  });

  it('takes If-Unmodified-Since only without If-Match, to the second, ignoring what is no date', () => {
    expect(code({ 'if-unmodified-since': 'Thu, 03 Dec 2026 10:00:00 GMT' })).toBe('passed');
    expect(code({ 'if-unmodified-since': 'Thu, 03 Dec 2026 09:59:59 GMT' })).toBe('precondition_failed');
    expect(code({ 'if-unmodified-since': 'yesterday' })).toBe('passed');
    // What Date.parse alone would take for dates (2001, 2020, ISO 8601) is no HTTP date: ignored.
    for (const notHttp of ['1', '2020', '2026-12-03T09:00:00Z']) {
      expect(code({ 'if-unmodified-since': notHttp }), notHttp).toBe('passed');
    }
    // Dates that do not exist are no dates either (Date.parse rolled them over into March).
    for (const none of [
      'Tue, 31 Feb 2026 10:00:00 GMT',
      'Thu, 03 Dec 2026 24:00:00 GMT',
      'Thu, 03 Dec 2026 23:59:60 GMT',
    ]) {
      expect(code({ 'if-unmodified-since': none }), none).toBe('passed');
    }
    // A four-digit year is that year, even below 100: the file changed long after year 26.
    expect(code({ 'if-unmodified-since': 'Thu, 03 Dec 0026 10:00:00 GMT' })).toBe('precondition_failed');
    // The obsolete forms RFC 9110 has recipients read: RFC 850 and asctime (GMT).
    expect(code({ 'if-unmodified-since': 'Thursday, 03-Dec-26 09:59:59 GMT' })).toBe('precondition_failed');
    expect(code({ 'if-unmodified-since': 'Thu Dec  3 09:59:59 2026' })).toBe('precondition_failed');
    expect(code({ 'if-unmodified-since': 'Thu Dec  3 10:00:00 2026' })).toBe('passed');
    expect(code({ 'if-match': '"a"', 'if-unmodified-since': 'Thu, 03 Dec 2026 09:59:59 GMT' })).toBe(
      'passed',
    );
  });
});

describe('ifRangeHolds', () => {
  const file = { etag: '"a"', lastModified: new Date('2026-12-03T10:00:00.500Z') };
  const later = Date.parse('2026-12-03T10:00:05Z');

  it('holds for the strong ETag or the exact date once that date is a second old', () => {
    expect(ifRangeHolds(undefined, file, later)).toBe(true);
    expect(ifRangeHolds('"a"', file, later)).toBe(true);
    expect(ifRangeHolds('W/"a"', file, later)).toBe(false);
    expect(ifRangeHolds('"b"', file, later)).toBe(false);
    expect(ifRangeHolds('Thu, 03 Dec 2026 10:00:00 GMT', file, later)).toBe(true);
    expect(ifRangeHolds('Thu, 03 Dec 2026 09:59:59 GMT', file, later)).toBe(false);
    // Within the second it was written: the date may hide a change.
    expect(ifRangeHolds('Thu, 03 Dec 2026 10:00:00 GMT', file, Date.parse('2026-12-03T10:00:00.900Z'))).toBe(
      false,
    );
    expect(ifRangeHolds(['"a"', '"a"'], file, later)).toBe(false);
    expect(ifRangeHolds('2026-12-03T10:00:00Z', file, later)).toBe(false);
  });
});
