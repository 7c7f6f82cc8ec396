import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FIRST_PASS_AFTER_SECONDS, scheduleSweeper } from '../../src/cli/sweeper-schedule.js';
import { memoryStorage } from '../../src/storage/memory.js';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

/** A service whose job sweep only counts its passes. */
function countingService() {
  const passes: number[] = [];
  const service = {
    storage: memoryStorage(),
    jobs: {
      sweep: async () => {
        passes.push(Date.now());
        return {};
      },
    },
  } as never;
  return { service, passes };
}

describe("serve's sweeper", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('makes its first pass a minute after start, not a whole interval later, then one per interval', async () => {
    const { service, passes } = countingService();
    const stop = scheduleSweeper(service, 600, 3_600_000, silent);
    await vi.advanceTimersByTimeAsync(FIRST_PASS_AFTER_SECONDS * 1000 - 1);
    expect(passes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(passes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(600_000 - FIRST_PASS_AFTER_SECONDS * 1000);
    expect(passes).toHaveLength(2);
    stop();
    await vi.advanceTimersByTimeAsync(1_200_000);
    expect(passes).toHaveLength(2);
  });

  it('with an interval under a minute, starts after one interval; 0 turns it off', async () => {
    const { service, passes } = countingService();
    const stop = scheduleSweeper(service, 5, 3_600_000, silent);
    await vi.advanceTimersByTimeAsync(5000);
    expect(passes.length).toBeGreaterThanOrEqual(1);
    stop();
    const off = countingService();
    scheduleSweeper(off.service, 0, 3_600_000, silent);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(off.passes).toHaveLength(0);
  });
});
