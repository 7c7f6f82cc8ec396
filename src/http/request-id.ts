/**
 * The id that correlates a request's log lines: a proxy's `X-Request-Id` when it looks like
 * one, otherwise Fastify's own style (`req-1`, `req-2`, ...). The header is the client's to
 * set and is written into every line of the request, so anything longer than an id, or with
 * characters ids do not have, is not taken (it could multiply the log's volume, or carry text
 * made to look like other log fields to a reader of the escaped JSON).
 */
import type { IncomingMessage } from 'node:http';

/**
 * Letters, digits and `._:/+=@-`, up to 128 characters: UUIDs, ULIDs, W3C trace ids and AWS
 * (`Root=1-...`) and Cloudflare ray ids fit; quotes, braces and spaces do not.
 */
const PLAUSIBLE_ID = /^[\w.:/+=@-]{1,128}$/;

let last = 0;

/** For Fastify's `genReqId` (with `requestIdHeader: false`, so this decides every id). */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  if (typeof given === 'string' && PLAUSIBLE_ID.test(given)) return given;
  last = (last + 1) % 0x7fffffff;
  return `req-${last.toString(36)}`;
}
