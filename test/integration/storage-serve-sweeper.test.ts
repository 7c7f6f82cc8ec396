/**
 * `takeout serve`'s scheduled sweeper and TAKEOUT_JOB_TIMEOUT: leftovers of unfinished writes
 * are removed only once they are older than the job time limit plus an hour (at least a day),
 * so an export allowed to run longer than a day keeps its upload.
 */
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { startService } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { eventually } from '../support/eventually.js';

let app: FastifyInstance | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  await app?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('takeout serve: the sweeper and long exports', () => {
  it('keeps the temp file of an export 25 h into its 48 h limit, and removes older leftovers', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'takeout-serve-sweep-'));
    const tmp = join(dataDir, 'files', '.tmp');
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    const aged = async (name: string, hours: number) => {
      const path = join(tmp, name);
      await writeFile(path, 'x');
      const then = new Date(Date.now() - hours * 3_600_000);
      await utimes(path, then, then);
      return path;
    };
    const running = await aged('running.part', 25);
    const left = await aged('left.part', 50);
    const env = {
      PORT: '0',
      TAKEOUT_DATA_DIR: dataDir,
      TAKEOUT_DEMO: 'false',
      TAKEOUT_WORKERS: '0',
      TAKEOUT_SWEEP_INTERVAL: '1',
      TAKEOUT_JOB_TIMEOUT: '48h',
      LOG_LEVEL: 'error',
    };
    app = await startService(loadConfig(env), env);
    const gone = (path: string) =>
      stat(path).then(
        () => false,
        () => true,
      );
    expect(await eventually(() => gone(left), 10_000)).toBe(true);
    // Another full pass (every second) has looked at the running export's file since.
    await sleep(2500);
    expect(await gone(running)).toBe(false);
  });
});
