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

/**
 * What is wrong with a PostgreSQL connection string, if anything, never echoing it (it may
 * hold a password): pg's own words for a malformed one are `Invalid URL`, or a failed lookup
 * of a host named `base`.
 */
export function postgresUrlProblem(url: string, name: string): string | undefined {
  if (url.startsWith('/')) return undefined; // pg's "/socket/dir database" form
  const example = 'give postgres://USER@HOST:5432/DATABASE';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const port = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*:(\d+)(?:[/?#]|$)/i.exec(url)?.[1];
    if (port !== undefined && Number(port) > 65535)
      return `${name}: port ${port} is out of range (1 to 65535)`;
    return `${name} is not a URL: ${example}`;
  }
  if (!['postgres:', 'postgresql:', 'socket:'].includes(parsed.protocol))
    return `${name} is not a postgres:// URL: ${example}`;
  if (parsed.port === '0') return `${name}: port 0 is out of range (1 to 65535)`;
  return undefined;
}
