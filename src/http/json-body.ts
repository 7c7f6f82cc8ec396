import type { FastifyInstance } from 'fastify';
import { markBigIntegers, restoreBigIntegers } from '../json-exact.js';

/**
 * Makes `application/json` bodies in `scope` (and the routes it holds) parse with exact big
 * integers (json-exact.ts). Fastify's own parser still does the parsing, with its protection
 * against `__proto__` and `constructor.prototype` keys.
 */
export function exactJsonBodies(scope: FastifyInstance): void {
  const parse = scope.getDefaultJsonParser('error', 'error');
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string; // parseAs: 'string'
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
