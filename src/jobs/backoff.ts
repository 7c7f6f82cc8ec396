export interface BackoffOptions {
  /** Delay before the first retry, ms. */
  baseMs: number;
  /** Longest delay, ms. */
  maxMs: number;
  /** 0..1 source of randomness (tests pass a fixed one). Default Math.random. */
  random?: () => number;
}

/**
 * Delay before the retry that follows failed attempt `attempt` (1-based): exponential, with
 * "equal jitter" (half fixed, half random) so that jobs that failed together (a database
 * restart) do not all come back at the same instant.
 */
export function retryDelayMs(attempt: number, options: BackoffOptions): number {
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (options.random ?? Math.random)() * (exponential / 2));
}
