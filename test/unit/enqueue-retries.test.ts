import { describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { EnqueueRetries } from '../../src/jobs/enqueue-retries.js';
import type { ExportQueue } from '../../src/jobs/queue/types.js';

/** A queue whose enqueue fails `failures` times, then succeeds; it records every call. */
function flakyQueue(failures: number) {
  const calls: { id: string; rank: number | undefined }[] = [];
  const queue = {
    async enqueue(id: string, options: { rank?: number } = {}) {
      calls.push({ id, rank: options.rank });
      if (calls.length <= failures) throw new TakeoutError('queue_error', 'Redis is away');
    },
  } as unknown as ExportQueue;
  return { queue, calls };
}

function recordingLog() {
  const lines: { level: string; message: string; details: Record<string, unknown> }[] = [];
  const at = (level: string) => (details: Record<string, unknown>, message: string) =>
    void lines.push({ level, message, details });
  return { log: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('EnqueueRetries', () => {
  it('enqueues again after each delay until the queue takes it, with its rank', async () => {
    const { queue, calls } = flakyQueue(2);
    const { log, lines } = recordingLog();
    const retries = new EnqueueRetries(queue, log, { delaysMs: [10, 10, 10, 10] });
    retries.schedule('exp_1', 3);
    await expect.poll(() => lines.some((line) => line.message === 'export enqueued on a retry')).toBe(true);
    expect(calls).toEqual([
      { id: 'exp_1', rank: 3 },
      { id: 'exp_1', rank: 3 },
      { id: 'exp_1', rank: 3 },
    ]);
    await sleep(60);
    expect(calls).toHaveLength(3);
  });

  it('gives up after its last delay, saying the sweeper takes over', async () => {
    const { queue, calls } = flakyQueue(Number.POSITIVE_INFINITY);
    const { log, lines } = recordingLog();
    new EnqueueRetries(queue, log, { delaysMs: [5, 5, 5] }).schedule('exp_2', 0);
    await expect.poll(() => calls.length).toBe(3);
    await sleep(40);
    expect(calls).toHaveLength(3);
    expect(lines.at(-1)).toMatchObject({
      level: 'warn',
      message: 'could not enqueue an export on its last retry; the sweeper enqueues it again',
      details: { exportId: 'exp_2', retry: 3, code: 'queue_error' },
    });
  });

  it('drops waiting retries once closed', async () => {
    const { queue, calls } = flakyQueue(0);
    const retries = new EnqueueRetries(queue, recordingLog().log, { delaysMs: [20] });
    retries.schedule('exp_3', 0);
    retries.close();
    retries.schedule('exp_4', 0);
    await sleep(60);
    expect(calls).toEqual([]);
  });

  it('does not enqueue an export canceled or deleted meanwhile', async () => {
    const { queue, calls } = flakyQueue(0);
    const { log, lines } = recordingLog();
    const asked: string[] = [];
    const retries = new EnqueueRetries(queue, log, {
      delaysMs: [5],
      stillQueued: async (id) => {
        asked.push(id);
        return id !== 'exp_gone';
      },
    });
    retries.schedule('exp_gone', 0);
    retries.schedule('exp_kept', 0);
    await expect.poll(() => calls.length).toBe(1);
    await sleep(30);
    expect(asked.sort()).toEqual(['exp_gone', 'exp_kept']);
    expect(calls).toEqual([{ id: 'exp_kept', rank: 0 }]);
    expect(lines.map((line) => line.details.exportId)).toEqual(['exp_kept']);
  });
});
