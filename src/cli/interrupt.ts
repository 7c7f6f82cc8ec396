import { rmSync } from 'node:fs';
import { constants } from 'node:os';

/** Exit code after Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED = 130;

/** The signals that stop a command the way Ctrl-C does: a terminal closing, `kill`, `docker stop`. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** 128 + the signal's number (130, 143, 129), as shells report a process it ended. */
export function exitCodeOf(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/** Whether `code` is what a command returns after a stop signal (main exits at once then). */
export function isSignalExit(code: number): boolean {
  return STOP_SIGNALS.some((signal) => exitCodeOf(signal) === code);
}

/** Partial files a second signal must not leave behind: it exits at once, without the cleanup. */
const partialFiles = new Set<string>();

/** Registers a partial file until the returned function is called (it is renamed or removed). */
export function removedOnExit(path: string): () => void {
  partialFiles.add(path);
  return () => partialFiles.delete(path);
}

/** The abort reason of a stop signal: an AbortError (as the export core expects) naming it. */
function stopReason(name: StopSignal): Error {
  return Object.assign(new Error(`Interrupted by ${name}`), { name: 'AbortError', stopSignal: name });
}

/** Why an interrupted command stopped: the signal, else Ctrl-C (tests abort their own signals). */
export function stopSignalOf(signal: AbortSignal): StopSignal {
  const stop = (signal.reason as { stopSignal?: unknown } | undefined)?.stopSignal;
  return STOP_SIGNALS.includes(stop as StopSignal) ? (stop as StopSignal) : 'SIGINT';
}

/** The exit code of a command `signal` interrupted. */
export function interruptedExit(signal: AbortSignal): number {
  return exitCodeOf(stopSignalOf(signal));
}

/** `interrupted` for Ctrl-C, `interrupted by SIGTERM` for the others: what the user sees. */
export function interruptedText(signal: AbortSignal): string {
  const stop = stopSignalOf(signal);
  return stop === 'SIGINT' ? 'interrupted' : `interrupted by ${stop}`;
}

/**
 * This process's stop signals (SIGINT, SIGTERM, SIGHUP) as an AbortSignal whose reason
 * names the signal: the first aborts the work (which cleans up after itself), a second
 * exits at once with 128 + its number, removing the partial files registered.
 */
export function onStopSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      for (const path of partialFiles) rmSync(path, { force: true });
      process.exit(exitCodeOf(name as StopSignal));
    }
    controller.abort(stopReason(name as StopSignal));
  };
  for (const name of STOP_SIGNALS) process.on(name, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of STOP_SIGNALS) process.off(name, handler);
    },
  };
}
