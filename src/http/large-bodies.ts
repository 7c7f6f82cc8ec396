import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TakeoutError } from '../errors.js';
import { principalOf } from './auth.js';
import { SLOT_RETRY_AFTER_SECONDS, type SyncSlot, SyncSlots } from './sync-slots.js';

/** A body longer than this, or of unknown length (chunked), is a large body. */
const LARGE_BODY_BYTES = 1024 * 1024;

/** Large bodies read and parsed at once: in the process, and per caller. */
export const LARGE_BODY_LIMITS = { total: 4, perPrincipal: 2 } as const;

declare module 'fastify' {
  interface FastifyRequest {
    takeoutBodySlot: SyncSlot | undefined;
  }
}

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
 * `503 too_busy` (the process's), with `Retry-After`. The slot is given back once the body is
 * parsed, or when the request ends first (a body that fails, a client gone).
 */
export function limitLargeBodies(scope: FastifyInstance): void {
  const slots = new SyncSlots(LARGE_BODY_LIMITS);
  scope.decorateRequest('takeoutBodySlot', undefined);
  scope.addHook('preParsing', async (request, reply, payload) => {
    if (!isLarge(request)) return payload;
    let slot: SyncSlot;
    try {
      slot = slots.acquire(principalOf(request));
    } catch (error) {
      reply.header('retry-after', String(SLOT_RETRY_AFTER_SECONDS));
      throw (error as TakeoutError).code === 'too_many_exports'
        ? new TakeoutError(
            'rate_limited',
            `At most ${LARGE_BODY_LIMITS.perPrincipal} requests with bodies over 1 MiB per caller are read at once`,
            { details: { limit: LARGE_BODY_LIMITS.perPrincipal } },
          )
        : new TakeoutError('too_busy', 'Too many large requests are being read; retry in a few seconds');
    }
    request.takeoutBodySlot = slot;
    reply.raw.once('close', slot.release);
    // A client gone while the request was authenticated: its close came before the listener.
    if (reply.raw.destroyed || request.raw.socket?.destroyed) slot.release();
    return payload;
  });
  scope.addHook('preValidation', async (request) => {
    request.takeoutBodySlot?.release();
  });
}
