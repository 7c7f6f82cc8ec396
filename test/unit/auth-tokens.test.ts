import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

// Count the constant-time comparisons the token table makes.
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const { bearerTokens } = await import('../../src/auth.js');

const TOKENS = ['first-token-0123456789', 'second-token-0123456789-longer', 'short-token-01234'];
const authenticate = bearerTokens(new Map(TOKENS.map((token, i) => [token, { id: `user${i}` }])));
const asked = (token: string) =>
  Promise.resolve()
    .then(() => authenticate({ headers: { authorization: `Bearer ${token}` } }))
    .catch((error: unknown) => error);

describe('API token comparison (issue 9, item 8)', () => {
  it('finds each token and compares every entry, as 32-byte digests, whichever matches', async () => {
    const compare = vi.mocked(crypto.timingSafeEqual);
    for (const [i, token] of TOKENS.entries()) {
      compare.mockClear();
      expect(await asked(token)).toEqual({ id: `user${i}` });
      expect(compare).toHaveBeenCalledTimes(TOKENS.length); // no early return on a match
      for (const [a, b] of compare.mock.calls) {
        expect((a as Buffer).length).toBe(32);
        expect((b as Buffer).length).toBe(32); // no length shortcut: digests, never raw tokens
      }
    }
  });

  it('refuses prefixes, extensions and other cases after comparing every entry', async () => {
    const compare = vi.mocked(crypto.timingSafeEqual);
    for (const wrong of ['first-token-012345678', 'first-token-01234567890', 'FIRST-TOKEN-0123456789']) {
      compare.mockClear();
      expect(await asked(wrong)).toMatchObject({ code: 'unauthorized' });
      expect(compare).toHaveBeenCalledTimes(TOKENS.length);
    }
  });
});
