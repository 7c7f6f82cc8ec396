import { afterEach, describe, expect, it, vi } from 'vitest';
import { exitIfStillRunning, shutdownLimitMs } from '../../src/cli/exit-timer.js';
import { loadConfig } from '../../src/config.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('exitIfStillRunning', () => {
  it('exits with 1 once the time is up, saying why, and not before', () => {
    vi.useFakeTimers();
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const error = vi.fn();
    exitIfStillRunning(33_000, { error });
    vi.advanceTimersByTime(32_999);
    expect(exit).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(exit).toHaveBeenCalledWith(1);
    expect(error).toHaveBeenCalledWith('shutdown took too long; exiting');
  });

  it('holds nothing: its timer does not keep the process alive', () => {
    const timeout = vi.spyOn(globalThis, 'setTimeout');
    exitIfStillRunning(1000, { error: () => {} });
    const timer = timeout.mock.results[0]!.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    clearTimeout(timer);
  });

  it('clamps a time past the largest timer, which would otherwise fire at once', () => {
    vi.useFakeTimers();
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    exitIfStillRunning(2 ** 40, { error: () => {} });
    vi.advanceTimersByTime(1000);
    expect(exit).not.toHaveBeenCalled();
  });
});

describe('shutdownLimitMs', () => {
  it('gives running exports their grace, BullMQ its settling time, and a margin', () => {
    const grace = { TAKEOUT_SHUTDOWN_GRACE: '20' };
    expect(shutdownLimitMs(loadConfig({ ...grace, TAKEOUT_WORKERS: '0' }))).toBe(3000);
    expect(shutdownLimitMs(loadConfig({ ...grace, TAKEOUT_WORKERS: '2' }))).toBe(23_000);
    expect(
      shutdownLimitMs(loadConfig({ ...grace, TAKEOUT_WORKERS: '2', REDIS_URL: 'redis://127.0.0.1:6379' })),
    ).toBe(33_000);
  });
});
