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
  return deliveries
    .filter((delivery) => delivery.channel !== 'service' && delivery.destination !== undefined)
    .map((delivery) => deliveryView(delivery) as NotificationView);
}

/** One delivery, the service-wide webhook's too (no destination): for operators (`takeout jobs show`). */
export function deliveryView(delivery: Delivery): Omit<NotificationView, 'channel' | 'destination'> & {
  channel: Delivery['channel'];
  destination?: string;
} {
  const state =
    delivery.status === 'pending' ? (delivery.attempts > 0 ? 'retrying' : 'pending') : delivery.status;
  return {
    channel: delivery.channel,
    ...(delivery.destination !== undefined ? { destination: delivery.destination } : {}),
    event: delivery.event,
    state,
    attempts: delivery.attempts,
    ...(delivery.lastStatus !== undefined ? { last_status: delivery.lastStatus } : {}),
    ...(delivery.lastError !== undefined ? { last_error: delivery.lastError } : {}),
    ...(delivery.lastAttemptAt ? { last_attempt_at: delivery.lastAttemptAt.toISOString() } : {}),
    ...(delivery.status === 'pending' ? { next_attempt_at: delivery.nextAttemptAt.toISOString() } : {}),
    ...(delivery.deliveredAt ? { delivered_at: delivery.deliveredAt.toISOString() } : {}),
  };
}
