/**
 * The BullMQ queue when things break: a consumer process killed with SIGKILL, and a Redis
 * restart mid-flight (on a private redis-server with an append-only file, never the shared one).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { BullmqQueueOptions } from '../../src/jobs/queue/bullmq.js';
import { BullmqHarness, eventually, freshQueueOptions, recordingLogger } from '../support/bullmq-harness.js';
import { usePrivateRedis } from '../support/redis-server.js';

const harness = new BullmqHarness();
afterEach(() => harness.cleanUp());

interface ConsumerProcess {
  child: ChildProcess;
  started: Promise<{ started: string; attempt: number }>;
}

async function startConsumerProcess(options: BullmqQueueOptions): Promise<ConsumerProcess> {
  const { logger: _logger, ...serializable } = options;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/bullmq-consumer.ts', JSON.stringify(serializable)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  let onStarted: (value: { started: string; attempt: number }) => void = () => {};
  const started = new Promise<{ started: string; attempt: number }>((resolve) => {
    onStarted = resolve;
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`consumer exited with ${code}`)));
    lines.on('line', (line) => {
      const message = JSON.parse(line) as { ready?: boolean; started?: string; attempt?: number };
      if (message.ready) resolve();
      if (message.started) onStarted({ started: message.started, attempt: message.attempt ?? 0 });
    });
  });
  return { child, started };
}

async function serverRunId(url: string): Promise<string | undefined> {
  const client = new Redis(url);
  const info = await client.info('server');
  client.disconnect();
  return /run_id:(\w+)/.exec(info)?.[1];
}

describe('bullmq queue under failures', () => {
  it('hands the id of a consumer killed with SIGKILL to another consumer', async () => {
    const options = freshQueueOptions({ lockDurationMs: 2000, stalledIntervalMs: 1000 });
    const doomed = await startConsumerProcess(options);
    const producer = await harness.open(options);
    await producer.enqueue('exp_crash');
    const started = await doomed.started;
    expect(started).toEqual({ started: 'exp_crash', attempt: 1 });

    const exited = new Promise((resolve) => doomed.child.once('exit', (_code, signal) => resolve(signal)));
    doomed.child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const killedAt = Date.now();

    const survivor = await harness.open(options);
    const taken: { id: string; attempt: number }[] = [];
    await survivor.consume(
      async ({ id, attempt }) => {
        taken.push({ id, attempt });
      },
      { concurrency: 1 },
    );
    // Lock expiry (2 s) plus one stalled check (1 s), with slack for a loaded machine.
    expect(await eventually(() => taken.length > 0, 10_000)).toBe(true);
    expect(Date.now() - killedAt).toBeGreaterThan(500);
    // A delivery lost with its process is not a failed attempt.
    expect(taken).toEqual([{ id: 'exp_crash', attempt: 1 }]);
    const probe = harness.probe(options);
    expect(await eventually(async () => (await probe.getJobState('exp_crash')) === 'completed')).toBe(true);
  });

  describe('on a private Redis', () => {
    const privateRedis = usePrivateRedis();

    it('warns at start when maxmemory-policy is not noeviction', async () => {
      const admin = new Redis(privateRedis().url);
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const logger = recordingLogger();
      await harness.open(freshQueueOptions({ url: privateRedis().url, logger })).finally(async () => {
        await admin.config('SET', 'maxmemory-policy', 'noeviction');
        admin.disconnect();
      });
      const warning = logger.entries.find((entry) => entry.level === 'warn');
      expect(warning?.message).toMatch(/maxmemory-policy is allkeys-lru, not noeviction/);
      expect(warning?.details).toEqual({ maxmemoryPolicy: 'allkeys-lru' });
    });

    it('refuses an enqueue with queue_error within seconds while Redis is down', async () => {
      const queue = await harness.open(freshQueueOptions({ url: privateRedis().url }));
      await privateRedis().down();
      try {
        const startedAt = Date.now();
        await expect(queue.enqueue('exp_down')).rejects.toMatchObject({ code: 'queue_error' });
        expect(Date.now() - startedAt).toBeLessThan(8000);
      } finally {
        await privateRedis().up();
      }
      // Back up: the same queue object works again.
      await queue.enqueue('exp_down');
    });

    it('loses nothing when Redis restarts mid-flight', async () => {
      const options = freshQueueOptions({ url: privateRedis().url });
      const queue = await harness.open(options);
      const ids = Array.from({ length: 40 }, (_, i) => `exp_r${i}`);
      const finished = new Set<string>();
      let running = 0;
      await queue.consume(
        async ({ id }) => {
          running++;
          await sleep(100);
          running--;
          finished.add(id);
        },
        { concurrency: 2 },
      );
      for (const id of ids.slice(0, 30)) await queue.enqueue(id);
      expect(await eventually(() => finished.size >= 6, 10_000)).toBe(true);
      expect(await eventually(() => running > 0)).toBe(true);

      const runId = await serverRunId(privateRedis().url);
      await privateRedis().restart({ downMs: 700 });
      expect(await serverRunId(privateRedis().url)).not.toBe(runId);
      expect(finished.size).toBeLessThan(30);
      for (const id of ids.slice(30)) await queue.enqueue(id);

      expect(await eventually(() => finished.size === ids.length, 40_000)).toBe(true);
      const probe = harness.probe(options);
      expect(await eventually(async () => (await probe.getCompletedCount()) === ids.length, 20_000)).toBe(
        true,
      );
      expect(await probe.getFailedCount()).toBe(0);
    });
  });
});
