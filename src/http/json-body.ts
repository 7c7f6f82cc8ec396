import type { FastifyInstance } from 'fastify';
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
