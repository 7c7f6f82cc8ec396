/**
 * Helpers for the OpenAPI tests: a server on loopback that records the routes it registers,
 * its document, and the check that the document declares an answer the server really gave.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import Fastify, { type FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { type TakeoutServerOptions, takeoutRoutes } from '../../src/http/server.js';

// biome-ignore lint/suspicious/noExplicitAny: a JSON document the assertions walk into
export type Json = any;

export interface Served {
  app: FastifyInstance;
  base: string;
  /** Every route registered, as `METHOD /path` with OpenAPI path parameters. */
  routes: { method: string; path: string }[];
}

/** OpenAPI path syntax of a Fastify route: `:id` → `{id}`, a trailing `*` → `{key}`. */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\/\*$/, '/{key}');
}

/** Takeout's routes in a plain Fastify app (no Host check), listening on loopback. */
export async function serve(options: TakeoutServerOptions): Promise<Served> {
  const app = Fastify();
  const routes: Served['routes'] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, path: openApiPath(route.url) });
  });
  await takeoutRoutes(app, options);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: baseOf(app), routes };
}

export function baseOf(app: FastifyInstance): string {
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

export async function openApi(base: string): Promise<Json> {
  const response = await fetch(`${base}/v1/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return (await response.json()) as Json;
}

/** The document with every `$ref` replaced by what it names. */
export async function resolved(document: Json): Promise<Json> {
  const validator = new Validator();
  await validator.validate(structuredClone(document));
  return validator.resolveRefs() as Json;
}

/** HTTP's own framing, which no operation declares. */
const FRAMING = new Set([
  'content-type',
  'content-length',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
]);
/** What a problem answer's headers tell a client to do next; its others are the route's. */
const PROBLEM_HEADERS = new Set(['retry-after', 'www-authenticate']);

/**
 * Checks that the (resolved) document declares an answer: its status on the operation, and
 * every header it came with (of a problem: the ones that say what to do next).
 */
export function expectDeclared(
  document: Json,
  operation: string,
  answer: { status: number; headers: Headers },
): void {
  const [method, path] = operation.split(' ') as [string, string];
  const label = `${operation} → ${answer.status}`;
  const response = document.paths[path]?.[method.toLowerCase()]?.responses?.[String(answer.status)];
  expect(response, label).toBeDefined();
  const declared = new Set(Object.keys(response.headers ?? {}).map((name) => name.toLowerCase()));
  const problem = answer.headers.get('content-type')?.startsWith('application/problem+json');
  // The rate limit's x-ratelimit-* come with every answer when a limit is set: not described.
  // nosniff comes with every answer of Takeout's (api.md): not described per operation.
  const sent = [...answer.headers.keys()].filter((name) =>
    problem
      ? PROBLEM_HEADERS.has(name)
      : !FRAMING.has(name) && !name.startsWith('x-ratelimit-') && name !== 'x-content-type-options',
  );
  expect(
    sent.filter((name) => !declared.has(name)),
    label,
  ).toEqual([]);
}
