/**
 * Sends the outbox's deliveries, on the worker side (`takeout worker`, and `takeout serve`
 * with workers). Each pass claims due deliveries with a lease (a dispatcher killed mid-send
 * loses them when it ends; another sends them again, under the same event id), sends them,
 * and records every attempt. A 2xx ends a delivery, 410 Gone disables the owner's webhook,
 * anything else is retried with exponential backoff and jitter until `retryForMs` after the
 * event. Nothing here ever holds up a job: jobs only write rows.
 */
import { randomUUID } from 'node:crypto';
import { coerceError } from '../errors.js';
import { type JobLogger, silentLogger } from '../jobs/log.js';
import { retryDelay } from '../jobs/queue/backoff.js';
import { settledWithin } from '../settle.js';
import type { NotifySettings } from './config.js';
import { emailMessage, Mailer } from './email.js';
import { webhookBody } from './payload.js';
import type { AttemptOutcome, Delivery, DeliveryStore } from './types.js';
import { sendWebhook } from './webhook.js';

export interface DispatcherOptions {
  store: DeliveryStore;
  settings: NotifySettings;
  log?: JobLogger;
  /** Deliveries sent at once. Default 8. */
  concurrency?: number;
  /** Told of every failed attempt (metrics). */
  onFailure?: (delivery: Delivery, outcome: AttemptOutcome) => void;
}

/** What sending gave: a status code and, unless it was a success, why not. */
interface Answer {
  statusCode?: number;
  error?: string;
}

/** After the sends under way were cut, the longest close() waits for them to end. */
const CUT_SETTLE_MS = 1000;

