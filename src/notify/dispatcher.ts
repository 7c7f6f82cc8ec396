/**
 * Sends the outbox's deliveries, on the worker side (`takeout worker`, and `takeout serve`
 * with workers). It claims due deliveries with a lease (a dispatcher killed mid-send loses
 * them when it ends; another sends them again, under the same event id) into a pool of send
 * slots, refilled one by one as each send ends, at most a few to one host (slots.ts), so a slow
 * host never holds up the others. Each send ends within a deadline well inside its claim, and
 * every attempt is recorded (attempt.ts: a 2xx ends a delivery, 410 Gone disables the owner's
 * webhook, a destination no longer allowed or an SMTP 5xx refusal fails it at once, anything
 * else is retried with exponential backoff and jitter until `retryForMs` after the event).
 * Nothing here ever holds up a job: jobs only write rows.
 */
import { randomUUID } from 'node:crypto';
import { coerceError } from '../errors.js';
import { type JobLogger, silentLogger } from '../jobs/log.js';
import { Grace, settledWithin } from '../settle.js';
import {
  type Answer,
  attemptOutcome,
  destinationHost,
  RECORD_RESERVE_MS,
  sendBudgetMs,
  sendOnce,
} from './attempt.js';
import type { NotifySettings } from './config.js';
import { Mailer } from './email.js';
import { AttemptRecorder } from './record.js';
import { claimSkip, SendSlots } from './slots.js';
import type { AttemptOutcome, Delivery, DeliveryStore } from './types.js';

export interface DispatcherOptions {
  store: DeliveryStore;
  settings: NotifySettings;
  log?: JobLogger;
  /** Deliveries sent at once. Default: the settings' (TAKEOUT_NOTIFY_CONCURRENCY, 8). */
  concurrency?: number;
  /** Deliveries sent at once to one host (the SMTP server counts as one). Default: the settings' (TAKEOUT_NOTIFY_PER_HOST, 2). */
  perHost?: number;
  /** Told of every failed attempt (metrics). */
  onFailure?: (delivery: Delivery, outcome: AttemptOutcome) => void;
}

/** A claimed delivery, and when (performance.now()) its claim ends. */
interface Claimed {
  delivery: Delivery;
  host: string;
  leaseEndsAt: number;
}

/** After the sends under way were cut, the longest close() waits for them to end. */
const CUT_SETTLE_MS = 1000;

