/**
 * An export's notifications as its owner sees them: one entry per event and channel the
 * owner asked for, with the destination they gave and how delivery went. The service-wide
 * webhook is the operator's and is not shown; nor are secrets or the payload.
 */
import type { Delivery } from './types.js';

export interface NotificationView {
  channel: 'webhook' | 'email';
  /** The webhook URL or the email address the owner gave. */
  destination: string;
  event: Delivery['event'];
  /** `pending` (not tried yet), `retrying`, `delivered`, `failed` (retries ran out), `disabled` (410 Gone). */
  state: 'pending' | 'retrying' | 'delivered' | 'failed' | 'disabled';
  attempts: number;
  /** The HTTP status of the last answer (webhook) or the SMTP reply code of a refusal. */
  last_status?: number;
  last_error?: string;
  last_attempt_at?: string;
  next_attempt_at?: string;
  delivered_at?: string;
}

export function notificationsView(deliveries: readonly Delivery[]): NotificationView[] {
  const views: NotificationView[] = [];
  for (const delivery of deliveries) {
    if (delivery.channel === 'service' || delivery.destination === undefined) continue;
    const state =
      delivery.status === 'pending' ? (delivery.attempts > 0 ? 'retrying' : 'pending') : delivery.status;
    const view: NotificationView = {
      channel: delivery.channel,
      destination: delivery.destination,
      event: delivery.event,
      state,
      attempts: delivery.attempts,
    };
    if (delivery.lastStatus !== undefined) view.last_status = delivery.lastStatus;
    if (delivery.lastError !== undefined) view.last_error = delivery.lastError;
    if (delivery.lastAttemptAt) view.last_attempt_at = delivery.lastAttemptAt.toISOString();
    if (delivery.status === 'pending') view.next_attempt_at = delivery.nextAttemptAt.toISOString();
    if (delivery.deliveredAt) view.delivered_at = delivery.deliveredAt.toISOString();
    views.push(view);
  }
  return views;
}
