/**
 * `GET /files/*`: serves files of the disk (or memory) storage through HMAC-signed links. The link
 * decides the download name and type; a tampered or expired link is a 403 problem. Supports
 * single byte ranges (206/416), `If-Range`, `If-None-Match`/304 and HEAD.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { TakeoutError } from '../../errors.js';
import type { ServedStorage } from '../../storage/types.js';
import { contentDisposition } from '../content-disposition.js';
import { checkPreconditions, etagMatches, ifRangeHolds } from '../etag-match.js';

export interface FilesRoutesOptions {
  /** A storage whose links Takeout serves (disk, memory). */
  storage: ServedStorage;
}

export type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

/**
 * The one range of a `Range` header (RFC 9110 §14.1.2). `undefined` means "serve the whole
 * file": no header, another unit, a malformed header or several ranges (allowed by the RFC).
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (!header) return undefined;
  const match = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined; // invalid: ignore the header
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * The key from the raw URL, its segments decoded one by one. A segment holding `%2F` is
 * refused: keys the link was minted for never spell a `/` that way.
 */
function keyOf(request: FastifyRequest): string {
  const mount = (request.routeOptions.url ?? '').replace(/\*$/, '');
  const path = (request.raw.url ?? '').split('?')[0] ?? '';
  if (!path.startsWith(mount)) throw new TakeoutError('invalid_link', 'The download link is not valid');
  try {
    return path
      .slice(mount.length)
      .split('/')
      .map((segment) => {
        const decoded = decodeURIComponent(segment);
        if (decoded.includes('/')) throw new URIError('an encoded slash');
        return decoded;
      })
      .join('/');
  } catch {
    throw new TakeoutError('invalid_link', 'The download link is not valid');
  }
}

export const filesRoutes: FastifyPluginAsync<FilesRoutesOptions> = async (app, { storage }) => {
  // HEAD declared here, not derived from GET: Fastify's derived HEAD would read the whole file.
  app.route({
    method: ['GET', 'HEAD'],
    url: `${storage.routePrefix}/*`,
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const key = keyOf(request);
      const grant = storage.verifyLink(key, request.query as Record<string, unknown>);
      const file = await storage.open(key);
      if (!file) throw new TakeoutError('not_found', 'The file does not exist (it may have expired)');
      let streaming = false;
      try {
        reply
          .header('etag', file.etag)
          .header('last-modified', file.lastModified.toUTCString())
          .header('accept-ranges', 'bytes')
          .header('cache-control', 'private, no-store');
        // Preconditions come before Range (RFC 9110 §13.2.2): a file other than the one meant is
        // 412; a matching ETag is 304 whatever the range.
        checkPreconditions(request.headers, file);
        if (etagMatches(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
        // If-Range that does not hold (another file since, a weak ETag): the whole file.
        const rangeAllowed = ifRangeHolds(request.headers['if-range'], file);
        const range = rangeAllowed ? parseRange(request.headers.range, file.size) : undefined;
        if (range === 'unsatisfiable') {
          reply.header('content-range', `bytes */${file.size}`);
          throw new TakeoutError('range_not_satisfiable', `The file has ${file.size} bytes`);
        }

        const start = range?.start ?? 0;
        const end = range?.end ?? file.size - 1;
        if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${file.size}`);
        reply
          .header('content-type', grant.contentType)
          .header('content-disposition', contentDisposition(grant.filename))
          .header('x-content-type-options', 'nosniff')
          .header('content-length', String(end - start + 1));
        if (request.method === 'HEAD' || file.size === 0) return reply.send();
        streaming = true;
        return reply.send(file.createReadStream({ start, end }));
      } finally {
        if (!streaming) await file.close();
      }
    },
  });
};
