import { afterEach, describe, expect, it, vi } from 'vitest';
import { removeUnrecorded } from '../../src/jobs/dead-attempts.js';
import type { Storage } from '../../src/storage/types.js';

afterEach(() => {
  vi.useRealTimers();
});

/**
 * A storage whose clean-up fails `failures` times (the store is down), then succeeds. `calls`
 * has one entry per try that reached the delete; `uploads` the prefixes of unfinished uploads
 * removed.
 */
function flakyStorage(failures: number) {
  const calls: string[] = [];
  const uploads: string[] = [];
  let left = failures;
  const storage = {
    removeIncomplete: async (_before: Date, options: { prefix: string }) => {
      if (left > 0) {
        left--;
        calls.push(options.prefix);
        throw new Error('S3 is down');
      }
      uploads.push(options.prefix);
      return 0;
    },
    delete: async (key: string) => {
      calls.push(key);
    },
  } as unknown as Storage;
  return { storage, calls, uploads };
}

describe('removeUnrecorded', () => {
  it('tries again in the background while the store is down, and stops once deleted', async () => {
    vi.useFakeTimers();
    const { storage, calls, uploads } = flakyStorage(2);
    const warn = vi.fn();
    await removeUnrecorded(storage, 'generated/x/exp_a/a3/f.csv', { warn });
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(4000);
    expect(calls).toHaveLength(3); // deleted
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls).toHaveLength(3);
    // The unfinished upload of the file went too, once S3 answered.
    expect(uploads).toEqual(['generated/x/exp_a/a3/f.csv']);
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
