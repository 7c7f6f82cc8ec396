import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../datasets/define.js';
import { TakeoutError } from '../errors.js';

/** Decides who a request comes from; throws `unauthorized` when it cannot. */
export type Authenticate = (request: FastifyRequest) => Principal | Promise<Principal>;

/** Without configured tokens every caller is the same `anonymous` principal (local, embedded use). */
export const anonymous: Authenticate = () => ({ id: 'anonymous' });

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Bearer tokens mapped to principals (`TAKEOUT_API_TOKENS`); compared in constant time. */
export function bearerTokens(tokens: ReadonlyMap<string, { id: string; tenant?: string }>): Authenticate {
  const entries = [...tokens];
  return (request) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (match) {
      for (const [token, principal] of entries) if (sameText(token, match[1]!)) return { ...principal };
    }
    throw new TakeoutError('unauthorized', 'Send a valid API token as "Authorization: Bearer <token>"');
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    takeoutPrincipal: Principal | undefined;
  }
}

/**
 * Authenticates every request of the scope before its body is read, so an anonymous caller
 * cannot make the server parse megabytes of JSON.
 */
export function requireAuthentication(scope: FastifyInstance, authenticate: Authenticate): void {
  scope.decorateRequest('takeoutPrincipal', undefined);
  scope.addHook('onRequest', async (request) => {
    request.takeoutPrincipal = await authenticate(request);
  });
}

/** The principal the scope's hook authenticated. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = request.takeoutPrincipal;
  if (!principal) throw new TakeoutError('unauthorized', 'Authentication is required');
  return principal;
}
