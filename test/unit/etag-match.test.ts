import { describe, expect, it } from 'vitest';
import { etagMatches } from '../../src/http/etag-match.js';

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
