import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { RateLimitOptions } from '../auth/rate-limit.js';
import { TakeoutError } from '../errors.js';

/**
 * Limits each authenticated principal (id and tenant) to `max` requests per window; more get
 * `429 rate_limited` with `Retry-After`. Register it after the authentication hook and before
 * the routes it covers. A Redis that cannot be reached lets requests through rather than fail
 * them: the limit protects the service, it is not the service.
 */
export async function limitPerPrincipal(scope: FastifyInstance, options: RateLimitOptions): Promise<void> {
  const windowSeconds = Math.round(options.windowMs / 1000);
  await scope.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    max: options.max,
    timeWindow: options.windowMs,
    keyGenerator: (request) => {
      const principal = request.takeoutPrincipal;
      return principal ? `p:${JSON.stringify([principal.tenant ?? null, principal.id])}` : `ip:${request.ip}`;
    },
    ...(options.redis ? { redis: options.redis } : {}),
    // Redis known to be away: let the request through at once (as skipOnError would, after a
    // command timeout per request).
    ...(options.redisAway ? { allowList: () => options.redisAway!() } : {}),
    nameSpace: options.keyPrefix ?? 'takeout:rate:',
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      new TakeoutError(
        'rate_limited',
        `More than ${context.max} requests in ${windowSeconds} s; retry in ${context.after}`,
        { details: { limit: context.max, windowSeconds } },
      ),
  });
}

export type { RateLimitOptions };
