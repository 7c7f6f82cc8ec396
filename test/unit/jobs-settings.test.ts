import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { jobSettingsFromEnv } from '../../src/jobs/config.js';
import { isExportId, newExportId } from '../../src/jobs/ids.js';

describe('export ids', () => {
  it('are exp_ + 22 URL-safe characters, never repeated', () => {
    const ids = new Set(Array.from({ length: 1000 }, newExportId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^exp_[A-Za-z0-9_-]{22}$/);
    expect(isExportId('exp_short')).toBe(false);
    expect(isExportId(`exp_${'a'.repeat(21)}/`)).toBe(false);
  });
});

describe('job settings', () => {
  it('has defaults for everything', () => {
    expect(jobSettingsFromEnv({})).toEqual({
      databaseUrl: undefined,
      databaseSchema: undefined,
      redisUrl: undefined,
      bullmq: {},
      workers: 2,
      maxActivePerOwner: 10,
      maxRows: 50_000_000,
      maxBytes: 20 * 1024 ** 3,
      maxInputBytes: 256 * 1024 ** 2,
      timeoutMs: 3_600_000,
      attempts: 3,
      backoff: { baseMs: 10_000, maxMs: 600_000 },
      leaseMs: 30_000,
      shutdownGraceMs: 30_000,
      recordTtlSeconds: 30 * 86_400,
    });
  });

  it('reads every variable and names the bad one', () => {
    const settings = jobSettingsFromEnv({
      DATABASE_URL: 'postgres://db/takeout',
      TAKEOUT_WORKERS: '0',
      TAKEOUT_JOB_MAX_ROWS: '1_000_000',
      TAKEOUT_JOB_TIMEOUT: '90m',
      TAKEOUT_SHUTDOWN_GRACE: '0',
      TAKEOUT_RECORD_TTL: '7d',
      TAKEOUT_JOB_LEASE: '5',
      TAKEOUT_JOB_BACKOFF: '500ms',
      TAKEOUT_JOB_BACKOFF_MAX: '1m',
    });
    expect(settings).toMatchObject({
      databaseUrl: 'postgres://db/takeout',
      workers: 0,
      maxRows: 1_000_000,
      timeoutMs: 5_400_000,
      shutdownGraceMs: 0,
      recordTtlSeconds: 604_800,
      leaseMs: 5000,
      backoff: { baseMs: 500, maxMs: 60_000 },
    });
    // A base past the default maximum raises the maximum with it.
    expect(jobSettingsFromEnv({ TAKEOUT_JOB_BACKOFF: '1h' }).backoff).toEqual({
      baseMs: 3_600_000,
      maxMs: 3_600_000,
    });
    expect(() => jobSettingsFromEnv({ TAKEOUT_JOB_BACKOFF: '1m', TAKEOUT_JOB_BACKOFF_MAX: '30s' })).toThrow(
      /TAKEOUT_JOB_BACKOFF_MAX must be at least TAKEOUT_JOB_BACKOFF/,
    );
    expect(() => jobSettingsFromEnv({ TAKEOUT_WORKERS: '-1' })).toThrow(/TAKEOUT_WORKERS/);
    expect(() => jobSettingsFromEnv({ TAKEOUT_JOB_TIMEOUT: 'soon' })).toThrow(/TAKEOUT_JOB_TIMEOUT/);
    expect(() => jobSettingsFromEnv({ TAKEOUT_JOB_LEASE: '1' })).toThrow(/TAKEOUT_JOB_LEASE/);
    expect(() => jobSettingsFromEnv({ DATABASE_URL: 'sqlite:x.db' })).toThrow(/DATABASE_URL/);
  });

  it('refuses durations a timer cannot wait (past 2^31 ms, it would fire at once)', () => {
    for (const name of ['TAKEOUT_JOB_TIMEOUT', 'TAKEOUT_SHUTDOWN_GRACE', 'TAKEOUT_JOB_LEASE']) {
      expect(() => jobSettingsFromEnv({ [name]: '30d' }), name).toThrow(
        new RegExp(`${name} must be at most 24 days`),
      );
      expect(jobSettingsFromEnv({ [name]: '24d' })).toBeDefined();
    }
    // Retention is a date, not a timer: any length.
    expect(jobSettingsFromEnv({ TAKEOUT_RECORD_TTL: '400d' }).recordTtlSeconds).toBe(400 * 86_400);
    expect(() => loadConfig({ TAKEOUT_SWEEP_INTERVAL: '30d' })).toThrow(/TAKEOUT_SWEEP_INTERVAL/);
  });
});

describe('service settings', () => {
  it('refuses an unknown LOG_LEVEL and a TAKEOUT_DEMO that is neither on nor off', () => {
    expect(loadConfig({ LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(
      expect.objectContaining({ code: 'config_error', message: expect.stringMatching(/^LOG_LEVEL/) }),
    );
    expect(loadConfig({ TAKEOUT_DEMO: 'off' }).demo).toBe(false);
    expect(loadConfig({ TAKEOUT_DEMO: 'no' }).demo).toBe(false);
    expect(loadConfig({ TAKEOUT_DEMO: 'yes' }).demo).toBe(true);
    expect(loadConfig({}).demo).toBe(true);
    expect(() => loadConfig({ TAKEOUT_DEMO: 'nope' })).toThrow(/TAKEOUT_DEMO/);
  });
});
