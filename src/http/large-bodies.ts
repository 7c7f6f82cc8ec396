import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TakeoutError } from '../errors.js';
import { principalOf } from './auth.js';
import { SLOT_RETRY_AFTER_SECONDS } from './sync-slots.js';

/** A body longer than this, or of unknown length (chunked), is a large body. */
const LARGE_BODY_BYTES = 1024 * 1024;

/** Large bodies read and parsed at once: in the process, and per caller. */
export const LARGE_BODY_LIMITS = { total: 4, perPrincipal: 2 } as const;

function isLarge(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  if (length === undefined) return request.headers['transfer-encoding'] !== undefined;
  return Number(length) > LARGE_BODY_BYTES;
}

/**
 * Bounds how many large request bodies (inline rows, up to the body limit) the scope reads and
 * parses at once. Parsing is synchronous work on the main thread and a 10 MiB body of small
 * rows becomes some 200 MB of objects: unbounded, one caller's parallel uploads could hold up
 * every other request and run the process out of memory. Checked after authentication and
 * before the body is read; a refusal is `429 rate_limited` (this caller's share) or
 * `503 too_busy` (the process's), with `Retry-After`.
 */
export function limitLargeBodies(scope: FastifyInstance): void {
  let total = 0;
  const byCaller = new Map<string, number>();
  scope.addHook('preParsing', async (request, reply, payload) => {
    if (!isLarge(request)) return payload;
    const principal = principalOf(request);
    const key = JSON.stringify([principal.tenant ?? null, principal.id]);
    const mine = byCaller.get(key) ?? 0;
    if (mine >= LARGE_BODY_LIMITS.perPrincipal || total >= LARGE_BODY_LIMITS.total) {
      reply.header('retry-after', String(SLOT_RETRY_AFTER_SECONDS));
      throw mine >= LARGE_BODY_LIMITS.perPrincipal
        ? new TakeoutError(
            'rate_limited',
            `At most ${LARGE_BODY_LIMITS.perPrincipal} requests with bodies over 1 MiB per caller are read at once`,
            { details: { limit: LARGE_BODY_LIMITS.perPrincipal } },
          )
        : new TakeoutError('too_busy', 'Too many large requests are being read; retry in a few seconds');
    }
    total++;
    byCaller.set(key, mine + 1);
    // The response's close ends the request however it ends (answered, failed, client gone).
    reply.raw.once('close', () => {
      total--;
      const left = (byCaller.get(key) ?? 1) - 1;
      if (left > 0) byCaller.set(key, left);
      else byCaller.delete(key);
    });
    return payload;
  });
}
