/**
 * Notifications of finished exports: what the job store writes to its outbox in the same
 * transaction as a job's final status (a delivery per channel), and what the dispatcher
 * records of every attempt to send one.
 */

export const NOTIFY_EVENTS = [
  'export.succeeded',
  'export.failed',
  'export.canceled',
  'export.expired',
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/**
 * Where a job's events go, fixed when the job is created: the owner's webhook, the owner's
 * email address, the service-wide webhook (TAKEOUT_WEBHOOK_URL, resolved when sending).
 */
export type NotifyTarget =
  | { channel: 'webhook'; url: string }
  | { channel: 'email'; to: string }
  | { channel: 'service' };
export type NotifyChannel = NotifyTarget['channel'];

/** The events sent by email: a person wants to hear when the file is ready, or when it failed. */
export const EMAIL_EVENTS: readonly NotifyEvent[] = ['export.succeeded', 'export.failed'];

/** The event's facts, frozen when the job reached its state. Never a file URL. */
export interface EventData {
  id: string;
  status: string;
  /** The export's owner: whose derived secret signs their per-export webhooks. */
  owner: { id: string; tenant?: string };
  /** The dataset exported (absent for rows handed over). */
  dataset?: string;
  row_count?: number;
  size_bytes?: number;
  filename?: string;
  /** When the file is deleted (succeeded exports). */
  expires_at?: string;
  error?: { code: string; message: string };
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'disabled'] as const;
/**
 * `pending`: to be sent (again) at `nextAttemptAt`; `delivered`: a 2xx (or the SMTP server
 * took it); `failed`: retries ran out; `disabled`: the receiver answered 410 Gone.
 */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One event for one channel. Its `id` is the `webhook-id`: the same on every retry. */
export interface Delivery {
  /** `msg_` + random URL-safe characters. */
  id: string;
  exportId: string;
  channel: NotifyChannel;
  /** The owner's webhook URL or email address; none for the service-wide webhook. */
  destination?: string;
  event: NotifyEvent;
  data: EventData;
  status: DeliveryStatus;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
  nextAttemptAt: Date;
  /** The dispatcher sending it now, and until when its hold lasts. */
  lease?: { owner: string; expiresAt: Date };
  lastAttemptAt?: Date;
  /** HTTP status of the last answer, or the SMTP reply code. */
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: Date;
  /**
   * When an operator last sent it again (`takeout notifications redeliver`): its retry period
   * (TAKEOUT_NOTIFY_RETRY_FOR) runs from then instead of from `createdAt`, the event's time.
   */
  redeliveredAt?: Date;
}

/** One attempt at a delivery, kept for operators and owners. */
export interface DeliveryAttempt {
  deliveryId: string;
  /** 1 for the first attempt. */
  attempt: number;
  at: Date;
  statusCode?: number;
  latencyMs: number;
  error?: string;
}

/** What an attempt came to, as the dispatcher records it. */
export interface AttemptOutcome {
  status: 'delivered' | 'pending' | 'failed' | 'disabled';
  at: Date;
  latencyMs: number;
  statusCode?: number;
  error?: string;
  /** With `pending`: when to try again. */
  nextAttemptAt?: Date;
}

export interface ClaimDeliveriesOptions {
  /** The token of this dispatcher's claim. */
  leaseOwner: string;
  /** How long the claim holds without an outcome: a dispatcher killed mid-send loses it then. */
  leaseMs: number;
  limit: number;
  now?: Date;
  /**
   * Deliveries left for now (the dispatcher's sends to them are at their cap): those of these
   * channels, and webhooks to these hosts (`host[:port]`, lowercase).
   */
  skip?: { channels?: NotifyChannel[]; hosts?: string[] };
}

/** The outbox side of a job store (the same database, the same transactions). */
export interface DeliveryStore {
  /** Pending deliveries whose time has come and that no live dispatcher holds, now held by `leaseOwner`. */
  claimDeliveries(options: ClaimDeliveriesOptions): Promise<Delivery[]>;
  /** Records an attempt and its outcome, only while `leaseOwner` holds the delivery. */
  recordAttempt(id: string, leaseOwner: string, outcome: AttemptOutcome): Promise<Delivery | undefined>;
  /** An export's deliveries, oldest first. */
  deliveries(exportId: string): Promise<Delivery[]>;
  /** A delivery's attempts, first first. */
  deliveryAttempts(id: string): Promise<DeliveryAttempt[]>;
  /** Deletes finished deliveries (and their attempts) created before `before`; how many. */
  purgeDeliveries(before: Date): Promise<number>;
  /** Deliveries still to send (pending), and since when the longest-waiting one waits: for metrics. */
  deliveryBacklog?(): Promise<DeliveryBacklog>;
  /** Deliveries that match, newest first (`created_at`, then `id`): for operators. */
  findDeliveries?(query: DeliveryQuery): Promise<Delivery[]>;
  /**
   * Sends these deliveries again: each one that is not pending becomes pending now, with a
   * fresh retry period and the same id (receivers that saw it before can tell). Those changed.
   */
  redeliver?(ids: readonly string[], now?: Date): Promise<Delivery[]>;
}

/** What `findDeliveries` matches: every filter given. */
export interface DeliveryQuery {
  ids?: readonly string[];
  status?: readonly DeliveryStatus[];
  channel?: NotifyChannel;
  /** The owner's webhook URL or email address, exactly as stored. */
  destination?: string;
  exportId?: string;
  /** Created at or after this time. */
  since?: Date;
  /** The next page: deliveries after this one in the order (newest first). */
  after?: { createdAt: Date; id: string };
  limit: number;
}

/** What the outbox still has to send. */
export interface DeliveryBacklog {
  pending: number;
  /**
   * When the longest-waiting pending delivery started waiting: its creation, or its redelivery
   * by an operator. Absent when none is pending.
   */
  oldestCreatedAt?: Date;
}
