import { afterEach, describe, expect, it, vi } from 'vitest';
import { RetryStreak, retryDelayMs } from '../../src/cli/remote-retry.js';

describe('retryDelayMs', () => {
  it('doubles from 0.5 s up to 8 s without a Retry-After', () => {
    expect([1, 2, 3, 4, 5, 6, 9].map((attempt) => retryDelayMs(attempt))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000, 8000,
    ]);
  });

  it('waits what Retry-After says, in seconds or as a date, at most a minute', () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    expect(retryDelayMs(1, '3', now)).toBe(3000);
    expect(retryDelayMs(1, 'Thu, 03 Dec 2026 10:00:05 GMT', now)).toBe(5000);
    // Never at once (a busy loop against the service): at least half a second.
    expect(retryDelayMs(4, '0', now)).toBe(500);
    expect(retryDelayMs(1, 'Thu, 03 Dec 2026 09:59:00 GMT', now)).toBe(500);
    expect(retryDelayMs(1, '3600', now)).toBe(60_000);
    expect(retryDelayMs(2, 'soon', now)).toBe(1000); // not a Retry-After: the backoff
  });
});

describe('RetryStreak', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries until the next wait would end past the deadline, telling each', () => {
    vi.useFakeTimers({ now: 0 });
    const told: [string, number][] = [];
    const streak = new RetryStreak({ forMs: 4000, onRetry: (reason, wait) => told.push([reason, wait]) });
    const waits: (number | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      const wait = streak.next(`failure ${i}`);
      waits.push(wait);
      if (wait !== undefined) vi.advanceTimersByTime(wait);
    }
    // 0.5 + 1 + 2 = 3.5 s; the next 4 s would end at 7.5 s, past the 4 s allowed.
    expect(waits).toEqual([500, 1000, 2000, undefined, undefined]);
    expect(told).toEqual([
      ['failure 0', 500],
      ['failure 1', 1000],
      ['failure 2', 2000],
    ]);
  });

  it('retries nothing with forMs 0, whatever Retry-After says', () => {
    const streak = new RetryStreak({ forMs: 0 });
    expect(streak.next('down')).toBeUndefined();
    expect(streak.next('busy', '0')).toBeUndefined();
  });
});
