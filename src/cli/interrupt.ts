import { rmSync } from 'node:fs';

/** Exit code after Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED = 130;

/** Partial files a second Ctrl-C must not leave behind: it exits at once, without the cleanup. */
const partialFiles = new Set<string>();

/** Registers a partial file until the returned function is called (it is renamed or removed). */
export function removedOnExit(path: string): () => void {
  partialFiles.add(path);
  return () => partialFiles.delete(path);
}

/**
 * This process's Ctrl-C as an AbortSignal: the first aborts the work (which cleans up after
 * itself), a second exits at once with 130, removing the partial files registered.
 */
export function onSigint(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) {
      for (const path of partialFiles) rmSync(path, { force: true });
      process.exit(INTERRUPTED);
    }
    controller.abort();
  };
  process.on('SIGINT', handler);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', handler) };
}
