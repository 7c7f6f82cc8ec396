import type { FastifyInstance } from 'fastify';
import { TakeoutError } from '../errors.js';
import { markBigIntegers, restoreBigIntegers } from '../json-exact.js';

/**
 * Makes `application/json` bodies in `scope` (and the routes it holds) parse with exact big
 * integers (json-exact.ts). Fastify's own parser still does the parsing, with its protection
 * against `__proto__` and `constructor.prototype` keys. With `emptyAllowed` (routes that read
 * no body), an empty body is no body: some generated clients send the header with nothing.
 */
export function exactJsonBodies(scope: FastifyInstance, options: { emptyAllowed?: boolean } = {}): void {
  const parse = scope.getDefaultJsonParser('error', 'error');
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // Bodies are not decoded: a gzip body would read as broken JSON, a `br` one as plain text.
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') {
      done(
        new TakeoutError('unsupported_media_type', 'Send the request body without Content-Encoding', {
          details: { acceptEncoding: 'identity' },
        }),
        undefined,
      );
      return;
    }
    const text = body as string; // parseAs: 'string'
    if (options.emptyAllowed && text === '') {
      done(null, undefined);
      return;
    }
    const marked = markBigIntegers(text);
    if (marked === undefined) {
      parse(request, text, done);
      return;
    }
    parse(request, marked, (error, value) => {
      if (error) done(error, undefined);
      else done(null, restoreBigIntegers(value));
    });
  });
}
