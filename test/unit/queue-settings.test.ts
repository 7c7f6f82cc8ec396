import { describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { bullmqSettingsFromEnv, resolveBullmqSettings } from '../../src/jobs/queue/bullmq-options.js';

describe('BullMQ settings', () => {
  it('come from TAKEOUT_QUEUE_* and leave unset ones to the defaults', () => {
    expect(bullmqSettingsFromEnv({})).toEqual({});
    expect(
      bullmqSettingsFromEnv({
        TAKEOUT_QUEUE_NAME: 'exports-eu',
        TAKEOUT_QUEUE_PREFIX: 'takeout:prod',
        TAKEOUT_QUEUE_LOCK: '2m',
        TAKEOUT_QUEUE_STALLED_INTERVAL: '15',
      }),
    ).toEqual({
      name: 'exports-eu',
      prefix: 'takeout:prod',
      lockDurationMs: 120_000,
      stalledIntervalMs: 15_000,
    });
    const resolved = resolveBullmqSettings({ url: 'redis://x', lockDurationMs: 5000 });
    expect(resolved).toMatchObject({
      name: 'takeout-exports',
      prefix: 'takeout',
      attempts: 5,
      lockDurationMs: 5000,
    });
    expect(resolved.stalledIntervalMs).toBe(30_000);
    // Recoveries from dead workers: as many as deliveries, so that the job's record, which
    // counts its attempts, fails a poison export before BullMQ drops its entry.
    expect(resolved.maxStalledCount).toBe(5);
    expect(resolveBullmqSettings({ url: 'redis://x', attempts: 7 }).maxStalledCount).toBe(7);
    expect(resolveBullmqSettings({ url: 'redis://x', attempts: 7, maxStalledCount: 1 }).maxStalledCount).toBe(
      1,
    );
  });

  it('name the bad variable', () => {
    expect(() => bullmqSettingsFromEnv({ TAKEOUT_QUEUE_NAME: 'a b' })).toThrow(/TAKEOUT_QUEUE_NAME/);
    expect(() => bullmqSettingsFromEnv({ TAKEOUT_QUEUE_LOCK: '0' })).toThrow(/TAKEOUT_QUEUE_LOCK/);
    expect(() => bullmqSettingsFromEnv({ TAKEOUT_QUEUE_STALLED_INTERVAL: 'soon' })).toThrow(
      /TAKEOUT_QUEUE_STALLED_INTERVAL/,
    );
    expect(() => resolveBullmqSettings({ url: 'redis://x', concurrency: 1.5 } as never)).toThrow(
      /concurrency/,
    );
  });

  it('refuse an option bullmqQueue does not know, and a missing url, instead of running on defaults', () => {
    const typo = () => resolveBullmqSettings({ url: 'redis://x', lockDuration: 60_000 } as never);
    expect(typo).toThrow(TakeoutError);
    expect(typo).toThrow(/bullmqQueue has no option "lockDuration" \(did you mean lockDurationMs\?\)/);
    for (const missing of [undefined, {}, { url: 6379 }]) {
      expect(() => resolveBullmqSettings(missing as never)).toThrow(/bullmqQueue needs options with a url/);
    }
  });
});
