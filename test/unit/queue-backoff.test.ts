import { describe, expect, it } from 'vitest';
import { retryDelay, validateBackoff } from '../../src/jobs/queue/backoff.js';

const options = { baseMs: 1000, maxMs: 30_000 };

describe('queue retry delays', () => {
  it('double each retry between half and all of the step', () => {
    expect([1, 2, 3, 4].map((retry) => retryDelay(retry, options, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((retry) => retryDelay(retry, options, () => 1))).toEqual([
      1000, 2000, 4000, 8000,
    ]);
  });

  it('are capped at maxMs, even for absurd retry numbers', () => {
    expect(retryDelay(6, options, () => 1)).toBe(30_000);
    expect(retryDelay(10_000, options, () => 0.5)).toBe(22_500);
  });

  it('spread out: many draws are not all equal', () => {
    const draws = new Set(Array.from({ length: 50 }, () => retryDelay(3, options)));
    expect(draws.size).toBeGreaterThan(10);
    for (const draw of draws) expect(draw).toBeGreaterThanOrEqual(2000);
    for (const draw of draws) expect(draw).toBeLessThanOrEqual(4000);
  });

  it('refuse a maximum below the base with config_error', () => {
    expect(() => validateBackoff({ baseMs: 10, maxMs: 5 })).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
    expect(() => validateBackoff({ baseMs: Number.NaN, maxMs: 5 })).toThrow();
  });
});
