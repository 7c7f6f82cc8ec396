import { TakeoutError } from '../../errors.js';

/**
 * Retry delays for queue deliveries: exponential, capped, with "equal jitter" (half the
 * delay fixed, half random) so workers that failed together (a database blip) do not all
 * come back in the same instant, while every retry still waits at least half its step.
 */
export interface BackoffOptions {
  /** The step before the first retry; each later retry doubles it. */
  baseMs: number;
  /** No retry waits longer than this. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 10_000, maxMs: 10 * 60_000 };

/**
 * The delay before retry number `retry` (1 for the first retry): a value in
 * [step / 2, step] where step = min(maxMs, baseMs * 2^(retry - 1)).
 */
export function retryDelay(
  retry: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, Math.min(retry - 1, 30));
  const step = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return Math.round(step / 2 + random() * (step / 2));
}

export function validateBackoff(options: BackoffOptions): BackoffOptions {
  const { baseMs, maxMs } = options;
  if (!Number.isFinite(baseMs) || baseMs < 0 || !Number.isFinite(maxMs) || maxMs < baseMs) {
    throw new TakeoutError('config_error', 'The queue backoff needs 0 <= baseMs <= maxMs');
  }
  return options;
}
