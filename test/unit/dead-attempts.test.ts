import { afterEach, describe, expect, it, vi } from 'vitest';
import { removeDeadAttempts, removeUnrecorded } from '../../src/jobs/dead-attempts.js';
import { exportKey } from '../../src/storage/keys.js';
import { memoryStorage } from '../../src/storage/memory.js';
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

describe('removeDeadAttempts', () => {
  const job = { id: 'exp_dead', createdAt: new Date('2026-12-01T10:00:00Z') };
  const keyOf = (attempt: number) =>
    exportKey({ exportId: job.id, filename: 'f.csv', createdAt: job.createdAt, attempt });
  const bytes = async function* () {
    yield new TextEncoder().encode('a,b\n');
  };

  /** A memory storage holding files of attempts 1-3 whose listing fails `failures` times. */
  async function storageDown(failures: number) {
    const storage = memoryStorage();
    for (const n of [1, 2, 3])
      await storage.put(keyOf(n), bytes(), { contentType: 'text/csv', filename: 'f.csv' });
    let left = failures;
    const list = storage.list.bind(storage);
    storage.list = (prefix?: string) => {
      if (left-- > 0) throw new Error('S3 is down');
      return list(prefix);
    };
    const keys = async () => {
      const found: string[] = [];
      for await (const item of list()) found.push(item.key);
      return found.sort();
    };
    return { storage, keys };
  }

  it("removes an ended job's files once the store answers again, in the background", async () => {
    vi.useFakeTimers();
    const { storage, keys } = await storageDown(2);
    const warn = vi.fn();
    await removeDeadAttempts(storage, job, Number.POSITIVE_INFINITY, { warn });
    expect(await keys()).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(2000 + 4000);
    expect(await keys()).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
  });

  it('removes only the attempts before the given one, and warns once after about a minute down', async () => {
    vi.useFakeTimers();
    const { storage, keys } = await storageDown(1);
    await removeDeadAttempts(storage, job, 3, { warn: vi.fn() });
    await vi.advanceTimersByTimeAsync(2000);
    expect(await keys()).toEqual([keyOf(3)]);

    const down = await storageDown(Number.POSITIVE_INFINITY);
    const warn = vi.fn();
    await removeDeadAttempts(down.storage, job, Number.POSITIVE_INFINITY, { warn });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(await down.keys()).toHaveLength(3);
  });
});
