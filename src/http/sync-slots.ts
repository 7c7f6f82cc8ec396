import type { Principal } from '../datasets/define.js';
import { TakeoutError } from '../errors.js';

/** A taken slot; `release()` gives it back, once (a second call does nothing). */
export interface SyncSlot {
  release(): void;
}

export interface SyncSlotLimits {
  /** Sync exports running at once in the process. */
  total: number;
  /** ... and per principal, so one caller cannot take every slot. */
  perPrincipal: number;
}

/** Seconds a refused caller is told to wait (`Retry-After`). */
export const SLOT_RETRY_AFTER_SECONDS = 5;

/** The same caller whatever else the principal carries: its tenant and id. */
function principalKey(principal: Principal): string {
  return JSON.stringify([principal.tenant ?? null, principal.id]);
}

/**
 * The sync-export slots of a process: a total cap and a cap per principal. `acquire` either
 * takes both at once or throws (`too_busy` for the process, `too_many_exports` for the
 * caller); the slot it returns is the only way back, so a count can only drop by a release.
 */
export class SyncSlots {
  #running = 0;
  readonly #byPrincipal = new Map<string, number>();

  constructor(readonly limits: SyncSlotLimits) {}

  /** Sync exports running now. */
  get running(): number {
    return this.#running;
  }

  /** Principals with at least one sync export running. */
  get principals(): number {
    return this.#byPrincipal.size;
  }

  /** A slot, or undefined when the caller's or the process's are all taken. */
  tryAcquire(principal: Principal): SyncSlot | undefined {
    return this.#refusal(principalKey(principal)) ? undefined : this.acquire(principal);
  }

  acquire(principal: Principal): SyncSlot {
    const key = principalKey(principal);
    const refusal = this.#refusal(key);
    if (refusal) throw refusal;
    this.#running++;
    this.#byPrincipal.set(key, (this.#byPrincipal.get(key) ?? 0) + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#running--;
        const left = (this.#byPrincipal.get(key) ?? 1) - 1;
        if (left > 0) this.#byPrincipal.set(key, left);
        else this.#byPrincipal.delete(key);
      },
    };
  }

  /** Why a slot cannot be taken for the caller now, if it cannot: the caller's cap, then the process's. */
  #refusal(key: string): TakeoutError | undefined {
    const mine = this.#byPrincipal.get(key) ?? 0;
    if (mine >= this.limits.perPrincipal) {
      return new TakeoutError(
        'too_many_exports',
        `You have ${mine} exports streaming; at most ${this.limits.perPrincipal} run at once per caller`,
        { details: { limit: this.limits.perPrincipal } },
      );
    }
    if (this.#running >= this.limits.total) {
      return new TakeoutError('too_busy', 'Too many exports are running; retry in a few seconds');
    }
    return undefined;
  }
}
