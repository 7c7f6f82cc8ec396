import { afterEach, describe, expect, it, vi } from 'vitest';
import { removeUnrecorded } from '../../src/jobs/dead-attempts.js';
import type { Storage } from '../../src/storage/types.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A storage whose deletes fail `failures` times (the store is down), then succeed. */
function flakyStorage(failures: number) {
  const calls: string[] = [];
  let left = failures;
  const storage = {
    delete: async (key: string) => {
      calls.push(key);
      if (left-- > 0) throw new Error('S3 is down');
    },
  } as unknown as Storage;
  return { storage, calls };
}

describe('removeUnrecorded', () => {
  it('tries again in the background while the store is down, and stops once deleted', async () => {
    vi.useFakeTimers();
    const { storage, calls } = flakyStorage(2);
    const warn = vi.fn();
    await removeUnrecorded(storage, 'generated/x/exp_a/a3/f.csv', { warn });
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(4000);
    expect(calls).toHaveLength(3); // deleted
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls).toHaveLength(3);
    expect(warn).not.toHaveBeenCalled();
  });

  it('gives up after about a minute, with one warning (the file expiry removes it)', async () => {
    vi.useFakeTimers();
    const { storage, calls } = flakyStorage(Number.POSITIVE_INFINITY);
    const warn = vi.fn();
    await removeUnrecorded(storage, 'k', { warn });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls).toHaveLength(6);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
