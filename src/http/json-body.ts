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
    // The body is read as UTF-8 (RFC 8259): another charset would be read as something else.
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
      done(
        new TakeoutError(
          'unsupported_media_type',
          `The request body must be UTF-8 JSON, not ${charset.slice(0, 40)}`,
        ),
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
    parse(request, marked ?? text, (error, value) => {
      if (error) done(refusalOf(error, text), undefined);
      else done(null, marked === undefined ? value : restoreBigIntegers(value));
    });
  });
}

/**
 * Fastify says "not valid JSON" of valid JSON it refuses for a key that would reach
 * Object.prototype: the client is told which.
 */
function refusalOf(error: Error, text: string): Error {
  try {
    JSON.parse(text);
  } catch {
    return error;
  }
  return new TakeoutError(
    'invalid_json',
    'The request body has a "__proto__" key or a "constructor" with a "prototype", which is refused',
  );
}
