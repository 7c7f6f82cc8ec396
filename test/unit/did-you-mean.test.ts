/** The likely word meant: prefixes first, then at most two edits, never a far-fetched guess. */
import { describe, expect, it } from 'vitest';
import { didYouMean, nearest } from '../../src/did-you-mean.js';

describe('didYouMean', () => {
  it('suggests a word it begins, one that begins it, or one a couple of edits away', () => {
    expect(nearest('--col', ['--columns', '--config'])).toEqual(['--columns']);
    expect(nearest('--output', ['--out', '--other'])).toEqual(['--out']);
    expect(nearest('fromat', ['format', 'delimiter'])).toEqual(['format']);
    expect(didYouMean('custommer', ['id', 'customer', 'email'])).toBe(' (did you mean customer?)');
    expect(didYouMean('zzz', ['id', 'customer'])).toBe('');
  });

  it('answers a huge word at once, without a table of its length by each candidate', () => {
    // A request may name a column or parameter of a megabyte: that is no typo of a short name.
    const huge = 'x'.repeat(1_000_000);
    const started = performance.now();
    expect(
      nearest(
        huge,
        Array.from({ length: 50 }, (_, i) => `column_${i}`),
      ),
    ).toEqual([]);
    expect(performance.now() - started).toBeLessThan(200);
  });
});
