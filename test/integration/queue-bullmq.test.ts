/**
 * The BullMQ queue on the real Redis (127.0.0.1:6379), a fresh key prefix per test.
 * Process crashes and Redis restarts are in queue-bullmq-crash.test.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { bullmqQueue } from '../../src/jobs/queue/bullmq.js';
import type { QueueDelivery } from '../../src/jobs/queue/types.js';
import { BullmqHarness, eventually, freshQueueOptions, recordingLogger } from '../support/bullmq-harness.js';

const harness = new BullmqHarness();
afterEach(() => harness.cleanUp());

describe('bullmq queue', () => {
  it('delivers an enqueued id once, as attempt 1, and completes its entry', async () => {
    const options = freshQueueOptions();
    const queue = await harness.open(options);
    const deliveries: QueueDelivery[] = [];
    await queue.consume(
      async (delivery) => {
        deliveries.push(delivery);
      },
      { concurrency: 2 },
    );
    await queue.enqueue('exp_one');
    const probe = harness.probe(options);
    expect(await eventually(async () => (await probe.getJobState('exp_one')) === 'completed')).toBe(true);
    expect(deliveries.map(({ id, attempt }) => ({ id, attempt }))).toEqual([{ id: 'exp_one', attempt: 1 }]);
    expect(deliveries[0]!.signal.aborted).toBe(false);
    expect(queue.kind).toBe('bullmq');
  });

  it('ignores a second enqueue of an id that is still waiting, and redelivers one that finished', async () => {
    const options = freshQueueOptions();
    const queue = await harness.open(options);
    await queue.enqueue('exp_dup');
    await queue.enqueue('exp_dup');
    await queue.enqueue('exp_other');
    const probe = harness.probe(options);
    expect(await probe.getWaitingCount()).toBe(2);

    const seen: string[] = [];
    await queue.consume(
      async ({ id }) => {
        seen.push(id);
      },
      { concurrency: 1 },
    );
    expect(await eventually(async () => (await probe.getCompletedCount()) === 2)).toBe(true);
    await sleep(200);
    expect(seen.sort()).toEqual(['exp_dup', 'exp_other']);

    // Kept for retention, but the record was queued again: a fresh delivery.
    await queue.enqueue('exp_dup');
    expect(await eventually(() => seen.length === 3)).toBe(true);
    expect(seen[2]).toBe('exp_dup');
  });

  it('retries a retryable TakeoutError with growing, jittered delays', async () => {
    const options = freshQueueOptions({ attempts: 4, backoff: { baseMs: 200, maxMs: 5000 } });
    const queue = await harness.open(options);
    const starts: { attempt: number; at: number }[] = [];
    await queue.consume(
      async ({ attempt }) => {
        starts.push({ attempt, at: Date.now() });
        if (attempt < 3) throw new TakeoutError('storage_error', 'the bucket blinked');
      },
      { concurrency: 1 },
    );
    await queue.enqueue('exp_retry');
    const probe = harness.probe(options);
    expect(await eventually(async () => (await probe.getJobState('exp_retry')) === 'completed', 10_000)).toBe(
      true,
    );
    expect(starts.map((start) => start.attempt)).toEqual([1, 2, 3]);
    const [first, second, third] = starts;
    // Retry 1 waits 100..200 ms, retry 2 waits 200..400 ms (plus scheduling).
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(95);
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(195);
    expect(third!.at - second!.at).toBeLessThan(2000);
  });

  it('fails at once on a non-retryable TakeoutError or a foreign error', async () => {
    const options = freshQueueOptions({ attempts: 5, backoff: { baseMs: 50, maxMs: 50 } });
    const queue = await harness.open(options);
    const calls = new Map<string, number>();
    await queue.consume(
      async ({ id }) => {
        calls.set(id, (calls.get(id) ?? 0) + 1);
        if (id === 'exp_bad') throw new TakeoutError('invalid_params', 'from must be a date');
        throw new TypeError('a bug');
      },
      { concurrency: 2 },
    );
    await queue.enqueue('exp_bad');
    await queue.enqueue('exp_bug');
    const probe = harness.probe(options);
    expect(await eventually(async () => (await probe.getFailedCount()) === 2)).toBe(true);
    await sleep(300);
    expect(Object.fromEntries(calls)).toEqual({ exp_bad: 1, exp_bug: 1 });
    const failed = await probe.getJob('exp_bad');
    expect(failed?.failedReason).toBe('invalid_params: from must be a date');
    expect(failed?.attemptsMade).toBe(1);
  });

  it('fails an id whose retryable errors used up its attempts', async () => {
    const options = freshQueueOptions({ attempts: 2, backoff: { baseMs: 20, maxMs: 20 } });
    const queue = await harness.open(options);
    const attempts: number[] = [];
    await queue.consume(
      async ({ attempt }) => {
        attempts.push(attempt);
        throw new TakeoutError('source_timeout');
      },
      { concurrency: 1 },
    );
    await queue.enqueue('exp_flaky');
    const probe = harness.probe(options);
    expect(await eventually(async () => (await probe.getJobState('exp_flaky')) === 'failed')).toBe(true);
    expect(attempts).toEqual([1, 2]);
  });

  it('runs at most `concurrency` handlers at once', async () => {
    const options = freshQueueOptions();
    const queue = await harness.open(options);
    for (let i = 0; i < 9; i++) await queue.enqueue(`exp_c${i}`);
    let running = 0;
    let peak = 0;
    let done = 0;
    await queue.consume(
      async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(120);
        running--;
        done++;
      },
      { concurrency: 3 },
    );
    expect(await eventually(() => done === 9, 10_000)).toBe(true);
    expect(peak).toBe(3);
  });

  it('close(grace) lets a handler that finishes within the grace period complete', async () => {
    const options = freshQueueOptions();
    const queue = await harness.open(options);
    let signal: AbortSignal | undefined;
    let started = false;
    await queue.consume(
      async (delivery) => {
        signal = delivery.signal;
        started = true;
        await sleep(300);
      },
      { concurrency: 1 },
    );
    await queue.enqueue('exp_grace');
    expect(await eventually(() => started)).toBe(true);
    await queue.close(5000);
    expect(signal?.aborted).toBe(false);
    expect(await harness.probe(options).getJobState('exp_grace')).toBe('completed');
  });

  it('close(grace) stops taking work, aborts late handlers and hands their ids straight back', async () => {
    const options = freshQueueOptions();
    const first = await harness.open(options);
    let reason: unknown;
    let started = false;
    await first.consume(
      async ({ signal }) => {
        started = true;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        reason = signal.reason;
        throw signal.reason;
      },
      { concurrency: 1 },
    );
    await first.enqueue('exp_slow');
    expect(await eventually(() => started)).toBe(true);
    await first.enqueue('exp_later');

    const closingAt = Date.now();
    await first.close(300);
    const closeMs = Date.now() - closingAt;
    expect(closeMs).toBeGreaterThanOrEqual(290);
    expect(closeMs).toBeLessThan(3000);
    expect(reason).toBeInstanceOf(TakeoutError);
    expect((reason as TakeoutError).code).toBe('aborted');
    const probe = harness.probe(options);
    // Handed back, not failed, not left active until its 30 s lock expires.
    expect(await probe.getJobState('exp_slow')).toBe('waiting');
    expect(await probe.getJobState('exp_later')).toBe('waiting');
    await expect(first.enqueue('exp_after')).rejects.toMatchObject({ code: 'queue_error' });

    const second = await harness.open(options);
    const takenAt = Date.now();
    const taken: { id: string; attempt: number; at: number }[] = [];
    await second.consume(
      async ({ id, attempt }) => {
        taken.push({ id, attempt, at: Date.now() });
      },
      { concurrency: 1 },
    );
    expect(await eventually(() => taken.length === 2)).toBe(true);
    // The aborted one comes first (head of the line) and a hand-back is not an attempt.
    expect(taken.map(({ id, attempt }) => ({ id, attempt }))).toEqual([
      { id: 'exp_slow', attempt: 1 },
      { id: 'exp_later', attempt: 1 },
    ]);
    expect(taken[0]!.at - takenAt).toBeLessThan(2000);
  });

  it('aborts a handler whose lock another worker took over', async () => {
    const options = freshQueueOptions({ lockDurationMs: 1000, stalledIntervalMs: 500 });
    const queue = await harness.open(options);
    let signal: AbortSignal | undefined;
    await queue.consume(
      async (delivery) => {
        signal ??= delivery.signal;
        await new Promise((resolve) => delivery.signal.addEventListener('abort', resolve, { once: true }));
      },
      { concurrency: 1 },
    );
    await queue.enqueue('exp_lock');
    expect(await eventually(() => signal !== undefined)).toBe(true);
    // Another party steals the lock (as after a long event-loop stall): renewal fails.
    const client = new Redis(options.url);
    await client.set(`${options.prefix}:${options.name}:exp_lock:lock`, 'someone-else', 'PX', 60_000);
    client.disconnect();
    expect(await eventually(() => signal!.aborted, 3000)).toBe(true);
    expect((signal!.reason as TakeoutError).code).toBe('aborted');
  });

  it('warns when Redis may evict keys, and not when it is noeviction', async () => {
    const quiet = recordingLogger();
    await harness.open(freshQueueOptions({ logger: quiet }));
    expect(quiet.entries.filter((entry) => entry.message.includes('noeviction'))).toEqual([]);
    // The other case runs on a private server in queue-bullmq-crash.test.ts.
  });

  it('gives up with queue_error when Redis cannot be reached', async () => {
    const startedAt = Date.now();
    await expect(
      bullmqQueue(freshQueueOptions({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 800 })),
    ).rejects.toMatchObject({ code: 'queue_error' });
    expect(Date.now() - startedAt).toBeLessThan(5000);
    await expect(bullmqQueue(freshQueueOptions({ url: 'http://127.0.0.1:6379' }))).rejects.toMatchObject({
      code: 'config_error',
      message: "bullmqQueue's url must start with redis:// or rediss://",
    });
    await expect(bullmqQueue(freshQueueOptions({ attempts: 0 }))).rejects.toMatchObject({
      code: 'config_error',
    });
  });

  it('refuses a database Redis does not have, instead of using database 0', async () => {
    const url = `${freshQueueOptions().url}/999`;
    await expect(bullmqQueue(freshQueueOptions({ url }))).rejects.toMatchObject({
      code: 'config_error',
      // The caller gave the url option, not REDIS_URL: the error says where to look.
      message: expect.stringMatching(/^bullmqQueue's url names database 999, which this Redis does not have/),
    });
    // Out of reach, the database cannot be checked: that is the queue's own error.
    await expect(
      bullmqQueue(freshQueueOptions({ url: 'redis://127.0.0.1:1/999', connectTimeoutMs: 800 })),
    ).rejects.toMatchObject({ code: 'queue_error' });
  });
});
