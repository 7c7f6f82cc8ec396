/**
 * Waits that end at a moment even when the work waited on does not: a writer waiting for its
 * source's next batch with rows written but not sent (sink-rows.ts races the batch against
 * the armed promise), a row batcher with a part-filled batch (async-batches.ts wakes its
 * consumer when it rings). One interval timer ticks only while armed, instead of a timer set
 * and cleared per wait (a writer waits once per batch).
 */

/** What the armed promise resolves to when its moment has come. */
export const RANG: unique symbol = Symbol('rang');

/** How often an armed alarm looks at the clock: it rings up to this much after its moment. */
const TICK_MS = 20;

export class Alarm {
  #timer: NodeJS.Timeout | undefined;
  #at = 0;
  #rang: Promise<typeof RANG> | undefined;
  #ring: ((value: typeof RANG) => void) | undefined;

  /**
   * A promise that resolves with RANG once `at` (a Date.now() time) has passed: the same one
   * until it rings or is disarmed, its moment moved to `at`.
   */
  arm(at: number): Promise<typeof RANG> {
    this.#at = at;
    if (this.#rang === undefined) {
      this.#rang = new Promise<typeof RANG>((resolve) => {
        this.#ring = resolve;
      });
      this.#timer ??= setInterval(() => this.#tick(), TICK_MS).unref();
    }
    return this.#rang;
  }

  /**
   * Drops the armed promise. Every wait raced against it keeps a reaction on it holding what
   * the work gave: dropped, they go with it; kept armed, they would pile up.
   */
  disarm(): void {
    this.#rang = undefined;
    this.#ring = undefined;
  }

  /** Disarms and stops the timer. */
  stop(): void {
    this.disarm();
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    if (this.#ring === undefined) {
      // Nothing armed: no ticking until the next arm().
      clearInterval(this.#timer);
      this.#timer = undefined;
    } else if (Date.now() >= this.#at) {
      const ring = this.#ring;
      this.disarm();
      ring(RANG);
    }
  }
}
