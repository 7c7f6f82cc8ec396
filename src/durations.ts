import { TakeoutError } from './errors.js';

/** Every duration setting: a number with an optional unit, `ms`, `s` (the default), `m`, `h` or `d`. */
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The milliseconds `text` says (rounded), or undefined when it is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[(match[2] ?? 's').toLowerCase() as keyof typeof UNIT_MS]);
}

/** A duration in milliseconds from `90`, `1.5s`, `500ms`, `2m` (a bare number is seconds). */
export function durationMs(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const ms = parseDurationMs(raw) ?? Number.NaN;
  if (!(ms >= min && ms <= 2 ** 31 - 1)) {
    throw new TakeoutError(
      'config_error',
      `${name} must be a duration from ${min} ms to 24 days, like 120, 1.5s, 500ms or 2m`,
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

/** The longest retention (files, job records): 100 years keeps every expiry a valid date. */
export const MAX_RETENTION_SECONDS = 36_500 * 86_400;

/** A retention in seconds: at most 100 years (36500d); longer ones made invalid dates. */
export function checkRetentionSeconds(seconds: number, name: string): number {
  if (seconds > MAX_RETENTION_SECONDS) {
    throw new TakeoutError('config_error', `${name} must be at most 100 years (36500d)`);
  }
  return seconds;
}
