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
