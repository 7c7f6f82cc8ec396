/**
 * `notify` of an export request: whom to tell when a background export finishes. Checked
 * here for shape only; whether the service may call that webhook host, or send email at
 * all, is the service's to decide when the job is created (src/notify/targets.ts).
 */
import { TakeoutError } from '../errors.js';
import { canonicalEmail } from '../notify/allow.js';
import type { JsonSchema } from '../schema.js';

export interface NotifyRequest {
  /** An http(s) URL that receives signed events (Standard Webhooks). */
  webhook?: string;
  /** An email address that is told when the file is ready (or the export failed). */
  email?: string;
}

export const NOTIFY_SCHEMA: JsonSchema = {
  type: 'object',
  description:
    'Whom to tell when the export finishes; asking for it makes the export a background job. ' +
    'Webhook hosts must be allowed by the service (TAKEOUT_WEBHOOK_ALLOW).',
  properties: {
    webhook: { type: 'string', minLength: 1, maxLength: 2048, description: 'An http(s) URL.' },
    email: { type: 'string', minLength: 3, maxLength: 254, description: 'An email address.' },
  },
  additionalProperties: false,
};

// One @, no spaces or angle brackets, a dot in the domain: enough to refuse typos and header
// tricks. Control and format characters (`a\u0000b@example.com`, mailed as `ab@example.com`)
// are refused by canonicalEmail, with the same error.
const EMAIL = /^[^\s@<>()",;:\\]+@[^\s@<>()",;:\\]+\.[^\s@<>()",;:\\]+$/;

/**
 * The member checked by `NOTIFY_SCHEMA`, normalised: URLs parsed; addresses with their domain
 * lowercased and without the trailing dot of a fully qualified name (`Ada@Example.COM.` is
 * `Ada@example.com`), the form that is checked against TAKEOUT_MAIL_ALLOW, stored and mailed.
 */
export function parseNotify(value: Record<string, unknown>): NotifyRequest {
  const notify: NotifyRequest = {};
  if (typeof value.webhook === 'string') {
    let url: URL | undefined;
    try {
      url = new URL(value.webhook);
    } catch {}
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
      throw new TakeoutError(
        'invalid_request',
        'notify.webhook must be an http:// or https:// URL without credentials',
        {
          details: { member: 'notify.webhook' },
        },
      );
    }
    notify.webhook = url.href;
  }
  if (typeof value.email === 'string') {
    const email = EMAIL.test(value.email) ? canonicalEmail(value.email) : undefined;
    if (email === undefined) {
      throw new TakeoutError('invalid_request', 'notify.email must be an email address', {
        details: { member: 'notify.email' },
      });
    }
    notify.email = email;
  }
  if (notify.webhook === undefined && notify.email === undefined) {
    throw new TakeoutError('invalid_request', 'notify needs a webhook or an email', {
      details: { member: 'notify' },
    });
  }
  return notify;
}
