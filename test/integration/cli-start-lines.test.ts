/**
 * What `takeout serve` and `takeout worker` say once they stand: the deployment they joined,
 * and the settings that look wrong without being invalid. Each was a silent failure an
 * operator met: `TAKEOUT_WORKER=0` (a missing S) left two workers in an API process, a
 * misspelt TAKEOUT_QUEUE_PREFIX joined another deployment's queue, and a worker without
 * STORAGE_URL wrote files that no API process could serve.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dropQueueKeys, SHARED_REDIS_URL } from '../support/bullmq-harness.js';
import { startServeWithConfig } from '../support/serve-process.js';
import { type LogLine, startWorkerProcess } from '../support/worker-process.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'takeout-start-'));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const WARN = 40;

describe('start lines', () => {
  it('serve warns about a misspelt TAKEOUT_ variable, not about a dataset urlEnv, and says what it runs', async () => {
    const dir = tempDir();
    const serve = await startServeWithConfig(
      dir,
      {
        datasets: [
          {
            name: 'shop',
            connection: { postgres: { urlEnv: 'TAKEOUT_SHOP_DATABASE' } },
            sql: 'SELECT 1 AS a',
          },
        ],
      },
      {
        // What the shell running the tests may set would change the deployment: unset here.
        REDIS_URL: '',
        DATABASE_URL: '',
        STORAGE_URL: '',
        TAKEOUT_WORKERS: '',
        LOG_LEVEL: 'info',
        TAKEOUT_WORKER: '0',
        TAKEOUT_SHOP_DATABASE: 'postgres://127.0.0.1:5432/shop',
      },
    );
    cleanup.push(() => serve.terminate());
    const lines = (): LogLine[] =>
      serve
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as LogLine);
    await expect.poll(() => lines().some((line) => line.msg === 'takeout serve is running')).toBe(true);
    const running = lines().find((line) => line.msg === 'takeout serve is running')!;
    expect(running).toMatchObject({ jobStore: 'sqlite', queue: 'embedded', workers: 2 });
    // Old and new processes tell apart during a roll.
    expect(running.version).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    expect(running.storage).toBe(`file://${join(dir, 'data', 'files')}`);
    const warnings = lines()
      .filter((line) => line.level === WARN)
      .map((line) => line.msg);
    expect(warnings).toContain(
      'TAKEOUT_WORKER is not a Takeout setting and is ignored (did you mean TAKEOUT_WORKERS?) (docs/configuration.md)',
    );
    expect(warnings.join('\n')).not.toContain('TAKEOUT_SHOP_DATABASE');
  });

  it('a worker names its queue and warns about a misspelt prefix and about files on its own disk', async () => {
    const dir = tempDir();
    const prefix = `takeout-start:${process.pid}:${randomBytes(4).toString('hex')}`;
    const redisUrl = SHARED_REDIS_URL;
    cleanup.push(() => dropQueueKeys(redisUrl, prefix));
    const common = {
      TAKEOUT_DATA_DIR: dir,
      TAKEOUT_DEMO: 'false',
      TAKEOUT_SECRET: randomBytes(24).toString('hex'),
      REDIS_URL: redisUrl,
      TAKEOUT_QUEUE_PREFIX: prefix,
      TAKEOUT_QUEUE_PREFX: 'meant-elsewhere',
      TAKEOUT_WORKERS: '1',
    };
    const worker = await startWorkerProcess(common);
    cleanup.push(async () => {
      worker.child.kill('SIGKILL');
      await worker.exited;
    });
    const running = worker.lines.find((line) => line.msg === 'takeout worker is running')!;
    expect(running).toMatchObject({
      queue: 'bullmq',
      queueName: 'takeout-exports',
      queuePrefix: prefix,
      workers: 1,
    });
    await worker.waitFor((line) => line.msg.startsWith('STORAGE_URL is not set'));
    const warnings = worker.lines.filter((line) => line.level === WARN).map((line) => line.msg);
    expect(warnings).toContain(
      'TAKEOUT_QUEUE_PREFX is not a Takeout setting and is ignored (did you mean TAKEOUT_QUEUE_PREFIX?) (docs/configuration.md)',
    );
    expect(warnings.find((w) => w.startsWith('STORAGE_URL is not set'))).toContain(join(dir, 'files'));

    // A file: STORAGE_URL given on purpose (a shared mount) is the operator's choice: no warning.
    const shared = await startWorkerProcess({ ...common, STORAGE_URL: `file:${join(dir, 'shared')}` });
    cleanup.push(async () => {
      shared.child.kill('SIGKILL');
      await shared.exited;
    });
    expect(shared.lines.find((line) => line.msg === 'takeout worker is running')?.storage).toBe(
      `file://${join(dir, 'shared')}`,
    );
    expect(shared.lines.filter((line) => line.msg.startsWith('STORAGE_URL'))).toEqual([]);
  });
});
