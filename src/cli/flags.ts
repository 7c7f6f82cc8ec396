/** Flag values the commands share: empty ones refused, principals, commands shown back. */
import type { Principal } from '../datasets/define.js';
import { UsageError } from './usage.js';

/**
 * Refuses `--flag ''`: an empty value (an unset shell variable, most often) would otherwise
 * be taken as "not given" and the file silently differ.
 */
export function refuseEmpty(values: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(values)) {
    const empty = Array.isArray(value) ? value.some((v) => v === '') : value === '';
    if (empty) throw new UsageError(`--${name} needs a value; it was given an empty one`);
  }
}

/** `ID` or `ID:TENANT`, as `--owner` and `--principal` take it (and TAKEOUT_API_TOKENS writes it). */
export function parsePrincipal(text: string, flag: string): Principal {
  const parts = text.split(':');
  const [id, tenant] = parts;
  if (!id || parts.length > 2 || (parts.length === 2 && !tenant))
    throw new UsageError(`${flag} is ID or ID:TENANT, got ${JSON.stringify(text)}`);
  return tenant ? { id, tenant } : { id };
}

/** A command-line word as a POSIX shell reads it back: quoted unless it is plain. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
