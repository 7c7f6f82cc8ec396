/**
 * A private redis-server on a free loopback port, with an append-only file in a fresh
 * directory so its data survives `restart()`. For tests that stop Redis: never the shared
 * server on 6379.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

export interface RedisServerHandle {
  url: string;
  port: number;
  /** SHUTDOWN (the append-only file is flushed), then start again on the same port and data. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** SHUTDOWN only; `up()` starts it again on the same port and data. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** SIGSTOP: the port and connections stay open, but nothing is answered until `thaw()`. */
  freeze(): void;
  /** SIGCONT: answers again, with every command sent meanwhile. */
  thaw(): void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export async function startRedisServer(extraArgs: string[] = []): Promise<RedisServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'takeout-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--dir',
    dir,
    ...extraArgs,
  ];
  let child: ChildProcess;

  const launch = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
      } finally {
        probe.disconnect();
      }
      await sleep(50);
    }
  };

  const shutdown = async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) {
      const admin = new Redis({ port, host: '127.0.0.1', retryStrategy: () => null });
      admin.on('error', () => {});
      await admin.call('SHUTDOWN').catch(() => {});
      admin.disconnect();
      await exited;
    }
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart({ downMs = 500 } = {}) {
      await shutdown();
      await sleep(downMs);
      await launch();
    },
    down: shutdown,
    up: launch,
    freeze: () => child.kill('SIGSTOP'),
    thaw: () => child.kill('SIGCONT'),
    async stop() {
      child.kill('SIGCONT');
      await shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A private Redis for the enclosing suite: started before its tests, stopped after them. */
export function usePrivateRedis(): () => RedisServerHandle {
  let redis: RedisServerHandle | undefined;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return () => {
    if (!redis) throw new Error('the private Redis is not running');
    return redis;
  };
}
