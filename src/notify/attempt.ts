/**
 * One attempt at one delivery, for the dispatcher: the destination is checked against the
 * allow lists again (the operator may have taken its host off since the export was created),
 * the event is sent (webhook or email) within a deadline that ends well inside the delivery's
 * claim, and the answer becomes the outcome the store records.
 */
import { TakeoutError } from '../errors.js';
import type { NotifyRequest } from '../exports/notify.js';
import { retryDelay } from '../jobs/queue/backoff.js';
import type { NotifySettings } from './config.js';
import { emailMessage, type Mailer, messageId } from './email.js';
import { webhookBody } from './payload.js';
import { ownerWebhookSecrets } from './signing.js';
import { checkNotify } from './targets.js';
import type { AttemptOutcome, Delivery } from './types.js';
import { sendWebhook } from './webhook.js';

/** What sending gave: a status code and, unless it was a success, why not. */
export interface Answer {
  statusCode?: number;
  error?: string;
  /** Not worth trying again: the delivery fails at once. */
  permanent?: boolean;
  /** The receiver's `Retry-After`, ms: the next attempt comes no sooner (up to the longest backoff). */
  retryAfterMs?: number;
}

export interface AttemptContext {
  settings: NotifySettings;
  mailer: Mailer | undefined;
  /** The dispatcher's stop: cuts the send under way. */
  signal: AbortSignal;
}

/** Time kept in a claim after a send's deadline, for recording its outcome. */
export const RECORD_RESERVE_MS = 5000;

/**
 * The longest a send takes, ms: a webhook request its timeout; an SMTP send (a connection,
 * a greeting and half a dozen replies, each with the timeout) twice the timeout, as a whole.
 * Both end well inside a claim (`3 × timeout + 5 s`).
 */
export function sendBudgetMs(delivery: Pick<Delivery, 'channel'>, settings: NotifySettings): number {
  return delivery.channel === 'email' ? settings.timeoutMs * 2 : settings.timeoutMs;
}

/** The host a delivery goes to, for the per-host cap of the send slots. */
export function destinationHost(
  delivery: Pick<Delivery, 'channel' | 'destination'>,
  settings: NotifySettings,
): string {
  const url =
    delivery.channel === 'email'
      ? settings.smtpUrl
      : delivery.channel === 'service'
        ? settings.webhookUrl
        : delivery.destination;
  try {
    const host = new URL(url ?? '').host.toLowerCase();
    return delivery.channel === 'email' ? `smtp:${host}` : host;
  } catch {
    return `${delivery.channel}:`;
  }
}

/**
 * Why an owner's destination may not be sent to by this process, or undefined when it may: the
 * check made when the export was created (targets.ts), made again with this process's
 * settings. A destination its allow list leaves out fails for good (its code first:
 * `webhook_not_allowed: ...`, `email_not_allowed: ...`); a process without an allow list (or
 * without SMTP_URL) has not been set up to send such deliveries, and they wait for one that
 * has (a worker given only part of the API's settings must not fail every owner's event). The
 * service-wide webhook is the operator's own, never checked.
 */
export function refusal(
  delivery: Pick<Delivery, 'channel' | 'destination'>,
  settings: NotifySettings,
): Answer | undefined {
  const destination = delivery.destination ?? '';
  let notify: NotifyRequest | undefined;
  if (delivery.channel === 'webhook') {
    if (settings.webhookAllow.length === 0) return { error: 'This process has no TAKEOUT_WEBHOOK_ALLOW' };
    notify = { webhook: destination };
  } else if (delivery.channel === 'email' && settings.smtpUrl) {
    if (settings.mailAllow !== '*' && settings.mailAllow.length === 0) {
      return { error: 'This process has no TAKEOUT_MAIL_ALLOW' };
    }
    notify = { email: destination };
  }
  if (!notify) return undefined;
  try {
    checkNotify(notify, settings);
    return undefined;
  } catch (error) {
    const code = error instanceof TakeoutError ? error.code : `${delivery.channel}_not_allowed`;
    // Not even a URL (it was one when the export was created): refused all the same.
    const why = error instanceof TakeoutError ? error.message : 'not a valid destination';
    return { error: `${code}: ${why}; not retried`, permanent: true };
  }
}

