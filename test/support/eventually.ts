import { setTimeout as sleep } from 'node:timers/promises';

/** Polls until `check` holds or `timeoutMs` passes; answers the last check (servers and sources let go asynchronously). */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs = 3000,
  everyMs = 25,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return check();
}

/** Polls until `check` gives a value, and answers it; throws when `timeoutMs` passes first. */
export async function eventuallyValue<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(everyMs);
  }
}
