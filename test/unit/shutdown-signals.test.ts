import { afterEach, describe, expect, it, vi } from 'vitest';
import { onShutdownSignals } from '../../src/cli/shutdown-signals.js';

/** As Node delivers a signal: its name is the listener's argument. */
const deliver = (signal: NodeJS.Signals) =>
  (process.emit as (event: string, ...args: unknown[]) => boolean)(signal, signal);

describe('onShutdownSignals', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    vi.restoreAllMocks();
  });

  function listen() {
    const calls: string[] = [];
    const log = { warn: vi.fn(), error: vi.fn() };
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    cleanups.push(
      onShutdownSignals(
        { stop: (signal) => calls.push(`stop ${signal}`), hurry: (signal) => calls.push(`hurry ${signal}`) },
        log,
      ),
    );
    return { calls, log, exit };
  }

  it('stops on the first signal, hurries on the second of either kind, exits on the third', () => {
    const { calls, log, exit } = listen();
    deliver('SIGINT');
    expect(calls).toEqual(['stop SIGINT']);
    expect(exit).not.toHaveBeenCalled();
    deliver('SIGTERM');
    expect(calls).toEqual(['stop SIGINT', 'hurry SIGTERM']);
    expect(log.warn).toHaveBeenCalledWith(
      { signal: 'SIGTERM' },
      expect.stringContaining('second stop signal'),
    );
    expect(exit).not.toHaveBeenCalled();
    deliver('SIGTERM');
    expect(exit).toHaveBeenCalledWith(1);
    expect(log.error).toHaveBeenCalledWith({ signal: 'SIGTERM' }, 'third stop signal: exiting now');
    expect(calls).toHaveLength(2);
  });

  it('stops listening when asked', () => {
    const before = process.listenerCount('SIGTERM');
    const stopListening = onShutdownSignals(
      { stop: () => {}, hurry: () => {} },
      { warn: () => {}, error: () => {} },
    );
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    expect(process.listenerCount('SIGINT')).toBeGreaterThan(0);
    stopListening();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
