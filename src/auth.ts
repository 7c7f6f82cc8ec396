import type { IncomingHttpHeaders } from 'node:http';
import { type HashedToken, tokenDigest, tokenTable } from './auth/tokens.js';
import type { Principal } from './datasets/define.js';
import { TakeoutError } from './errors.js';

/** Decides who a request comes from; throws `unauthorized` when it cannot. */
export type Authenticate = (request: { headers: IncomingHttpHeaders }) => Principal | Promise<Principal>;

/** Without configured tokens every caller is the same `anonymous` principal (local, embedded use). */
export const anonymous: Authenticate = () => ({ id: 'anonymous' });

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerTokenOf(headers: IncomingHttpHeaders): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
}

export function unauthorized(message = 'Send a valid API token as "Authorization: Bearer <token>"') {
  return new TakeoutError('unauthorized', message);
}

/** Bearer tokens mapped to principals (`TAKEOUT_API_TOKENS`), kept and compared as SHA-256 digests. */
export function bearerTokens(tokens: ReadonlyMap<string, { id: string; tenant?: string }>): Authenticate {
  return hashedTokens([...tokens].map(([token, principal]) => ({ sha256: tokenDigest(token), principal })));
}

/** Bearer tokens known only by their SHA-256 (the config file's `tokens`). */
export function hashedTokens(entries: readonly HashedToken[]): Authenticate {
  const lookup = tokenTable(entries);
  return (request) => {
    const token = bearerTokenOf(request.headers);
    const principal = token === undefined ? undefined : lookup(token);
    if (!principal) throw unauthorized();
    return principal;
  };
}
