import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Authenticate, anonymous, bearerTokens } from '../auth.js';
import type { Principal } from '../datasets/define.js';
import { TakeoutError } from '../errors.js';

export { type Authenticate, anonymous, bearerTokens };

declare module 'fastify' {
  interface FastifyRequest {
    takeoutPrincipal: Principal | undefined;
  }
}

/**
 * Who a request comes from, as Takeout's routes ask: given the whole Fastify request (a host
 * app's hooks may have set its `user` on it). Takeout's own `Authenticate` functions, which
 * read only the headers, are of this type too.
 */
export type FastifyAuthenticate = (request: FastifyRequest) => Principal | Promise<Principal>;

/**
 * Authenticates every request of the scope before its body is read, so an anonymous caller
 * cannot make the server parse megabytes of JSON.
 */
export function requireAuthentication(scope: FastifyInstance, authenticate: FastifyAuthenticate): void {
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
