import { setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * Yields to the event loop when a chunk comes after more than `budgetMs` of work, so that
 * timers, lock renewals (BullMQ) and I/O run during CPU-heavy writers such as XLSX.
 */
export async function* yielding(body: AsyncIterable<Uint8Array>, budgetMs = 20): AsyncGenerator<Uint8Array> {
  let since = performance.now();
  for await (const chunk of body) {
    yield chunk;
    if (performance.now() - since > budgetMs) {
      await yieldToLoop();
      since = performance.now();
    }
  }
}
