import type { JobSettings } from '../config.js';
import type { JobLogger } from '../log.js';
import type { JobStore } from '../types.js';
import { embeddedQueue } from './embedded.js';
import type { ExportQueue } from './types.js';

/** The configured queue: BullMQ with REDIS_URL (bullmq loaded only then), else the embedded one. */
export async function openQueue(
  settings: JobSettings,
  store: JobStore,
  log?: JobLogger,
): Promise<ExportQueue> {
  if (settings.redisUrl) {
    const { bullmqQueue } = await import('./bullmq.js');
    return bullmqQueue({
      ...settings.bullmq,
      url: settings.redisUrl,
      attempts: settings.attempts,
      ...(log ? { logger: log } : {}),
    });
  }
  return embeddedQueue({
    store,
    maxAttempts: settings.attempts,
    ...(log
      ? { onError: (error) => log.warn({ error: String(error) }, 'the embedded queue could not read jobs') }
      : {}),
  });
}
