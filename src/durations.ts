import { TakeoutError } from './errors.js';

/** A duration in milliseconds from `90`, `1.5s`, `500ms`, `2m` (a bare number is seconds). */
export function durationMs(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(raw.trim());
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match?.[2] ?? 's').toLowerCase() as 'ms'];
  const ms = match ? Math.round(Number(match[1]) * factor) : Number.NaN;
  if (!(ms >= min && ms <= 2 ** 31 - 1)) {
    throw new TakeoutError(
      'config_error',
      `${name} must be a duration of at least ${min} ms, like 120, 1.5s, 500ms or 2m`,
    );
  }
  return ms;
}

/** The longest delay a Node timer keeps (2^31 - 1 ms, 24.8 days), in whole seconds: a longer one fires at once. */
export const TIMER_MAX_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** A duration in seconds that a timer will wait: at most TIMER_MAX_SECONDS. */
export function checkTimerSeconds(seconds: number, name: string): number {
  if (seconds > TIMER_MAX_SECONDS) {
    throw new TakeoutError('config_error', `${name} must be at most 24 days (${TIMER_MAX_SECONDS} seconds)`);
  }
  return seconds;
}
