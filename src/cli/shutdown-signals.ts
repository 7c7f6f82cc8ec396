/**
 * SIGTERM and SIGINT for the long-running commands (serve, worker). The first starts a graceful
 * stop; the second, of either kind, ends the shutdown grace (running exports are handed back to
 * the queue now instead of at its end); a third exits at once with 1. A supervisor's repeated
 * SIGTERM or a second Ctrl-C so hurries the stop, logged, instead of killing the process
 * silently halfway through its hand-backs (Node's default for a signal with no listener).
 */

export interface ShutdownHandlers {
  /** The first signal: stop taking work and close, letting running exports finish. */
  stop(signal: NodeJS.Signals): void;
  /** The second: end the grace now. */
  hurry(signal: NodeJS.Signals): void;
}

interface ShutdownLog {
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** Listens for the stop signals; returns the function that stops listening. */
export function onShutdownSignals(handlers: ShutdownHandlers, log: ShutdownLog): () => void {
  let received = 0;
  const listener = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      handlers.stop(signal);
    } else if (received === 2) {
      log.warn(
        { signal },
        'second stop signal: handing running exports back now (another one exits at once)',
      );
      handlers.hurry(signal);
    } else {
      log.error({ signal }, 'third stop signal: exiting now');
      process.exit(1);
    }
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, listener);
  return () => {
    for (const signal of SHUTDOWN_SIGNALS) process.off(signal, listener);
  };
}
