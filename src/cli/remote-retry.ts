/**
 * How `takeout export --async` rides out a service that is briefly away (a restart, a deploy, a
 * load balancer's 502, the rate limit's 429): the same request again after a wait, Retry-After
 * when the answer gives one, else a backoff doubling from 0.5 s to 8 s, until `--retry-for`
 * (default 2 minutes) has passed since the first failure of the streak; then its error.
 */

/** How long the CLI keeps retrying one request through an outage, by default. */
export const DEFAULT_RETRY_FOR_MS = 120_000;

/** Statuses worth sending the same request again for: rate limited, or briefly unavailable. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/**
 * Connection failures that a moment may cure: refused or reset (a restart), timeouts, a route
 * or name briefly missing. Others (a blocked port, a certificate refused) fail at once.
 */
const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Whether a network error's code (fetch's `cause.code`) is worth another try. */
export function isTransientNetworkCode(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT_NETWORK_CODES.has(code);
}

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 8000;
/** A Retry-After past this is not waited out in full: the service may be back sooner. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * The wait before try `attempt + 1` (`attempt` is 1 after the first failure): the answer's
 * Retry-After (seconds or an HTTP date, from 0.5 s to a minute), else the backoff.
 */
export function retryDelayMs(attempt: number, retryAfter?: string | null, now = Date.now()): number {
  const given = retryAfter?.trim();
  if (given) {
    const ms = /^\d+$/.test(given) ? Number(given) * 1000 : Date.parse(given) - now;
    // Never at once: `Retry-After: 0` (or a clock-skewed date) must not turn into a busy loop.
    if (Number.isFinite(ms)) return Math.min(Math.max(ms, FIRST_BACKOFF_MS), MAX_RETRY_AFTER_MS);
  }
  return Math.min(FIRST_BACKOFF_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS);
}

/** A wait as the user reads it: `0.5 s`, `2 s`. */
export function waitText(ms: number): string {
  return ms < 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export interface RetryPolicy {
  /** How long a streak of failures is retried, from its first failure, ms; 0 retries nothing. */
  forMs: number;
  /** Told before each wait: what failed and how long until the next try. */
  onRetry?(reason: string, waitMs: number): void;
}

/** One request's failures in a row: whether another try fits before the deadline, and when. */
export class RetryStreak {
  #failures = 0;
  #firstFailure: number | undefined;

  constructor(private readonly policy: RetryPolicy) {}

  /** The wait before the next try, or undefined when it would end past the deadline. */
  next(reason: string, retryAfter?: string | null): number | undefined {
    if (this.policy.forMs <= 0) return undefined;
    this.#failures++;
    const now = Date.now();
    this.#firstFailure ??= now;
    const wait = retryDelayMs(this.#failures, retryAfter, now);
    if (now + wait - this.#firstFailure > this.policy.forMs) return undefined;
    this.policy.onRetry?.(reason, wait);
    return wait;
  }
}
