import { TakeoutError } from './errors.js';

/** A switch: `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`; anything else is refused, not read as on. */
export function onOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new TakeoutError('config_error', `${name} must be true or false`);
}
