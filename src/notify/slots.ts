/**
 * The dispatcher's send slots: at most `size` sends at once, and at most `perHost` of them to
 * one host, so that a host that answers slowly (or not at all, until the timeout) holds a few
 * slots and never all of them. A slot is taken when a send starts and given back when it ends,
 * one by one: the dispatcher refills each as it frees, never waiting for a whole batch.
 */
import type { ClaimDeliveriesOptions, NotifyChannel } from './types.js';

export class SendSlots {
  readonly #perHostUsed = new Map<string, number>();
  #used = 0;

  constructor(
    readonly size: number,
    readonly perHost: number,
  ) {}

  /** Slots not in use. */
  get free(): number {
    return this.size - this.#used;
  }

  get used(): number {
    return this.#used;
  }

  /** Whether a send to `host` may start now. */
  canTake(host: string): boolean {
    return this.#used < this.size && (this.#perHostUsed.get(host) ?? 0) < this.perHost;
  }

  /** The hosts whose sends are at the cap: a claim leaves their deliveries for now. */
  hostsAtCap(): string[] {
    return [...this.#perHostUsed].filter(([, used]) => used >= this.perHost).map(([host]) => host);
  }

  take(host: string): void {
    this.#used++;
    this.#perHostUsed.set(host, (this.#perHostUsed.get(host) ?? 0) + 1);
  }

  release(host: string): void {
    this.#used--;
    const left = (this.#perHostUsed.get(host) ?? 1) - 1;
    // Only hosts being sent to are kept: memory follows the slots, not the hosts ever seen.
    if (left > 0) this.#perHostUsed.set(host, left);
    else this.#perHostUsed.delete(host);
  }
}

/**
 * What a claim leaves for now, given the hosts at their cap (keys of `destinationHost`): all
 * emails when the SMTP server is (`smtp:...`), webhooks to those hosts, and the service-wide
 * webhook when its host (`serviceHost`) is.
 */
export function claimSkip(
  hostsAtCap: string[],
  serviceHost: string,
): NonNullable<ClaimDeliveriesOptions['skip']> {
  const channels: NotifyChannel[] = [];
  const hosts: string[] = [];
  for (const host of hostsAtCap) {
    if (host.startsWith('smtp:')) channels.push('email');
    else if (host === 'webhook:' || host === 'service:')
      continue; // no valid URL: nothing to match
    else {
      hosts.push(host);
      if (host === serviceHost) channels.push('service');
    }
  }
  return { channels, hosts };
}
