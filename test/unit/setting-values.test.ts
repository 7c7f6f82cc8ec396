import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const base = { TAKEOUT_DEMO: 'off' };
const refusal = (env: Record<string, string>) => {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a config_error');
};

describe('settings: one grammar for whole numbers and durations', () => {
  it('reads whole numbers with _ between digit groups in every setting', () => {
    const config = loadConfig({ ...base, TAKEOUT_SYNC_MAX_ROWS: '1_000', TAKEOUT_JOB_MAX_ROWS: '2_000_000' });
    expect(config.syncMaxRows).toBe(1000);
    expect(config.jobs.maxRows).toBe(2_000_000);
    expect(loadConfig({ ...base, TAKEOUT_RATE_LIMIT: '1_200' }).rateLimit.max).toBe(1200);
  });

  it.each(['0x10', '1e3', '1.5', '-3', '1__000', '_1', '1_', ' '])(
    'refuses %j as a whole number',
    (value) => {
      for (const name of ['TAKEOUT_SYNC_MAX_ROWS', 'TAKEOUT_JOB_MAX_ROWS', 'TAKEOUT_RATE_LIMIT']) {
        if (value.trim() === '') continue; // empty means unset
        expect(refusal({ [name]: value })).toMatchObject({
          code: 'config_error',
          message: expect.stringContaining(name),
        });
      }
    },
  );

  it('takes days and fractions in every duration, and whole seconds where a setting counts seconds', () => {
    expect(loadConfig({ ...base, TAKEOUT_JOB_TIMEOUT: '1.5h' }).jobs.timeoutMs).toBe(5_400_000);
    expect(loadConfig({ ...base, TAKEOUT_JOB_TIMEOUT: '2000ms' }).jobs.timeoutMs).toBe(2_000);
    expect(loadConfig({ ...base, TAKEOUT_SYNC_IDLE_TIMEOUT: '1d' }).syncIdleTimeoutMs).toBe(86_400_000);
    expect(refusal({ TAKEOUT_JOB_TIMEOUT: '1.5s' })).toMatchObject({
      code: 'config_error',
      message: expect.stringContaining('whole seconds'),
    });
    expect(refusal({ TAKEOUT_FILE_TTL: '1w' }).message).toContain('TAKEOUT_FILE_TTL');
  });
});
