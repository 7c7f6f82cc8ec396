/**
 * A process that cannot start (Redis unreachable, SSL refused) says why and exits, so that its
 * supervisor starts it again: it must not hang on with a client that reconnects forever.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand, unusedPort } from '../support/cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-start-failures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, env: NodeJS.ProcessEnv) {
  // Well past the queue's 10 s connect timeout: a process still up then hangs.
  return runCommand(command, env, 40_000);
}

describe('a process that cannot reach Redis at start', () => {
  it('exits 1 with queue_error after the connect timeout (takeout worker and takeout serve)', async () => {
    const port = await unusedPort();
    const env = {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      TAKEOUT_DEMO: 'false',
      TAKEOUT_SECRET: '0123456789abcdef0123456789abcdef',
      PORT: '0',
    };
    const [worker, serve] = await Promise.all([
      run('worker', { ...env, TAKEOUT_DATA_DIR: join(dir, 'worker') }),
      run('serve', { ...env, TAKEOUT_DATA_DIR: join(dir, 'serve') }),
    ]);
    for (const [name, result] of [
      ['worker', worker],
      ['serve', serve],
    ] as const) {
      expect({ name, code: result.code, signal: result.signal }).toEqual({ name, code: 1, signal: null });
      expect(result.stderr).toContain('takeout: queue_error: Redis (REDIS_URL) is not reachable');
      expect(result.ms).toBeLessThan(30_000);
    }
  }, 60_000);
});

describe('a process whose DATABASE_URL asks for SSL the server does not offer', () => {
  it('exits 1 with job_store_error naming sslmode, not internal', async () => {
    // A server without SSL answers an SSLRequest with one byte, `N` (as PostgreSQL with
    // ssl = off does), whatever this machine's own cluster is configured with.
    const server = createServer((socket) => {
      socket.once('data', () => socket.end('N'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const result = await run('serve', {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=require`,
      TAKEOUT_DEMO: 'false',
      TAKEOUT_SECRET: '0123456789abcdef0123456789abcdef',
      TAKEOUT_DATA_DIR: join(dir, 'ssl'),
      PORT: '0',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'takeout: job_store_error: The job database refused the connection: The server does not support SSL connections (see sslmode in DATABASE_URL)',
    );
    expect(result.stderr).not.toContain('internal');
    server.close();
  }, 60_000);
});
