/**
 * Enqueues again, in the background, an export whose enqueue failed (Redis away for a moment).
 * Its record is `queued` either way and the sweeper would enqueue it again, but only once it is
 * a minute old and on the sweeper's next pass (10 minutes by default): after a blip of Redis
 * its user would wait that long for nothing. Enqueuing is idempotent (the export id is the
 * queue entry's id), so a retry that races the sweeper does no harm.
 */
import { coerceError } from '../errors.js';
import type { JobLogger } from './log.js';
import type { ExportQueue } from './queue/types.js';

/** About 4 minutes in all; past them the sweeper is the backstop. */
export const ENQUEUE_RETRY_DELAYS_MS: readonly number[] = [1_000, 5_000, 15_000, 30_000, 60_000, 120_000];

/** Retries waiting at once, at most: past them (a long outage under load), the sweeper's. */
const MAX_WAITING = 10_000;

export interface EnqueueRetryOptions {
  /** Whether the export still waits to be queued (not canceled or deleted meanwhile). */
  stillQueued?: (id: string) => Promise<boolean>;
  delaysMs?: readonly number[];
}

export class EnqueueRetries {
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #stillQueued: (id: string) => Promise<boolean>;
  readonly #delaysMs: readonly number[];
  #closed = false;
  /** The cap was met and said so: once per process, not once per export. */
  #saidFull = false;

  constructor(
    private readonly queue: ExportQueue,
    private readonly log: JobLogger,
    options: EnqueueRetryOptions = {},
  ) {
    this.#stillQueued = options.stillQueued ?? (async () => true);
    this.#delaysMs = options.delaysMs ?? ENQUEUE_RETRY_DELAYS_MS;
  }

  /** Tries `id` again after the `attempt`th delay, and on failure after the next one. */
  schedule(id: string, rank: number, attempt = 0): void {
    const delay = this.#delaysMs[attempt];
    if (this.#closed || delay === undefined) return;
    if (this.#timers.size >= MAX_WAITING) {
      if (!this.#saidFull) {
        this.#saidFull = true;
        this.log.warn(
          { waiting: MAX_WAITING },
          'too many enqueue retries waiting; the sweeper enqueues the rest',
        );
      }
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#retry(id, rank, attempt);
    }, delay);
    // A process that is otherwise done must not stay up for a retry.
    timer.unref();
    this.#timers.add(timer);
  }

  async #retry(id: string, rank: number, attempt: number): Promise<void> {
    // Canceled or deleted meanwhile: nothing to enqueue (a store that cannot say: try).
    if (this.#closed || !(await this.#stillQueued(id).catch(() => true)) || this.#closed) return;
    await this.queue.enqueue(id, { rank }).then(
      () => {
        if (!this.#closed) this.log.info({ exportId: id, retry: attempt + 1 }, 'export enqueued on a retry');
      },
      (error: unknown) => {
        if (this.#closed) return;
        const last = this.#delaysMs[attempt + 1] === undefined;
        this.log.warn(
          { exportId: id, retry: attempt + 1, code: coerceError(error).code },
          last
            ? 'could not enqueue an export on its last retry; the sweeper enqueues it again'
            : 'could not enqueue an export on a retry; trying again',
        );
        this.schedule(id, rank, attempt + 1);
      },
    );
  }

  /** Drops the retries waiting (the queue is closing); the sweeper enqueues their exports. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
