/**
 * Where a new export's events will go, decided when it is created: the owner's webhook (if
 * its host is allowed), the owner's email (if the service sends email), and the service-wide
 * webhook. A refused target refuses the export, before anything is queued.
 */
import { TakeoutError } from '../errors.js';
import type { NotifyRequest } from '../exports/notify.js';
import { canonicalEmail, emailDomain, isAllowed, isMailAllowed } from './allow.js';
import type { NotifySettings } from './config.js';
import type { NotifyTarget } from './types.js';

/**
 * Throws `webhook_not_allowed`, `email_not_configured` or `email_not_allowed` for what this
 * service will not send.
 */
export function checkNotify(notify: NotifyRequest | undefined, settings: NotifySettings): void {
  if (notify?.webhook !== undefined) {
    const url = new URL(notify.webhook);
    // Even when it names the service-wide webhook (TAKEOUT_WEBHOOK_URL): that one is the
    // operator's own target, not a URL a caller may pick past the allow list.
    if (!isAllowed(url, settings.webhookAllow)) {
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
  // parseNotify refuses such an address already; a NotifyRequest made in code may still hold one.
  if (notify?.email !== undefined && canonicalEmail(notify.email) === undefined) {
    throw new TakeoutError('invalid_request', 'notify.email must be an email address', {
      details: { member: 'notify.email' },
    });
  }
  if (notify?.email !== undefined && !isMailAllowed(notify.email, settings.mailAllow)) {
    const domain = emailDomain(notify.email) ?? notify.email.slice(notify.email.lastIndexOf('@') + 1);
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
  if (notify?.email !== undefined) {
    targets.push({ channel: 'email', to: canonicalEmail(notify.email) ?? notify.email });
  }
  if (settings.webhookUrl) targets.push({ channel: 'service' });
  return targets;
}
