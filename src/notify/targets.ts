/**
 * Where a new export's events will go, decided when it is created: the owner's webhook (if
 * its host is allowed), the owner's email (if the service sends email), and the service-wide
 * webhook. A refused target refuses the export, before anything is queued.
 */
import { TakeoutError } from '../errors.js';
import type { NotifyRequest } from '../exports/notify.js';
import { isAllowed, isMailAllowed } from './allow.js';
import type { NotifySettings } from './config.js';
import type { NotifyTarget } from './types.js';

/** Throws `webhook_not_allowed` or `email_not_configured` for what this service will not send. */
export function checkNotify(notify: NotifyRequest | undefined, settings: NotifySettings): void {
  if (notify?.webhook !== undefined) {
    const url = new URL(notify.webhook);
    const serviceWide = settings.webhookUrl !== undefined && url.href === settings.webhookUrl;
    if (!serviceWide && !isAllowed(url, settings.webhookAllow)) {
      throw new TakeoutError(
        'webhook_not_allowed',
        `This service does not call webhooks at ${url.host}; ask its operator to allow the host (TAKEOUT_WEBHOOK_ALLOW)`,
        { details: { host: url.host } },
      );
    }
  }
  if (notify?.email !== undefined && !settings.smtpUrl) {
    throw new TakeoutError('email_not_configured', 'This service does not send email (no SMTP_URL)');
  }
  if (notify?.email !== undefined && !isMailAllowed(notify.email, settings.mailAllow)) {
    const domain = notify.email.slice(notify.email.lastIndexOf('@') + 1);
    throw new TakeoutError(
      'email_not_allowed',
      `This service does not send email to ${domain}; ask its operator to allow the domain (TAKEOUT_MAIL_ALLOW)`,
      { details: { domain } },
    );
  }
}

export function notifyTargets(notify: NotifyRequest | undefined, settings: NotifySettings): NotifyTarget[] {
  checkNotify(notify, settings);
  const targets: NotifyTarget[] = [];
  if (notify?.webhook !== undefined) targets.push({ channel: 'webhook', url: notify.webhook });
  if (notify?.email !== undefined) targets.push({ channel: 'email', to: notify.email });
  if (settings.webhookUrl) targets.push({ channel: 'service' });
  return targets;
}
