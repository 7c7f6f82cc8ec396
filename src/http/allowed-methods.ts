/**
 * Which methods a concrete path is served with, for `405 Method Not Allowed` and its `Allow`
 * header (RFC 9110 §15.5.6). Fastify cannot be asked this reliably: `findRoute` goes through
 * its router's `onBadUrl` and `onMaxParamLength`, which answer a malformed or over-long path
 * with a handler of their own that looks like a match, for every method. So each route is also
 * put, as it is added, into a second find-my-way router (Fastify's own router library) with
 * the same matching options and none of those handlers: there a path matches or it does not.
 */

import type { FastifyInstance } from 'fastify';
import FindMyWay from 'find-my-way';

type Method = FindMyWay.HTTPMethod;

/** The router options that decide whether a path matches a route. */
const MATCHING_OPTIONS = [
  'caseSensitive',
  'ignoreTrailingSlash',
  'ignoreDuplicateSlashes',
  'maxParamLength',
  'allowUnsafeRegex',
  'useSemicolonDelimiter',
] as const;

/**
 * The matching options `app`'s router was built with: `routerOptions`, else the (deprecated)
 * top-level ones, as Fastify reads them; `initialConfig` holds both with their defaults.
 */
function matchingOptionsOf(app: FastifyInstance): FindMyWay.Config<FindMyWay.HTTPVersion.V1> {
  const config = app.initialConfig as Record<string, unknown> & { routerOptions?: Record<string, unknown> };
  const options: Record<string, unknown> = {};
  for (const key of MATCHING_OPTIONS) {
    const value = config.routerOptions?.[key] ?? config[key];
    if (value !== undefined) options[key] = value;
  }
  return options;
}

const noop = () => {};

/**
 * Records every route added to `app` from now on (call it before any is) and returns the
 * lookup: the methods `url` (a request's path, query allowed) is served with, sorted, with
 * `HEAD` wherever `GET` is; empty when no route matches the path under any method. Route
 * constraints (host, version) are not looked at: a constrained route counts for its path.
 * Not recorded: the `prefix/` twin Fastify adds for a route `/` under a prefix (a wrong
 * method there is answered 404, as before).
 */
export function recordAllowedMethods(app: FastifyInstance): (url: string) => Method[] {
  const router = FindMyWay(matchingOptionsOf(app));
  const methods = new Set<Method>();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat() as Method[]) {
      methods.add(method);
      try {
        router.on(method, route.url, noop);
      } catch (error) {
        // A GET's HEAD twin, or a route that differs only by its constraints: already there.
        if (!/already declared/.test((error as Error).message)) throw error;
      }
    }
  });
  return (url) => {
    const allowed = new Set<Method>();
    for (const method of methods) if (router.find(method, url) !== null) allowed.add(method);
    if (allowed.has('GET')) allowed.add('HEAD');
    return [...allowed].sort();
  };
}
