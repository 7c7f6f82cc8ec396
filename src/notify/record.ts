/**
 * Recording attempts for the dispatcher, so that bookkeeping never makes a delivered event go
 * out again: the store takes a success even after the claim passed to another dispatcher; one
 * it failed to take is tried again, then remembered, to be recorded without sending it again
 * if this dispatcher claims that delivery later.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { coerceError } from '../errors.js';
import type { JobLogger } from '../jobs/log.js';
import type { Answer } from './attempt.js';
import type { AttemptOutcome, Delivery, DeliveryStore } from './types.js';

/** Tries at recording a success when the store fails. */
const RECORD_TRIES = 3;
/** Successes that could not be recorded, remembered: at most this many (oldest forgotten first). */
const UNRECORDED_MAX = 1000;

export class AttemptRecorder {
  readonly #unrecorded = new Map<string, Answer>();

  constructor(
    readonly store: DeliveryStore,
    readonly leaseOwner: string,
    readonly log: JobLogger,
  ) {}

  /** The answer of an earlier send of this delivery that succeeded unrecorded, now taken. */
  takeUnrecorded(id: string): Answer | undefined {
    const answer = this.#unrecorded.get(id);
    this.#unrecorded.delete(id);
    return answer;
  }

  /** Records the outcome (a failure only while the claim is ours); never rejects. */
  async record(
    delivery: Delivery,
    outcome: AttemptOutcome,
    answer: Answer,
    details: Record<string, unknown>,
  ): Promise<void> {
    const delivered = outcome.status === 'delivered';
    for (let attempt = 1; ; attempt++) {
      try {
        if (await this.store.recordAttempt(delivery.id, this.leaseOwner, outcome)) return;
        // A success: another attempt had ended the delivery already. A failure: our claim ran
        // out while sending and another dispatcher took the delivery over.
        this.log.warn(
          details,
          delivered
            ? 'notification delivered, and already ended by another attempt'
            : 'notification attempt not recorded: the claim had ended',
        );
        return;
      } catch (error) {
        if (!delivered || attempt >= RECORD_TRIES) {
          if (delivered) this.#remember(delivery.id, answer);
          // The claim ends by itself: the delivery is sent again then, under the same event id.
          this.log.warn(
            { ...details, code: coerceError(error).code },
            'could not record a notification attempt',
          );
          return;
        }
        await sleep(250 * attempt);
      }
    }
  }

  #remember(id: string, answer: Answer): void {
    this.#unrecorded.set(id, answer);
    if (this.#unrecorded.size <= UNRECORDED_MAX) return;
    const oldest = this.#unrecorded.keys().next().value;
    if (oldest !== undefined) this.#unrecorded.delete(oldest);
  }
}