/** Sends the delivery once; never rejects. */
export async function sendOnce(delivery: Delivery, context: AttemptContext): Promise<Answer> {
  const { settings, mailer, signal } = context;
  const refused = refusal(delivery, settings);
  if (refused) return refused;
  switch (delivery.channel) {
    case 'email': {
      if (!mailer || !settings.publicUrl || !delivery.destination) {
        return { error: 'This process has no SMTP_URL, TAKEOUT_MAIL_FROM or TAKEOUT_PUBLIC_URL' };
      }
      // A "ready to download" email for a file already gone would send its reader to nothing
      // (the SMTP relay was away past the file's retention).
      const expiresAt = delivery.event === 'export.succeeded' ? delivery.data.expires_at : undefined;
      if (expiresAt && Date.parse(expiresAt) <= Date.now()) {
        return { error: 'The file expired before this email could be sent; not sent', permanent: true };
      }
      const message = emailMessage(delivery, settings.publicUrl);
      return mailer.send(delivery.destination, message, messageId(delivery.id, settings.publicUrl), {
        signal,
        deadlineMs: sendBudgetMs(delivery, settings),
      });
    }
    case 'webhook':
    case 'service': {
      const url = delivery.channel === 'service' ? settings.webhookUrl : delivery.destination;
      if (!url || settings.webhookSecrets.length === 0) {
        return { error: 'This process has no TAKEOUT_WEBHOOK_URL or TAKEOUT_WEBHOOK_SECRET' };
      }
      // The service-wide webhook is the operator's: the service secrets. An owner's is signed
      // only with the owner's own secrets, derived from them: an owner, who holds those, can
      // forge neither the operator's events nor another owner's. During an upgrade from a
      // version that signed owners' webhooks with the service secrets, those sign too.
      let secrets: readonly string[];
      try {
        secrets =
          delivery.channel === 'service'
            ? settings.webhookSecrets
            : [
                ...ownerWebhookSecrets(settings.webhookSecrets, delivery.data.owner),
                ...(settings.webhookLegacySignature ? settings.webhookSecrets : []),
              ];
      } catch {
        return { error: 'The event names no owner to sign it for; not retried', permanent: true };
      }
      const jobPath = `/v1/exports/${encodeURIComponent(delivery.exportId)}`;
      return sendWebhook({
        url,
        id: delivery.id,
        body: webhookBody(
          delivery.event,
          delivery.createdAt,
          delivery.data,
          `${settings.publicUrl ?? ''}${jobPath}`,
        ),
        secrets,
        timeoutMs: settings.timeoutMs,
        signal,
        // A per-export webhook's host name must resolve to a public address (its DNS is not the operator's).
        publicOnly: delivery.channel === 'webhook' && !settings.webhookAllowPrivate,
      });
    }
  }
}

/** What an attempt came to: delivered, disabled (410), failed (for good, or retries ran out) or pending. */
export function attemptOutcome(
  delivery: Delivery,
  answer: Answer,
  latencyMs: number,
  at: Date,
  settings: Pick<NotifySettings, 'backoff' | 'retryForMs'>,
): AttemptOutcome {
  const base = {
    at,
    latencyMs,
    ...(answer.statusCode !== undefined ? { statusCode: answer.statusCode } : {}),
  };
  if (answer.error === undefined) return { ...base, status: 'delivered' };
  const failed = { ...base, error: answer.error.slice(0, 500) };
  // 410 Gone: the receiver wants no more of this export's events.
  if (answer.statusCode === 410 && delivery.channel === 'webhook') return { ...failed, status: 'disabled' };
  if (answer.permanent) return { ...failed, status: 'failed' };
  // No sooner than the receiver asked (a 429 or 503's Retry-After), nor later than the longest wait.
  const asked = Math.min(answer.retryAfterMs ?? 0, settings.backoff.maxMs);
  const wanted = at.getTime() + Math.max(retryDelay(delivery.attempts + 1, settings.backoff), asked);
  // The retry period runs from the event, or from an operator's redelivery; its last attempt
  // is at its end (a wait past it used to end the retries up to a whole backoff early).
  const from = delivery.redeliveredAt ?? delivery.createdAt;
  const deadline = from.getTime() + settings.retryForMs;
  if (at.getTime() >= deadline) return { ...failed, status: 'failed' };
  return { ...failed, status: 'pending', nextAttemptAt: new Date(Math.min(wanted, deadline)) };
}