export class NotificationDispatcher {
  readonly #options: DispatcherOptions;
  readonly #log: JobLogger;
  readonly #leaseOwner = randomUUID();
  readonly #mailer: Mailer | undefined;
  readonly #slots: SendSlots;
  /** Sends under way. */
  readonly #inFlight = new Set<Promise<void>>();
  /** Claimed deliveries whose host had no slot free, waiting for one (at most one per slot). */
  #parked: Claimed[] = [];
  readonly #recorder: AttemptRecorder;
  #timer: NodeJS.Timeout | undefined;
  #claiming: Promise<void> | undefined;
  /** The last claim got all it asked for (more may be due): claim again as soon as a slot frees. */
  #backlog = false;
  #started = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #grace: Grace | undefined;
  /** Aborted when close() stops waiting: sends under way are cut. */
  readonly #stop = new AbortController();

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#log = options.log ?? silentLogger;
    this.#recorder = new AttemptRecorder(options.store, this.#leaseOwner, this.#log);
    const { smtpUrl, mailFrom, timeoutMs } = options.settings;
    this.#mailer = smtpUrl && mailFrom ? new Mailer({ smtpUrl, from: mailFrom, timeoutMs }) : undefined;
    const size = Math.max(1, Math.trunc(options.concurrency ?? options.settings.concurrency));
    const perHost = Math.trunc(options.perHost ?? options.settings.perHost);
    this.#slots = new SendSlots(size, Math.min(size, Math.max(1, perHost)));
  }

  /**
   * How long a claim holds: past the deadline of one send (an SMTP send's is twice the timeout,
   * a webhook's the timeout) with room to record it, and margin.
   */
  get leaseMs(): number {
    return this.#options.settings.timeoutMs * 3 + 5000;
  }

  start(): void {
    this.#started = true;
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#refill(), ms);
  }

  /** Claims due deliveries into the free slots (unless a claim is under way), then looks again. */
  #refill(): void {
    if (this.#closed || this.#claiming) return;
    clearTimeout(this.#timer);
    // No slot free: a send that ends calls again.
    if (this.#slots.free <= 0) {
      this.#backlog = true;
      return;
    }
    this.#claiming = this.#claim(new Date()).then(
      ({ full }) => {
        this.#claiming = undefined;
        this.#backlog = full;
        this.#schedule(full ? 0 : this.#options.settings.pollMs);
      },
      (error: unknown) => {
        this.#claiming = undefined;
        this.#log.warn({ code: coerceError(error).code }, 'could not look for notifications to send');
        this.#schedule(this.#options.settings.pollMs);
      },
    );
  }

  /**
   * Claims as many due deliveries as slots are free (none to a host at its cap), and starts
   * them, or parks those beyond their host's cap for it. `full`: it got all it asked for and
   * started every one, so more may be due that this dispatcher can send at once.
   */
  async #claim(now: Date): Promise<{ claimed: number; full: boolean }> {
    const limit = this.#slots.free;
    if (limit <= 0) return { claimed: 0, full: false };
    const claimedAt = performance.now();
    const claimed = await this.#options.store.claimDeliveries({
      leaseOwner: this.#leaseOwner,
      leaseMs: this.leaseMs,
      limit,
      now,
      // Not to hosts at their cap: leasing those would only keep them from other dispatchers.
      skip: claimSkip(
        this.#slots.hostsAtCap(),
        destinationHost({ channel: 'service' }, this.#options.settings),
      ),
    });
    // Closed while claiming: nothing is sent now; the claims run out and another dispatcher (or
    // the next start) sends them, under the same event ids.
    if (this.#closed) return { claimed: claimed.length, full: false };
    const leaseEndsAt = claimedAt + this.leaseMs;
    let started = 0;
    for (const delivery of claimed) {
      const host = destinationHost(delivery, this.#options.settings);
      if (this.#admit({ delivery, host, leaseEndsAt })) started++;
    }
    return { claimed: claimed.length, full: claimed.length >= limit && started === claimed.length };
  }

  /** One pass: claims due deliveries, sends them, records the outcomes. How many it claimed. */
  async runOnce(now = new Date()): Promise<number> {
    const { claimed } = await this.#claim(now);
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    return claimed;
  }

  /** Whether a send started now would end (its deadline) in time to be recorded within its claim. */
  #inTime(claimed: Claimed): boolean {
    const budget = sendBudgetMs(claimed.delivery, this.#options.settings);
    return performance.now() + budget + RECORD_RESERVE_MS <= claimed.leaseEndsAt;
  }

  /** Starts the delivery, or parks it for its host, or leaves it to its claim; whether it started. */
  #admit(claimed: Claimed): boolean {
    if (!this.#inTime(claimed)) {
      this.#log.warn(
        this.#details(claimed.delivery),
        'notification not sent now: its claim is too short (sent later)',
      );
    } else if (this.#slots.canTake(claimed.host)) {
      this.#begin(claimed);
      return true;
    } else if (this.#parked.length < this.#slots.size) {
      this.#parked.push(claimed);
    } else {
      // Its claim runs out unused (no attempt is counted): the delivery is claimed again then.
      this.#log.info(this.#details(claimed.delivery), 'notification deferred: its host has sends under way');
    }
    return false;
  }

  #begin(claimed: Claimed): void {
    this.#slots.take(claimed.host);
    const work: Promise<void> = this.#deliver(claimed.delivery)
      .catch((error: unknown) => {
        this.#log.warn(
          { ...this.#details(claimed.delivery), code: coerceError(error).code },
          'notification send failed',
        );
      })
      .finally(() => {
        this.#slots.release(claimed.host);
        this.#inFlight.delete(work);
        this.#unpark();
        if (this.#started && this.#backlog) this.#refill();
      });
    this.#inFlight.add(work);
  }

  /** Starts the parked deliveries whose host has a slot now; drops those whose claim is too short. */
  #unpark(): void {
    if (this.#closed) {
      this.#parked = [];
      return;
    }
    const waiting: Claimed[] = [];
    for (const claimed of this.#parked) {
      if (!this.#inTime(claimed)) continue; // its claim runs out unused: claimed again then
      if (this.#slots.canTake(claimed.host)) this.#begin(claimed);
      else waiting.push(claimed);
    }
    this.#parked = waiting;
  }

  #details(delivery: Delivery): Record<string, unknown> {
    return {
      exportId: delivery.exportId,
      deliveryId: delivery.id,
      channel: delivery.channel,
      event: delivery.event,
      attempt: delivery.attempts + 1,
    };
  }

  async #deliver(delivery: Delivery): Promise<void> {
    const started = performance.now();
    const { settings } = this.#options;
    // Sent before by this dispatcher, its success not recorded then: recorded now, not sent again.
    const remembered = this.#recorder.takeUnrecorded(delivery.id);
    const answer =
      remembered ??
      (await sendOnce(delivery, { settings, mailer: this.#mailer, signal: this.#stop.signal }).catch(
        (error: unknown): Answer => ({ error: coerceError(error).message }),
      ));
    // Cut by close() before an answer: not an outcome of the receiver's. The claim runs out and
    // the event is sent again, under the same id. A success that came is recorded all the same.
    if (this.#stop.signal.aborted && answer.error !== undefined) return;
    const outcome = attemptOutcome(delivery, answer, performance.now() - started, new Date(), settings);
    const details = {
      ...this.#details(delivery),
      status: outcome.status,
      ...(answer.statusCode !== undefined ? { statusCode: answer.statusCode } : {}),
    };
    if (outcome.status === 'delivered') this.#log.info(details, 'notification delivered');
    else {
      this.#log.warn({ ...details, reason: answer.error }, 'notification attempt failed');
      this.#options.onFailure?.(delivery, outcome);
    }
    await this.#recorder.record(delivery, outcome, answer, details);
  }

  /**
   * Stops claiming deliveries at once, and waits up to `waitMs` for the sends under way. Those
   * still going then are cut (webhook requests and SMTP sessions) and not recorded: their
   * claims run out and another dispatcher (or this process's next start) sends them again,
   * under the same event ids, as after a crash.
   */
  close(waitMs = Number.POSITIVE_INFINITY): Promise<void> {
    // A close(0) during a close ends its wait: the sends still going are cut now.
    if (this.#closing && waitMs === 0) this.#grace?.end();
    this.#closing ??= this.#shutDown(waitMs);
    return this.#closing;
  }

  async #shutDown(waitMs: number): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#parked = [];
    const pending = [this.#claiming, ...this.#inFlight].filter((work) => work !== undefined);
    if (pending.length > 0) {
      this.#grace = new Grace(waitMs);
      const end = Promise.allSettled(pending);
      if (!(await this.#grace.wait(end))) {
        this.#stop.abort();
        await settledWithin(end, CUT_SETTLE_MS);
      }
    }
    await this.#mailer?.close();
  }
}
