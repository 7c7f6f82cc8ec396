/**
 * `takeout serve` / `takeout worker` refuse at start, with one config_error line naming the
 * setting: a REDIS_URL database Redis does not have, and the metrics port on PORT.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHARED_REDIS_URL } from '../support/bullmq-harness.js';
import { runCommand, unusedPort } from '../support/cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-config-refusals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, env: NodeJS.ProcessEnv) {
  return runCommand(
    command,
    {
      TAKEOUT_DEMO: 'false',
      TAKEOUT_SECRET: '0123456789abcdef0123456789abcdef',
      TAKEOUT_DATA_DIR: join(dir, command),
      ...env,
    },
    30_000,
  );
}

describe('start-up refusals', () => {
  it('refuses a REDIS_URL database the server does not have (serve and worker)', async () => {
    const env = { REDIS_URL: `${SHARED_REDIS_URL}/999`, PORT: '0' };
    for (const result of await Promise.all([run('serve', env), run('worker', env)])) {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^takeout: config_error: REDIS_URL names database 999\b.*\n$/);
    }
  }, 60_000);

  it('blames TAKEOUT_METRICS_PORT, not PORT, when both are the same port', async () => {
    const port = String(await unusedPort());
    const result = await run('serve', { PORT: port, TAKEOUT_METRICS_PORT: port });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^takeout: config_error: TAKEOUT_METRICS_PORT \d+ is PORT too.*\n$/);
  }, 60_000);
});
