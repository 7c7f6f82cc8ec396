import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Aborted when the client goes away: on the response's close (Node closes a request as soon
 * as its body is read, so the request's own close says nothing), or at once when the client
 * left before this was called (its close came while the route was still looking things up).
 */
export function clientGone(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  const res = reply.raw;
  res.once('close', () => gone.abort());
  if (res.destroyed || request.raw.socket?.destroyed) gone.abort();
  return gone.signal;
}
