/** A notification dispatcher on a test service's store, with its own settings, closed at clean-up. */
import { notifySettingsFromEnv } from '../../src/notify/config.js';
import { NotificationDispatcher } from '../../src/notify/dispatcher.js';
import type { TestService } from './jobs.js';

export function testDispatcher(
  t: TestService,
  env: NodeJS.ProcessEnv,
  cleanups: (() => Promise<void>)[],
): NotificationDispatcher {
  const dispatcher = new NotificationDispatcher({
    store: t.service.jobs.store,
    settings: notifySettingsFromEnv(env),
  });
  cleanups.push(() => dispatcher.close(0));
  return dispatcher;
}