export class NotificationDispatcher {
  readonly #options: DispatcherOptions;
  readonly #log: JobLogger;
  readonly #leaseOwner = randomUUID();
  readonly #mailer: Mailer | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;
  #closed = false;
  /** Aborted when close() stops waiting: webhook sends under way are cut. */
  readonly #stop = new AbortController();

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#log = options.log ?? silentLogger;
    const { smtpUrl, mailFrom, timeoutMs } = options.settings;
    this.#mailer = smtpUrl && mailFrom ? new Mailer({ smtpUrl, from: mailFrom, timeoutMs }) : undefined;
  }

  /** How long a claim holds: past every timeout of one send (SMTP has three), with a margin. */
  get leaseMs(): number {
    return this.#options.settings.timeoutMs * 3 + 5000;
  }

  start(): void {
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#pass = this.runOnce()
        .then((claimed) => this.#schedule(claimed > 0 ? 0 : this.#options.settings.pollMs))
        .catch((error: unknown) => {
          this.#log.warn({ code: coerceError(error).code }, 'could not look for notifications to send');
          this.#schedule(this.#options.settings.pollMs);
        })
        .finally(() => {
          this.#pass = undefined;
        });
    }, ms);
  }

  /** One pass: claims due deliveries, sends them, records the outcomes. How many it claimed. */
  async runOnce(now = new Date()): Promise<number> {
    const claimed = await this.#options.store.claimDeliveries({
      leaseOwner: this.#leaseOwner,
      leaseMs: this.leaseMs,
      limit: this.#options.concurrency ?? 8,
      now,
    });
    // Closed while claiming: nothing is sent now; the claims run out and another dispatcher (or
    // the next start) sends them, under the same event ids.
    if (this.#closed) return claimed.length;
    await Promise.all(claimed.map((delivery) => this.#deliver(delivery)));
    return claimed.length;
  }

  async #deliver(delivery: Delivery): Promise<void> {
    const started = performance.now();
    const answer = await this.#send(delivery).catch(
      (error: unknown): Answer => ({ error: coerceError(error).message }),
    );
    // Cut by close(): not an outcome of the receiver's. The claim runs out and the event is sent
    // again, under the same id.
    if (this.#stop.signal.aborted) return;
    const outcome = this.#outcome(delivery, answer, performance.now() - started, new Date());
    const details = {
      exportId: delivery.exportId,
      deliveryId: delivery.id,
      channel: delivery.channel,
      event: delivery.event,
      attempt: delivery.attempts + 1,
      status: outcome.status,
      ...(answer.statusCode !== undefined ? { statusCode: answer.statusCode } : {}),
    };
    if (outcome.status === 'delivered') this.#log.info(details, 'notification delivered');
    else {
      this.#log.warn({ ...details, reason: answer.error }, 'notification attempt failed');
      this.#options.onFailure?.(delivery, outcome);
    }
    try {
      const recorded = await this.#options.store.recordAttempt(delivery.id, this.#leaseOwner, outcome);
      // Our claim ran out while sending and another dispatcher took the delivery over.
      if (!recorded) this.#log.warn(details, 'notification attempt not recorded: the claim had ended');
    } catch (error) {
      // The claim ends by itself: the delivery is sent again then, under the same event id.
      this.#log.warn(
        { ...details, code: coerceError(error).code },
        'could not record a notification attempt',
      );
    }
  }

  #send(delivery: Delivery): Promise<Answer> {
    const { settings } = this.#options;
    switch (delivery.channel) {
      case 'email': {
        if (!this.#mailer || !settings.publicUrl || !delivery.destination) {
          return Promise.resolve({
            error: 'This process has no SMTP_URL, TAKEOUT_MAIL_FROM or TAKEOUT_PUBLIC_URL',
          });
        }
        const message = emailMessage(delivery, settings.publicUrl);
        return this.#mailer.send(delivery.destination, message, `<${delivery.id}@takeout>`);
      }
      case 'webhook':
      case 'service': {
        const url = delivery.channel === 'service' ? settings.webhookUrl : delivery.destination;
        if (!url || settings.webhookSecrets.length === 0) {
          return Promise.resolve({
            error: 'This process has no TAKEOUT_WEBHOOK_URL or TAKEOUT_WEBHOOK_SECRET',
          });
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
          secrets: settings.webhookSecrets,
          timeoutMs: settings.timeoutMs,
          signal: this.#stop.signal,
          // A per-export webhook's host name must resolve to a public address (its DNS is not the operator's).
          publicOnly: delivery.channel === 'webhook' && !settings.webhookAllowPrivate,
        });
      }
    }
  }

  #outcome(delivery: Delivery, answer: Answer, latencyMs: number, at: Date): AttemptOutcome {
    const base = {
      at,
      latencyMs,
      ...(answer.statusCode !== undefined ? { statusCode: answer.statusCode } : {}),
    };
    if (answer.error === undefined) return { ...base, status: 'delivered' };
    const failed = { ...base, error: answer.error.slice(0, 500) };
    // 410 Gone: the receiver wants no more of this export's events.
    if (answer.statusCode === 410 && delivery.channel === 'webhook') return { ...failed, status: 'disabled' };
    const { backoff, retryForMs } = this.#options.settings;
    const next = new Date(at.getTime() + retryDelay(delivery.attempts + 1, backoff));
    if (next.getTime() > delivery.createdAt.getTime() + retryForMs) return { ...failed, status: 'failed' };
    return { ...failed, status: 'pending', nextAttemptAt: next };
  }

  /**
   * Stops claiming deliveries at once, and waits up to `waitMs` for the sends under way. Those
   * still going then are cut (webhooks; an SMTP send ends within its own timeouts) and not
   * recorded: their claims run out and another dispatcher (or this process's next start) sends
   * them again, under the same event ids, as after a crash.
   */
  async close(waitMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const pass = this.#pass;
    if (pass) {
      let ended = false;
      const end = pass.then(
        () => {
          ended = true;
        },
        () => {
          ended = true;
        },
      );
      // A wait past the largest timer (Infinity included) would fire at once: it is no limit.
      if (waitMs >= 2 ** 31) await end;
      else await settledWithin(end, waitMs);
      if (!ended) {
        this.#stop.abort();
        await settledWithin(end, CUT_SETTLE_MS);
      }
    }
    await this.#mailer?.close();
  }
}
