import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from './datasets/define.js';
import { TakeoutError } from './errors.js';

/** Decides who a request comes from; throws `unauthorized` when it cannot. */
export type Authenticate = (request: { headers: IncomingHttpHeaders }) => Principal | Promise<Principal>;

/** Without configured tokens every caller is the same `anonymous` principal (local, embedded use). */
export const anonymous: Authenticate = () => ({ id: 'anonymous' });

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Bearer tokens mapped to principals (`TAKEOUT_API_TOKENS`). Both sides are hashed, so the
 * comparison takes the same time whatever the lengths, and every entry is compared: the
 * time does not tell which token (or how much of one) matched.
 */
export function bearerTokens(tokens: ReadonlyMap<string, { id: string; tenant?: string }>): Authenticate {
  const entries = [...tokens].map(([token, principal]) => ({ hash: digest(token), principal }));
  return (request) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (match) {
      const given = digest(match[1]!);
      let found: { id: string; tenant?: string } | undefined;
      for (const entry of entries) if (timingSafeEqual(entry.hash, given)) found ??= entry.principal;
      if (found) return { ...found };
    }
    throw new TakeoutError('unauthorized', 'Send a valid API token as "Authorization: Bearer <token>"');
  };
}
